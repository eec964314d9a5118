"""Essence messages: set_essence_msg, delete_essence_msg and get_essence_msg_list."""

from __future__ import annotations

from typing import Any

import msgspec
import orjson

from catnest.actions import registry
from catnest.actions.context import ActionContext
from catnest.actions.messages import find_message
from catnest.onebot.errors import BadParams
from catnest.onebot.params import Uin, parse_count
from catnest.store.essence import EssenceEntry


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
    await ctx.world.essence.set(ctx.self_id, message.message_id)


@registry.action("delete_essence_msg", DeleteEssenceParams)
async def delete_essence_msg(ctx: ActionContext, p: DeleteEssenceParams) -> None:
    if p.group_id is not None and p.msg_seq not in (msgspec.UNSET, None, ""):
        seq = parse_count(p.msg_seq, name="msg_seq", maximum=2**63 - 1)
        message_id = await ctx.world.essence.by_seq(ctx.self_id, p.group_id, seq)
    elif p.message_id not in (msgspec.UNSET, None, ""):
        if isinstance(p.message_id, bool) or not isinstance(p.message_id, int | str):
            raise BadParams(f"message_id: expected a message id, got {p.message_id!r}")
        message_id = (await find_message(ctx, p.message_id)).message_id
    else:
        raise BadParams("message_id: required (or group_id and msg_seq)")
    await ctx.world.essence.delete(ctx.self_id, message_id)


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
    entries = await ctx.world.essence.list(ctx.self_id, p.group_id)
    return [_essence_object(entry, ctx) for entry in entries]
