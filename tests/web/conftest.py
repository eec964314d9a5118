"""A real Catnest with its web server on free loopback ports, and a client for the user API."""

from __future__ import annotations

import asyncio
import contextlib
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
from tests.conftest import make_config

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
async def start_web(tmp_path: Path) -> AsyncIterator[StartWeb]:
    """Start Apps with the web server (and a forward WS for bots) on free ports."""
    started: list[Web] = []

    async def start(token: str = "", **overrides: Any) -> Web:
        web_config: dict[str, Any] = {"enabled": True, "port": 0, "token": token}
        web_config.update(overrides.pop("web", {}))
        bot = {"ws": [{"port": 0}], **overrides.pop("bot", {})}
        config = make_config(tmp_path / "data", web=web_config, bot=bot, **overrides)
        app = App(config)
        await app.start()
        session = aiohttp.ClientSession()
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        running = Web(app, session, headers)
        started.append(running)
        return running

    yield start
    for running in started:
        await running.session.close()
        await running.app.stop()


@pytest.fixture
async def web(start_web: StartWeb) -> Web:
    """The demo world (bot 10001, users 20001-20004, groups 30001-30002), no token."""
    return await start_web()


class EchoBot:
    """A bot on a raw forward WebSocket: answers "ping" with "pong" where it was said."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []
        self.seen = asyncio.Event()
        self._echo = 0

    async def run(self) -> None:
        async for frame in self.ws:
            if frame.type != aiohttp.WSMsgType.TEXT:
                continue
            data = orjson.loads(frame.data)
            if "post_type" not in data:
                continue
            self.events.append(data)
            self.seen.set()
            if data["post_type"] == "message" and data["raw_message"] == "ping":
                await self.reply(data, "pong")

    async def reply(self, event: dict[str, Any], text: str) -> None:
        self._echo += 1
        if event["message_type"] == "group":
            params = {"group_id": event["group_id"], "message": text}
            action = "send_group_msg"
        else:
            params = {"user_id": event["user_id"], "message": text}
            action = "send_private_msg"
        await self.ws.send_bytes(
            orjson.dumps({"action": action, "params": params, "echo": self._echo})
        )

    async def wait_for(self, pred: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The first event so far (or to come) matching `pred`."""
        async with asyncio.timeout(WAIT):
            while True:
                for event in self.events:
                    if pred(event):
                        return event
                self.seen.clear()
                await self.seen.wait()


@pytest.fixture
async def echo_bot(web: Web) -> AsyncIterator[EchoBot]:
    """Bot 10001 connected to the forward WS, answering ping with pong."""
    async with web.session.ws_connect(web.ws_url) as ws:
        bot = EchoBot(ws)
        task = asyncio.create_task(bot.run())
        await bot.wait_for(lambda e: e.get("meta_event_type") == "lifecycle")
        yield bot
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
