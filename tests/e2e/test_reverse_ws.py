"""The reverse WebSocket client: NapCat's handshake, lifecycle first, API, reconnects."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web

from tests.conftest import ALICE, BOT, StartServer, content
from tests.waiting import wait_until

WAIT = 10.0


@dataclass
class FakeBot:
    """A bot-side WebSocket server that records handshakes and frames."""

    handshakes: list[dict[str, str]] = field(default_factory=list)
    frames: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    sockets: list[web.WebSocketResponse] = field(default_factory=list)
    status: int = 101
    runner: web.AppRunner | None = None
    port: int = 0

    async def handler(self, request: web.Request) -> web.StreamResponse:
        self.handshakes.append(dict(request.headers))
        if self.status != 101:
            return web.Response(status=self.status)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                await self.frames.put(orjson.loads(msg.data))
        return ws

    async def start(self, port: int = 0) -> None:
        app = web.Application()
        app.router.add_get("/onebot/v11/ws", self.handler)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", port)
        await site.start()
        self.port = int(self.runner.addresses[0][1])

    async def stop(self) -> None:
        for ws in self.sockets:
            await ws.close()
        self.sockets.clear()
        if self.runner is not None:
            await self.runner.cleanup()

    async def frame(self, pred: Any = lambda f: True) -> dict[str, Any]:
        while True:
            frame = await asyncio.wait_for(self.frames.get(), WAIT)
            if pred(frame):
                return frame

    async def call(self, action: str, echo: Any, **params: Any) -> dict[str, Any]:
        await self.sockets[-1].send_str(
            orjson.dumps({"action": action, "params": params, "echo": echo}).decode()
        )
        return await self.frame(lambda f: f.get("echo") == echo and "post_type" not in f)


@pytest.fixture
async def fake_bot() -> AsyncIterator[FakeBot]:
    bot = FakeBot()
    await bot.start()
    yield bot
    await bot.stop()


def client_config(bot: FakeBot, **extra: Any) -> dict[str, Any]:
    return {
        "ws_clients": [
            {"url": f"ws://127.0.0.1:{bot.port}/onebot/v11/ws", "reconnect_interval": 100, **extra}
        ]
    }


async def test_handshake_headers_and_lifecycle(
    start_server: StartServer, fake_bot: FakeBot
) -> None:
    await start_server(bot=client_config(fake_bot, token="s3cret"))
    first = await fake_bot.frame()
    assert first["meta_event_type"] == "lifecycle" and first["sub_type"] == "connect"
    headers = fake_bot.handshakes[0]
    assert headers["X-Self-ID"] == str(BOT)
    assert headers["X-Client-Role"] == "Universal"
    assert headers["Authorization"] == "Bearer s3cret"
    assert headers["User-Agent"] == "OneBot/11"


async def test_api_and_events_over_the_reverse_socket(
    start_server: StartServer, fake_bot: FakeBot
) -> None:
    running = await start_server(bot=client_config(fake_bot))
    await fake_bot.frame()
    reply = await fake_bot.call("get_login_info", {"seq": 1})
    assert reply["data"]["user_id"] == BOT and reply["echo"] == {"seq": 1}
    await running.app.world.messages.send_private(ALICE, BOT, content("via reverse"))
    event = await fake_bot.frame(lambda f: f.get("post_type") == "message")
    assert event["raw_message"] == "via reverse"
    sent = await fake_bot.call("send_private_msg", "2", user_id=ALICE, message="back")
    assert sent["retcode"] == 0


async def test_reconnects_after_the_bot_restarts(
    start_server: StartServer, fake_bot: FakeBot
) -> None:
    running = await start_server(bot=client_config(fake_bot))
    await fake_bot.frame()
    port = fake_bot.port
    await fake_bot.stop()
    # Events while the bot is down are not buffered.
    await running.app.world.messages.send_private(ALICE, BOT, content("lost"))
    revived = FakeBot()
    await revived.start(port)
    try:
        first = await revived.frame()
        assert first["meta_event_type"] == "lifecycle"
        await running.app.world.messages.send_private(ALICE, BOT, content("after"))
        event = await revived.frame(lambda f: f.get("post_type") == "message")
        assert event["raw_message"] == "after"
        assert running.app.ws_clients[0].connections == 2
    finally:
        await revived.stop()


async def test_refused_handshake_is_retried(start_server: StartServer, fake_bot: FakeBot) -> None:
    fake_bot.status = 403
    await start_server(bot=client_config(fake_bot))
    await wait_until(lambda: len(fake_bot.handshakes) >= 2, what="a second handshake")
    fake_bot.status = 101
    first = await fake_bot.frame()
    assert first["meta_event_type"] == "lifecycle"
