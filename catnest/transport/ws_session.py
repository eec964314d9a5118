"""One OneBot WebSocket connection, whoever dialled: API calls in, responses and events out.

Used by the forward WS server, NapCat-style WS on the HTTP port and the reverse WS client.
A single writer task drains one bounded queue, so events keep their commit order and a
connection that cannot keep up is closed instead of buffering without bound.

Frames are answered in the order they arrive, each before the next is read: most answers wait
for nothing (a cached read, a SQLite lookup) or briefly (a commit), and a task per frame cost a
fifth of a round trip. Calls that may wait long (`_rate_limited` spacing, actions the
dispatcher marks so) run in tasks of their own, at most `max_inflight_requests` at once, so
they never hold up the calls behind them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import orjson
from aiohttp import ClientWebSocketResponse, WSMsgType, web

from catnest.actions.context import ActionContext, MessageFormat
from catnest.actions.dispatch import may_wait_long, run_action
from catnest.limits import Limits
from catnest.onebot import envelope
from catnest.onebot.errors import ActionError, Retcode
from catnest.onebot.events import heartbeat, lifecycle
from catnest.onebot.jsonwire import decode_object
from catnest.onebot.registry import Registry
from catnest.transport.events import BotEvents
from catnest.transport.ratelimit import RateLimiter
from catnest.transport.replies import rate_limited_message

log = logging.getLogger(__name__)

AnyWebSocket = web.WebSocketResponse | ClientWebSocketResponse


class WsSession:
    """Serve one connection until it closes. Implements EventSink when events are wanted."""

    def __init__(
        self,
        ws: AnyWebSocket,
        ctx: ActionContext,
        registry: Registry[ActionContext],
        limits: Limits,
        *,
        events: BotEvents | None,
        report_self: bool = False,
        heart_interval_ms: int = 0,
        debug: bool = False,
        abort: Callable[[], None],
        limiter: tuple[RateLimiter, str | None] | None = None,
    ) -> None:
        self._limiter = limiter
        self._ws = ws
        self._abort = abort
        self._ctx = ctx
        self._registry = registry
        self._limits = limits
        self._events = events
        self.fmt: MessageFormat = ctx.message_format
        self.report_self = report_self
        self.debug = debug
        self._heart_interval_ms = heart_interval_ms
        self._out: asyncio.Queue[Any] = asyncio.Queue(limits.max_queued_events)
        self._inflight = asyncio.Semaphore(limits.max_inflight_requests)
        self._tasks: set[asyncio.Task[None]] = set()
        self._overflowed = False
        self._writing = False  # a frame is being written (by the writer task or a reply)
        self._remove: Callable[[], None] | None = None

    def offer(self, data: bytes) -> None:
        """Queue an event; a full queue means the client is too slow: drop the connection."""
        if self._overflowed:
            return
        try:
            self._out.put_nowait(data)
        except asyncio.QueueFull:
            self._overflowed = True
            log.warning(
                "bot %s: event queue full (%d); dropping a slow connection",
                self._ctx.self_id,
                self._out.maxsize,
            )
            self._drop()

    def _drop(self) -> None:
        # A client that stopped reading also stops the writer (blocked in drain), so a polite
        # close frame would never leave: stop its events and shut the socket down instead.
        if self._remove is not None:
            self._remove()
            self._remove = None
        self._abort()

    async def run(self) -> None:
        """Serve until the peer closes, the connection fails or it falls too far behind."""
        writer = asyncio.create_task(self._write_loop())
        heart = None
        try:
            if self._events is not None:
                self._out.put_nowait(orjson.dumps(lifecycle(self._ctx.self_id)))
                self._remove = self._events.add(self)
                if self._heart_interval_ms > 0:
                    heart = asyncio.create_task(self._heartbeat_loop())
            await self._read_loop(writer)
        finally:
            if self._remove is not None:
                self._remove()
                self._remove = None
            for task in (heart, writer, *self._tasks):
                if task is not None:
                    task.cancel()
            await asyncio.gather(writer, *self._tasks, return_exceptions=True)
            if heart is not None:
                await asyncio.gather(heart, return_exceptions=True)
            if not self._ws.closed:
                with contextlib.suppress(Exception):
                    await self._ws.close()

    async def _read_loop(self, writer: asyncio.Task[None]) -> None:
        loop = asyncio.get_running_loop()
        async for msg in self._ws:
            if writer.done():
                break
            if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                if msg.type == WSMsgType.ERROR:
                    break
                continue
            # napcat-sdk sends every request as a binary frame of UTF-8 JSON.
            call = self._call_of(msg.data)
            if isinstance(call, dict):  # not a call at all: say why, at once
                await self._reply(call)
                continue
            if may_wait_long(self._registry, call[0]):
                await self._inflight.acquire()
                task = loop.create_task(self._answer(*call))
                self._tasks.add(task)
                task.add_done_callback(self._done)
                continue
            try:
                await self._answer(*call)
            except (ConnectionError, RuntimeError):  # the socket is going: stop reading
                break

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._inflight.release()
        if not task.cancelled() and task.exception() is not None:
            # The reply could not be written: the connection is going.
            log.debug("bot %s: answering a frame failed", self._ctx.self_id,
                      exc_info=task.exception())  # fmt: skip

    def _call_of(self, data: str | bytes) -> tuple[Any, Any, Any] | dict[str, Any]:
        """(action, params, echo) of a frame, or the envelope refusing it."""
        try:
            frame = decode_object(data, max_depth=self._limits.max_json_depth)
        except ActionError as exc:
            return envelope.failed(exc.retcode, exc.message)
        echo = frame.get("echo")
        wait = self._limiter[0].check(self._limiter[1]) if self._limiter else 0.0
        if wait:
            return envelope.failed(Retcode.BAD_REQUEST, rate_limited_message(wait), echo)
        return frame.get("action"), frame.get("params"), echo

    async def _answer(self, action: Any, params: Any, echo: Any) -> None:
        await self._reply(await run_action(self._registry, self._ctx, action, params, echo))

    async def _reply(self, reply: dict[str, Any]) -> None:
        if not self._overflowed:
            data = orjson.dumps(reply)
            if self._writing or not self._out.empty():
                await self._out.put(data)
                return
            # Nothing is queued or being written: sending now keeps the order and saves the
            # hand-off to the writer task (most replies take this path).
            self._writing = True
            try:
                await self._ws.send_frame(data, WSMsgType.TEXT)
            finally:
                self._writing = False

    async def _write_loop(self) -> None:
        while True:
            item = await self._out.get()
            self._writing = True
            try:
                # Text frames, as NapCat sends; orjson's bytes are UTF-8 already: no re-encode.
                await self._ws.send_frame(item, WSMsgType.TEXT)
            finally:
                self._writing = False

    async def _heartbeat_loop(self) -> None:
        interval = self._heart_interval_ms / 1000
        while True:
            await asyncio.sleep(interval)
            self.offer(orjson.dumps(heartbeat(self._ctx.self_id, self._heart_interval_ms)))
