"""Accounts: bots and virtual users alike, numbered like QQ accounts."""

from __future__ import annotations

from catnest.onebot.errors import BadParams, NotFound
from catnest.store import accounts as accounts_sql
from catnest.store.engine import Txn
from catnest.store.records import Account
from catnest.world.part import WorldPart

# QQ numbers are at least 5 digits; anything past int63 would not survive JSON clients.
MIN_UIN, MAX_UIN = 10000, 2**63 - 1


def check_uin(uin: int, what: str = "user_id") -> int:
    """Refuse ids no QQ account or group could have."""
    if not MIN_UIN <= uin <= MAX_UIN:
        raise BadParams(f"{what}: {uin} is not a valid QQ number (5 digits or more)")
    return uin


class Accounts(WorldPart):
    """Creating and finding accounts."""

    async def create_account(
        self, uin: int, nickname: str, *, is_bot: bool = False, sex: str = "unknown", age: int = 0
    ) -> Account:
        """Create a bot or virtual user; 1400 if the uin is taken."""
        check_uin(uin)
        if not nickname.strip():
            raise BadParams("nickname: must not be empty")
        account = Account(uin, nickname, is_bot, sex, age, "", self._now())

        async def txn_fn(txn: Txn) -> None:
            if await accounts_sql.get_account_txn(txn, uin) is not None:
                raise BadParams(f"account {uin} already exists")
            await accounts_sql.insert_account_txn(txn, account)

        await self._engine.write("create_account", txn_fn)
        return account

    async def account(self, uin: int) -> Account:
        """The account `uin`; 1404 if there is none."""
        found = await self.find_account(uin)
        if found is None:
            raise NotFound(f"user {uin} not found")
        return found

    async def find_account(self, uin: int) -> Account | None:
        """The account `uin`, or None."""
        return await self._engine.read(lambda txn: accounts_sql.get_account_txn(txn, uin))

    async def accounts(self) -> list[Account]:
        """Every account."""
        return await self._engine.read(accounts_sql.list_accounts_txn)
