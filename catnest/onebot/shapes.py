"""OneBot 11 shapes of world records, as NapCat builds them (napcat-api.md §5, helper/data.ts)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import orjson

from catnest.onebot.cqcode import Segment
from catnest.onebot.segments import raw_message
from catnest.store.records import (
    CHAT_GROUP,
    CHAT_TEMP,
    Account,
    Friend,
    Group,
    Member,
    RecentEntry,
    StoredMessage,
)

if TYPE_CHECKING:
    from catnest.world.forwards import Carried, ForwardNode

# An adapter's `messagePostFormat`: segment arrays, or CQ strings.
MessageFormat = Literal["array", "string"]


def message_object(
    msg: StoredMessage, *, self_id: int, fmt: MessageFormat, carried: Carried | None = None
) -> dict[str, Any]:
    """The OB11 message object `self_id` sees for `msg`, in array or string form.

    Unlike NapCat's `lastestMsg`, `message_id`, `message_seq` and `real_id` are always present
    (DESIGN.md §2); they all carry the persistent short id, `real_seq` the conversation seq.
    `carried` holds the expanded bundles of the forwards `msg` carries: in array form they are
    shown under each forward segment's `data.content`, as NapCat's parseMultMsg does.
    """
    is_self = msg.sender_uin == self_id
    is_group = msg.chat_type == CHAT_GROUP
    sender: dict[str, Any] = {
        "user_id": msg.sender_uin,
        "nickname": msg.sender_nickname,
        "card": msg.sender_card if is_group else "",
    }
    if is_group:
        sender["role"] = msg.sender_role
        if msg.sender_title:
            sender["title"] = msg.sender_title
    obj: dict[str, Any] = {
        "self_id": self_id,
        "user_id": msg.sender_uin,
        "time": msg.time,
        "message_id": msg.message_id,
        "message_seq": msg.message_id,
        "real_id": msg.message_id,
        "real_seq": str(msg.seq),
        "message_type": "group" if is_group else "private",
        "sender": sender,
        "raw_message": msg.raw_message,
        "font": 14,
        "sub_type": "normal" if is_group else ("group" if msg.chat_type == CHAT_TEMP else "friend"),
        # Stored segments are already canonical JSON: embed them without decoding.
        "message": msg.raw_message if fmt == "string" else orjson.Fragment(msg.segments_json),
        "message_format": fmt,
        "post_type": "message_sent" if is_self else "message",
    }
    if carried and fmt == "array":
        segments = orjson.loads(msg.segments_json)
        obj["message"] = forward_segments(segments, carried, self_id=self_id)
    if is_self:
        obj["message_sent_type"] = "self"
    if is_group:
        obj["group_id"] = msg.group_id
        obj["group_name"] = msg.group_name
    else:
        if msg.chat_type == CHAT_TEMP:
            obj["temp_source"] = 0
            obj["group_id"] = msg.temp_group_id
        if msg.pair is not None:
            a, b = msg.pair
            obj["target_id"] = b if a == self_id else a
    return obj


def friend_object(friend: Friend) -> dict[str, Any]:
    """A friend as `get_friend_list` returns it."""
    account = friend.account
    return {
        "birthday_year": 0,
        "birthday_month": 0,
        "birthday_day": 0,
        "user_id": account.uin,
        "age": account.age,
        "phone_num": "",
        "email": "",
        "category_id": friend.category_id,
        "nickname": account.nickname,
        "remark": friend.remark or account.nickname,
        "sex": account.sex,
        "level": 0,
    }


def stranger_object(account: Account, remark: str) -> dict[str, Any]:
    """A user profile as `get_stranger_info` returns it."""
    return {
        "user_id": account.uin,
        "uid": f"u_{account.uin}",
        "uin": str(account.uin),
        "nickname": account.nickname,
        "age": account.age,
        "qid": "",
        "qqLevel": 0,
        "level": 0,
        "sex": account.sex,
        "long_nick": account.sign,
        "reg_time": account.created_at,
        "is_vip": False,
        "is_years_vip": False,
        "vip_level": 0,
        "remark": remark,
        "status": 10,
        "login_days": 0,
    }


def group_object(group: Group) -> dict[str, Any]:
    """A group as `get_group_list` / `get_group_info` return it."""
    return {
        "group_all_shut": -1 if group.whole_ban else 0,
        "group_remark": "",
        "group_id": group.group_id,
        "group_name": group.name,
        "member_count": group.member_count,
        "max_member_count": group.max_member_count,
    }


def member_object(member: Member) -> dict[str, Any]:
    """A group member as `get_group_member_info` / `_list` return it."""
    account = member.account
    return {
        "group_id": member.group_id,
        "user_id": account.uin,
        "nickname": account.nickname,
        "card": member.card,
        "sex": account.sex,
        "age": account.age,
        "area": "",
        "level": "0",
        "qq_level": 0,
        "join_time": member.join_time,
        "last_sent_time": member.last_sent_time,
        "title_expire_time": 0,
        "unfriendly": False,
        "card_changeable": True,
        "is_robot": account.is_bot,
        "shut_up_timestamp": member.shut_up_until,
        "role": member.role,
        "title": member.title,
    }


def forward_segments(segments: list[Segment], nested: Carried, *, self_id: int) -> list[Segment]:
    """`segments` with each expanded forward's nodes under `data.content`, as NapCat's array
    form shows a forward (napcat-api.md §5.2); other segments are returned as they are."""
    out: list[Segment] = []
    for seg in segments:
        res_id = str(seg["data"].get("id", "")) if seg["type"] == "forward" else ""
        if res_id in nested:
            content = [
                forward_node_object(node, self_id=self_id, fmt="array") for node in nested[res_id]
            ]
            seg = {"type": "forward", "data": {"id": res_id, "content": content}}
        out.append(seg)
    return out


def forward_node_object(node: ForwardNode, *, self_id: int, fmt: MessageFormat) -> dict[str, Any]:
    """One node of a merged forward as a message object, as NapCat's get_forward_msg shows it.

    NapCat parses each node as a message in the destination's chat; `content` repeats
    `message` because go-cqhttp's get_forward_msg named the field so and clients written
    against it still read that name. A node copied from a stored message keeps its
    message_id; a custom node has none (0).
    """
    node_raw = raw_message(node.segments)
    if fmt == "string":
        message: Any = node_raw
    else:
        message = forward_segments(node.segments, node.nested, self_id=self_id)
    is_group = node.group_id is not None
    obj: dict[str, Any] = {
        "self_id": self_id,
        "user_id": node.user_id,
        "time": node.time,
        "message_id": node.message_id,
        "message_seq": node.message_id,
        "real_id": node.message_id,
        "real_seq": "0",
        "message_type": "group" if is_group else "private",
        "sender": {"user_id": node.user_id, "nickname": node.nickname, "card": ""},
        "raw_message": node_raw,
        "font": 14,
        "sub_type": "normal" if is_group else "friend",
        "message": message,
        "message_format": fmt,
        "post_type": "message_sent" if node.user_id == self_id else "message",
        "content": message,
    }
    if node.user_id == self_id:
        obj["message_sent_type"] = "self"
    if is_group:
        obj["group_id"] = node.group_id
    return obj


def contact_item(
    entry: RecentEntry, *, self_id: int, fmt: MessageFormat, carried: Carried | None = None
) -> dict[str, Any]:
    """One `get_recent_contact` item: every seed field with NapCat's types, in the seed's
    order, then extras (spec/get_recent_contact.openapi.yaml, DESIGN.md §2).

    `carried` expands the forwards the last message carries, as NapCat's lastestMsg does.
    """
    last = entry.last
    return {
        "lastestMsg": message_object(last, self_id=self_id, fmt=fmt, carried=carried),
        "peerUin": str(entry.peer_uin),
        "remark": entry.remark,
        "msgTime": str(last.time),
        "chatType": entry.chat_type,
        "msgId": str(last.nt_msg_id),
        "sendNickName": last.sender_nickname,
        "sendMemberName": last.sender_card if entry.chat_type == CHAT_GROUP else "",
        "peerName": entry.peer_name,
        # Extras beyond the seed (NapCat issue #1103 asked for unread counts).
        "unreadCnt": entry.unread,
        "peerUid": str(entry.peer_uin) if entry.chat_type == CHAT_GROUP else f"u_{entry.peer_uin}",
        "topFlag": int(entry.pinned),
    }
