"""aiohttp listeners with the limits every Catnest port shares (issue 6, docs/limits.md).

- A connection must deliver a full request head within `header_timeout_seconds` and may idle
  no longer than that between requests (aiohttp arms its keep-alive timer at accept time, so
  the same timer closes slow-loris connections that never finish their headers).
- At most `max_connections_per_address` connections per client address per port; more are
  closed on accept, before any byte is read.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from catnest.limits import Limits

log = logging.getLogger(__name__)

Handler = Callable[[BaseRequest], Awaitable[web.StreamResponse]]


class _CappedHandler(RequestHandler):
    """Counts connections per peer address; refuses one past the cap."""

    def __init__(self, server: CappedServer, **kwargs: Any) -> None:
        super().__init__(server, **kwargs)
        self._capped = server
        self._address: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if peer else "?"
        counts = self._capped.per_address
        if counts[address] >= self._capped.cap:
            log.warning("refusing a connection from %s: %d already open", address, counts[address])
            transport.close()
            return
        counts[address] += 1
        self._address = address
        super().connection_made(transport)

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._address is not None:
            counts = self._capped.per_address
            counts[self._address] -= 1
            if counts[self._address] <= 0:
                del counts[self._address]
            self._address = None
            super().connection_lost(exc)


class CappedServer(web.Server):
    """aiohttp's protocol factory, counting connections per peer address (`per_address`)."""

    def __init__(self, handler: Handler, *, cap: int, keepalive_timeout: float) -> None:
        super().__init__(handler, handler_cancellation=True, keepalive_timeout=keepalive_timeout)
        self.cap = cap
        self.per_address: Counter[str] = Counter()
        # No access log: request lines carry `?access_token=` (tokens never go to logs).
        self._protocol_kwargs: dict[str, Any] = {
            "keepalive_timeout": keepalive_timeout,
            "access_log": None,
        }

    def __call__(self) -> RequestHandler:
        # aiohttp's Server builds a plain RequestHandler per connection; ours counts them.
        return _CappedHandler(self, loop=asyncio.get_running_loop(), **self._protocol_kwargs)


def capped_server(handler: Handler, limits: Limits) -> CappedServer:
    """An aiohttp server (a protocol factory) for `handler` with the shared limits, not bound:
    for connections handed over by another protocol (transport/http_wire.py)."""
    return CappedServer(
        handler,
        cap=limits.max_connections_per_address,
        keepalive_timeout=float(limits.header_timeout_seconds),
    )


async def listen(handler: Handler, host: str, port: int, limits: Limits) -> web.ServerRunner:
    """Serve `handler` on host:port with the shared limits; returns the started runner."""
    server = capped_server(handler, limits)
    runner = web.ServerRunner(server, access_log=None, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    await site.start()
    return runner


def bound_port(runner: web.ServerRunner, fallback: int) -> int:
    """The port actually bound (differs from the configured one when that was 0)."""
    return int(runner.addresses[0][1]) if runner.addresses else fallback
