"""aiohttp listeners with the limits every Catnest port shares (docs/limits.md).

- A connection must deliver a full request head within `header_timeout_seconds` and may idle
  no longer than that between requests (aiohttp arms its keep-alive timer at accept time, so
  the same timer closes slow-loris connections that never finish their headers).
- At most `max_connections_per_address` connections per client address per port, and at most
  `Connections.total` in the whole process: the descriptors above that stay free for the
  database, the logs and outgoing connections, so a flood on one port cannot starve the others.
  Refused connections are closed on accept, before any byte is read, and logged at most once a
  minute per address.
- A malformed request head is answered 400, an over-long header line or too many headers 431,
  an over-long request line 414, each with a JSON body and one debug line in the log (aiohttp
  would log a traceback for each, which anyone could use to flood the log).
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage, LineTooLong
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from catnest.limits import Limits

log = logging.getLogger(__name__)

Handler = Callable[[BaseRequest], Awaitable[web.StreamResponse]]
# Builds the body of a refusal the listener itself answers: (status, message) -> response.
ErrorResponder = Callable[[int, str], web.Response]

# After a refusal that leaves a body unread (413), the rest of the body is read and dropped
# for this long before the connection closes, so the client reads the answer rather than a
# reset; aiohttp's 10 s would let each refused upload hold a connection that long.
LINGERING_SECONDS = 2.0
# Seconds between two log lines about refused connections from one address.
_REFUSAL_LOG_SECONDS = 60.0


def raise_descriptor_limit() -> int:
    """Raise this process's soft limit on open files to its hard limit; the new soft limit.

    Called once at start: the default soft limit (1024 on many systems) is far below what a
    load test opens, and the hard limit is what the administrator allows.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = max(soft, 1 << 20)
    if soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            log.debug("could not raise the open-file limit from %d to %d", soft, hard)
    return soft


class Connections:
    """Open connections across every listener of the process, under one cap."""

    def __init__(self, total: int) -> None:
        self.total = max(1, total)
        self.open = 0
        self._logged: dict[str, float] = {}

    @classmethod
    def for_process(cls, limits: Limits) -> Connections:
        """The cap this process can afford: its descriptor limit less the reserve."""
        return cls(raise_descriptor_limit() - limits.descriptor_reserve)

    def refuse_log(self, address: str, why: str) -> None:
        """Log a refused connection, at most once a minute per address."""
        now = time.monotonic()
        if now - self._logged.get(address, -_REFUSAL_LOG_SECONDS) < _REFUSAL_LOG_SECONDS:
            return
        if len(self._logged) > 10_000:
            self._logged.clear()
        self._logged[address] = now
        log.warning("refusing connections from %s: %s (logged once a minute)", address, why)


def _head_refusal(exc: BaseException | None) -> tuple[int, str]:
    if isinstance(exc, LineTooLong):
        if "Status line" in str(exc.args[0] if exc.args else ""):
            return 414, "request line too long"
        return 431, "request header line too long"
    if isinstance(exc, BadHttpMessage) and "Too many headers" in str(exc):
        return 431, "too many request headers"
    # aiohttp's message quotes the offending bytes on further lines: the first line says it.
    detail = str(getattr(exc, "message", None) or "bad request").splitlines()[0]
    return 400, f"malformed request: {detail}"


class _CappedHandler(RequestHandler):
    """Counts connections per peer address and in all; refuses one past either cap."""

    def __init__(self, server: CappedServer, **kwargs: Any) -> None:
        super().__init__(server, **kwargs)
        self._capped = server
        self._address: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        server = self._capped
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if peer else "?"
        counts = server.per_address
        if counts[address] >= server.cap:
            server.budget.refuse_log(address, f"{counts[address]} already open on one port")
            transport.close()
            return
        if server.budget.open >= server.budget.total:
            server.budget.refuse_log(address, f"{server.budget.open} connections open in all")
            transport.close()
            return
        counts[address] += 1
        server.budget.open += 1
        self._address = address
        super().connection_made(transport)

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._address is not None:
            counts = self._capped.per_address
            counts[self._address] -= 1
            if counts[self._address] <= 0:
                del counts[self._address]
            self._capped.budget.open -= 1
            self._address = None
            super().connection_lost(exc)

    def eof_received(self) -> bool | None:  # type: ignore[override]  # asyncio allows True
        # A client that sends its requests and then shuts down its side (half-close) still
        # gets the answers to them: the connection stays open while one is being answered or
        # waits, and the idle timer closes it afterwards. Anything else (an idle connection,
        # a WebSocket) closes at the client's end, as aiohttp does.
        if getattr(self, "_upgraded", False):
            return None
        # aiohttp waits on `_waiter` only while idle between requests.
        idle = getattr(self, "_waiter", None) is not None and not getattr(self, "_messages", ())
        return None if idle else True

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if request.writer.output_size > 0:
            raise ConnectionError("the response has started; cannot answer with an error")
        if status == 400:
            status, text = _head_refusal(exc)
        else:  # our handlers answer their own errors: this is aiohttp's own failure
            log.error("request from %s failed inside aiohttp: %r", request.remote, exc)
            text = "internal error; see the server log"
        log.debug("answered %d to %s: %s", status, request.remote, text)
        response = self._capped.respond_error(status, text)
        response.force_close()
        return response


class CappedServer(web.Server):
    """aiohttp's protocol factory with Catnest's caps and error answers."""

    def __init__(
        self,
        handler: Handler,
        *,
        cap: int,
        keepalive_timeout: float,
        connections: Connections,
        respond_error: ErrorResponder,
    ) -> None:
        super().__init__(handler, handler_cancellation=True, keepalive_timeout=keepalive_timeout)
        self.cap = cap
        self.budget = connections
        self.respond_error = respond_error
        self.per_address: Counter[str] = Counter()
        # No access log: request lines carry `?access_token=` (tokens never go to logs).
        self._protocol_kwargs: dict[str, Any] = {
            "keepalive_timeout": keepalive_timeout,
            "access_log": None,
            "lingering_time": LINGERING_SECONDS,
        }

    def __call__(self) -> RequestHandler:
        # aiohttp's Server builds a plain RequestHandler per connection; ours counts them.
        return _CappedHandler(self, loop=asyncio.get_running_loop(), **self._protocol_kwargs)


class Listener:
    """One bound port: start it, learn its port, stop it."""

    def __init__(self, runner: web.ServerRunner, fallback_port: int) -> None:
        self._runner = runner
        self.port = int(runner.addresses[0][1]) if runner.addresses else fallback_port

    async def stop(self) -> None:
        """Stop listening and close every connection."""
        await self._runner.cleanup()


async def listen(
    handler: Handler,
    host: str,
    port: int,
    limits: Limits,
    connections: Connections,
    respond_error: ErrorResponder,
) -> Listener:
    """Serve `handler` on host:port with the shared limits; returns the started listener."""
    server = CappedServer(
        handler,
        cap=limits.max_connections_per_address,
        keepalive_timeout=float(limits.header_timeout_seconds),
        connections=connections,
        respond_error=respond_error,
    )
    # No access log (request lines carry tokens); streams end on their own when asked.
    runner = web.ServerRunner(server, access_log=None, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    return Listener(runner, port)
