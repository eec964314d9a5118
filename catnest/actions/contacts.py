"""get_recent_contact: the founding contract (spec/get_recent_contact.openapi.yaml)."""

from __future__ import annotations

import msgspec
import orjson

from catnest.actions import registry
from catnest.actions.context import ActionContext
from catnest.actions.messages import expansion
from catnest.onebot.params import RecentCount
from catnest.onebot.shapes import contact_item

# NapCat's default when `count` is absent (NcatBot 4 sends `params: {}`).
DEFAULT_COUNT = 10


class RecentContactParams(msgspec.Struct):
    # DESIGN.md §2 `count` rules, checked where params are decoded (onebot/params.py).
    count: RecentCount = DEFAULT_COUNT


@registry.action("get_recent_contact", RecentContactParams)
async def get_recent_contact(ctx: ActionContext, p: RecentContactParams) -> orjson.Fragment:
    # Bots poll this; between two polls usually nothing they see changed. The world keeps the
    # encoded answer per bot and drops it when a write that changes its contacts commits.
    views = ctx.world.recent_views
    key = (p.count, ctx.message_format)
    cached = views.get(ctx.self_id, key)
    if cached is not None:
        return orjson.Fragment(cached)
    generation = views.generation(ctx.self_id)
    encoded = orjson.dumps(await _items(ctx, p.count))
    views.put(ctx.self_id, key, encoded, generation)
    return orjson.Fragment(encoded)


async def _items(ctx: ActionContext, count: int) -> list[dict[str, object]]:
    entries = await ctx.world.conversations.recent_contacts(ctx.self_id, count)
    fmt = ctx.message_format
    carried = {}
    if fmt == "array":
        # NapCat's lastestMsg shows a forward with its nodes (parseMultMsg, napcat-api.md
        # §5.2). A hot path: carried_by queries nothing unless some last message carries one.
        carried = await ctx.world.forwards.carried_by(
            ctx.self_id, [entry.last for entry in entries], **expansion(ctx)
        )
    return [
        contact_item(e, self_id=ctx.self_id, fmt=fmt, carried=carried.get(e.last.message_id))
        for e in entries
    ]
