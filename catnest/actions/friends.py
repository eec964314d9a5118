"""Friends and user profiles."""

from __future__ import annotations

from typing import Any

import msgspec

from catnest.actions import registry
from catnest.actions.context import ActionContext
from catnest.actions.shapes import friend_object, stranger_object
from catnest.onebot.params import NoParams, Uin


class NoCacheParams(msgspec.Struct):
    no_cache: Any = False  # accepted and ignored: the world is never stale


class StrangerParams(msgspec.Struct):
    user_id: Uin
    no_cache: Any = False


@registry.action("get_friend_list", NoCacheParams)
async def get_friend_list(ctx: ActionContext, p: NoCacheParams) -> list[dict[str, Any]]:
    return [friend_object(f) for f in await ctx.world.social.friends(ctx.self_id)]


@registry.action("get_friends_with_category")
async def get_friends_with_category(ctx: ActionContext, p: NoParams) -> list[dict[str, Any]]:
    social = ctx.world.social
    friends = await social.friends(ctx.self_id)
    result = []
    for category in await social.categories(ctx.self_id):
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
    social = ctx.world.social
    account = await social.account(p.user_id)
    friend = await social.friend(ctx.self_id, p.user_id)
    return stranger_object(account, friend.remark if friend else "")
