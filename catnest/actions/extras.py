"""Reactions, essence messages, pokes and merged forwards."""

from __future__ import annotations

import math
from typing import Any

import msgspec
import orjson

from catnest.actions import registry
from catnest.actions.context import ActionContext
from catnest.actions.messages import SendMsgParams, expansion, find_message, route
from catnest.actions.shapes import forward_node_object
from catnest.onebot.errors import BadParams
from catnest.onebot.params import Uin, parse_count
from catnest.store.extras import EssenceEntry
from catnest.store.ids import MAX_MESSAGE_ID
from catnest.world.extras import canonical_emoji_id
from catnest.world.forwards import Forward

# --- reactions ---------------------------------------------------------------------------------


class EmojiLikeParams(msgspec.Struct):
    message_id: int | str
    emoji_id: Any = msgspec.UNSET
    set: Any = msgspec.UNSET


class EmojiLikesParams(msgspec.Struct):
    message_id: int | str
    emoji_id: Any = msgspec.UNSET
    emoji_type: Any = msgspec.UNSET
    count: Any = msgspec.UNSET
    group_id: Any = msgspec.UNSET  # NapCat needs it for a long msgId; ours are unique anyway


def _emoji_id(value: Any) -> str:
    # NapCat: `!payload.emoji_id` refuses 0 and "" (SetMsgEmojiLike.ts); the world checks the rest.
    if value is msgspec.UNSET or value is None or value in (0, ""):
        raise BadParams("emoji_id: required")
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BadParams(f"emoji_id: expected a number or a string, got {value!r}")
    return canonical_emoji_id(str(value))


def _set_flag(value: Any) -> bool:
    # NapCat: absent means set; a string sets only when exactly "true"; anything else by its
    # JavaScript truthiness (`!!set`).
    if value is msgspec.UNSET or value is None:
        return True
    if isinstance(value, str):
        return value == "true"
    if isinstance(value, bool | int):
        return bool(value)
    if isinstance(value, float):
        return not (value == 0 or math.isnan(value))
    raise BadParams(f"set: expected a boolean, got {value!r}")


@registry.action("set_msg_emoji_like", EmojiLikeParams)
async def set_msg_emoji_like(ctx: ActionContext, p: EmojiLikeParams) -> dict[str, Any]:
    emoji = _emoji_id(p.emoji_id)
    add = _set_flag(p.set)
    message = await find_message(ctx, p.message_id)
    await ctx.world.extras.react(ctx.self_id, message.message_id, emoji, add)
    # NapCat returns the NT call's raw result (napcat-api.md §6.7).
    return {"result": 0, "errMsg": ""}


@registry.action("get_emoji_likes", EmojiLikesParams)
async def get_emoji_likes(ctx: ActionContext, p: EmojiLikesParams) -> dict[str, Any]:
    emoji = _emoji_id(p.emoji_id)
    if p.emoji_type not in (msgspec.UNSET, None, "1", "2", 1, 2):
        raise BadParams(f"emoji_type: expected '1' or '2', got {p.emoji_type!r}")
    # NapCat: count 0 (its default) means every reaction.
    count = parse_count(p.count, name="count", default=0, maximum=MAX_MESSAGE_ID)
    message = await find_message(ctx, p.message_id)
    users: list[tuple[int, str]] = []
    kind = "1" if len(emoji) <= 3 else "2"
    if p.emoji_type in (msgspec.UNSET, None) or str(p.emoji_type) == kind:
        users = await ctx.world.extras.reaction_users(
            ctx.self_id, message.message_id, emoji, count or None
        )
    # NapCat's shape: the QQ number as a string (it is a tinyId there).
    return {"emoji_like_list": [{"user_id": str(uin), "nick_name": nick} for uin, nick in users]}


# --- essence messages --------------------------------------------------------------------------


class EssenceParams(msgspec.Struct):
    message_id: int | str


class DeleteEssenceParams(msgspec.Struct):
    message_id: Any = msgspec.UNSET
    # NapCat's other form: a group's message by seq (msg_random is NT's, and is not needed).
    group_id: Uin | None = None
    msg_seq: Any = msgspec.UNSET
    msg_random: Any = msgspec.UNSET


class GroupIdParams(msgspec.Struct):
    group_id: Uin


@registry.action("set_essence_msg", EssenceParams)
async def set_essence_msg(ctx: ActionContext, p: EssenceParams) -> None:
    message = await find_message(ctx, p.message_id)
    await ctx.world.extras.set_essence(ctx.self_id, message.message_id)


@registry.action("delete_essence_msg", DeleteEssenceParams)
async def delete_essence_msg(ctx: ActionContext, p: DeleteEssenceParams) -> None:
    if p.group_id is not None and p.msg_seq not in (msgspec.UNSET, None, ""):
        seq = parse_count(p.msg_seq, name="msg_seq", default=0, maximum=2**63 - 1)
        message_id = await ctx.world.extras.essence_by_seq(ctx.self_id, p.group_id, seq)
    elif p.message_id not in (msgspec.UNSET, None, ""):
        if isinstance(p.message_id, bool) or not isinstance(p.message_id, int | str):
            raise BadParams(f"message_id: expected a message id, got {p.message_id!r}")
        message_id = (await find_message(ctx, p.message_id)).message_id
    else:
        raise BadParams("message_id: required (or group_id and msg_seq)")
    await ctx.world.extras.delete_essence(ctx.self_id, message_id)


def _essence_object(entry: EssenceEntry, ctx: ActionContext) -> dict[str, Any]:
    msg = entry.message
    content: Any = (
        msg.raw_message if ctx.message_format == "string" else orjson.Fragment(msg.segments_json)
    )
    # NapCat's GetGroupEssence fields plus go-cqhttp's sender_time. msg_random is NT's random
    # number; ours is the low half of the NT msgId, which is the message_id.
    return {
        "msg_seq": msg.seq,
        "msg_random": msg.message_id,
        "sender_id": msg.sender_uin,
        "sender_nick": msg.sender_card or msg.sender_nickname,
        "sender_time": msg.time,
        "operator_id": entry.operator,
        "operator_nick": entry.operator_nick,
        "operator_time": entry.created_at,
        "message_id": msg.message_id,
        "content": content,
    }


@registry.action("get_essence_msg_list", GroupIdParams)
async def get_essence_msg_list(ctx: ActionContext, p: GroupIdParams) -> list[dict[str, Any]]:
    entries = await ctx.world.extras.essence_list(ctx.self_id, p.group_id)
    return [_essence_object(entry, ctx) for entry in entries]


# --- pokes -------------------------------------------------------------------------------------


class PokeParams(msgspec.Struct):
    user_id: Uin
    group_id: Uin | None = None
    target_id: Uin | None = None


async def _poke(ctx: ActionContext, p: PokeParams) -> None:
    # NapCat (SendPoke.ts): the three names share one handler; group_id makes it a group poke
    # of target_id (default user_id), else user_id's private chat.
    target = p.target_id or p.user_id
    if p.group_id is None and target != p.user_id:
        raise BadParams("target_id: in a private chat only user_id can be poked")
    await ctx.world.extras.poke(ctx.self_id, target, p.group_id)


@registry.action("send_poke", PokeParams)
async def send_poke(ctx: ActionContext, p: PokeParams) -> None:
    await _poke(ctx, p)


@registry.action("friend_poke", PokeParams)
async def friend_poke(ctx: ActionContext, p: PokeParams) -> None:
    await _poke(ctx, p)


@registry.action("group_poke", PokeParams)
async def group_poke(ctx: ActionContext, p: PokeParams) -> None:
    await _poke(ctx, p)


# --- merged forwards ---------------------------------------------------------------------------


class SendForwardParams(SendMsgParams):
    messages: Any = msgspec.UNSET  # go-cqhttp's name; NapCat prefers it over `message`


def _nodes(p: SendForwardParams) -> Any:
    message = p.messages if p.messages is not msgspec.UNSET else p.message
    if message is msgspec.UNSET:
        raise BadParams("messages: required")
    return message


@registry.action("send_forward_msg", SendForwardParams)
async def send_forward_msg(ctx: ActionContext, p: SendForwardParams) -> dict[str, Any]:
    return await route(ctx, p, _nodes(p))


@registry.action("send_group_forward_msg", SendForwardParams)
async def send_group_forward_msg(ctx: ActionContext, p: SendForwardParams) -> dict[str, Any]:
    if p.group_id is None:
        raise BadParams("group_id: required")
    return await route(ctx, p, _nodes(p), mode="group")


@registry.action("send_private_forward_msg", SendForwardParams)
async def send_private_forward_msg(ctx: ActionContext, p: SendForwardParams) -> dict[str, Any]:
    if p.user_id is None:
        raise BadParams("user_id: required")
    return await route(ctx, p, _nodes(p), mode="private")


class GetForwardParams(msgspec.Struct):
    message_id: Any = msgspec.UNSET
    id: Any = msgspec.UNSET


def _forward_ref(p: GetForwardParams) -> str:
    # NapCat: `message_id || id`, so an empty or zero message_id falls through to id.
    for value in (p.message_id, p.id):
        if value is msgspec.UNSET or value is None or value in ("", 0):
            continue
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise BadParams(f"id: expected a message id or a res_id, got {value!r}")
        return str(value).strip()
    raise BadParams("message_id or id: required")


@registry.action("get_forward_msg", GetForwardParams)
async def get_forward_msg(ctx: ActionContext, p: GetForwardParams) -> dict[str, Any]:
    ref = _forward_ref(p)
    forward: Forward
    if ref.isascii() and ref.isdigit():
        # Digits name the message carrying the forward (short id or NT msgId), as in NapCat.
        message = await find_message(ctx, ref)
        forward = await ctx.world.extras.forwards.forward_of_message(
            ctx.self_id, message.message_id, **expansion(ctx)
        )
    else:
        forward = await ctx.world.extras.forwards.forward(ctx.self_id, ref, **expansion(ctx))
    return {
        "messages": [
            forward_node_object(node, self_id=ctx.self_id, fmt=ctx.message_format)
            for node in forward.nodes
        ]
    }
