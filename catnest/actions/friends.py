"""Friends and user profiles: lists, remarks, deletion and profile likes."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from catnest.actions import registry
from catnest.actions.context import ActionContext
from catnest.onebot.errors import BadParams
from catnest.onebot.params import CountRule, NoParams, Uin, parse_bool
from catnest.onebot.shapes import friend_object, stranger_object
from catnest.world.profiles import MAX_LIKES_PER_DAY


class NoCacheParams(msgspec.Struct):
    no_cache: Any = False  # accepted and ignored: the world is never stale


class StrangerParams(msgspec.Struct):
    user_id: Uin
    no_cache: Any = False


@registry.action("get_friend_list", NoCacheParams)
async def get_friend_list(ctx: ActionContext, p: NoCacheParams) -> list[dict[str, Any]]:
    return [friend_object(f) for f in await ctx.world.friends.friends(ctx.self_id)]


@registry.action("get_friends_with_category")
async def get_friends_with_category(ctx: ActionContext, p: NoParams) -> list[dict[str, Any]]:
    friends = await ctx.world.friends.friends(ctx.self_id)
    result = []
    for category in await ctx.world.friends.categories(ctx.self_id):
        buddies = [friend_object(f) for f in friends if f.category_id == category.category_id]
        result.append(
            {
                "categoryId": category.category_id,
                "categorySortId": category.sort_id,
                "categoryName": category.name,
                "categoryMbCount": len(buddies),
                "onlineCount": len(buddies),
                "buddyList": buddies,
            }
        )
    return result


@registry.action("get_stranger_info", StrangerParams)
async def get_stranger_info(ctx: ActionContext, p: StrangerParams) -> dict[str, Any]:
    account = await ctx.world.accounts.account(p.user_id)
    friend = await ctx.world.friends.friend(ctx.self_id, p.user_id)
    return stranger_object(account, friend.remark if friend else "")


def bounded_text(value: str | None, *, name: str, limit: int) -> str:
    """A name, card, title or remark: None counts as empty; 1400 naming `name` when too long."""
    text = value or ""
    if len(text) > limit:
        raise BadParams(f"{name}: at most {limit} characters, got {len(text)}")
    return text


class SendLikeParams(msgspec.Struct):
    user_id: Uin
    times: Annotated[int, CountRule(MAX_LIKES_PER_DAY)] = 1


class FriendRemarkParams(msgspec.Struct):
    user_id: Uin
    remark: str | None = ""


class DeleteFriendParams(msgspec.Struct):
    # NapCat reads user_id, falling back to friend_id (napcat-api.md §2.2).
    user_id: Uin | None = None
    friend_id: Uin | None = None
    temp_block: Any = msgspec.UNSET
    temp_both_del: Any = msgspec.UNSET


@registry.action("send_like", SendLikeParams)
async def send_like(ctx: ActionContext, p: SendLikeParams) -> None:
    await ctx.world.profiles.send_like(ctx.self_id, p.user_id, p.times)


@registry.action("set_friend_remark", FriendRemarkParams)
async def set_friend_remark(ctx: ActionContext, p: FriendRemarkParams) -> None:
    remark = bounded_text(p.remark, name="remark", limit=ctx.limits.max_name_chars)
    await ctx.world.friends.set_remark(ctx.self_id, p.user_id, remark)


@registry.action("delete_friend", DeleteFriendParams)
async def delete_friend(ctx: ActionContext, p: DeleteFriendParams) -> None:
    friend = p.user_id if p.user_id is not None else p.friend_id
    if friend is None:
        raise BadParams("user_id: required")
    # Validated for shape, then ignored: the world has no block list between friends, and
    # a deletion always ends the friendship on both sides.
    parse_bool(p.temp_block, name="temp_block", default=False)
    parse_bool(p.temp_both_del, name="temp_both_del", default=False)
    await ctx.world.friends.delete_friend(ctx.self_id, friend)
