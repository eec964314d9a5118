"""Pokes: send_poke, friend_poke and group_poke (one handler in NapCat's SendPoke.ts)."""

from __future__ import annotations

import msgspec

from catnest.actions import registry
from catnest.actions.context import ActionContext
from catnest.onebot.errors import BadParams
from catnest.onebot.params import Uin


class PokeParams(msgspec.Struct):
    user_id: Uin
    group_id: Uin | None = None
    target_id: Uin | None = None


async def _poke(ctx: ActionContext, p: PokeParams) -> None:
    # NapCat (SendPoke.ts): the three names share one handler; group_id makes it a group poke
    # of target_id (default user_id), else user_id's private chat.
    target = p.target_id or p.user_id
    if p.group_id is None and target != p.user_id:
        raise BadParams("target_id: in a private chat only user_id can be poked")
    await ctx.world.pokes.poke(ctx.self_id, target, p.group_id)


@registry.action("send_poke", PokeParams)
async def send_poke(ctx: ActionContext, p: PokeParams) -> None:
    await _poke(ctx, p)


@registry.action("friend_poke", PokeParams)
async def friend_poke(ctx: ActionContext, p: PokeParams) -> None:
    await _poke(ctx, p)


@registry.action("group_poke", PokeParams)
async def group_poke(ctx: ActionContext, p: PokeParams) -> None:
    await _poke(ctx, p)
