"""Groups and their members: creating groups, joining, leaving, dismissing, and lookups.

A dismissed group keeps its row (its id is never reused) but has no members.
"""

from __future__ import annotations

from collections.abc import Sequence

from catnest.onebot.errors import BadParams, NotFound, NotPermitted
from catnest.store import accounts as accounts_sql
from catnest.store import conversations as conv_sql
from catnest.store import groups as groups_sql
from catnest.store.engine import Txn
from catnest.store.records import Group, Member
from catnest.world.accounts import check_uin
from catnest.world.events import MemberJoined, MemberLeft
from catnest.world.part import WorldPart


async def live_group_txn(txn: Txn, group_id: int) -> Group:
    """The group `group_id`; 1404 if it never existed or was dismissed.

    A dismissed group keeps its row (its id is never reused) but has no members: only a
    dismissal empties a group, since the owner cannot leave or be kicked.
    """
    group = await groups_sql.get_group_txn(txn, group_id)
    if group is None:
        raise NotFound(f"group {group_id} not found")
    if group.member_count == 0:
        raise NotFound(f"group {group_id} was dismissed")
    return group


async def acting_member_txn(txn: Txn, group_id: int, uin: int) -> tuple[Group, Member]:
    """The live group and `uin`'s membership of it; 1401 if `uin` is not a member."""
    group = await live_group_txn(txn, group_id)
    member = await groups_sql.get_member_txn(txn, group_id, uin)
    if member is None:
        raise NotPermitted(f"{uin} is not a member of group {group_id}")
    return group, member


async def target_member_txn(txn: Txn, group_id: int, uin: int) -> Member:
    """`uin`'s membership of `group_id`; 1404 if `uin` is not in it."""
    member = await groups_sql.get_member_txn(txn, group_id, uin)
    if member is None:
        raise NotFound(f"user {uin} is not a member of group {group_id}")
    return member


async def admit_member_txn(
    txn: Txn, group: Group, uin: int, role: str, card: str, at: int
) -> tuple[int, ...]:
    """Add `uin` to a live group; return the bots that hear of it (the newcomer included).

    Joining the conversation marks what was said before as read; being let in ends any
    blocklisting from an earlier kick.
    """
    if group.member_count >= group.max_member_count:
        raise BadParams(f"group {group.group_id} is full ({group.max_member_count} members)")
    await groups_sql.insert_member_txn(txn, group.group_id, uin, role, card, at)
    conv = await conv_sql.get_group_conv_txn(txn, group.group_id)
    assert conv is not None, "every group has a conversation"
    await conv_sql.join_conv_txn(txn, conv.conv_id, uin)
    await groups_sql.unblock_txn(txn, group.group_id, uin)
    return await groups_sql.bot_members_txn(txn, group.group_id)


async def remove_member_txn(txn: Txn, group_id: int, uin: int) -> None:
    """Take `uin` out of a group and its conversation."""
    # Leaving the conversation drops the group from the leaver's recent contacts; the
    # messages stay for those who remain.
    await groups_sql.delete_member_txn(txn, group_id, uin)
    conv = await conv_sql.get_group_conv_txn(txn, group_id)
    if conv is not None:
        await conv_sql.leave_conv_txn(txn, conv.conv_id, uin)


class Groups(WorldPart):
    """Groups, their members, and membership changes."""

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

        async def txn_fn(txn: Txn) -> Member:
            _, member = await acting_member_txn(txn, group_id, uin)
            return member

        return await self._engine.read(txn_fn)

    async def members(self, group_id: int, viewer: int) -> list[Member]:
        """Every member of `group_id`, as `viewer` (who must be a member) sees them."""

        async def txn_fn(txn: Txn) -> list[Member]:
            await acting_member_txn(txn, group_id, viewer)
            return await groups_sql.list_members_txn(txn, group_id)

        return await self._engine.read(txn_fn)

    async def group_member(self, group_id: int, uin: int, viewer: int) -> Member:
        """Member `uin` of `group_id`; 1404 if `uin` is not in it."""

        async def txn_fn(txn: Txn) -> Member:
            await acting_member_txn(txn, group_id, viewer)
            return await target_member_txn(txn, group_id, uin)

        return await self._engine.read(txn_fn)

    async def add_member(
        self,
        group_id: int,
        uin: int,
        role: str = "member",
        card: str = "",
        operator: int | None = None,
    ) -> Member:
        """Put `uin` in `group_id` directly (for tools and scripts); `operator` invites."""
        if role not in ("admin", "member"):
            raise BadParams(f"role: expected 'admin' or 'member', got {role!r}")
        now = self._now()

        async def txn_fn(txn: Txn) -> Member:
            group = await live_group_txn(txn, group_id)
            if await accounts_sql.get_account_txn(txn, uin) is None:
                raise NotFound(f"user {uin} not found")
            if operator is not None:
                await acting_member_txn(txn, group_id, operator)
            if await groups_sql.get_member_txn(txn, group_id, uin) is not None:
                raise BadParams(f"{uin} is already a member of group {group_id}")
            audience = await admit_member_txn(txn, group, uin, role, card, now)
            sub_type = "approve" if operator is None else "invite"
            self._publish(txn, MemberJoined(group_id, uin, operator or 0, sub_type, audience))
            return await target_member_txn(txn, group_id, uin)

        return await self._engine.write("add_member", txn_fn)

    async def leave(self, uin: int, group_id: int, *, dismiss: bool = False) -> None:
        """Leave the group; the owner must dismiss it instead (`dismiss`)."""

        async def txn_fn(txn: Txn) -> None:
            _, member = await acting_member_txn(txn, group_id, uin)
            audience = await groups_sql.bot_members_txn(txn, group_id)
            if member.role != "owner":
                # NapCat ignores is_dismiss for anyone but the owner: they simply leave.
                await remove_member_txn(txn, group_id, uin)
                self._publish(txn, MemberLeft(group_id, uin, uin, False, audience))
                return
            if not dismiss:
                raise BadParams(
                    f"the owner cannot leave group {group_id}: dismiss it (is_dismiss=true)"
                    " or transfer it first"
                )
            await self._dismiss_txn(txn, group_id, uin, audience)

        await self._engine.write("leave", txn_fn)

    async def _dismiss_txn(
        self, txn: Txn, group_id: int, owner: int, bots: tuple[int, ...]
    ) -> None:
        # Everyone leaves; the row stays so the id never reappears. Each bot hears of its own
        # departure: the owner left, every other member was put out by the owner.
        conv = await conv_sql.get_group_conv_txn(txn, group_id)
        if conv is not None:
            for uin in await groups_sql.member_uins_txn(txn, group_id):
                await conv_sql.leave_conv_txn(txn, conv.conv_id, uin)
        await groups_sql.delete_all_members_txn(txn, group_id)
        for bot in bots:
            self._publish(txn, MemberLeft(group_id, bot, owner, bot != owner, (bot,)))
