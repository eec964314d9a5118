"""Fixtures shared by every test: a real Catnest on a free loopback port over real SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from catnest.app import App
from catnest.config import Config, parse_config


@dataclass
class Running:
    """A started App with an HTTP client pointed at its first bot's API."""

    app: App
    session: aiohttp.ClientSession
    url: str
    headers: dict[str, str]

    async def call(self, action: str, **params: Any) -> dict[str, Any]:
        """POST a JSON action and return the envelope (any HTTP status)."""
        async with self.session.post(
            f"{self.url}/{action}", json=params, headers=self.headers
        ) as resp:
            body: dict[str, Any] = await resp.json(content_type=None)
            return body

    async def ok(self, action: str, **params: Any) -> Any:
        """Call and assert success; return `data`."""
        body = await self.call(action, **params)
        assert body["status"] == "ok", body
        assert body["retcode"] == 0, body
        return body["data"]

    async def fails(self, action: str, retcode: int, **params: Any) -> str:
        """Call and assert a failure with `retcode`; return the message."""
        body = await self.call(action, **params)
        assert body["status"] == "failed", body
        assert body["retcode"] == retcode, body
        assert body["data"] is None
        assert body["wording"] == body["message"]
        return str(body["message"])


def make_config(data_dir: Path, **overrides: Any) -> Config:
    """A config for tests: free port, given data dir, demo world unless told otherwise."""
    http: dict[str, Any] = {"port": 0}
    http.update(overrides.pop("http", {}))
    bot: dict[str, Any] = {"uin": 10001, "http": [http], "ws": []}
    bot.update(overrides.pop("bot", {}))
    raw: dict[str, Any] = {"data_dir": str(data_dir), "bots": [bot], "web": {"enabled": False}}
    raw.update(overrides)
    return parse_config(raw)


StartServer = Callable[..., Awaitable[Running]]


@pytest.fixture
async def start_server(tmp_path: Path) -> AsyncIterator[StartServer]:
    """Start Apps on demand (same data dir by default, so restarts see the same world)."""
    started: list[Running] = []

    async def start(data_dir: Path | None = None, token: str = "", **overrides: Any) -> Running:
        http = overrides.pop("http", {})
        if token:
            http["token"] = token
        config = make_config(data_dir or tmp_path / "data", http=http, **overrides)
        app = App(config)
        await app.start()
        session = aiohttp.ClientSession()
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        running = Running(app, session, f"http://127.0.0.1:{app.http_servers[0].port}", headers)
        started.append(running)
        return running

    yield start
    for running in started:
        await running.session.close()
        await running.app.stop()


@pytest.fixture
async def server(start_server: StartServer) -> Running:
    """A Catnest with the demo world, bot 10001, no token."""
    return await start_server()


async def stop(running: Running) -> None:
    """Stop a server mid-test (the fixture's cleanup then does nothing more for it)."""
    await running.session.close()
    await running.app.stop()


def content(cq: str) -> Any:
    """World content from a CQ string, as a virtual user would type it."""
    from catnest.limits import Limits
    from catnest.onebot.segments import normalize_message, raw_message
    from catnest.world.chat import Content

    segments = normalize_message(cq, auto_escape=False, limits=Limits())
    return Content(segments, raw_message(segments))


BOT = 10001
ALICE, BOB, CAROL, DAVE = 20001, 20002, 20003, 20004
LOUNGE, LAB = 30001, 30002
