"""Merged forwards: the send_*forward_msg actions and get_forward_msg (napcat-api.md §6.2)."""

from __future__ import annotations

from typing import Any

import msgspec

from catnest.actions import registry
from catnest.actions.context import ActionContext
from catnest.actions.messages import SendMsgParams, expansion, find_message, route
from catnest.onebot.errors import BadParams
from catnest.onebot.shapes import forward_node_object
from catnest.world.forwards import Forward


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
        forward = await ctx.world.forwards.forward_of_message(
            ctx.self_id, message.message_id, **expansion(ctx)
        )
    else:
        forward = await ctx.world.forwards.forward(ctx.self_id, ref, **expansion(ctx))
    return {
        "messages": [
            forward_node_object(node, self_id=ctx.self_id, fmt=ctx.message_format)
            for node in forward.nodes
        ]
    }
