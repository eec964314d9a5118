"""The reverse WebSocket client (napcat-api.md §4.6): Catnest dials the bot.

Handshake headers are exactly NapCat's set: `X-Self-ID`, `X-Client-Role: Universal` (Koishi
compares the case), `Authorization: Bearer <token>`, `User-Agent: OneBot/11`. After any failure
it reconnects with exponential backoff starting at `reconnect_interval`; while disconnected,
events are not buffered, so a dead bot costs no memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random

import aiohttp

from catnest.actions.context import ActionContext
from catnest.config import WsClientConfig
from catnest.limits import Limits
from catnest.onebot.registry import Registry
from catnest.transport.events import BotEvents
from catnest.transport.ws_session import WsSession

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 60.0
HANDSHAKE_TIMEOUT_SECONDS = 5.0


class WsReverseClient:
    """Keeps one connection to the bot's WebSocket URL open for as long as Catnest runs."""

    def __init__(
        self,
        config: WsClientConfig,
        ctx: ActionContext,
        registry: Registry[ActionContext],
        limits: Limits,
        events: BotEvents,
    ) -> None:
        self.config = config
        self.ctx = ctx
        self._registry = registry
        self._limits = limits
        self._events = events
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self.connections = 0  # successful handshakes so far, for tests and status

    def headers(self) -> dict[str, str]:
        """The handshake headers NapCat sends."""
        headers = {
            "X-Self-ID": str(self.ctx.self_id),
            "X-Client-Role": "Universal",
            "User-Agent": "OneBot/11",
        }
        if self.config.token:
            headers["Authorization"] = f"Bearer {self.config.token}"
        return headers

    async def start(self) -> None:
        """Start dialling in the background."""
        timeout = aiohttp.ClientTimeout(
            total=None, connect=HANDSHAKE_TIMEOUT_SECONDS, sock_connect=HANDSHAKE_TIMEOUT_SECONDS
        )
        self._session = aiohttp.ClientSession(timeout=timeout)
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Stop dialling and close the connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _run(self) -> None:
        base = self.config.reconnect_interval / 1000
        delay = base
        while True:
            try:
                connected = await self._connect_once()
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                log.info(
                    "bot %s: reverse WS %s unreachable: %s", self.ctx.self_id, self.config.url, exc
                )
                connected = False
            delay = base if connected else min(delay * 2, max(base, MAX_BACKOFF_SECONDS))
            # Jitter keeps many bots from reconnecting in lockstep after a restart.
            await asyncio.sleep(delay * random.uniform(0.9, 1.1))

    async def _connect_once(self) -> bool:
        assert self._session is not None
        ws = await self._session.ws_connect(
            self.config.url,
            headers=self.headers(),
            max_msg_size=self._limits.max_ws_frame_bytes,
            timeout=aiohttp.ClientWSTimeout(ws_close=5.0),
            autoping=True,
        )
        self.connections += 1
        log.info("bot %s: reverse WS connected to %s", self.ctx.self_id, self.config.url)
        session = WsSession(
            ws,
            self.ctx,
            self._registry,
            self._limits,
            events=self._events,
            report_self=self.config.report_self_message,
            heart_interval_ms=self.config.heart_interval,
            debug=self.config.debug,
            abort=lambda: _abort_client(ws),
        )
        await session.run()
        log.info("bot %s: reverse WS to %s closed", self.ctx.self_id, self.config.url)
        return True


def _abort_client(ws: aiohttp.ClientWebSocketResponse) -> None:
    # A peer that stopped reading blocks every write, so a close frame would never leave:
    # drop the TCP connection under the socket (works on asyncio and uvloop alike).
    connection = ws._response.connection  # aiohttp keeps no public handle on it
    transport = connection.transport if connection is not None else None
    if transport is not None:
        transport.abort()
