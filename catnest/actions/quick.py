"""`.handle_quick_operation`: what a webhook answer or a bot's quick reply asks for.

OneBot 11 quick operations (api/hidden.md; NapCat's api/quick-action.ts): on a message event
`reply` (with `auto_escape`, `at_sender`), `delete`, `kick`, `ban` / `ban_duration`; on a request
event `approve` with `remark` (friend) or `reason` (group).
"""

from __future__ import annotations

from typing import Any

import msgspec

from catnest.actions import registry
from catnest.actions.context import ActionContext
from catnest.actions.friends import bounded_text
from catnest.actions.messages import build_content
from catnest.onebot.content import Content
from catnest.onebot.errors import BadParams
from catnest.onebot.params import convert_params, parse_bool
from catnest.onebot.segments import raw_message

# OneBot 11: `ban_duration` defaults to 30 minutes.
DEFAULT_BAN_SECONDS = 30 * 60


class QuickParams(msgspec.Struct):
    context: dict[str, Any]
    operation: dict[str, Any]


class _MessageContext(msgspec.Struct):
    message_type: str
    user_id: int
    message_id: int | None = None
    group_id: int | None = None
    sub_type: str = ""


class _RequestContext(msgspec.Struct):
    request_type: str
    flag: str


def _flag(operation: dict[str, Any], key: str, default: bool) -> bool:
    return parse_bool(operation.get(key, msgspec.UNSET), name=f"operation.{key}", default=default)


def _group_id(event: _MessageContext) -> int:
    if event.group_id is None:
        raise BadParams("context.group_id: required for a group message")
    return event.group_id


async def _reply(ctx: ActionContext, event: _MessageContext, op: dict[str, Any]) -> None:
    group = event.message_type == "group"
    content = build_content(
        ctx, op["reply"], op.get("auto_escape", msgspec.UNSET), private=not group
    )
    if group:
        group_id = _group_id(event)
        if _flag(op, "at_sender", True):
            at = {"type": "at", "data": {"qq": str(event.user_id)}}
            space = {"type": "text", "data": {"text": " "}}
            segments = [at, space, *content.segments]
            content = Content(segments, raw_message(segments))
        await ctx.world.messages.send_group(ctx.self_id, group_id, content)
    else:
        via = event.group_id if event.sub_type == "group" else None
        await ctx.world.messages.send_private(ctx.self_id, event.user_id, content, via_group=via)


async def _on_message(ctx: ActionContext, event: _MessageContext, op: dict[str, Any]) -> None:
    if event.message_type not in ("group", "private"):
        raise BadParams(
            f"context.message_type: expected 'group' or 'private', got {event.message_type!r}"
        )
    if event.message_type == "group":
        _group_id(event)  # refuse a group context without its group before doing anything
    if op.get("reply") not in (None, ""):
        await _reply(ctx, event, op)
    if event.message_type != "group":
        return
    group_id = _group_id(event)
    if _flag(op, "delete", False) and event.message_id is not None:
        await ctx.world.messages.recall(ctx.self_id, event.message_id)
    if _flag(op, "kick", False):
        await ctx.world.group_admin.kick(ctx.self_id, group_id, event.user_id)
    elif _flag(op, "ban", False):
        duration = op.get("ban_duration", DEFAULT_BAN_SECONDS)
        if isinstance(duration, bool) or not isinstance(duration, int):
            raise BadParams("operation.ban_duration: expected an integer number of seconds")
        await ctx.world.group_admin.ban(ctx.self_id, group_id, event.user_id, duration)


async def _on_request(ctx: ActionContext, event: _RequestContext, op: dict[str, Any]) -> None:
    if "approve" not in op:
        return
    approve = _flag(op, "approve", True)
    limit = ctx.limits.max_name_chars
    if event.request_type == "friend":
        remark = bounded_text(_text(op, "remark"), name="operation.remark", limit=limit)
        await ctx.world.requests.answer_friend_request(ctx.self_id, event.flag, approve, remark)
    elif event.request_type == "group":
        reason = bounded_text(_text(op, "reason"), name="operation.reason", limit=limit)
        await ctx.world.requests.answer_group_request(ctx.self_id, event.flag, approve, reason)


def _text(operation: dict[str, Any], key: str) -> str:
    value = operation.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadParams(f"operation.{key}: expected a string")
    return value


@registry.action(".handle_quick_operation", QuickParams)
async def handle_quick_operation(ctx: ActionContext, p: QuickParams) -> None:
    post_type = p.context.get("post_type")
    if post_type == "message":
        event = convert_params(p.context, _MessageContext)
        await _on_message(ctx, event, p.operation)
    elif post_type == "request":
        await _on_request(ctx, convert_params(p.context, _RequestContext), p.operation)
    elif post_type not in ("notice", "meta_event", "message_sent"):
        raise BadParams(f"context.post_type: cannot act on {post_type!r}")
