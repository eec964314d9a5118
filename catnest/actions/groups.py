"""Group and member lookups."""

from __future__ import annotations

from typing import Any

import msgspec

from catnest.actions import registry
from catnest.actions.context import ActionContext
from catnest.actions.friends import NoCacheParams
from catnest.actions.shapes import group_object, member_object
from catnest.onebot.params import Uin


class GroupParams(msgspec.Struct):
    group_id: Uin
    no_cache: Any = False


class MemberParams(msgspec.Struct):
    group_id: Uin
    user_id: Uin
    no_cache: Any = False


@registry.action("get_group_list", NoCacheParams)
async def get_group_list(ctx: ActionContext, p: NoCacheParams) -> list[dict[str, Any]]:
    return [group_object(g) for g in await ctx.world.social.groups_of(ctx.self_id)]


@registry.action("get_group_info", GroupParams)
async def get_group_info(ctx: ActionContext, p: GroupParams) -> dict[str, Any]:
    return group_object(await ctx.world.social.group(p.group_id))


@registry.action("get_group_member_list", GroupParams)
async def get_group_member_list(ctx: ActionContext, p: GroupParams) -> list[dict[str, Any]]:
    members = await ctx.world.social.members(p.group_id, ctx.self_id)
    return [member_object(m) for m in members]


@registry.action("get_group_member_info", MemberParams)
async def get_group_member_info(ctx: ActionContext, p: MemberParams) -> dict[str, Any]:
    member = await ctx.world.social.group_member(p.group_id, p.user_id, ctx.self_id)
    return member_object(member)
