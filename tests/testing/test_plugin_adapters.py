"""The fixture in the other directions: Catnest dials the bot (reverse WS) and posts to it
(webhook), set up by overriding `catnest_options` for this module."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import orjson
import pytest
from aiohttp import web

from catnest.testing import CatnestOptions, CatnestServer
from tests.scripted_bot import ScriptedBot


class BotEndpoint:
    """A bot's own server: a WebSocket at /ws (the ScriptedBot) and a webhook at /hook that
    answers "hook" with a quick reply."""

    def __init__(self) -> None:
        self.bots: list[ScriptedBot] = []
        self.connected = asyncio.Event()
        self.hook_bodies: list[dict[str, object]] = []
        self.runner: web.AppRunner | None = None
        self.port = 0

    async def ws(self, request: web.Request) -> web.WebSocketResponse:
        assert request.headers["X-Client-Role"] == "Universal"
        assert request.headers["Authorization"] == "Bearer s3cret"
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        bot = ScriptedBot(ws)
        self.bots.append(bot)
        self.connected.set()
        await bot.run()
        return ws

    async def hook(self, request: web.Request) -> web.Response:
        event = orjson.loads(await request.read())
        self.hook_bodies.append(event)
        if event.get("post_type") == "message" and event.get("raw_message") == "hook":
            return web.json_response({"reply": "hooked"})
        return web.Response(status=204)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/ws", self.ws)
        app.router.add_post("/hook", self.hook)
        self.runner = web.AppRunner(app, shutdown_timeout=1)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self.runner.addresses[0][1])


@pytest.fixture
async def endpoint() -> AsyncIterator[BotEndpoint]:
    bot = BotEndpoint()
    await bot.start()
    yield bot
    assert bot.runner is not None
    await bot.runner.cleanup()


@pytest.fixture
def catnest_options(endpoint: BotEndpoint) -> CatnestOptions:
    base = f"127.0.0.1:{endpoint.port}"
    return CatnestOptions(
        bot_id=10101,
        forward_ws=False,
        reverse_ws=f"ws://{base}/ws",
        webhook=f"http://{base}/hook",
        token="s3cret",
    )


async def test_reverse_ws_bot(catnest_server: CatnestServer, endpoint: BotEndpoint) -> None:
    await catnest_server.wait_for_bot()
    with pytest.raises(RuntimeError, match="forward_ws"):
        _ = catnest_server.ws_url
    user = await catnest_server.user()
    await user.say("ping")
    reply = await user.expect_reply(contains="pong")
    assert reply.user_id == user.uin
    bot = endpoint.bots[0]
    lifecycle = await bot.wait_for(lambda e: e.get("meta_event_type") == "lifecycle")
    assert lifecycle["self_id"] == 10101


async def test_webhook_bot(catnest_server: CatnestServer, endpoint: BotEndpoint) -> None:
    user = await catnest_server.user()
    await user.say("hook")
    reply = await user.expect_reply(timeout=10)
    assert reply.text == "hooked"
    assert any(b.get("raw_message") == "hook" for b in endpoint.hook_bodies)
    # The webhook is no connection: only the reverse WS counts.
    await catnest_server.wait_for_bot()
    assert catnest_server.connections == 1
