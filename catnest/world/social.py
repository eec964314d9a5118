"""Accounts, friendships and groups: who exists and who knows whom.

`Social` gathers the whole social graph behind one object: group administration lives in
`groups_admin.py` and requests in `requests.py`, both mixed in here.
"""

from __future__ import annotations

from collections.abc import Sequence

from catnest.onebot.errors import ActionError, BadParams, NotFound, NotPermitted, Retcode
from catnest.store import accounts as accounts_sql
from catnest.store import conversations as conv_sql
from catnest.store import groups as groups_sql
from catnest.store.engine import Txn
from catnest.store.records import Account, Category, Friend, Group, Member
from catnest.world.events import ProfileLiked
from catnest.world.groups_admin import GroupAdmin, live_group_txn
from catnest.world.requests import Requests

ROLES = ("owner", "admin", "member")
# QQ numbers are at least 5 digits; anything past int63 would not survive JSON clients.
MIN_UIN, MAX_UIN = 10000, 2**63 - 1
# QQ lets one account like another's profile 10 times a day (non-VIP).
MAX_LIKES_PER_DAY = 10


def check_uin(uin: int, what: str = "user_id") -> int:
    """Refuse ids no QQ account or group could have."""
    if not MIN_UIN <= uin <= MAX_UIN:
        raise BadParams(f"{what}: {uin} is not a valid QQ number (5 digits or more)")
    return uin


class Social(GroupAdmin, Requests):
    """Reads and changes of accounts, friendships and groups.

    Built as `Social(engine, hub, clock)`; events go to `hub` after each commit.
    """

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
        found = await self._engine.read(lambda txn: accounts_sql.get_account_txn(txn, uin))
        if found is None:
            raise NotFound(f"user {uin} not found")
        return found

    async def find_account(self, uin: int) -> Account | None:
        """The account `uin`, or None."""
        return await self._engine.read(lambda txn: accounts_sql.get_account_txn(txn, uin))

    async def accounts(self) -> list[Account]:
        """Every account."""
        return await self._engine.read(accounts_sql.list_accounts_txn)

    async def make_friends(self, a: int, b: int, remark_a: str = "", remark_b: str = "") -> None:
        """Make `a` and `b` friends; `remark_a` is what `a` calls `b`."""
        if a == b:
            raise BadParams("an account cannot befriend itself")
        now = self._now()

        async def txn_fn(txn: Txn) -> None:
            for uin in (a, b):
                if await accounts_sql.get_account_txn(txn, uin) is None:
                    raise NotFound(f"user {uin} not found")
            if await accounts_sql.get_friend_txn(txn, a, b) is not None:
                raise BadParams(f"{a} and {b} are already friends")
            await accounts_sql.insert_friendship_txn(txn, a, b, remark_a, now)
            await accounts_sql.insert_friendship_txn(txn, b, a, remark_b, now)

        await self._engine.write("make_friends", txn_fn)

    async def friends(self, uin: int) -> list[Friend]:
        """Every friend of `uin`, with `uin`'s remarks."""
        return await self._engine.read(lambda txn: accounts_sql.list_friends_txn(txn, uin))

    async def friend(self, owner: int, friend: int) -> Friend | None:
        """`friend` as `owner` sees them, or None if they are not friends."""
        return await self._engine.read(lambda txn: accounts_sql.get_friend_txn(txn, owner, friend))

    async def set_friend_remark(self, owner: int, friend: int, remark: str) -> None:
        """Change the remark `owner` keeps for `friend`; 1401 if they are not friends."""

        async def txn_fn(txn: Txn) -> None:
            if await accounts_sql.get_account_txn(txn, friend) is None:
                raise NotFound(f"user {friend} not found")
            if not await accounts_sql.set_remark_txn(txn, owner, friend, remark):
                raise NotPermitted(f"{friend} is not a friend of {owner}")

        await self._engine.write("set_friend_remark", txn_fn)

    async def delete_friend(self, owner: int, friend: int) -> None:
        """End a friendship on both sides; the private chat and its history stay."""

        async def txn_fn(txn: Txn) -> None:
            if await accounts_sql.get_account_txn(txn, friend) is None:
                raise NotFound(f"user {friend} not found")
            if not await accounts_sql.delete_friendship_txn(txn, owner, friend):
                raise NotPermitted(f"{friend} is not a friend of {owner}")
            await accounts_sql.delete_friendship_txn(txn, friend, owner)

        await self._engine.write("delete_friend", txn_fn)

    async def send_like(self, liker: int, target: int, times: int = 1) -> None:
        """Like `target`'s profile `times` times; at most MAX_LIKES_PER_DAY a UTC day.

        NapCat lets bots like strangers too, so any existing account may be liked.
        """
        if times < 1:
            raise BadParams(f"times: must be at least 1, got {times}")
        if liker == target:
            raise BadParams("user_id: cannot like your own profile")
        now = self._now()
        day = now // 86400

        async def txn_fn(txn: Txn) -> None:
            if await accounts_sql.get_account_txn(txn, target) is None:
                raise NotFound(f"user {target} not found")
            account = await accounts_sql.get_account_txn(txn, liker)
            if account is None:
                raise NotFound(f"user {liker} not found")
            used = await accounts_sql.likes_on_day_txn(txn, target, liker, day)
            if used + times > MAX_LIKES_PER_DAY:
                raise BadParams(
                    f"times: at most {MAX_LIKES_PER_DAY} likes per profile per day;"
                    f" {MAX_LIKES_PER_DAY - used} left today for {target}"
                )
            await accounts_sql.add_likes_txn(txn, target, liker, day, times)
            audience = await accounts_sql.bots_among_txn(txn, (target,))
            self._publish(txn, ProfileLiked(target, liker, account.nickname, times, audience))

        await self._engine.write("send_like", txn_fn)

    async def categories(self, uin: int) -> list[Category]:
        """`uin`'s friend categories."""
        return await self._engine.read(lambda txn: accounts_sql.list_categories_txn(txn, uin))

    async def create_group(
        self, group_id: int, name: str, owner: int, members: Sequence[tuple[int, str, str]] = ()
    ) -> Group:
        """Create a group owned by `owner`, with extra `(uin, role, card)` members."""
        check_uin(group_id, "group_id")
        if not name.strip():
            raise BadParams("group_name: must not be empty")
        now = self._now()

        async def txn_fn(txn: Txn) -> Group:
            if await groups_sql.get_group_txn(txn, group_id) is not None:
                raise BadParams(f"group {group_id} already exists")
            if await accounts_sql.get_account_txn(txn, owner) is None:
                raise NotFound(f"user {owner} not found")
            group = Group(group_id, name, owner, 200, False, now)
            await groups_sql.insert_group_txn(txn, group)
            conv_id = await conv_sql.create_group_conv_txn(txn, group_id)
            await groups_sql.insert_member_txn(txn, group_id, owner, "owner", "", now)
            await conv_sql.join_conv_txn(txn, conv_id, owner)
            for uin, role, card in members:
                if role not in ("admin", "member"):
                    raise BadParams(f"role: expected 'admin' or 'member', got {role!r}")
                if await accounts_sql.get_account_txn(txn, uin) is None:
                    raise NotFound(f"user {uin} not found")
                if uin == owner:
                    continue
                await groups_sql.insert_member_txn(txn, group_id, uin, role, card, now)
                await conv_sql.join_conv_txn(txn, conv_id, uin)
            created = await groups_sql.get_group_txn(txn, group_id)
            assert created is not None
            return created

        return await self._engine.write("create_group", txn_fn)

    async def group(self, group_id: int) -> Group:
        """The group `group_id`; 1404 if there is none or it was dismissed."""
        return await self._engine.read(lambda txn: live_group_txn(txn, group_id))

    async def groups_of(self, uin: int) -> list[Group]:
        """The groups `uin` belongs to."""
        return await self._engine.read(lambda txn: groups_sql.list_groups_of_txn(txn, uin))

    async def all_groups(self) -> list[Group]:
        """Every group."""
        return await self._engine.read(groups_sql.list_all_groups_txn)

    async def member(self, group_id: int, uin: int) -> Member | None:
        """`uin`'s membership of `group_id`, or None."""
        return await self._engine.read(lambda txn: groups_sql.get_member_txn(txn, group_id, uin))

    async def require_member(self, group_id: int, uin: int) -> Member:
        """`uin`'s membership; 1404 for an unknown group, 1401 when `uin` is not in it."""
        member = await self.member(group_id, uin)
        if member is None:
            await self.group(group_id)
            raise NotPermitted(f"{uin} is not a member of group {group_id}")
        return member

    async def members(self, group_id: int, viewer: int) -> list[Member]:
        """Every member of `group_id`, as `viewer` (who must be a member) sees them."""
        await self.require_member(group_id, viewer)
        return await self._engine.read(lambda txn: groups_sql.list_members_txn(txn, group_id))

    async def group_member(self, group_id: int, uin: int, viewer: int) -> Member:
        """Member `uin` of `group_id`; 1404 if `uin` is not in it."""
        await self.require_member(group_id, viewer)
        member = await self.member(group_id, uin)
        if member is None:
            raise ActionError(Retcode.NOT_FOUND, f"user {uin} is not a member of group {group_id}")
        return member
