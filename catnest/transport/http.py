"""The HTTP API server (napcat-api.md §4.2): action = first path segment.

Order of work on each request, cheapest refusal first: Host, Origin and Sec-Fetch-Site
(serving/sites.py), CORS preflight, token (from headers and query only), declared body size,
then reading and parsing the body. A wrong token therefore never makes us use a byte of body
(NapCat parses first, then checks). `GET /_events` streams events (SSE) and, with
`enable_websocket`, a WebSocket upgrade on any path is served as NapCat's HTTP server does.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote

import orjson
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
from catnest.serving.auth import check_token
from catnest.serving.bodies import BodyIncomplete, BodyTooLarge, read_body
from catnest.serving.listener import Connections, Listener, listen
from catnest.serving.sites import SitePolicy
from catnest.transport.events import BotEvents
from catnest.transport.ratelimit import RateLimiter
from catnest.transport.replies import json_response, onebot_error, refused, too_many
from catnest.transport.sse import SseOptions, serve_sse
from catnest.transport.ws_server import accept_websocket, close_all

log = logging.getLogger(__name__)

_CORS_BASE = {
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
    "Access-Control-Max-Age": "600",
    "Vary": "Origin",
}
_JSON = {"Content-Type": "application/json"}
_FORM = "application/x-www-form-urlencoded"
_METHODS = frozenset({"GET", "POST", "HEAD", "OPTIONS"})
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_NO_HEADERS: Mapping[str, str] = {}


class HttpApiServer:
    """One bot's HTTP API on one host:port."""

    def __init__(
        self,
        config: HttpServerConfig,
        ctx: ActionContext,
        registry: Registry[ActionContext],
        limits: Limits,
        events: BotEvents,
        limiter: RateLimiter,
        connections: Connections,
        *,
        where: str = "http",
    ) -> None:
        self.config = config
        self._events = events
        self._limiter = limiter
        self._connections = connections
        self._ctx = ctx
        self.ctx_self_id = ctx.self_id
        self._registry = registry
        self._limits = limits
        self._sites = SitePolicy(
            where=where,
            token=config.token,
            host=config.host,
            port=config.port,
            allow_origins=config.allow_origins,
        )
        self._listener: Listener | None = None
        self._sockets: set[web.WebSocketResponse] = set()
        self.port = config.port

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
        """Close open WebSockets, stop accepting and close the other connections."""
        await close_all(self._sockets)
        if self._listener is not None:
            await self._listener.stop()
            self._listener = None

    async def _handle(self, request: BaseRequest) -> web.StreamResponse:
        headers = request.headers
        refusal = self._sites.check(headers)
        if refusal is not None:
            return refused(refusal, _NO_HEADERS)
        cors = self._cors_headers(headers.get("Origin"))
        if request.method == "OPTIONS":
            return web.Response(status=204, headers=cors)
        query = _query(request.query_string)
        refused_head = self._refuse_head(request, query, cors)
        if refused_head is not None:
            return refused_head
        method, declared, expect = request.method, request.content_length, headers.get("Expect")
        action = _action(request.raw_path)
        upgrade = _upgrade(headers)
        if upgrade == "websocket":
            return await self._websocket(request, cors)
        if upgrade is not None:
            # A client may ask for h2c (curl --http2 does); we speak HTTP/1.1 and answer so.
            # The bytes after such a request are not framed reliably by the parser, so they
            # are never read as another request (request smuggling): a body is refused, and
            # the connection closes after the answer.
            if declared or "Transfer-Encoding" in headers:
                message = (
                    f"Upgrade: {upgrade} is not supported, and its request may not carry a body"
                )
                return _closing_error(400, message, cors)
            response = await self._answer(request, action, query, b"", cors)
            response.force_close()
            return response
        if method == "GET" and action == "_events":
            return await serve_sse(request, self._events, self._sse_options(), cors)
        try:
            body = b""
            if method not in ("GET", "HEAD"):
                if expect is not None and request.version >= (1, 1) and declared != 0:
                    # curl and others wait for this before sending a large body (RFC 9110).
                    await request.writer.write(_CONTINUE)
                body = await read_body(
                    request, self._limits.max_body_bytes, self._limits.body_timeout_seconds
                )
        except BodyTooLarge:
            limit = self._limits.max_body_bytes
            return _closing_error(413, f"request body exceeds {limit} bytes", cors)
        except TimeoutError:
            seconds = self._limits.body_timeout_seconds
            return _closing_error(
                408, f"request body did not arrive within {seconds} seconds", cors
            )
        except BodyIncomplete:
            return _closing_error(400, "request body ended early", cors)
        return await self._answer(request, action, query, body, cors)

    def _refuse_head(
        self, request: BaseRequest, query: dict[str, str], cors: dict[str, str]
    ) -> web.Response | None:
        """The answer when the request head alone settles it (the body is never read)."""
        method = request.method
        if method not in _METHODS:
            # NapCat's express app answers only GET and POST; CONNECT, PUT and the rest are
            # refused before any other work.
            answer = envelope.failed(Retcode.BAD_REQUEST, f"method {method} is not allowed")
            allow = {**cors, "Allow": "GET, POST, HEAD, OPTIONS"}
            return json_response(answer, allow, status=405)
        headers = request.headers
        refusal = check_token(
            self.config.token, query.get("access_token"), headers.get("Authorization")
        )
        if refusal is not None:
            return refused(refusal, cors)
        declared = request.content_length
        if declared is not None and declared > self._limits.max_body_bytes:
            # Decided from the head, before a WebSocket or SSE answer could start.
            limit = self._limits.max_body_bytes
            return _closing_error(413, f"request body exceeds {limit} bytes", cors)
        expect = headers.get("Expect")
        if expect is not None and expect.lower() != "100-continue":
            return _closing_error(417, f"unsupported expectation {expect!r}", cors)
        return None

    async def _answer(
        self,
        request: BaseRequest,
        action: str,
        query: dict[str, str],
        body: bytes,
        cors: dict[str, str],
    ) -> web.Response:
        wait = self._limiter.check(request.remote)
        if wait:
            return too_many(wait, cors)
        if not action:
            hello = envelope.ok({"app_name": "Catnest", "app_version": __version__})
            hello["message"] = hello["wording"] = "Catnest is running"
            return json_response(hello, cors)
        try:
            params = self._params(request.headers.get("Content-Type", ""), body, query)
        except ActionError as exc:
            return json_response(envelope.failed(exc.retcode, exc.message), cors, status=400)
        echo = params.pop("echo", None)
        result = await run_action(self._registry, self._ctx, action, params, echo)
        return web.Response(body=orjson.dumps(result), headers={**_JSON, **cors} if cors else _JSON)

    def _params(self, content_type: str, body: bytes, query: dict[str, str]) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if body.strip():
            # `curl -d '{"count":3}'` labels JSON as a form (NapCat then reads one key named
            # `{"count":3}` and ignores the count): a form body never starts with a bare `{`
            # (encoders send %7B), so such a body is read as the JSON it is.
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
        allowed = self._sites.cors_origin(origin)
        if allowed is None:
            return {}
        return {"Access-Control-Allow-Origin": allowed, **_CORS_BASE}

    async def _websocket(self, request: BaseRequest, cors: dict[str, str]) -> web.StreamResponse:
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
            limiter=self._limiter,
        )

    def _sse_options(self) -> SseOptions:
        return SseOptions(
            fmt=self._ctx.message_format,
            report_self=self.config.report_self_message,
            debug=self.config.debug,
            max_queued=self._limits.max_queued_events,
        )


def _action(raw_path: str) -> str:
    # The first path segment names the action; an absolute-form target (`GET http://h/x`)
    # keeps only its path.
    path = raw_path.partition("?")[0]
    if not path.startswith("/"):
        path = "/" + path.split("://", 1)[-1].partition("/")[2]
    return unquote(path.lstrip("/").partition("/")[0])


def _upgrade(headers: Mapping[str, str]) -> str | None:
    # What the request asks to switch to, lower-cased; only with `Connection: upgrade` does
    # the parser treat it as an upgrade at all.
    upgrade = headers.get("Upgrade")
    if upgrade is None or "upgrade" not in headers.get("Connection", "").lower():
        return None
    return upgrade.strip().lower()


def _query(query_string: str) -> dict[str, str]:
    # Most calls carry no query: skip the parser (aiohttp's MultiDict costs more).
    if not query_string:
        return {}
    return dict(parse_qsl(query_string, keep_blank_values=True))


def _form(body: bytes) -> dict[str, Any]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ActionError(Retcode.BAD_REQUEST, "form body is not valid UTF-8") from None
    return dict(parse_qsl(text, keep_blank_values=True))


def _closing_error(status: int, message: str, cors: Mapping[str, str]) -> web.Response:
    # The body was not read to its end: the connection cannot carry another request.
    response = json_response(envelope.failed(Retcode.BAD_REQUEST, message), cors, status=status)
    response.force_close()
    return response
