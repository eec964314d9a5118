"""Messages as a user sends and reads them: conversations, history, sending, read marks,
recalls, reactions and pokes.

Content goes through the bots' own rules (`onebot/content.py`, `world.messages.send`) and
comes back in the bots' own shapes (`message_object`, and `contact_item` as
`get_recent_contact` gives them), seen from the user: what a bot can send, a user can, and a
user's conversation list is exactly what `get_recent_contact` answers for that account.
"""

from __future__ import annotations

from typing import Any

import msgspec

from catnest.onebot.content import build_content, content_of
from catnest.onebot.shapes import contact_item, message_object
from catnest.store.records import Conversation, StoredMessage
from catnest.web.api import NO_CONTENT, ApiError, ApiRequest, Reply, Routes, created
from catnest.world.reactions import canonical_emoji_id

routes = Routes()

DEFAULT_PAGE = 20
# As get_recent_contact answers without a count.
DEFAULT_CONVERSATIONS = 10
_PRIVATE = "/api/v1/users/{uin}/private/{user_id}"
_GROUP = "/api/v1/users/{uin}/groups/{group_id}"
_MESSAGE = "/api/v1/users/{uin}/messages/{message_id}"


def message_json(message: StoredMessage, viewer: int) -> Any:
    """The OB11 message object `viewer` sees for `message` (array form)."""
    return message_object(message, self_id=viewer, fmt="array")


@routes.get("/api/v1/users/{uin}/conversations")
async def conversations(req: ApiRequest) -> Any:
    """The user's recent conversations, as `get_recent_contact` gives them for that account
    (`unreadCnt` included), and a feed cursor taken before reading: polling from it misses
    nothing that happened after this list was read."""
    uin = await req.acting_user()
    count = req.int_query("count", DEFAULT_CONVERSATIONS, 0, req.ctx.limits.max_recent_contacts)
    cursor = req.ctx.feed.cursor()
    entries = await req.ctx.world.conversations.recent_contacts(uin, count)
    items = [contact_item(e, self_id=uin, fmt="array") for e in entries]
    return {"conversations": items, "cursor": cursor}


async def _private(req: ApiRequest, uin: int) -> Conversation | None:
    return await req.ctx.world.conversations.private_conv(uin, req.uin("user_id"))


async def _group(req: ApiRequest, uin: int) -> Conversation:
    return await req.ctx.world.conversations.group_conv(uin, req.uin("group_id"))


async def _page(req: ApiRequest, uin: int, conv: Conversation | None) -> Any:
    """A page of history, oldest first; `anchor` (a message id) is excluded from it."""
    count = req.int_query("count", DEFAULT_PAGE, 1, req.ctx.limits.max_history_count)
    direction = req.query.get("direction", "older")
    if direction not in ("older", "newer"):
        raise ApiError.bad(f"direction: expected 'older' or 'newer', got {direction!r}")
    older = direction == "older"
    anchor_text = req.query.get("anchor")
    anchor = None
    if anchor_text:
        if not anchor_text.isascii() or not anchor_text.isdigit() or len(anchor_text) > 10:
            raise ApiError.bad(f"anchor: expected a message id, got {anchor_text!r}")
        anchor = int(anchor_text)
    # The world's pages include their anchor: ask for it, one more to know if there is more,
    # and drop it.
    wanted = count + 1 + (anchor is not None)
    page = await req.ctx.world.conversations.history(
        uin, conv, anchor=anchor, count=wanted, older=older, with_recalled=True
    )
    page = [m for m in page if m.message_id != anchor]
    has_more = len(page) > count
    page = page[-count:] if older else page[:count]
    shown = [m for m in page if m.recalled_at is None]
    reactions = await req.ctx.world.reactions.on_messages(uin, shown)
    messages = []
    for m in page:
        if m.recalled_at is not None:
            messages.append(recalled_json(m))
            continue
        obj = message_json(m, uin)
        obj["reactions"] = reactions_json(reactions.get(m.message_id, []))
        messages.append(obj)
    return {"messages": messages, "has_more": has_more}


def recalled_json(message: StoredMessage) -> dict[str, Any]:
    """Where a recalled message was: who sent it, who recalled it and when; never what it
    said (as QQ shows it)."""
    return {
        "message_id": message.message_id,
        "user_id": message.sender_uin,
        "time": message.time,
        "recalled": {"operator_id": message.recalled_by, "time": message.recalled_at},
    }


def reactions_json(summary: list[tuple[str, int, bool]]) -> list[dict[str, Any]]:
    """A message's reactions as the page shows them: emoji, how many, whether one is yours."""
    return [{"emoji_id": emoji, "count": n, "mine": mine} for emoji, n, mine in summary]


class Send(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    # A CQ string, one segment object or an array of segments, as OneBot's `message`.
    message: Any
    auto_escape: bool = False


class SendPrivate(Send, forbid_unknown_fields=True, kw_only=True):
    via_group: int | None = None  # the shared group of a temp chat with a non-friend


async def _send(
    req: ApiRequest,
    uin: int,
    body: Send,
    *,
    group_id: int | None = None,
    user_id: int | None = None,
    via_group: int | None = None,
) -> Reply:
    limits = req.ctx.limits
    content = build_content(body.message, body.auto_escape, limits=limits, private=group_id is None)
    content = content_of(req.ctx.media.link(content.segments))
    sent = await req.ctx.world.messages.send(
        uin,
        content,
        group_id=group_id,
        user_id=user_id,
        via_group=via_group,
        max_forward_depth=limits.max_forward_depth,
    )
    answer: dict[str, Any] = {"message_id": sent.message.message_id}
    if sent.res_id is not None:
        answer.update(res_id=sent.res_id, forward_id=sent.res_id)
    return created({**answer, "message": message_json(sent.message, uin)})


@routes.get(_PRIVATE + "/messages")
async def private_history(req: ApiRequest) -> Any:
    """History of the private chat with `user_id`: `?anchor=<message_id>` (excluded),
    `?direction=older|newer` (default older), `?count=` (default 20)."""
    uin = await req.acting_user()
    return await _page(req, uin, await _private(req, uin))


@routes.post(_PRIVATE + "/messages")
async def send_private(req: ApiRequest) -> Reply:
    """Send a private message to a friend (a bot, typically), or a temp chat via a group."""
    uin = await req.acting_user()
    body = await req.body(SendPrivate)
    return await _send(req, uin, body, user_id=req.uin("user_id"), via_group=body.via_group)


class ReadMark(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    # The newest message the reader has seen; absent (or no body): everything, as of now.
    message_id: int | None = None


@routes.post(_PRIVATE + "/read")
async def read_private(req: ApiRequest) -> Reply:
    """Mark the private chat with `user_id` read (up to `message_id` when given)."""
    uin = await req.acting_user()
    mark = await req.body(ReadMark)
    conv = await _private(req, uin)
    if conv is not None:
        await req.ctx.world.conversations.mark_read(uin, conv, mark.message_id)
    elif mark.message_id is not None:
        raise ApiError.not_found(f"message {mark.message_id} not found in this conversation")
    return NO_CONTENT


@routes.get(_GROUP + "/messages")
async def group_history(req: ApiRequest) -> Any:
    """History of a group the user belongs to (same paging as private chats)."""
    uin = await req.acting_user()
    return await _page(req, uin, await _group(req, uin))


@routes.post(_GROUP + "/messages")
async def send_group(req: ApiRequest) -> Reply:
    """Send a message into a group the user belongs to and is not muted in."""
    uin = await req.acting_user()
    body = await req.body(Send)
    return await _send(req, uin, body, group_id=req.uin("group_id"))


@routes.post(_GROUP + "/read")
async def read_group(req: ApiRequest) -> Reply:
    """Mark a group's conversation read (up to `message_id` when given)."""
    uin = await req.acting_user()
    mark = await req.body(ReadMark)
    await req.ctx.world.conversations.mark_read(uin, await _group(req, uin), mark.message_id)
    return NO_CONTENT


def _message_id(req: ApiRequest) -> int:
    text = req.params["message_id"]
    if not text.isascii() or not text.isdigit() or len(text) > 10:
        raise ApiError.bad(f"message_id: expected a message id, got {text!r}")
    return int(text)


@routes.get(_MESSAGE)
async def get_message(req: ApiRequest) -> Any:
    """One message the user can see, with its reactions."""
    uin = await req.acting_user()
    world = req.ctx.world
    message = await world.messages.get_message(uin, _message_id(req))
    reactions = await world.reactions.on_messages(uin, [message])
    return {
        "message": message_json(message, uin),
        "reactions": reactions_json(reactions.get(message.message_id, [])),
    }


@routes.delete(_MESSAGE)
async def recall(req: ApiRequest) -> Reply:
    """Recall a message: one's own within two minutes, or (owner / admin) a lower rank's."""
    uin = await req.acting_user()
    await req.ctx.world.messages.recall(uin, _message_id(req))
    return NO_CONTENT


async def _react(req: ApiRequest, add: bool) -> Any:
    uin = await req.acting_user()
    emoji = canonical_emoji_id(req.params["emoji_id"])
    count = await req.ctx.world.reactions.react(uin, _message_id(req), emoji, add)
    return {"emoji_id": emoji, "count": count}


@routes.put(_MESSAGE + "/reactions/{emoji_id}")
async def add_reaction(req: ApiRequest) -> Any:
    """React with a face id or emoji code point (adding twice changes nothing)."""
    return await _react(req, True)


@routes.delete(_MESSAGE + "/reactions/{emoji_id}")
async def remove_reaction(req: ApiRequest) -> Any:
    """Take one's reaction back."""
    return await _react(req, False)


class Poke(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    user_id: int
    group_id: int | None = None


@routes.post("/api/v1/users/{uin}/pokes")
async def poke(req: ApiRequest) -> Reply:
    """Poke an account: in a group both belong to, or privately (friends or group mates)."""
    uin = await req.acting_user()
    body = await req.body(Poke)
    await req.ctx.world.pokes.poke(uin, body.user_id, body.group_id)
    return NO_CONTENT
