"""get_recent_contact: the founding contract (spec/get_recent_contact.openapi.yaml)."""

from __future__ import annotations

from typing import Any

import msgspec
import orjson

from catnest.actions import registry
from catnest.actions.context import ActionContext
from catnest.actions.messages import expansion
from catnest.actions.shapes import message_object
from catnest.onebot.params import parse_count
from catnest.store.records import RecentEntry
from catnest.world.chat import CHAT_GROUP
from catnest.world.forwards import Carried

# NapCat's default when `count` is absent (NcatBot 4 sends `params: {}`).
DEFAULT_COUNT = 10


class RecentContactParams(msgspec.Struct):
    # Validated by parse_count: the seed allows number | string, DESIGN.md §2 narrows it.
    count: Any = msgspec.UNSET


def contact_item(
    entry: RecentEntry, ctx: ActionContext, carried: Carried | None = None
) -> dict[str, Any]:
    """One item: every seed field with NapCat's types, in the seed's order, then extras.

    `carried` expands the forwards the last message carries, as NapCat's lastestMsg does.
    """
    last = entry.last
    return {
        "lastestMsg": message_object(
            last, self_id=ctx.self_id, fmt=ctx.message_format, carried=carried
        ),
        "peerUin": str(entry.peer_uin),
        "remark": entry.remark,
        "msgTime": str(last.time),
        "chatType": entry.chat_type,
        "msgId": str(last.nt_msg_id),
        "sendNickName": last.sender_nickname,
        "sendMemberName": last.sender_card if entry.chat_type == CHAT_GROUP else "",
        "peerName": entry.peer_name,
        # Extras beyond the seed (NapCat issue #1103 asked for unread counts).
        "unreadCnt": entry.unread,
        "peerUid": str(entry.peer_uin) if entry.chat_type == CHAT_GROUP else f"u_{entry.peer_uin}",
        "topFlag": int(entry.pinned),
    }


@registry.action("get_recent_contact", RecentContactParams)
async def get_recent_contact(ctx: ActionContext, p: RecentContactParams) -> orjson.Fragment:
    count = parse_count(
        p.count, name="count", default=DEFAULT_COUNT, maximum=ctx.limits.max_recent_contacts
    )
    # Bots poll this; between two polls nothing may have changed. The engine's change token
    # moves on every committed write from any process, so an answer encoded under the same
    # token is still exact. The token is read before the query: a write racing the query can
    # only make the entry stale-labelled (recomputed next time), never wrongly served.
    token = await ctx.world.engine.change_token()
    key = (ctx.self_id, count, ctx.message_format)
    cached = ctx.caches.recent_contacts.get(key)
    if token is not None and cached is not None and cached[0] == token:
        return orjson.Fragment(cached[1])
    encoded = orjson.dumps(await _items(ctx, count))
    if token is not None:
        ctx.caches.remember(key, token, encoded)
    return orjson.Fragment(encoded)


async def _items(ctx: ActionContext, count: int) -> list[dict[str, Any]]:
    entries = await ctx.world.chat.recent_contacts(ctx.self_id, count)
    if ctx.message_format == "array":
        # NapCat's lastestMsg shows a forward with its nodes (parseMultMsg, napcat-api.md
        # §5.2). A hot path: carried_by queries nothing unless some last message carries one.
        carried = await ctx.world.extras.forwards.carried_by(
            ctx.self_id, [entry.last for entry in entries], **expansion(ctx)
        )
        if carried:
            return [contact_item(e, ctx, carried.get(e.last.message_id)) for e in entries]
    return [contact_item(entry, ctx) for entry in entries]
