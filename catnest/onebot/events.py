"""World events in the OneBot 11 shapes NapCat pushes (napcat-api.md §4.7).

One function per bot view: the same world event reads differently to each bot (its own
message is `message_sent`, its own kick is `kick_me`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from catnest.onebot.shapes import MessageFormat, message_object
from catnest.store.records import CHAT_GROUP
from catnest.world import events as ev


def lifecycle(self_id: int, sub_type: str = "connect") -> dict[str, Any]:
    """The lifecycle meta event: first frame of every event connection."""
    return {
        "time": int(time.time()),
        "self_id": self_id,
        "post_type": "meta_event",
        "meta_event_type": "lifecycle",
        "sub_type": sub_type,
    }


def heartbeat(self_id: int, interval_ms: int) -> dict[str, Any]:
    """The heartbeat meta event."""
    return {
        "time": int(time.time()),
        "self_id": self_id,
        "post_type": "meta_event",
        "meta_event_type": "heartbeat",
        "status": {"online": True, "good": True},
        "interval": interval_ms,
    }


def _notice(self_id: int, notice_type: str, **fields: Any) -> dict[str, Any]:
    return {
        "time": int(time.time()),
        "self_id": self_id,
        "post_type": "notice",
        "notice_type": notice_type,
        **fields,
    }


def _message(
    event: ev.MessageCreated, self_id: int, fmt: MessageFormat, report_self: bool
) -> dict[str, Any] | None:
    message = event.message
    if message.sender_uin == self_id and not report_self:
        return None
    return message_object(message, self_id=self_id, fmt=fmt)


def _recall(event: ev.MessageRecalled, self_id: int) -> dict[str, Any]:
    message = event.message
    if message.chat_type == CHAT_GROUP:
        return _notice(
            self_id,
            "group_recall",
            group_id=message.group_id,
            user_id=message.sender_uin,
            operator_id=event.operator,
            message_id=message.message_id,
        )
    return _notice(
        self_id, "friend_recall", user_id=message.sender_uin, message_id=message.message_id
    )


def _left(event: ev.MemberLeft, self_id: int) -> dict[str, Any]:
    if not event.kicked:
        sub_type, operator = "leave", event.user_id
    else:
        sub_type = "kick_me" if event.user_id == self_id else "kick"
        operator = event.operator_id
    return _notice(
        self_id,
        "group_decrease",
        sub_type=sub_type,
        group_id=event.group_id,
        operator_id=operator,
        user_id=event.user_id,
    )


def _poke(event: ev.Poked, self_id: int) -> dict[str, Any]:
    if event.group_id is not None:
        return _notice(
            self_id,
            "notify",
            sub_type="poke",
            group_id=event.group_id,
            user_id=event.user_id,
            target_id=event.target_id,
        )
    # NapCat's friend poke: user_id is the friend on the other side, sender_id who poked.
    peer = event.target_id if event.user_id == self_id else event.user_id
    return _notice(
        self_id,
        "notify",
        sub_type="poke",
        user_id=peer,
        sender_id=event.user_id,
        target_id=event.target_id,
    )


def _friend_add(event: ev.FriendAdded, self_id: int) -> dict[str, Any]:
    other = event.friend_id if event.user_id == self_id else event.user_id
    return _notice(self_id, "friend_add", user_id=other)


def _joined(event: ev.MemberJoined, self_id: int) -> dict[str, Any]:
    return _notice(
        self_id,
        "group_increase",
        sub_type=event.sub_type,
        group_id=event.group_id,
        operator_id=event.operator_id,
        user_id=event.user_id,
    )


def _admin(event: ev.AdminChanged, self_id: int) -> dict[str, Any]:
    sub_type = "set" if event.is_set else "unset"
    return _notice(
        self_id, "group_admin", sub_type=sub_type, group_id=event.group_id, user_id=event.user_id
    )


def _ban(event: ev.MemberBanned, self_id: int) -> dict[str, Any]:
    return _notice(
        self_id,
        "group_ban",
        sub_type="ban" if event.duration else "lift_ban",
        group_id=event.group_id,
        operator_id=event.operator_id,
        user_id=event.user_id,
        duration=event.duration,
    )


def _card(event: ev.CardChanged, self_id: int) -> dict[str, Any]:
    return _notice(
        self_id,
        "group_card",
        group_id=event.group_id,
        user_id=event.user_id,
        card_new=event.card_new,
        card_old=event.card_old,
    )


def _title(event: ev.TitleChanged, self_id: int) -> dict[str, Any]:
    return _notice(
        self_id,
        "notify",
        sub_type="title",
        group_id=event.group_id,
        user_id=event.user_id,
        title=event.title,
    )


def _renamed(event: ev.GroupRenamed, self_id: int) -> dict[str, Any]:
    return _notice(
        self_id,
        "notify",
        sub_type="group_name",
        group_id=event.group_id,
        user_id=event.operator_id,
        name_new=event.name,
    )


def _essence(event: ev.EssenceChanged, self_id: int) -> dict[str, Any]:
    return _notice(
        self_id,
        "essence",
        sub_type="add" if event.added else "delete",
        group_id=event.group_id,
        message_id=event.message_id,
        sender_id=event.sender_id,
        operator_id=event.operator_id,
    )


def _reaction(event: ev.ReactionChanged, self_id: int) -> dict[str, Any] | None:
    message = event.message
    if message.chat_type != CHAT_GROUP:
        return None  # NapCat has no private reaction notice
    return _notice(
        self_id,
        "group_msg_emoji_like",
        group_id=message.group_id,
        user_id=event.user_id,
        message_id=message.message_id,
        likes=[{"emoji_id": event.emoji_id, "count": event.count}],
        is_add=event.added,
    )


def _liked(event: ev.ProfileLiked, self_id: int) -> dict[str, Any]:
    return _notice(
        self_id,
        "notify",
        sub_type="profile_like",
        operator_id=event.operator_id,
        operator_nick=event.operator_nick,
        times=event.times,
    )


def _friend_request(event: ev.FriendRequested, self_id: int) -> dict[str, Any]:
    return {
        "time": int(time.time()),
        "self_id": self_id,
        "post_type": "request",
        "request_type": "friend",
        "user_id": event.user_id,
        "comment": event.comment,
        "flag": event.flag,
    }


def _group_request(event: ev.GroupRequested, self_id: int) -> dict[str, Any]:
    # OB11: for an invite, user_id is who invited the bot.
    user = event.inviter_id if event.sub_type == "invite" else event.user_id
    return {
        "time": int(time.time()),
        "self_id": self_id,
        "post_type": "request",
        "request_type": "group",
        "sub_type": event.sub_type,
        "group_id": event.group_id,
        "user_id": user,
        "comment": event.comment,
        "flag": event.flag,
    }


_BUILDERS: dict[type, Callable[[Any, int], dict[str, Any] | None]] = {
    ev.MessageRecalled: _recall,
    ev.FriendAdded: _friend_add,
    ev.MemberJoined: _joined,
    ev.MemberLeft: _left,
    ev.AdminChanged: _admin,
    ev.MemberBanned: _ban,
    ev.CardChanged: _card,
    ev.TitleChanged: _title,
    ev.GroupRenamed: _renamed,
    ev.EssenceChanged: _essence,
    ev.ReactionChanged: _reaction,
    ev.Poked: _poke,
    ev.ProfileLiked: _liked,
    ev.FriendRequested: _friend_request,
    ev.GroupRequested: _group_request,
    ev.ViewChanged: lambda _event, _self_id: None,  # nothing a bot hears of
    ev.WorldRewritten: lambda _event, _self_id: None,
}


def ob11_event(
    event: ev.WorldEvent, *, self_id: int, fmt: MessageFormat, report_self: bool
) -> dict[str, Any] | None:
    """The event `self_id` receives for `event`, or None when it receives nothing."""
    if isinstance(event, ev.MessageCreated):
        return _message(event, self_id, fmt, report_self)
    return _BUILDERS[type(event)](event, self_id)
