"""Friendships: both sides at once, each keeping its own remark and category."""

from __future__ import annotations

from catnest.onebot.errors import BadParams, NotFound, NotPermitted
from catnest.store import accounts as accounts_sql
from catnest.store.engine import Txn
from catnest.store.records import Category, Friend
from catnest.world.events import ViewChanged
from catnest.world.part import WorldPart


async def _require_accounts_txn(txn: Txn, *uins: int) -> None:
    for uin in uins:
        if await accounts_sql.get_account_txn(txn, uin) is None:
            raise NotFound(f"user {uin} not found")


class Friends(WorldPart):
    """Making, renaming and ending friendships."""

    async def make_friends(self, a: int, b: int, remark_a: str = "", remark_b: str = "") -> None:
        """Make `a` and `b` friends; `remark_a` is what `a` calls `b`."""
        if a == b:
            raise BadParams("an account cannot befriend itself")
        now = self._now()

        async def txn_fn(txn: Txn) -> None:
            await _require_accounts_txn(txn, a, b)
            if await accounts_sql.get_friend_txn(txn, a, b) is not None:
                raise BadParams(f"{a} and {b} are already friends")
            await accounts_sql.insert_friendship_txn(txn, a, b, remark_a, now)
            await accounts_sql.insert_friendship_txn(txn, b, a, remark_b, now)
            # Remarks show in recent contacts.
            self._publish(txn, ViewChanged((a, b)))

        await self._engine.write("make_friends", txn_fn)

    async def friends(self, uin: int) -> list[Friend]:
        """Every friend of `uin`, with `uin`'s remarks."""
        return await self._engine.read(lambda txn: accounts_sql.list_friends_txn(txn, uin))

    async def friend(self, owner: int, friend: int) -> Friend | None:
        """`friend` as `owner` sees them, or None if they are not friends."""
        return await self._engine.read(lambda txn: accounts_sql.get_friend_txn(txn, owner, friend))

    async def categories(self, uin: int) -> list[Category]:
        """`uin`'s friend categories."""
        return await self._engine.read(lambda txn: accounts_sql.list_categories_txn(txn, uin))

    async def set_remark(self, owner: int, friend: int, remark: str) -> None:
        """Change the remark `owner` keeps for `friend`; 1401 if they are not friends."""

        async def txn_fn(txn: Txn) -> None:
            await _require_accounts_txn(txn, friend)
            if not await accounts_sql.set_remark_txn(txn, owner, friend, remark):
                raise NotPermitted(f"{friend} is not a friend of {owner}")
            self._publish(txn, ViewChanged((owner,)))

        await self._engine.write("set_friend_remark", txn_fn)

    async def delete_friend(self, owner: int, friend: int) -> None:
        """End a friendship on both sides; the private chat and its history stay."""

        async def txn_fn(txn: Txn) -> None:
            await _require_accounts_txn(txn, friend)
            if not await accounts_sql.delete_friendship_txn(txn, owner, friend):
                raise NotPermitted(f"{friend} is not a friend of {owner}")
            await accounts_sql.delete_friendship_txn(txn, friend, owner)
            self._publish(txn, ViewChanged((owner, friend)))

        await self._engine.write("delete_friend", txn_fn)
