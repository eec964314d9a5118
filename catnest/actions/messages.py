"""Sending, fetching and recalling messages."""

from __future__ import annotations

from typing import Any

import msgspec
import orjson

from catnest.actions import registry
from catnest.actions.context import ActionContext
from catnest.onebot import content as message_content
from catnest.onebot.content import Content, carries_forward
from catnest.onebot.errors import BadParams, NotFound
from catnest.onebot.params import Uin, parse_bool
from catnest.onebot.shapes import forward_segments, message_object
from catnest.store.ids import MAX_MESSAGE_ID
from catnest.store.records import StoredMessage
from catnest.world.forwards import ForwardCard


class ForwardCardParams(msgspec.Struct, kw_only=True):
    # NapCat's send payload carries a merged forward's card texts (SendMsg.ts); they matter
    # only when the message is a list of nodes.
    source: Any = msgspec.UNSET
    summary: Any = msgspec.UNSET
    prompt: Any = msgspec.UNSET
    news: Any = msgspec.UNSET
    # Catnest's own: a retried send with the same key (per bot) answers the first message's id
    # instead of posting again, even across a restart (docs/compatibility.md).
    idempotency_key: Any = msgspec.UNSET


MAX_KEY_CHARS = 128


def send_key(p: ForwardCardParams) -> str | None:
    """The send's idempotency key, if any, checked."""
    key = p.idempotency_key
    if key is msgspec.UNSET or key is None:
        return None
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_CHARS:
        raise BadParams(f"idempotency_key: expected a string of 1 to {MAX_KEY_CHARS} characters")
    return key


class SendPrivateParams(ForwardCardParams):
    user_id: Uin
    message: Any
    auto_escape: Any = msgspec.UNSET
    group_id: Uin | None = None  # temp chat source, for a non-friend


class SendGroupParams(ForwardCardParams):
    group_id: Uin
    message: Any
    auto_escape: Any = msgspec.UNSET


class SendMsgParams(ForwardCardParams):
    message: Any = msgspec.UNSET
    message_type: str | None = None
    user_id: Uin | None = None
    group_id: Uin | None = None
    auto_escape: Any = msgspec.UNSET


class MessageIdParams(msgspec.Struct):
    message_id: int | str


def build_content(ctx: ActionContext, message: Any, auto_escape: Any, *, private: bool) -> Content:
    """Normalise a `message` param (with its `auto_escape`) into storable content."""
    if message is msgspec.UNSET:
        raise BadParams("message: required")
    escape = parse_bool(auto_escape, name="auto_escape", default=False)
    return message_content.build_content(message, escape, limits=ctx.limits, private=private)


def forward_card(p: ForwardCardParams) -> ForwardCard:
    """The card texts of a merged forward, each checked to be a string."""
    texts: dict[str, str | None] = {}
    for name in ("source", "summary", "prompt"):
        value = getattr(p, name)
        if value is msgspec.UNSET or value is None:
            texts[name] = None
        elif isinstance(value, str):
            texts[name] = value
        else:
            raise BadParams(f"{name}: expected a string")
    news: list[str] = []
    if p.news is not msgspec.UNSET and p.news is not None:
        items = p.news if isinstance(p.news, list) else [None]
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("text"), str):
                raise BadParams('news: expected an array of {"text": string} objects')
            news.append(item["text"])
    return ForwardCard(texts["source"], texts["summary"], texts["prompt"], tuple(news))


def expansion(ctx: ActionContext) -> dict[str, int]:
    """How far a shown forward expands the forwards nested in it: the depth limit, and a node
    budget so that bundles sharing bundles cannot make one answer grow without bound."""
    limits = ctx.limits
    return {
        "max_depth": limits.max_forward_depth,
        "budget": limits.max_forward_nodes * limits.max_forward_depth,
    }


async def deliver(
    ctx: ActionContext,
    content: Content,
    *,
    group_id: int | None = None,
    user_id: int | None = None,
    via_group: int | None = None,
    card: ForwardCard | None = None,
    key: str | None = None,
) -> dict[str, Any]:
    """Send `content` to a group, else to a user; what the send actions answer."""
    sent = await ctx.world.messages.send(
        ctx.self_id,
        content,
        group_id=group_id,
        user_id=None if group_id is not None else user_id,
        via_group=via_group,
        card=card,
        key=key,
        max_forward_depth=ctx.limits.max_forward_depth,
    )
    if sent.res_id is not None:
        # NapCat: a merged forward's answer adds res_id and go-cqhttp's forward_id (§6.2).
        return {"message_id": sent.message.message_id, "res_id": sent.res_id,
                "forward_id": sent.res_id}  # fmt: skip
    return {"message_id": sent.message.message_id}


async def route(
    ctx: ActionContext, p: SendMsgParams, message: Any, *, mode: str | None = None
) -> dict[str, Any]:
    """Send as send_msg does: to `group_id` unless `message_type` (else `mode`) says private.

    `mode` is what the group- and private-only forward actions imply (NapCat's ContextMode).
    """
    kind = p.message_type
    if kind not in (None, "private", "group"):
        raise BadParams(f"message_type: expected 'private' or 'group', got {kind!r}")
    kind = kind or mode
    card = forward_card(p)
    if kind == "group" or (kind is None and p.group_id is not None):
        if p.group_id is None:
            raise BadParams("group_id: required when message_type is 'group'")
        content = build_content(ctx, message, p.auto_escape, private=False)
        return await deliver(ctx, content, group_id=p.group_id, card=card, key=send_key(p))
    if p.user_id is None:
        if kind == "private":
            raise BadParams("user_id: required when message_type is 'private'")
        raise BadParams("user_id or group_id: one is required")
    content = build_content(ctx, message, p.auto_escape, private=True)
    return await deliver(
        ctx, content, user_id=p.user_id, via_group=p.group_id, card=card, key=send_key(p)
    )


@registry.action("send_private_msg", SendPrivateParams)
async def send_private_msg(ctx: ActionContext, p: SendPrivateParams) -> dict[str, Any]:
    content = build_content(ctx, p.message, p.auto_escape, private=True)
    return await deliver(
        ctx,
        content,
        user_id=p.user_id,
        via_group=p.group_id,
        card=forward_card(p),
        key=send_key(p),
    )


@registry.action("send_group_msg", SendGroupParams)
async def send_group_msg(ctx: ActionContext, p: SendGroupParams) -> dict[str, Any]:
    content = build_content(ctx, p.message, p.auto_escape, private=False)
    return await deliver(ctx, content, group_id=p.group_id, card=forward_card(p), key=send_key(p))


@registry.action("send_msg", SendMsgParams)
async def send_msg(ctx: ActionContext, p: SendMsgParams) -> dict[str, Any]:
    return await route(ctx, p, p.message)


async def find_message(ctx: ActionContext, raw_id: int | str) -> StoredMessage:
    """A message by short id, or by NT msgId (as NapCat's get_msg also accepts)."""
    text = str(raw_id).strip()
    if not text.isdigit() or len(text) > 20:
        raise BadParams(f"message_id: expected a message id, got {raw_id!r}")
    value = int(text)
    if value > MAX_MESSAGE_ID:
        # Past int64 no stored msgId can match, and the driver could not bind the value.
        found = (
            None
            if value >= 2**63
            else await ctx.world.messages.find_by_nt_msg_id(ctx.self_id, value)
        )
        if found is None or found.recalled_at is not None:
            raise NotFound(f"message {text} not found")
        return found
    return await ctx.world.messages.get_message(ctx.self_id, value)


@registry.action("get_msg", MessageIdParams)
async def get_msg(ctx: ActionContext, p: MessageIdParams) -> dict[str, Any]:
    message = await find_message(ctx, p.message_id)
    obj = message_object(message, self_id=ctx.self_id, fmt=ctx.message_format)
    likes = await ctx.world.reactions.summary(ctx.self_id, message.message_id)
    # NapCat's all-strings shape; type "2" is a Unicode emoji code point (napcat-api.md §6.7).
    obj["emoji_likes_list"] = [
        {"emoji_id": emoji, "emoji_type": "1" if len(emoji) <= 3 else "2", "likes_cnt": str(n)}
        for emoji, n in likes
    ]
    if ctx.message_format == "array" and carries_forward(message.segments_json):
        # NapCat's get_msg shows a merged forward with its nodes (parseMultMsg, §5.2).
        nested = await ctx.world.forwards.carried_forwards(ctx.self_id, message, **expansion(ctx))
        segments = orjson.loads(message.segments_json)
        obj["message"] = forward_segments(segments, nested, self_id=ctx.self_id)
    return obj


@registry.action("delete_msg", MessageIdParams)
async def delete_msg(ctx: ActionContext, p: MessageIdParams) -> None:
    message = await find_message(ctx, p.message_id)
    await ctx.world.messages.recall(ctx.self_id, message.message_id)
