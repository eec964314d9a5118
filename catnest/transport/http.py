"""The HTTP API server (napcat-api.md §4.2): action = first path segment.

Order of work on each request, cheapest refusal first: origin, CORS preflight, token (from
headers and query only), declared body size, then reading and parsing the body. A wrong token
therefore never makes us use a byte of body (NapCat parses first, then checks).

Plain requests (everything but WebSocket upgrades and the SSE stream) are answered by Catnest's
own HTTP/1.1 protocol (transport/http_wire.py): aiohttp's request and response objects cost
more than the whole cached `get_recent_contact` answer. A connection that asks for a WebSocket
or `/_events` is handed to aiohttp, which serves the rest of it through `_handle` below. Both
paths answer through `head_refusal` and `answer`, so they answer alike.
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
from catnest.transport.http_common import (
    Reply,
    as_response,
    json_reply,
    json_response,
    refused_reply,
    too_many_reply,
)
from catnest.transport.http_wire import RequestHead, WireListener, parse_query
from catnest.transport.listener import capped_server
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
_NO_HEADERS: Mapping[str, str] = {}


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
        self._listener: WireListener | None = None
        self._sockets: set[web.WebSocketResponse] = set()
        self.port = config.port

    @property
    def inline_safe(self) -> bool:
        """Whether answers may start outside a task (transport/eager.py)."""
        return self._ctx.inline_safe

    async def start(self) -> None:
        """Bind and serve; `self.port` holds the bound port (useful with port 0)."""
        # aiohttp serves the connections handed over to it (WebSocket, SSE).
        handoff = capped_server(self._handle, self._limits)
        self._listener = WireListener(self, handoff, self._limits)
        self.port = await self._listener.start(self.config.host, self.config.port)
        self._origins = own_origins(self.config.host, self.port, self.config.allow_origins)

    async def stop(self) -> None:
        """Stop accepting and close open connections."""
        await close_all(self._sockets)
        if self._listener is not None:
            await self._listener.stop()
            self._listener = None

    # --- the answer, whatever carried the request ---------------------------------------------

    def head_refusal(self, head: RequestHead) -> tuple[dict[str, str], Reply | None]:
        """The CORS headers, and the reply when the head alone settles the request (a refused
        origin or token, a preflight): then the body is never looked at."""
        cors = self._cors_headers(head.origin)
        refusal = check_origin(self.config.token, head.origin, self._origins)
        if refusal is not None:
            return cors, refused_reply(refusal, _NO_HEADERS)
        if head.method == "OPTIONS":
            return cors, Reply(204, cors, b"")
        refusal = check_token(self.config.token, head.query, head.authorization)
        if refusal is not None:
            return cors, refused_reply(refusal, cors)
        return cors, None

    def wants_aiohttp(self, head: RequestHead, upgrade: bool) -> bool:
        """Whether the request is a WebSocket upgrade or the SSE stream (aiohttp serves those)."""
        return upgrade or (head.method == "GET" and head.action == "_events")

    async def answer(self, head: RequestHead, body: bytes, cors: dict[str, str]) -> Reply:
        """The reply to a request whose head passed `head_refusal`."""
        wait = self._limiter.check(credential_key(self.config.token, self.config.token, head.peer))
        if wait:
            return too_many_reply(wait, cors)
        action = head.action
        if not action:
            hello = envelope.ok({"app_name": "Catnest", "app_version": __version__})
            hello["message"] = hello["wording"] = "Catnest is running"
            return json_reply(hello, cors)
        try:
            params = self._params(head, body)
        except ActionError as exc:
            return json_reply(envelope.failed(exc.retcode, exc.message), cors, status=400)
        echo = params.pop("echo", None)
        result = await run_action(self._registry, self._ctx, action, params, echo)
        return json_reply(result, cors)

    def body_too_large(self, cors: Mapping[str, str]) -> Reply:
        """413, decided from the declared size or while the body streams in."""
        body = envelope.failed(
            Retcode.BAD_REQUEST, f"request body exceeds {self._limits.max_body_bytes} bytes"
        )
        return json_reply(body, {**cors, "Connection": "close"}, status=413)

    def body_too_slow(self, cors: Mapping[str, str]) -> Reply:
        """408: the body did not arrive within the body timeout."""
        seconds = self._limits.body_timeout_seconds
        body = envelope.failed(
            Retcode.BAD_REQUEST, f"request body did not arrive within {seconds} seconds"
        )
        return json_reply(body, {**cors, "Connection": "close"}, status=408)

    def _params(self, head: RequestHead, body: bytes) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if head.method not in ("GET", "HEAD") and body.strip():
            # `curl -d '{"count":3}'` labels JSON as a form (NapCat then reads one key named
            # `{"count":3}` and ignores the count): a form body never starts with a bare `{`
            # (encoders send %7B), so such a body is read as the JSON it is.
            if head.content_type.startswith(_FORM) and not body.lstrip().startswith(b"{"):
                params = _form(body)
            else:
                # Like NapCat, any other content type is read as JSON (clients often omit it).
                params = decode_object(body, max_depth=self._limits.max_json_depth)
        # The query overrides the body, as in NapCat; the token is not a parameter.
        if head.query:
            params.update((k, v) for k, v in head.query.items() if k != "access_token")
        return params

    def _cors_headers(self, origin: str | None) -> dict[str, str]:
        if origin is None:
            return {}
        return {"Access-Control-Allow-Origin": origin, **_CORS_BASE}

    # --- connections aiohttp serves (handed over by the wire protocol) -------------------------

    async def _handle(self, request: BaseRequest) -> web.StreamResponse:
        raw_path = request.raw_path.partition("?")[0]
        if not raw_path.startswith("/"):  # absolute form (`GET http://host/x`)
            raw_path = request.rel_url.raw_path
        head = RequestHead(
            method=request.method,
            path=raw_path,
            query=parse_query(request.query_string),
            origin=request.headers.get("Origin"),
            authorization=request.headers.get("Authorization"),
            content_type=request.headers.get("Content-Type", ""),
            peer=request.remote,
        )
        cors, settled = self.head_refusal(head)
        if settled is not None:
            return as_response(settled)
        if request.headers.get("Upgrade", "").lower() == "websocket":
            key = credential_key(self.config.token, self.config.token, request.remote)
            return await self._websocket(request, cors, key)
        if head.method == "GET" and head.action == "_events":
            return await serve_sse(request, self._events, self._sse_options(), cors)
        try:
            body = await self._read_body(request)
        except BodyTooLarge:
            return as_response(self.body_too_large(cors))
        except ActionError as exc:
            return json_response(envelope.failed(exc.retcode, exc.message), cors, status=400)
        except TimeoutError:
            return as_response(self.body_too_slow(cors))
        return as_response(await self.answer(head, body, cors))

    async def _read_body(self, request: BaseRequest) -> bytes:
        if request.method in ("GET", "HEAD"):
            return b""
        async with asyncio.timeout(self._limits.body_timeout_seconds):
            return await _read_body(request, self._limits.max_body_bytes)

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


async def _read_body(request: BaseRequest, limit: int) -> bytes:
    declared = request.content_length
    if declared is not None:
        if declared > limit:
            raise BodyTooLarge
        if declared <= 0:
            return b""
        try:
            return await request.content.readexactly(declared)
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
