"""HTTP SSE: `GET /_events` on the HTTP API port (napcat-api.md §4.3).

Each event is one `data: <json>` block. NapCat sends no lifecycle or heartbeat here; we add a
comment line every 15 s so proxies and idle timeouts keep the stream open (SSE parsers ignore
comments).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiohttp import web
from aiohttp.web_request import BaseRequest

from catnest.actions.context import MessageFormat
from catnest.transport.events import BotEvents

KEEPALIVE_SECONDS = 15.0
_CLOSE = b""


@dataclass(frozen=True, slots=True)
class SseOptions:
    """How one SSE stream encodes events and how far it may fall behind."""

    fmt: MessageFormat
    report_self: bool
    debug: bool
    max_queued: int


class _SseSink:
    def __init__(self, options: SseOptions) -> None:
        self.fmt = options.fmt
        self.report_self = options.report_self
        self.debug = options.debug
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(options.max_queued)

    def offer(self, data: bytes) -> None:
        try:
            self.queue.put_nowait(data)
        except asyncio.QueueFull:
            # Too slow: end the stream rather than buffer without bound.
            self.queue = asyncio.Queue(1)
            self.queue.put_nowait(_CLOSE)


async def serve_sse(
    request: BaseRequest, events: BotEvents, options: SseOptions, cors: dict[str, str]
) -> web.StreamResponse:
    """Stream the bot's events to this request until the client goes away."""
    response = web.StreamResponse(
        headers={
            **cors,
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    sink = _SseSink(options)
    remove = events.add(sink)
    try:
        await response.write(b": connected\n\n")
        while True:
            try:
                data = await asyncio.wait_for(sink.queue.get(), KEEPALIVE_SECONDS)
            except TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            if data is _CLOSE:
                break
            await response.write(b"data: " + data + b"\n\n")
    except ConnectionResetError:
        pass  # the client went away: nothing left to tell it
    finally:
        remove()
    return response
