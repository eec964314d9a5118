"""The forward WebSocket server (napcat-api.md §4.5), NapCat's default 127.0.0.1:3001.

`/api` (or `/api/`) serves API calls only; any other path serves API calls and events, with
the lifecycle `connect` event as the very first frame. Unlike NapCat, which accepts the upgrade
and then sends a 1403 frame, a bad token or foreign origin is refused during the handshake
(HTTP 401/403), so no frame is ever processed on an unauthenticated socket.
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
from catnest.transport.auth import check_origin, check_token, own_origins
from catnest.transport.events import BotEvents
from catnest.transport.http_common import json_response, refused
from catnest.transport.listener import bound_port, listen
from catnest.transport.ratelimit import RateLimiter, credential_key
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
    limiter: tuple[RateLimiter, str] | None = None,
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
        limiter=limiter,
    )
    try:
        await session.run()
    finally:
        open_sockets.discard(ws)
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
        limiter: RateLimiter | None = None,
    ) -> None:
        self.config = config
        self.ctx = ctx
        self._limiter = limiter or RateLimiter(limits)
        self._registry = registry
        self._limits = limits
        self._events = events
        self._runner: web.ServerRunner | None = None
        self._sockets: set[web.WebSocketResponse] = set()
        self.port = config.port
        self._origins = own_origins(config.host, config.port, config.allow_origins)

    async def start(self) -> None:
        """Bind and serve; `self.port` holds the bound port (useful with port 0)."""
        self._runner = await listen(self._handle, self.config.host, self.config.port, self._limits)
        self.port = bound_port(self._runner, self.config.port)
        self._origins = own_origins(self.config.host, self.port, self.config.allow_origins)

    async def stop(self) -> None:
        """Close every connection and stop listening."""
        await close_all(self._sockets)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: BaseRequest) -> web.StreamResponse:
        refusal = check_origin(self.config.token, request.headers.get("Origin"), self._origins)
        query = {k: v for k, v in request.query.items()}
        if refusal is None:
            refusal = check_token(self.config.token, query, request.headers.get("Authorization"))
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
            limiter=(
                self._limiter,
                credential_key(self.config.token, self.config.token, request.remote),
            ),
        )
