"""Waiting for what happens: a user's long-poll and SSE stream, and a bot's traffic feed.

A user's events come from the shared journal (`feed.py`) filtered by `UserView`; a client
keeps the `cursor` of the last event it saw and asks for what came after. SSE streams carry
it as the event `id`, so a browser's EventSource resumes by itself (`Last-Event-ID`). When a
cursor is too old (or from before a restart) the answer is `reset`: reload the conversations
and history, then follow from the new cursor.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import Any

import orjson
from aiohttp import web

from catnest.web.api import ApiError, ApiRequest, Routes
from catnest.web.feed import UserFeed
from catnest.web.traffic import TrafficEntry
from catnest.web.user_events import UserView

routes = Routes()

# A long-poll answers after this long without news; proxies and browsers cut idle requests
# near a minute, so the default stays well below.
DEFAULT_POLL_SECONDS = 25.0
MAX_POLL_SECONDS = 120.0
# Events walked per answer or per stream step: a reader far behind catches up in pieces.
MAX_BATCH = 500
# A comment line this often keeps proxies and idle timeouts from closing a quiet stream.
KEEPALIVE_SECONDS = 15.0
DEFAULT_TRAFFIC_LIMIT = 100
# Entries waiting for one slow traffic stream; past this the stream ends and the client
# resumes from the ring with Last-Event-ID.
MAX_QUEUED_TRAFFIC = 1000
_SECONDS_RE = re.compile(r"^[0-9]{1,6}(\.[0-9]{1,6})?$")
SSE_HEADERS = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}


def _seconds(req: ApiRequest, name: str, default: float, high: float) -> float:
    text = req.query.get(name)
    if text is None or text == "":
        return default
    if not _SECONDS_RE.match(text) or float(text) > high:
        raise ApiError.bad(f"{name}: expected seconds from 0 to {high:g}, got {text!r}")
    return float(text)


async def _walk(feed: UserFeed, view: UserView, seq: int) -> tuple[list[dict[str, Any]], int]:
    """The events after `seq` that the user sees (one batch), and the seq walked up to."""
    events = []
    for number, event in feed.after(seq, MAX_BATCH):
        seq = number
        shaped = await view.see(event)
        if shaped is not None:
            events.append({"cursor": feed.cursor(number), **shaped})
    return events, seq


def _behind(feed: UserFeed, seq: int) -> bool:
    return seq < feed.first_seq - 1


@routes.get("/api/v1/users/{uin}/events")
async def poll(req: ApiRequest) -> Any:
    """Wait up to `timeout` seconds for events after `after` (default: from now) that the user
    can see; answer with them (as soon as there is one) and the cursor to poll from next."""
    uin = await req.acting_user()
    timeout = _seconds(req, "timeout", DEFAULT_POLL_SECONDS, MAX_POLL_SECONDS)
    feed = req.ctx.feed
    seq = feed.position(req.query.get("after"))
    if seq is None:
        return {"events": [], "cursor": feed.cursor(), "reset": True}
    view = UserView(req.ctx.world, uin)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        if _behind(feed, seq):
            return {"events": [], "cursor": feed.cursor(), "reset": True}
        events, seq = await _walk(feed, view, seq)
        if events:
            break
        remaining = deadline - loop.time()
        if remaining <= 0 or not await feed.wait(seq, remaining):
            break
    return {"events": events, "cursor": feed.cursor(seq), "reset": False}


async def _open_sse(req: ApiRequest) -> web.StreamResponse:
    response = web.StreamResponse(headers={**req.cors, **SSE_HEADERS})
    await response.prepare(req.raw)
    await response.write(b": connected\n\n")
    return response


async def _send(response: web.StreamResponse, event_id: str, data: Any) -> None:
    await response.write(b"id: " + event_id.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n")


@routes.get("/api/v1/users/{uin}/stream")
async def stream(req: ApiRequest) -> web.StreamResponse:
    """Server-sent events: each event the user can see as one `data:` line, with its cursor
    as `id`; resumes after `Last-Event-ID` or `?after=`, else starts from now."""
    uin = await req.acting_user()
    feed = req.ctx.feed
    seq = feed.position(req.raw.headers.get("Last-Event-ID") or req.query.get("after"))
    view = UserView(req.ctx.world, uin)
    response = await _open_sse(req)
    with contextlib.suppress(ConnectionResetError):
        if seq is None:
            seq = feed.last_seq
            await _send(response, feed.cursor(seq), {"type": "reset"})
        while not feed.closed:
            if _behind(feed, seq):
                seq = feed.last_seq
                await _send(response, feed.cursor(seq), {"type": "reset"})
            events, seq = await _walk(feed, view, seq)
            for event in events:
                await _send(response, event["cursor"], event)
            if seq >= feed.last_seq and not await feed.wait(seq, KEEPALIVE_SECONDS):
                if feed.closed:
                    break
                await response.write(b": keep-alive\n\n")
    return response


async def _bot(req: ApiRequest) -> int:
    uin = req.uin("uin")
    account = await req.ctx.world.accounts.find_account(uin)
    if account is None or not account.is_bot:
        raise ApiError.not_found(f"bot {uin} not found")
    return uin


@routes.get("/api/v1/bots/{uin}/traffic")
async def traffic(req: ApiRequest) -> Any:
    """A bot's recent OneBot traffic, oldest first: entries after `?after=` (a cursor from an
    earlier answer), at most `?limit=` (the latest ones)."""
    bot = await _bot(req)
    log = req.ctx.traffic
    if log is None:
        return {"entries": [], "cursor": 0}
    after = req.int_query("after", 0, 0, 2**62)
    limit = req.int_query("limit", DEFAULT_TRAFFIC_LIMIT, 1, log.capacity)
    entries = log.recent(bot, after, limit)
    return {"entries": [e.as_json() for e in entries], "cursor": max(after, log.last_seq)}


class _TrafficInbox:
    """A bounded queue one traffic stream reads; `None` in it means "end the stream"."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[TrafficEntry | None] = asyncio.Queue(MAX_QUEUED_TRAFFIC)

    def offer(self, entry: TrafficEntry) -> None:
        try:
            self.queue.put_nowait(entry)
        except asyncio.QueueFull:
            self.close()

    def close(self) -> None:
        # Drop what waits (the client resumes from the ring) and leave only the end mark.
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(None)


@routes.get("/api/v1/bots/{uin}/traffic/stream")
async def traffic_stream(req: ApiRequest) -> web.StreamResponse:
    """Server-sent events: each new traffic entry of the bot, its seq as `id`; with
    `Last-Event-ID` or `?after=` the kept entries after it come first."""
    bot = await _bot(req)
    log = req.ctx.traffic
    after_text = req.raw.headers.get("Last-Event-ID") or req.query.get("after") or ""
    last = int(after_text) if after_text.isascii() and after_text.isdigit() else -1
    inbox = _TrafficInbox()
    unsubscribe = log.subscribe(bot, inbox.offer) if log is not None else None
    req.ctx.closers.add(inbox.close)
    try:
        response = await _open_sse(req)
        with contextlib.suppress(ConnectionResetError):
            backlog = log.recent(bot, last) if log is not None and last >= 0 else []
            for entry in backlog:
                await _send_entry(response, entry)
                last = entry.seq
            while True:
                try:
                    item = await asyncio.wait_for(inbox.queue.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    continue
                if item is None:
                    break
                if item.seq > last:
                    await _send_entry(response, item)
                    last = item.seq
        return response
    finally:
        req.ctx.closers.discard(inbox.close)
        if unsubscribe is not None:
            unsubscribe()


async def _send_entry(response: web.StreamResponse, entry: TrafficEntry) -> None:
    await response.write(b"id: " + str(entry.seq).encode() + b"\ndata: " + entry.data + b"\n\n")
