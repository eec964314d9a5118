"""The forward WebSocket server (napcat-api.md §4.5), NapCat's default 127.0.0.1:3001.

`/api` (or `/api/`) serves API calls only; any other path serves API calls and events, with
the lifecycle `connect` event as the very first frame. Unlike NapCat, which accepts the upgrade
and then sends a 1403 frame, a bad token or foreign origin is refused during the handshake
(HTTP 401/403), so no frame is ever processed on an unauthenticated socket. Connects and
disconnects are logged with the client's address and user agent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import WSCloseCode, web
from aiohttp.web_request import BaseRequest

from catnest.actions.context import ActionContext
from catnest.config import WsServerConfig
from catnest.limits import Limits
from catnest.onebot import envelope
from catnest.onebot.errors import Retcode
from catnest.onebot.registry import Registry
from catnest.serving.auth import check_token
from catnest.serving.listener import Connections, Listener, listen
from catnest.serving.sites import SitePolicy
from catnest.transport.events import BotEvents
from catnest.transport.ratelimit import RateLimiter
from catnest.transport.replies import json_response, onebot_error, refused
from catnest.transport.ws_session import WsSession

log = logging.getLogger(__name__)


def is_api_only(path: str) -> bool:
    """NapCat's rule: `/api` and `/api/` get no events."""
    return path.rstrip("/") == "/api"


async def accept_websocket(
    request: BaseRequest,
    *,
    ctx: ActionContext,
    registry: Registry[ActionContext],
    limits: Limits,
    events: BotEvents,
    report_self: bool,
    heart_interval_ms: int,
    debug: bool,
    open_sockets: set[web.WebSocketResponse],
    limiter: RateLimiter,
) -> web.WebSocketResponse:
    """Upgrade an already authenticated request and serve it until it closes.

    The socket sits in `open_sockets` while it is open, so the listener can close it cleanly
    (1001 "going away") when Catnest stops, rather than dropping it without a close frame.
    """
    ws = web.WebSocketResponse(max_msg_size=limits.max_ws_frame_bytes, autoping=True)
    transport = request.transport
    await ws.prepare(request)
    open_sockets.add(ws)
    session = WsSession(
        ws,
        ctx,
        registry,
        limits,
        events=None if is_api_only(request.path) else events,
        report_self=report_self,
        heart_interval_ms=heart_interval_ms,
        debug=debug,
        abort=transport.abort if transport is not None else ws.force_close,
        limiter=(limiter, request.remote),
    )
    agent = request.headers.get("User-Agent", "-")
    log.info("bot %s: WebSocket %s connected from %s (%s)", ctx.self_id, request.path,
             request.remote, agent)  # fmt: skip
    try:
        await session.run()
    finally:
        open_sockets.discard(ws)
        log.info("bot %s: WebSocket from %s (%s) closed", ctx.self_id, request.remote, agent)
    return ws


async def close_all(open_sockets: set[web.WebSocketResponse]) -> None:
    """Say goodbye to every open socket (before the listener shuts down)."""
    for ws in list(open_sockets):
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ws.close(code=WSCloseCode.GOING_AWAY, message=b"shutdown"), 2)


class WsApiServer:
    """One bot's forward WebSocket server on one host:port."""

    def __init__(
        self,
        config: WsServerConfig,
        ctx: ActionContext,
        registry: Registry[ActionContext],
        limits: Limits,
        events: BotEvents,
        limiter: RateLimiter,
        connections: Connections,
        *,
        where: str = "ws",
    ) -> None:
        self.config = config
        self.ctx = ctx
        self._limiter = limiter
        self._connections = connections
        self._registry = registry
        self._limits = limits
        self._events = events
        self._listener: Listener | None = None
        self._sockets: set[web.WebSocketResponse] = set()
        self.port = config.port
        self._sites = SitePolicy(
            where=where,
            token=config.token,
            host=config.host,
            port=config.port,
            allow_origins=config.allow_origins,
        )

    async def start(self) -> None:
        """Bind and serve; `self.port` holds the bound port (useful with port 0)."""
        self._listener = await listen(
            self._handle,
            self.config.host,
            self.config.port,
            self._limits,
            self._connections,
            onebot_error,
        )
        self.port = self._listener.port
        self._sites.bind(self.config.host, self.port)

    async def stop(self) -> None:
        """Close every connection and stop listening."""
        await close_all(self._sockets)
        if self._listener is not None:
            await self._listener.stop()
            self._listener = None

    async def _handle(self, request: BaseRequest) -> web.StreamResponse:
        headers = request.headers
        refusal = self._sites.check(headers)
        if refusal is None:
            refusal = check_token(
                self.config.token,
                request.query.get("access_token"),
                headers.get("Authorization"),
            )
        if refusal is not None:
            return refused(refusal, {})
        if request.headers.get("Upgrade", "").lower() != "websocket":
            body = envelope.failed(Retcode.BAD_REQUEST, "this port speaks WebSocket only")
            return json_response(body, {}, status=426)
        return await accept_websocket(
            request,
            ctx=self.ctx,
            registry=self._registry,
            limits=self._limits,
            events=self._events,
            report_self=self.config.report_self_message,
            heart_interval_ms=self.config.heart_interval,
            debug=self.config.debug,
            open_sockets=self._sockets,
            limiter=self._limiter,
        )
