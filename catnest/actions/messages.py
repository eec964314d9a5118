"""Sending, fetching and recalling messages."""

from __future__ import annotations

from typing import Any

import msgspec

from catnest.actions import registry
from catnest.actions.context import ActionContext
from catnest.actions.shapes import message_object
from catnest.onebot.errors import BadParams, NotFound
from catnest.onebot.params import Uin, parse_bool
from catnest.onebot.segments import normalize_message, raw_message
from catnest.store.ids import MAX_MESSAGE_ID
from catnest.store.records import StoredMessage
from catnest.world.chat import Content


class SendPrivateParams(msgspec.Struct):
    user_id: Uin
    message: Any
    auto_escape: Any = msgspec.UNSET
    group_id: Uin | None = None  # temp chat source, for a non-friend


class SendGroupParams(msgspec.Struct):
    group_id: Uin
    message: Any
    auto_escape: Any = msgspec.UNSET


class SendMsgParams(msgspec.Struct):
    message: Any
    message_type: str | None = None
    user_id: Uin | None = None
    group_id: Uin | None = None
    auto_escape: Any = msgspec.UNSET


class MessageIdParams(msgspec.Struct):
    message_id: int | str


def build_content(ctx: ActionContext, message: Any, auto_escape: Any, *, private: bool) -> Content:
    """Normalise a `message` param into storable content."""
    escape = parse_bool(auto_escape, name="auto_escape", default=False)
    segments = normalize_message(message, auto_escape=escape, limits=ctx.limits)
    if private:
        # NapCat drops @ in private chats (napcat-api.md §5.3): there is nobody else to mention.
        segments = [s for s in segments if s["type"] != "at"]
        if not segments:
            raise BadParams("message: an @ alone cannot be sent in a private chat")
    return Content(segments, raw_message(segments))


async def send_private(
    ctx: ActionContext, user_id: int, content: Content, group_id: int | None
) -> dict[str, Any]:
    stored = await ctx.world.chat.send_private(ctx.self_id, user_id, content, via_group=group_id)
    return {"message_id": stored.message_id}


async def send_group(ctx: ActionContext, group_id: int, content: Content) -> dict[str, Any]:
    stored = await ctx.world.chat.send_group(ctx.self_id, group_id, content)
    return {"message_id": stored.message_id}


@registry.action("send_private_msg", SendPrivateParams)
async def send_private_msg(ctx: ActionContext, p: SendPrivateParams) -> dict[str, Any]:
    content = build_content(ctx, p.message, p.auto_escape, private=True)
    return await send_private(ctx, p.user_id, content, p.group_id)


@registry.action("send_group_msg", SendGroupParams)
async def send_group_msg(ctx: ActionContext, p: SendGroupParams) -> dict[str, Any]:
    content = build_content(ctx, p.message, p.auto_escape, private=False)
    return await send_group(ctx, p.group_id, content)


@registry.action("send_msg", SendMsgParams)
async def send_msg(ctx: ActionContext, p: SendMsgParams) -> dict[str, Any]:
    kind = p.message_type
    if kind not in (None, "private", "group"):
        raise BadParams(f"message_type: expected 'private' or 'group', got {kind!r}")
    if kind == "group" or (kind is None and p.group_id is not None):
        if p.group_id is None:
            raise BadParams("group_id: required when message_type is 'group'")
        return await send_group(
            ctx, p.group_id, build_content(ctx, p.message, p.auto_escape, private=False)
        )
    if p.user_id is None:
        raise BadParams("user_id or group_id: one is required")
    content = build_content(ctx, p.message, p.auto_escape, private=True)
    return await send_private(ctx, p.user_id, content, p.group_id)


async def find_message(ctx: ActionContext, raw_id: int | str) -> StoredMessage:
    """A message by short id, or by NT msgId (as NapCat's get_msg also accepts)."""
    text = str(raw_id).strip()
    if not text.isdigit() or len(text) > 20:
        raise BadParams(f"message_id: expected a message id, got {raw_id!r}")
    value = int(text)
    if value > MAX_MESSAGE_ID:
        found = await ctx.world.chat.find_by_nt_msg_id(ctx.self_id, value)
        if found is None or found.recalled_at is not None:
            raise NotFound(f"message {text} not found")
        return found
    return await ctx.world.chat.get_message(ctx.self_id, value)


@registry.action("get_msg", MessageIdParams)
async def get_msg(ctx: ActionContext, p: MessageIdParams) -> dict[str, Any]:
    message = await find_message(ctx, p.message_id)
    obj = message_object(message, self_id=ctx.self_id, fmt=ctx.message_format)
    obj["emoji_likes_list"] = []
    return obj


@registry.action("delete_msg", MessageIdParams)
async def delete_msg(ctx: ActionContext, p: MessageIdParams) -> None:
    message = await find_message(ctx, p.message_id)
    await ctx.world.chat.recall(ctx.self_id, message.message_id)
