"""Group administration: joining, leaving, kicks, mutes, roles, cards, titles and names.

The rules are QQ's (and so NapCat's): the owner outranks admins, admins outrank members, and
nobody acts on an equal or higher rank; only the owner appoints admins, grants special titles
and dismisses the group.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from catnest.onebot.errors import BadParams, NotFound, NotPermitted
from catnest.store import accounts as accounts_sql
from catnest.store import conversations as conv_sql
from catnest.store import groups as groups_sql
from catnest.store.engine import Engine, Txn
from catnest.store.records import Group, Member
from catnest.world.events import (
    AdminChanged,
    CardChanged,
    GroupRenamed,
    MemberBanned,
    MemberJoined,
    MemberLeft,
    TitleChanged,
    WorldEvent,
)
from catnest.world.hub import Hub

RANK = {"owner": 2, "admin": 1, "member": 0}
# QQ mutes for at most 30 days; longer requests are cut to that, as QQ does.
MAX_BAN_SECONDS = 30 * 24 * 3600
# go-cqhttp's convention, kept by NapCat: a whole-group mute is reported with duration -1.
WHOLE_BAN_DURATION = -1


class WorldPart:
    """What every part of `Social` shares: the store, the hub and the clock."""

    def __init__(self, engine: Engine, hub: Hub, clock: Callable[[], float] = time.time) -> None:
        self._engine = engine
        self._hub = hub
        self._clock = clock

    def _now(self) -> int:
        return int(self._clock())

    def _publish(self, txn: Txn, event: WorldEvent) -> None:
        """Hand `event` to the hub once `txn` commits (never if it rolls back)."""
        self._hub.publish_after(txn, event)


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


def require_outrank(actor: Member, target: Member, doing: str) -> None:
    """1401 unless `actor` is owner or admin and ranks above `target`."""
    if actor.role == "member":
        raise NotPermitted(f"only the owner or an admin of group {actor.group_id} may {doing}")
    if RANK[actor.role] <= RANK[target.role]:
        raise NotPermitted(f"an admin cannot {doing} the owner or another admin")


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


async def _remove_member_txn(txn: Txn, group_id: int, uin: int) -> None:
    # Leaving the conversation drops the group from the leaver's recent contacts; the
    # messages stay for those who remain.
    await groups_sql.delete_member_txn(txn, group_id, uin)
    conv = await conv_sql.get_group_conv_txn(txn, group_id)
    if conv is not None:
        await conv_sql.leave_conv_txn(txn, conv.conv_id, uin)


class GroupAdmin(WorldPart):
    """Membership changes and moderation. Each method takes the acting account first."""

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

    async def kick(
        self, operator: int, group_id: int, target: int, *, reject_add_request: bool = False
    ) -> None:
        """Remove `target`; with `reject_add_request` their join requests are refused later."""
        if operator == target:
            raise BadParams("user_id: cannot kick yourself; use set_group_leave to leave")

        async def txn_fn(txn: Txn) -> None:
            _, actor = await acting_member_txn(txn, group_id, operator)
            victim = await target_member_txn(txn, group_id, target)
            require_outrank(actor, victim, "kick")
            audience = await groups_sql.bot_members_txn(txn, group_id)
            await _remove_member_txn(txn, group_id, target)
            if reject_add_request:
                await groups_sql.block_txn(txn, group_id, target)
            self._publish(txn, MemberLeft(group_id, target, operator, True, audience))

        await self._engine.write("kick", txn_fn)

    async def ban(self, operator: int, group_id: int, target: int, duration: int) -> int:
        """Mute `target` for `duration` seconds (0 lifts it); return the duration applied."""
        if duration < 0:
            raise BadParams(f"duration: must not be negative, got {duration}")
        if operator == target:
            raise BadParams("user_id: cannot mute yourself")
        duration = min(duration, MAX_BAN_SECONDS)
        now = self._now()

        async def txn_fn(txn: Txn) -> None:
            _, actor = await acting_member_txn(txn, group_id, operator)
            victim = await target_member_txn(txn, group_id, target)
            require_outrank(actor, victim, "mute")
            await groups_sql.set_shut_up_txn(
                txn, group_id, target, now + duration if duration else 0
            )
            # Lifting a mute that had already run out changes nothing anyone could see.
            if duration or victim.shut_up_until > now:
                audience = await groups_sql.bot_members_txn(txn, group_id)
                self._publish(txn, MemberBanned(group_id, target, operator, duration, audience))

        await self._engine.write("ban", txn_fn)
        return duration

    async def whole_ban(self, operator: int, group_id: int, enable: bool) -> None:
        """Turn the whole-group mute on or off (owner and admins keep speaking)."""

        async def txn_fn(txn: Txn) -> None:
            group, actor = await acting_member_txn(txn, group_id, operator)
            if actor.role == "member":
                raise NotPermitted(
                    f"only the owner or an admin of group {group_id} may mute the whole group"
                )
            if group.whole_ban == enable:
                return
            await groups_sql.set_whole_ban_txn(txn, group_id, enable)
            audience = await groups_sql.bot_members_txn(txn, group_id)
            duration = WHOLE_BAN_DURATION if enable else 0
            self._publish(txn, MemberBanned(group_id, 0, operator, duration, audience))

        await self._engine.write("whole_ban", txn_fn)

    async def set_admin(self, operator: int, group_id: int, target: int, enable: bool) -> None:
        """Appoint (`enable`) or dismiss an admin; only the owner may."""

        async def txn_fn(txn: Txn) -> None:
            _, actor = await acting_member_txn(txn, group_id, operator)
            if actor.role != "owner":
                raise NotPermitted(f"only the owner of group {group_id} may set admins")
            if target == operator:
                raise BadParams("user_id: the owner's own role cannot change")
            member = await target_member_txn(txn, group_id, target)
            role = "admin" if enable else "member"
            if member.role == role:
                return
            await groups_sql.set_role_txn(txn, group_id, target, role)
            audience = await groups_sql.bot_members_txn(txn, group_id)
            self._publish(txn, AdminChanged(group_id, target, enable, audience))

        await self._engine.write("set_admin", txn_fn)

    async def set_card(self, operator: int, group_id: int, target: int, card: str) -> None:
        """Change `target`'s group card: anyone their own, the owner or an admin a lower rank's."""

        async def txn_fn(txn: Txn) -> None:
            _, actor = await acting_member_txn(txn, group_id, operator)
            member = await target_member_txn(txn, group_id, target)
            if operator != target:
                require_outrank(actor, member, "set the card of")
            if member.card == card:
                return
            await groups_sql.set_card_txn(txn, group_id, target, card)
            audience = await groups_sql.bot_members_txn(txn, group_id)
            self._publish(txn, CardChanged(group_id, target, card, member.card, audience))

        await self._engine.write("set_card", txn_fn)

    async def set_title(self, operator: int, group_id: int, target: int, title: str) -> None:
        """Grant `target` a special title ("" removes it); only the owner may."""

        async def txn_fn(txn: Txn) -> None:
            _, actor = await acting_member_txn(txn, group_id, operator)
            if actor.role != "owner":
                raise NotPermitted(f"only the owner of group {group_id} may set special titles")
            member = await target_member_txn(txn, group_id, target)
            if member.title == title:
                return
            await groups_sql.set_title_txn(txn, group_id, target, title)
            # QQ announces a title when one is granted, not when it is taken away.
            if title:
                audience = await groups_sql.bot_members_txn(txn, group_id)
                self._publish(txn, TitleChanged(group_id, target, title, audience))

        await self._engine.write("set_title", txn_fn)

    async def set_group_name(self, operator: int, group_id: int, name: str) -> None:
        """Rename the group; the owner or an admin may."""
        if not name.strip():
            raise BadParams("group_name: must not be empty")

        async def txn_fn(txn: Txn) -> None:
            group, actor = await acting_member_txn(txn, group_id, operator)
            if actor.role == "member":
                raise NotPermitted(f"only the owner or an admin of group {group_id} may rename it")
            if group.name == name:
                return
            await groups_sql.rename_group_txn(txn, group_id, name)
            audience = await groups_sql.bot_members_txn(txn, group_id)
            self._publish(txn, GroupRenamed(group_id, operator, name, audience))

        await self._engine.write("set_group_name", txn_fn)

    async def leave(self, uin: int, group_id: int, *, dismiss: bool = False) -> None:
        """Leave the group; the owner must dismiss it instead (`dismiss`)."""

        async def txn_fn(txn: Txn) -> None:
            _, member = await acting_member_txn(txn, group_id, uin)
            audience = await groups_sql.bot_members_txn(txn, group_id)
            if member.role != "owner":
                # NapCat ignores is_dismiss for anyone but the owner: they simply leave.
                await _remove_member_txn(txn, group_id, uin)
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
