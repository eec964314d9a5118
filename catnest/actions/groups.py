"""Group and member lookups, and group administration (napcat-api.md §2.1)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from catnest.actions import registry
from catnest.actions.context import ActionContext
from catnest.actions.friends import NoCacheParams, bounded_text
from catnest.onebot.params import CountRule, Uin, parse_bool
from catnest.onebot.shapes import group_object, member_object

# The OneBot 11 spec's default mute: 30 minutes (NapCat has none and lifts the mute instead;
# a bot that leaves duration out means to mute).
DEFAULT_BAN_SECONDS = 30 * 60


class GroupParams(msgspec.Struct):
    group_id: Uin
    no_cache: Any = False


class MemberParams(msgspec.Struct):
    group_id: Uin
    user_id: Uin
    no_cache: Any = False


@registry.action("get_group_list", NoCacheParams)
async def get_group_list(ctx: ActionContext, p: NoCacheParams) -> list[dict[str, Any]]:
    return [group_object(g) for g in await ctx.world.groups.groups_of(ctx.self_id)]


@registry.action("get_group_info", GroupParams)
async def get_group_info(ctx: ActionContext, p: GroupParams) -> dict[str, Any]:
    return group_object(await ctx.world.groups.group(p.group_id))


@registry.action("get_group_member_list", GroupParams)
async def get_group_member_list(ctx: ActionContext, p: GroupParams) -> list[dict[str, Any]]:
    members = await ctx.world.groups.members(p.group_id, ctx.self_id)
    return [member_object(m) for m in members]


@registry.action("get_group_member_info", MemberParams)
async def get_group_member_info(ctx: ActionContext, p: MemberParams) -> dict[str, Any]:
    member = await ctx.world.groups.group_member(p.group_id, p.user_id, ctx.self_id)
    return member_object(member)


class KickParams(msgspec.Struct):
    group_id: Uin
    user_id: Uin
    reject_add_request: Any = msgspec.UNSET


class BanParams(msgspec.Struct):
    group_id: Uin
    user_id: Uin
    # No upper bound here: the world cuts mutes to QQ's 30 days, as QQ does.
    duration: Annotated[int, CountRule(2**62)] = DEFAULT_BAN_SECONDS


class WholeBanParams(msgspec.Struct):
    group_id: Uin
    enable: Any = msgspec.UNSET


class AdminParams(msgspec.Struct):
    group_id: Uin
    user_id: Uin
    enable: Any = msgspec.UNSET


class CardParams(msgspec.Struct):
    group_id: Uin
    user_id: Uin
    card: str | None = ""


class GroupNameParams(msgspec.Struct):
    group_id: Uin
    group_name: str


class LeaveParams(msgspec.Struct):
    group_id: Uin
    is_dismiss: Any = msgspec.UNSET


class TitleParams(msgspec.Struct):
    group_id: Uin
    user_id: Uin
    special_title: str | None = ""
    duration: Any = msgspec.UNSET  # accepted and ignored: world titles do not expire


@registry.action("set_group_kick", KickParams)
async def set_group_kick(ctx: ActionContext, p: KickParams) -> None:
    reject = parse_bool(p.reject_add_request, name="reject_add_request", default=False)
    await ctx.world.group_admin.kick(ctx.self_id, p.group_id, p.user_id, reject_add_request=reject)


@registry.action("set_group_ban", BanParams)
async def set_group_ban(ctx: ActionContext, p: BanParams) -> None:
    await ctx.world.group_admin.ban(ctx.self_id, p.group_id, p.user_id, p.duration)


@registry.action("set_group_whole_ban", WholeBanParams)
async def set_group_whole_ban(ctx: ActionContext, p: WholeBanParams) -> None:
    enable = parse_bool(p.enable, name="enable", default=True)
    await ctx.world.group_admin.whole_ban(ctx.self_id, p.group_id, enable)


@registry.action("set_group_admin", AdminParams)
async def set_group_admin(ctx: ActionContext, p: AdminParams) -> None:
    enable = parse_bool(p.enable, name="enable", default=True)
    await ctx.world.group_admin.set_admin(ctx.self_id, p.group_id, p.user_id, enable)


@registry.action("set_group_card", CardParams)
async def set_group_card(ctx: ActionContext, p: CardParams) -> None:
    card = bounded_text(p.card, name="card", limit=ctx.limits.max_name_chars)
    await ctx.world.group_admin.set_card(ctx.self_id, p.group_id, p.user_id, card)


@registry.action("set_group_name", GroupNameParams)
async def set_group_name(ctx: ActionContext, p: GroupNameParams) -> None:
    name = bounded_text(p.group_name, name="group_name", limit=ctx.limits.max_name_chars)
    await ctx.world.group_admin.set_group_name(ctx.self_id, p.group_id, name)


@registry.action("set_group_leave", LeaveParams)
async def set_group_leave(ctx: ActionContext, p: LeaveParams) -> None:
    dismiss = parse_bool(p.is_dismiss, name="is_dismiss", default=False)
    await ctx.world.groups.leave(ctx.self_id, p.group_id, dismiss=dismiss)


@registry.action("set_group_special_title", TitleParams)
async def set_group_special_title(ctx: ActionContext, p: TitleParams) -> None:
    title = bounded_text(p.special_title, name="special_title", limit=ctx.limits.max_name_chars)
    await ctx.world.group_admin.set_title(ctx.self_id, p.group_id, p.user_id, title)
