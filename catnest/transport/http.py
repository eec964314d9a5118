"""The HTTP API server (napcat-api.md §4.2): action = first path segment.

Order of work on each request, cheapest refusal first: origin, CORS preflight, token (from
headers and query only), declared body size, then reading and parsing the body. A wrong token
therefore never makes us read a byte of body (NapCat parses first, then checks).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from aiohttp.web_request import BaseRequest

from catnest import __version__
from catnest.actions.context import ActionContext
from catnest.actions.dispatch import run_action
from catnest.config import HttpServerConfig
from catnest.limits import Limits
from catnest.onebot import envelope
from catnest.onebot.errors import ActionError, Retcode
from catnest.onebot.jsonwire import decode_object
from catnest.onebot.registry import Registry
from catnest.transport.auth import check_origin, check_token, own_origins
from catnest.transport.events import BotEvents
from catnest.transport.http_common import json_response, refused, too_many
from catnest.transport.listener import bound_port, listen
from catnest.transport.ratelimit import RateLimiter, credential_key
from catnest.transport.sse import SseOptions, serve_sse
from catnest.transport.ws_server import accept_websocket, close_all

log = logging.getLogger(__name__)

_CORS_BASE = {
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
    "Access-Control-Max-Age": "600",
    "Vary": "Origin",
}


_FORM = "application/x-www-form-urlencoded"


class BodyTooLarge(Exception):
    """The body exceeds the configured limit."""


class HttpApiServer:
    """One bot's HTTP API on one host:port."""

    def __init__(
        self,
        config: HttpServerConfig,
        ctx: ActionContext,
        registry: Registry[ActionContext],
        limits: Limits,
        events: BotEvents,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.config = config
        self._events = events
        self._limiter = limiter or RateLimiter(limits)
        self._ctx = ctx
        self.ctx_self_id = ctx.self_id
        self._registry = registry
        self._limits = limits
        self._origins = own_origins(config.host, config.port, config.allow_origins)
        self._runner: web.ServerRunner | None = None
        self._sockets: set[web.WebSocketResponse] = set()
        self.port = config.port

    async def start(self) -> None:
        """Bind and serve; `self.port` holds the bound port (useful with port 0)."""
        self._runner = await listen(self._handle, self.config.host, self.config.port, self._limits)
        self.port = bound_port(self._runner, self.config.port)
        self._origins = own_origins(self.config.host, self.port, self.config.allow_origins)

    async def stop(self) -> None:
        """Stop accepting and close open connections."""
        await close_all(self._sockets)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: BaseRequest) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        cors = self._cors_headers(origin)
        refusal = check_origin(self.config.token, origin, self._origins)
        if refusal is not None:
            return refused(refusal, {})
        if request.method == "OPTIONS":
            return web.Response(status=204, headers=cors)
        # Later values of a repeated key win; most bots send no query string at all.
        query = dict(request.query.items()) if request.query_string else {}
        refusal = check_token(self.config.token, query, request.headers.get("Authorization"))
        if refusal is not None:
            return refused(refusal, cors)
        key = credential_key(self.config.token, self.config.token, request.remote)
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._websocket(request, cors, key)
        wait = self._limiter.check(key)
        if wait:
            return too_many(wait, cors)
        action = request.path.lstrip("/").split("/", 1)[0]
        if not action:
            hello = envelope.ok({"app_name": "Catnest", "app_version": __version__})
            hello["message"] = hello["wording"] = "Catnest is running"
            return json_response(hello, cors)
        if action == "_events" and request.method == "GET":
            return await serve_sse(request, self._events, self._sse_options(), cors)
        return await self._action(request, action, query, cors)

    async def _action(
        self, request: BaseRequest, action: str, query: Mapping[str, str], cors: dict[str, str]
    ) -> web.StreamResponse:
        try:
            params = await self._params(request, query)
        except BodyTooLarge:
            body = envelope.failed(
                Retcode.BAD_REQUEST,
                f"request body exceeds {self._limits.max_body_bytes} bytes",
            )
            return json_response(body, cors, status=413)
        except ActionError as exc:
            return json_response(envelope.failed(exc.retcode, exc.message), cors, status=400)
        except TimeoutError:
            seconds = self._limits.body_timeout_seconds
            body = envelope.failed(
                Retcode.BAD_REQUEST, f"request body did not arrive within {seconds} seconds"
            )
            return json_response(body, {**cors, "Connection": "close"}, status=408)
        echo = params.pop("echo", None)
        result = await run_action(self._registry, self._ctx, action, params, echo)
        return json_response(result, cors)

    async def _websocket(
        self, request: BaseRequest, cors: dict[str, str], key: str
    ) -> web.StreamResponse:
        # NapCat's HTTP server upgrades on any path only with enableWebsocket.
        if not self.config.enable_websocket:
            body = envelope.failed(Retcode.BAD_REQUEST, "WebSocket is not enabled on this port")
            return json_response(body, cors, status=400)
        return await accept_websocket(
            request,
            ctx=self._ctx,
            registry=self._registry,
            limits=self._limits,
            events=self._events,
            report_self=self.config.report_self_message,
            heart_interval_ms=self.config.heart_interval,
            debug=self.config.debug,
            open_sockets=self._sockets,
            limiter=(self._limiter, key),
        )

    def _sse_options(self) -> SseOptions:
        return SseOptions(
            fmt=self._ctx.message_format,
            report_self=self.config.report_self_message,
            debug=self.config.debug,
            max_queued=self._limits.max_queued_events,
        )

    async def _params(self, request: BaseRequest, query: Mapping[str, str]) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if request.method not in ("GET", "HEAD"):
            declared = request.content_length
            # A small body usually arrives with its head: take it without arming a timer.
            early = b""
            if declared is not None and 0 < declared <= min(65536, self._limits.max_body_bytes):
                early = request.content.read_nowait(declared)
            if declared is not None and len(early) == declared:
                body = early
            else:
                async with asyncio.timeout(self._limits.body_timeout_seconds):
                    body = early + await _read_body(
                        request, self._limits.max_body_bytes, already=len(early)
                    )
            if body.strip():
                content_type = request.headers.get("Content-Type", "")
                # `curl -d '{"count":3}'` labels JSON as a form (NapCat then reads one key named
                # `{"count":3}` and ignores the count): a form body never starts with a bare
                # `{` (encoders send %7B), so such a body is read as the JSON it is.
                if content_type.startswith(_FORM) and not body.lstrip().startswith(b"{"):
                    params = _form(body)
                else:
                    # Like NapCat, any other content type is read as JSON (clients often omit it).
                    params = decode_object(body, max_depth=self._limits.max_json_depth)
        # The query overrides the body, as in NapCat; the token is not a parameter.
        if query:
            params.update((k, v) for k, v in query.items() if k != "access_token")
        return params

    def _cors_headers(self, origin: str | None) -> dict[str, str]:
        if origin is None:
            return {}
        return {"Access-Control-Allow-Origin": origin, **_CORS_BASE}


async def _read_body(request: BaseRequest, limit: int, already: int = 0) -> bytes:
    declared = request.content_length
    if declared is not None:
        if declared > limit:
            raise BodyTooLarge
        if declared - already <= 0:
            return b""
        try:
            return await request.content.readexactly(declared - already)
        except asyncio.IncompleteReadError:
            raise ActionError(Retcode.BAD_REQUEST, "request body ended early") from None
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.readany()
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _form(body: bytes) -> dict[str, Any]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ActionError(Retcode.BAD_REQUEST, "form body is not valid UTF-8") from None
    return dict(parse_qsl(text, keep_blank_values=True))
