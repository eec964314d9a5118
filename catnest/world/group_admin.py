"""Group administration (QQ's 群管理): kicks, mutes, admins, cards, titles and names.

Only the owner appoints admins and grants special titles; the owner and admins kick, mute and
rename, each acting only on a lower rank (world/roles.py).
"""

from __future__ import annotations

from catnest.onebot.errors import BadParams, NotPermitted
from catnest.store import groups as groups_sql
from catnest.store.engine import Txn
from catnest.world.events import (
    AdminChanged,
    CardChanged,
    GroupRenamed,
    MemberBanned,
    MemberLeft,
    TitleChanged,
    ViewChanged,
)
from catnest.world.groups import acting_member_txn, remove_member_txn, target_member_txn
from catnest.world.part import WorldPart
from catnest.world.roles import is_manager, require_outrank

# QQ mutes for at most 30 days; longer requests are cut to that, as QQ does.
MAX_BAN_SECONDS = 30 * 24 * 3600
# go-cqhttp's convention, kept by NapCat: a whole-group mute is reported with duration -1.
WHOLE_BAN_DURATION = -1


class GroupAdmin(WorldPart):
    """Moderation and group settings. Each method takes the acting account first."""

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
            await remove_member_txn(txn, group_id, target)
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
            if not is_manager(actor.role):
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
            # QQ announces a title when one is granted, not when it is taken away; either way
            # the sender titles that views show change.
            audience = await groups_sql.bot_members_txn(txn, group_id)
            if title:
                self._publish(txn, TitleChanged(group_id, target, title, audience))
            else:
                self._publish(txn, ViewChanged(audience))

        await self._engine.write("set_title", txn_fn)

    async def set_group_name(self, operator: int, group_id: int, name: str) -> None:
        """Rename the group; the owner or an admin may."""
        if not name.strip():
            raise BadParams("group_name: must not be empty")

        async def txn_fn(txn: Txn) -> None:
            group, actor = await acting_member_txn(txn, group_id, operator)
            if not is_manager(actor.role):
                raise NotPermitted(f"only the owner or an admin of group {group_id} may rename it")
            if group.name == name:
                return
            await groups_sql.rename_group_txn(txn, group_id, name)
            audience = await groups_sql.bot_members_txn(txn, group_id)
            self._publish(txn, GroupRenamed(group_id, operator, name, audience))

        await self._engine.write("set_group_name", txn_fn)
