"""The HTTP API server (napcat-api.md §4.2): action = first path segment.

Order of work on each request, cheapest refusal first: origin, CORS preflight, token (from
headers and query only), declared body size, then reading and parsing the body. A wrong token
therefore never makes us read a byte of body (NapCat parses first, then checks).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

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
from catnest.transport.auth import Refusal, check_origin, check_token, own_origins

log = logging.getLogger(__name__)

_CORS_BASE = {
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
    "Access-Control-Max-Age": "600",
    "Vary": "Origin",
}


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
    ) -> None:
        self.config = config
        self._ctx = ctx
        self.ctx_self_id = ctx.self_id
        self._registry = registry
        self._limits = limits
        self._origins = own_origins(config.host, config.port, config.allow_origins)
        self._runner: web.ServerRunner | None = None
        self.port = config.port

    async def start(self) -> None:
        """Bind and serve; `self.port` holds the bound port (useful with port 0)."""
        server = web.Server(self._handle, handler_cancellation=True)
        self._runner = web.ServerRunner(server, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port, reuse_address=True)
        await site.start()
        sockets = self._runner.addresses
        if sockets:
            self.port = int(sockets[0][1])
        self._origins = own_origins(self.config.host, self.port, self.config.allow_origins)

    async def stop(self) -> None:
        """Stop accepting and close open connections."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: BaseRequest) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        cors = self._cors_headers(origin)
        refusal = check_origin(self.config.token, origin, self._origins)
        if refusal is not None:
            return _refused(refusal, {})
        if request.method == "OPTIONS":
            return web.Response(status=204, headers=cors)
        query = {k: v for k, v in request.query.items()}
        refusal = check_token(self.config.token, query, request.headers.get("Authorization"))
        if refusal is not None:
            return _refused(refusal, cors)
        action = request.path.lstrip("/").split("/", 1)[0]
        if not action:
            return _json(
                envelope.ok({"app_name": "Catnest", "app_version": __version__}),
                cors,
                message="Catnest is running",
            )
        try:
            params = await self._params(request, query)
        except BodyTooLarge:
            body = envelope.failed(
                Retcode.BAD_REQUEST,
                f"request body exceeds {self._limits.max_body_bytes} bytes",
            )
            return _json(body, cors, status=413)
        except ActionError as exc:
            return _json(envelope.failed(exc.retcode, exc.message), cors, status=400)
        echo = params.pop("echo", None)
        result = await run_action(self._registry, self._ctx, action, params, echo)
        return _json(result, cors)

    async def _params(self, request: BaseRequest, query: Mapping[str, str]) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if request.method not in ("GET", "HEAD"):
            body = await _read_body(request, self._limits.max_body_bytes)
            if body.strip():
                if request.content_type == "application/x-www-form-urlencoded":
                    params = _form(body)
                else:
                    # Like NapCat, any other content type is read as JSON (clients often omit it).
                    params = decode_object(body, max_depth=self._limits.max_json_depth)
        # The query overrides the body, as in NapCat; the token is not a parameter.
        params.update((k, v) for k, v in query.items() if k != "access_token")
        return params

    def _cors_headers(self, origin: str | None) -> dict[str, str]:
        if origin is None:
            return {}
        return {"Access-Control-Allow-Origin": origin, **_CORS_BASE}


async def _read_body(request: BaseRequest, limit: int) -> bytes:
    declared = request.content_length
    if declared is not None and declared > limit:
        raise BodyTooLarge
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


def _json(
    body: dict[str, Any], headers: Mapping[str, str], *, status: int = 200, message: str = ""
) -> web.Response:
    if message:
        body = {**body, "message": message, "wording": message}
    return web.Response(
        body=orjson.dumps(body), status=status, headers=headers, content_type="application/json"
    )


def _refused(refusal: Refusal, headers: Mapping[str, str]) -> web.Response:
    extra = {"WWW-Authenticate": "Bearer"} if refusal.status == 401 else {}
    body = envelope.failed(refusal.retcode, refusal.message)
    return _json(body, {**headers, **extra}, status=refusal.status)
