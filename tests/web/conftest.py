"""A real Catnest with its web server on free loopback ports, and a client for the user API."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema
import orjson
import pytest
import yaml

import catnest.web
from catnest.app import App
from tests.conftest import StartServer
from tests.scripted_bot import ScriptedBot, connected

WAIT = 10.0
DOC_PATH = Path(catnest.web.__file__).resolve().parent / "openapi-user.yaml"
DOC: dict[str, Any] = yaml.safe_load(DOC_PATH.read_text(encoding="utf-8"))
# Refusals that any endpoint may answer before its own work begins (auth, origin, routing,
# body size and type): documented once, as the Error schema.
_ANYWHERE = {401, 403, 404, 405, 413, 415}


def _template(path: str) -> tuple[str, str] | None:
    """The documented path template matching a concrete path, and its method table key."""
    bare = path.split("?", 1)[0]
    for template in DOC["paths"]:
        pattern = "^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, bare):
            return template, bare
    return None


def _response_schema(template: str, method: str, status: int) -> dict[str, Any] | None:
    operation = DOC["paths"][template].get(method.lower())
    if operation is None:
        return None
    response = operation["responses"].get(str(status))
    if response is None:
        return None
    if "$ref" in response:
        response = DOC["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    content = response.get("content", {})
    if "application/json" not in content:
        return {}
    schema: dict[str, Any] = content["application/json"]["schema"]
    return schema


def check_documented(method: str, path: str, status: int, body: Any) -> None:
    """Every JSON answer of the user API matches `openapi-user.yaml` for its path and status."""
    found = _template(path)
    schema = None if found is None else _response_schema(found[0], method, status)
    if schema is None:
        assert status in _ANYWHERE, f"{method} {path} answered undocumented HTTP {status}"
        schema = {"$ref": "#/components/schemas/Error"}
    if status == 204 or not schema:
        assert body is None, body
        return
    root = {"allOf": [schema], "components": DOC["components"]}
    jsonschema.Draft4Validator(root).validate(body)


@dataclass
class Web:
    """A started App and an HTTP client for its user API."""

    app: App
    session: aiohttp.ClientSession
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def base(self) -> str:
        assert self.app.web is not None
        return self.app.web.url

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.app.ws_servers[0].port}/"

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> tuple[int, Any]:
        """Call the API; (status, decoded JSON body or None)."""
        sent = {**self.headers, **(headers or {})}
        if body is not None:
            kwargs["data"] = orjson.dumps(body)
            sent.setdefault("Content-Type", "application/json")
        async with self.session.request(method, self.base + path, headers=sent, **kwargs) as resp:
            raw = await resp.read()
            data = orjson.loads(raw) if raw else None
        if path.startswith("/api/") and resp.content_type in ("application/json", ""):
            check_documented(method, path, resp.status, data)
        return resp.status, data

    async def ok(
        self, method: str, path: str, body: Any = None, status: int = 200, **kwargs: Any
    ) -> Any:
        """Call and assert the status; the body."""
        got, data = await self.call(method, path, body, **kwargs)
        assert got == status, (got, data)
        return data

    async def fails(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        status: int,
        code: int | None = None,
        **kwargs: Any,
    ) -> str:
        """Call and assert an error response; its message."""
        got, data = await self.call(method, path, body, **kwargs)
        assert got == status, (got, data)
        assert set(data) == {"error"}, data
        if code is not None:
            assert data["error"]["code"] == code, data
        message: str = data["error"]["message"]
        assert message
        return message


StartWeb = Callable[..., Awaitable[Web]]


@pytest.fixture
def start_web(start_server: StartServer) -> StartWeb:
    """Start Apps with the web server (and a forward WS for bots) on free ports, through the
    one server-start fixture (tests/conftest.py)."""

    async def start(token: str = "", **overrides: Any) -> Web:
        web_config: dict[str, Any] = {"enabled": True, "port": 0, "token": token}
        web_config.update(overrides.pop("web", {}))
        bot = {"ws": [{"port": 0}], **overrides.pop("bot", {})}
        running = await start_server(web=web_config, bot=bot, **overrides)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return Web(running.app, running.session, headers)

    return start


@pytest.fixture
async def web(start_web: StartWeb) -> Web:
    """The demo world (bot 10001, users 20001-20004, groups 30001-30002), no token."""
    return await start_web()


@pytest.fixture
async def echo_bot(web: Web) -> AsyncIterator[ScriptedBot]:
    """Bot 10001 connected to the forward WS, answering ping with pong."""
    async with connected(web.ws_url) as bot:
        yield bot
