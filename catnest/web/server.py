"""The web server of `catnest serve` (NapCat's web UI port, 127.0.0.1:6099): the chat page's
static files at `/` and the user-side JSON API under `/api/v1/`.

Order of work on each request, cheapest refusal first: Host (DNS rebinding, when no token),
Origin and `Sec-Fetch-Site` (cross-site requests; serving/sites.py), CORS preflight, routing,
token, then the endpoint, which reads a body only within `limits.max_body_bytes`. Cross-site
requests are refused with or without a token: the page changes the world on a user's behalf,
so another site must never be able to make it do so (only loopback pages and
`web.allow_origins` may). The port has the same listener limits as every other
(serving/listener.py).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from pathlib import Path

from aiohttp import web
from aiohttp.web_request import BaseRequest

from catnest.config import Config
from catnest.onebot.errors import ActionError, Retcode
from catnest.serving.auth import check_token
from catnest.serving.listener import Connections, Listener, listen
from catnest.serving.sites import SitePolicy
from catnest.web import api_groups, api_messages, api_users, media, stream
from catnest.web.api import (
    ApiRequest,
    BodyTooLarge,
    Reply,
    Routes,
    WebContext,
    error_body,
    json_reply,
    status_of,
)
from catnest.web.feed import UserFeed
from catnest.web.media import MediaStore
from catnest.web.traffic import TrafficLog
from catnest.world.world import World

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
_READ_ONLY = frozenset({"GET", "HEAD", "OPTIONS"})
_CORS_BASE = {
    "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, Last-Event-ID",
    "Access-Control-Max-Age": "600",
}
# On every answer: no MIME sniffing, no framing (the page acts on clicks, so it must not be
# clickjacked), and no Referer carrying a token in a URL to another site.
_SAFETY = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
_STATIC_SAFETY = {
    **_SAFETY,
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Cache-Control": "no-cache",
}
# Served without the token: uploads have unguessable names, and bots must be able to fetch
# the URL an image segment carries (like QQ's own media URLs).
_PUBLIC_PREFIX = "/api/v1/media/"


def all_routes() -> Routes:
    """Every endpoint of the user API."""
    routes = Routes()
    for module in (api_users, api_groups, api_messages, media, stream):
        routes.entries.extend(module.routes.entries)
    return routes


class WebServer:
    """The chat page and the user-side API, acting in `world`."""

    def __init__(
        self,
        config: Config,
        world: World,
        traffic: TrafficLog | None,
        connections: Connections,
        static_dir: Path = STATIC_DIR,
    ) -> None:
        self.config = config.web
        self.static_dir = static_dir
        self.port = config.web.port
        self._limits = config.limits
        self._connections = connections
        store = MediaStore(Path(config.data_dir) / "media", config.limits.max_body_bytes)
        self.ctx = WebContext(
            world=world,
            limits=config.limits,
            media=store,
            feed=UserFeed(world.hub),
            traffic=traffic,
            bots=[bot.uin for bot in config.bots],
        )
        self._routes = all_routes()
        self._listener: Listener | None = None
        self._sites = SitePolicy(
            where="web",
            token=self.config.token,
            host=self.config.host,
            port=self.port,
            allow_origins=self.config.allow_origins,
            strict=True,
        )

    @property
    def url(self) -> str:
        """Where the page is served."""
        host = self.config.host
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        elif ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        """Start the feed, bind and serve; `self.port` holds the bound port."""
        self.ctx.feed.start()
        self._listener = await listen(
            self._handle,
            self.config.host,
            self.config.port,
            self._limits,
            self._connections,
            self._listener_error,
        )
        self.port = self._listener.port
        self._sites.bind(self.config.host, self.port)
        self.ctx.base_url = self.url
        self.ctx.media.base_url = self.url

    async def stop(self) -> None:
        """End open polls and streams, then stop listening."""
        self.ctx.feed.close()
        for close in list(self.ctx.closers):
            close()
        if self._listener is not None:
            await self._listener.stop()
            self._listener = None

    # --- the request pipeline --------------------------------------------------------------

    async def _handle(self, request: BaseRequest) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        refusal = self._sites.check(request.headers, changes_state=request.method not in _READ_ONLY)
        if refusal is not None:
            return self._error(refusal.status, refusal.retcode, refusal.message, {})
        cors = self._cors(origin)
        if request.method == "OPTIONS":
            return web.Response(status=204, headers={**cors, **_SAFETY})
        path = request.path
        if not path.startswith("/api/"):
            return await self._static(request, path)
        if not (request.method == "GET" and path.startswith(_PUBLIC_PREFIX)):
            denied = check_token(
                self.config.token,
                request.query.get("access_token"),
                request.headers.get("Authorization"),
            )
            if denied is not None:
                extra = {"WWW-Authenticate": "Bearer"} if denied.status == 401 else {}
                return self._error(denied.status, denied.retcode, denied.message, {**cors, **extra})
        return await self._api(request, path, cors)

    async def _api(
        self, request: BaseRequest, path: str, cors: dict[str, str]
    ) -> web.StreamResponse:
        try:
            handler, params = self._routes.resolve(request.method, path)
            result = await handler(ApiRequest(request, params, self.ctx, cors))
        except ActionError as exc:
            return self._error(status_of(exc), exc.retcode, exc.message, cors)
        except BodyTooLarge:
            limit = self.ctx.limits.max_body_bytes
            return self._error(
                413, Retcode.BAD_REQUEST, f"request body exceeds {limit} bytes", cors
            )
        except Exception:
            request_id = secrets.token_hex(6)
            log.exception("web %s %s failed (request %s)", request.method, path, request_id)
            message = f"internal error (request {request_id}); see the server log"
            return self._error(500, Retcode.INTERNAL, message, cors)
        if isinstance(result, web.StreamResponse):
            return result
        reply = result if isinstance(result, Reply) else Reply(200, result)
        return json_reply(reply.body, reply.status, {**cors, **_SAFETY})

    def _cors(self, origin: str | None) -> dict[str, str]:
        allowed = self._sites.cors_origin(origin)
        if allowed is None:
            return {}
        return {"Access-Control-Allow-Origin": allowed, "Vary": "Origin", **_CORS_BASE}

    def _listener_error(self, status: int, message: str) -> web.Response:
        code = Retcode.INTERNAL if status >= 500 else Retcode.BAD_REQUEST
        return self._error(status, code, message, {})

    def _error(
        self, status: int, code: int, message: str, headers: Mapping[str, str]
    ) -> web.Response:
        return json_reply(error_body(code, message), status, {**headers, **_SAFETY})

    async def _static(self, request: BaseRequest, path: str) -> web.StreamResponse:
        if request.method not in ("GET", "HEAD"):
            return self._error(
                405,
                Retcode.BAD_REQUEST,
                f"{request.method} is not allowed here",
                {"Allow": "GET, HEAD"},
            )
        file = self._static_file(path)
        if file is None:
            return self._error(404, Retcode.NOT_FOUND, f"no page {path}", {})
        return web.FileResponse(file, headers=_STATIC_SAFETY)

    def _static_file(self, path: str) -> Path | None:
        relative = path.lstrip("/") or "index.html"
        parts = relative.split("/")
        if any(p in ("", ".", "..") or "\\" in p or "\x00" in p for p in parts):
            return None
        root = self.static_dir.resolve()
        candidate = (root / relative).resolve()
        if not candidate.is_relative_to(root) or not candidate.is_file():
            return None
        return candidate
