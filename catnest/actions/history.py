"""Message history pages and read marks."""

from __future__ import annotations

from typing import Any

import msgspec

from catnest.actions import registry
from catnest.actions.context import ActionContext
from catnest.actions.messages import expansion, find_message
from catnest.onebot.errors import BadParams
from catnest.onebot.params import HistoryCount, NoParams, Uin, parse_bool
from catnest.onebot.shapes import message_object
from catnest.store.records import Conversation
from catnest.world.forwards import Carried

DEFAULT_HISTORY_COUNT = 20


class _HistoryParams(msgspec.Struct):
    message_seq: Any = msgspec.UNSET
    message_id: Any = msgspec.UNSET
    count: HistoryCount = DEFAULT_HISTORY_COUNT
    reverse_order: Any = msgspec.UNSET
    reverseOrder: Any = msgspec.UNSET  # NapCat's legacy spelling; the two are OR'ed


class FriendHistoryParams(_HistoryParams):
    user_id: Uin = 0


class GroupHistoryParams(_HistoryParams):
    group_id: Uin = 0


def _anchor(p: _HistoryParams) -> int | str | None:
    # NapCat: message_seq (a short message id) absent, 0 or "" means "the latest".
    for value in (p.message_seq, p.message_id):
        if value is msgspec.UNSET or value is None or value in (0, "", "0"):
            continue
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise BadParams(f"message_seq: expected a message id, got {value!r}")
        return value
    return None


async def _page(ctx: ActionContext, conv: Conversation | None, p: _HistoryParams) -> dict[str, Any]:
    count = p.count
    reverse = parse_bool(p.reverse_order, name="reverse_order", default=False) or parse_bool(
        p.reverseOrder, name="reverseOrder", default=False
    )
    anchor_value = _anchor(p)
    anchor = None if anchor_value is None else (await find_message(ctx, anchor_value)).message_id
    if count == 0:
        return {"messages": []}
    messages = await ctx.world.conversations.history(
        ctx.self_id, conv, anchor=anchor, count=count, older=reverse if anchor is not None else True
    )
    if anchor is None and reverse:
        # Without an anchor, reverse_order flips the page to newest first (NapCat #1671).
        messages.reverse()
    fmt = ctx.message_format
    carried: dict[int, Carried] = {}
    if fmt == "array":
        # NapCat's history shows forwards with their nodes (parseMultMsg, napcat-api.md §5.2);
        # only messages carrying one are looked up.
        carried = await ctx.world.forwards.carried_by(ctx.self_id, messages, **expansion(ctx))
    return {
        "messages": [
            message_object(m, self_id=ctx.self_id, fmt=fmt, carried=carried.get(m.message_id))
            for m in messages
        ]
    }


def _require(value: int, name: str) -> int:
    if not value:
        raise BadParams(f"{name}: required")
    return value


@registry.action("get_friend_msg_history", FriendHistoryParams)
async def get_friend_msg_history(ctx: ActionContext, p: FriendHistoryParams) -> dict[str, Any]:
    conv = await ctx.world.conversations.private_conv(ctx.self_id, _require(p.user_id, "user_id"))
    return await _page(ctx, conv, p)


@registry.action("get_group_msg_history", GroupHistoryParams)
async def get_group_msg_history(ctx: ActionContext, p: GroupHistoryParams) -> dict[str, Any]:
    conv = await ctx.world.conversations.group_conv(ctx.self_id, _require(p.group_id, "group_id"))
    return await _page(ctx, conv, p)


class MarkReadParams(msgspec.Struct):
    user_id: Uin | None = None
    group_id: Uin | None = None
    message_id: int | str | None = None


async def _mark(ctx: ActionContext, p: MarkReadParams) -> None:
    # NapCat's three mark_* actions are one implementation: message_id, then user_id, then
    # group_id decide the conversation (napcat-api.md §6.6).
    if p.message_id is not None and str(p.message_id) not in ("", "0"):
        message = await find_message(ctx, p.message_id)
        conv: Conversation | None = await ctx.world.conversations.conv_of(message)
    elif p.user_id is not None:
        conv = await ctx.world.conversations.private_conv(ctx.self_id, p.user_id)
    elif p.group_id is not None:
        conv = await ctx.world.conversations.group_conv(ctx.self_id, p.group_id)
    else:
        raise BadParams("user_id, group_id or message_id: one is required")
    if conv is not None:
        await ctx.world.conversations.mark_read(ctx.self_id, conv)


@registry.action("mark_msg_as_read", MarkReadParams)
async def mark_msg_as_read(ctx: ActionContext, p: MarkReadParams) -> None:
    await _mark(ctx, p)


@registry.action("mark_private_msg_as_read", MarkReadParams)
async def mark_private_msg_as_read(ctx: ActionContext, p: MarkReadParams) -> None:
    await _mark(ctx, p)


@registry.action("mark_group_msg_as_read", MarkReadParams)
async def mark_group_msg_as_read(ctx: ActionContext, p: MarkReadParams) -> None:
    await _mark(ctx, p)


@registry.action("_mark_all_as_read")
async def mark_all_as_read(ctx: ActionContext, p: NoParams) -> None:
    await ctx.world.conversations.mark_all_read(ctx.self_id)
