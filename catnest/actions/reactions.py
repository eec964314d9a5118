"""Emoji reactions: set_msg_emoji_like and get_emoji_likes (napcat-api.md §6.7)."""

from __future__ import annotations

import math
from typing import Annotated, Any

import msgspec

from catnest.actions import registry
from catnest.actions.context import ActionContext
from catnest.actions.messages import find_message
from catnest.onebot.errors import BadParams
from catnest.onebot.params import CountRule
from catnest.store.ids import MAX_MESSAGE_ID
from catnest.world.reactions import canonical_emoji_id


class EmojiLikeParams(msgspec.Struct):
    message_id: int | str
    emoji_id: Any = msgspec.UNSET
    set: Any = msgspec.UNSET


class EmojiLikesParams(msgspec.Struct):
    message_id: int | str
    emoji_id: Any = msgspec.UNSET
    emoji_type: Any = msgspec.UNSET
    # NapCat: count 0 (its default) means every reaction.
    count: Annotated[int, CountRule(MAX_MESSAGE_ID)] = 0
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
    await ctx.world.reactions.react(ctx.self_id, message.message_id, emoji, add)
    # NapCat returns the NT call's raw result (napcat-api.md §6.7).
    return {"result": 0, "errMsg": ""}


@registry.action("get_emoji_likes", EmojiLikesParams)
async def get_emoji_likes(ctx: ActionContext, p: EmojiLikesParams) -> dict[str, Any]:
    emoji = _emoji_id(p.emoji_id)
    if p.emoji_type not in (msgspec.UNSET, None, "1", "2", 1, 2):
        raise BadParams(f"emoji_type: expected '1' or '2', got {p.emoji_type!r}")
    message = await find_message(ctx, p.message_id)
    users: list[tuple[int, str]] = []
    kind = "1" if len(emoji) <= 3 else "2"
    if p.emoji_type in (msgspec.UNSET, None) or str(p.emoji_type) == kind:
        users = await ctx.world.reactions.users(
            ctx.self_id, message.message_id, emoji, p.count or None
        )
    # NapCat's shape: the QQ number as a string (it is a tinyId there).
    return {"emoji_like_list": [{"user_id": str(uin), "nick_name": nick} for uin, nick in users]}
