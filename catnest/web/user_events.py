"""What one virtual user sees of a world event, and in which JSON shape.

A user sees what happens in their conversations: messages, recalls and reactions of their
private chats (`message.pair`) and of the groups they belong to; membership, role, card, mute
and name changes of those groups (and their own removal from one); friendships, friend
requests, pokes and likes that involve them. The hub's `audience` lists bots only, so
membership is asked of the world, remembered per reader, and updated from the join and leave
events the reader walks past.

Shape: `{"type": <snake_case event name>, <the event's fields>}` with `conversation`
(`{"type": "private", "peer_id"}` or `{"type": "group", "group_id"}`) on message events,
`message` (the OB11 message object as this user sees it) on new messages and `message_id` on
recalls and reactions.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from catnest.onebot.shapes import message_object
from catnest.store.conversations import KIND_PRIVATE
from catnest.store.records import StoredMessage
from catnest.world import events as ev
from catnest.world.world import World

_ROLE_MANAGERS = ("owner", "admin")
# Event classes whose wire name is not simply their snake_case class name.
_NAMES: dict[type[Any], str] = {
    ev.MessageCreated: "message",
    ev.MessageRecalled: "recall",
    ev.ReactionChanged: "reaction",
    ev.MemberBanned: "member_muted",
}


def event_name(event: ev.WorldEvent) -> str:
    """The `type` a user's client sees for `event`."""
    kind = type(event)
    if kind in _NAMES:
        return _NAMES[kind]
    return re.sub(r"(?<!^)(?=[A-Z])", "_", kind.__name__).lower()


def conversation_of(message: StoredMessage, viewer: int) -> dict[str, Any]:
    """The conversation a message belongs to, seen from `viewer`."""
    if message.conv_kind == KIND_PRIVATE and message.pair is not None:
        a, b = message.pair
        return {"type": "private", "peer_id": b if a == viewer else a}
    return {"type": "group", "group_id": message.group_id}


def shape(event: ev.WorldEvent, viewer: int) -> dict[str, Any]:
    """`event` as JSON for `viewer` (visibility is checked separately)."""
    out: dict[str, Any] = {"type": event_name(event)}
    for item in dataclasses.fields(event):
        if item.name in ("audience", "message"):
            continue
        out[item.name] = getattr(event, item.name)
    message: StoredMessage | None = getattr(event, "message", None)
    if message is not None:
        out["conversation"] = conversation_of(message, viewer)
        out["message_id"] = message.message_id
        out["sender_id"] = message.sender_uin
        if isinstance(event, ev.MessageCreated):
            out["message"] = message_object(message, self_id=viewer, fmt="array")
    return out


class UserView:
    """Decides, event by event in commit order, what one user sees."""

    def __init__(self, world: World, viewer: int) -> None:
        self.world = world
        self.viewer = viewer
        self._roles: dict[int, str | None] = {}

    async def see(self, event: ev.WorldEvent) -> dict[str, Any] | None:
        """`event` shaped for this user, or None when they cannot see it."""
        self._follow(event)
        if await self._visible(event):
            return shape(event, self.viewer)
        return None

    def _follow(self, event: ev.WorldEvent) -> None:
        # Our own joins, leaves and role changes keep the remembered memberships right.
        if getattr(event, "user_id", None) != self.viewer:
            return
        if isinstance(event, ev.MemberJoined):
            self._roles[event.group_id] = "member"
        elif isinstance(event, ev.MemberLeft):
            self._roles[event.group_id] = None
        elif isinstance(event, ev.AdminChanged):
            self._roles[event.group_id] = "admin" if event.is_set else "member"

    async def _role(self, group_id: int) -> str | None:
        if group_id not in self._roles:
            member = await self.world.groups.member(group_id, self.viewer)
            self._roles[group_id] = None if member is None else member.role
        return self._roles[group_id]

    async def _visible(self, event: ev.WorldEvent) -> bool:
        me = self.viewer
        message: StoredMessage | None = getattr(event, "message", None)
        if message is not None:
            if message.conv_kind == KIND_PRIVATE:
                return message.pair is not None and me in message.pair
            return message.group_id is not None and await self._role(message.group_id) is not None
        if isinstance(event, ev.FriendAdded):
            return me in (event.user_id, event.friend_id)
        if isinstance(event, ev.FriendRequested):
            return me in (event.user_id, event.target_id)
        if isinstance(event, ev.ProfileLiked):
            return me in (event.target_id, event.operator_id)
        if isinstance(event, ev.GroupRequested):
            if event.user_id == me or event.inviter_id == me:
                return True
            return event.sub_type == "add" and await self._role(event.group_id) in _ROLE_MANAGERS
        if isinstance(event, ev.Poked) and event.group_id is None:
            return me in (event.user_id, event.target_id)
        group_id: int | None = getattr(event, "group_id", None)
        if group_id is None:
            return False
        # A removed member still hears of their own removal.
        return getattr(event, "user_id", None) == me or await self._role(group_id) is not None
