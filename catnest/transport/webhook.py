"""The HTTP webhook client (napcat-api.md §4.4): POST every event to the bot.

Headers as NapCat: `Content-Type: application/json`, `X-Self-ID`, and with a token
`X-Signature: sha1=<HMAC-SHA1(token, body)>`. A lifecycle event goes first, since NoneBot and
aiocqhttp create the bot on the first event they see (clients-on-the-wire.md §12). A 2xx answer
with a JSON body is a quick operation and is applied through `.handle_quick_operation`.
Events are posted one at a time, in commit order; the queue is bounded, and when the bot is
down or too slow the oldest events are dropped with a log line rather than held in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import logging
from typing import Any

import aiohttp
import orjson

from catnest.actions.context import ActionContext
from catnest.actions.dispatch import run_action
from catnest.config import HttpClientConfig
from catnest.limits import Limits
from catnest.onebot.events import lifecycle
from catnest.onebot.registry import Registry
from catnest.transport.events import BotEvents

log = logging.getLogger(__name__)

LIFECYCLE_RETRY_SECONDS = 2.0


def signature(secret: str, body: bytes) -> str:
    """The `X-Signature` value for `body`."""
    return "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


class Webhook:
    """Posts one bot's events to one URL. Implements EventSink."""

    def __init__(
        self,
        config: HttpClientConfig,
        ctx: ActionContext,
        registry: Registry[ActionContext],
        limits: Limits,
        events: BotEvents,
    ) -> None:
        self.config = config
        self.ctx = ctx
        self.fmt = ctx.message_format
        self.report_self = config.report_self_message
        self.debug = config.debug
        self._registry = registry
        self._events = events
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(limits.max_queued_events)
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._remove: Any = None
        self.dropped = 0

    def offer(self, data: bytes) -> None:
        """Queue an event; when full, drop the oldest so memory stays bounded."""
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
            if self.dropped in (1, 10, 100) or self.dropped % 1000 == 0:
                log.warning(
                    "bot %s: webhook %s is behind; %d events dropped so far",
                    self.ctx.self_id,
                    self.config.url,
                    self.dropped,
                )
        self._queue.put_nowait(data)

    async def start(self) -> None:
        """Queue the lifecycle event, subscribe to events and start posting."""
        timeout = aiohttp.ClientTimeout(total=self.config.timeout / 1000)
        self._session = aiohttp.ClientSession(timeout=timeout)
        self._queue.put_nowait(orjson.dumps(lifecycle(self.ctx.self_id, "enable")))
        self._remove = self._events.add(self)
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Stop posting; queued events are dropped."""
        if self._remove is not None:
            self._remove()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._session is not None:
            await self._session.close()

    async def _run(self) -> None:
        # The lifecycle event is retried until the bot is up: without it the bot has no
        # session for later events. Other events get one try each.
        lifecycle_body = await self._queue.get()
        for _attempt in itertools.count():
            if await self._post(lifecycle_body):
                break
            await asyncio.sleep(LIFECYCLE_RETRY_SECONDS)
        while True:
            await self._post(await self._queue.get())

    def _headers(self, body: bytes) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "X-Self-ID": str(self.ctx.self_id)}
        if self.config.token:
            headers["X-Signature"] = signature(self.config.token, body)
        return headers

    async def _post(self, body: bytes) -> bool:
        assert self._session is not None
        try:
            async with self._session.post(
                self.config.url, data=body, headers=self._headers(body), allow_redirects=False
            ) as resp:
                answer = await resp.read()
                ok = 200 <= resp.status < 300
                if not ok:
                    log.warning(
                        "bot %s: webhook %s answered %d",
                        self.ctx.self_id,
                        self.config.url,
                        resp.status,
                    )
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.warning(
                "bot %s: webhook %s failed: %s",
                self.ctx.self_id,
                self.config.url,
                exc or type(exc).__name__,
            )
            return False
        if ok and answer.strip():
            await self._quick_operation(body, answer)
        return ok

    async def _quick_operation(self, event_body: bytes, answer: bytes) -> None:
        try:
            operation = orjson.loads(answer)
        except orjson.JSONDecodeError:
            log.warning("bot %s: webhook answer is not JSON; ignored", self.ctx.self_id)
            return
        if not isinstance(operation, dict) or not operation:
            return
        params = {"context": orjson.loads(event_body), "operation": operation}
        result = await run_action(self._registry, self.ctx, ".handle_quick_operation", params, None)
        if result["status"] != "ok":
            log.warning("bot %s: quick operation failed: %s", self.ctx.self_id, result["message"])
