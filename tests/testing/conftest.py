"""A tiny OneBot bot on a raw WebSocket, to drive the plugin's fixture without a framework."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web

from catnest.testing import CatnestServer

WAIT = 10.0


class RawBot:
    """Answers "ping" with "pong" and "echo <text>" with the text, where it was said; hears
    every event."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse | web.WebSocketResponse) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []
        self._seen = asyncio.Event()
        self._echo = 0

    async def run(self) -> None:
        async for frame in self.ws:
            if frame.type != aiohttp.WSMsgType.TEXT:
                continue
            data = orjson.loads(frame.data)
            if "post_type" not in data:
                continue
            self.events.append(data)
            self._seen.set()
            if data["post_type"] != "message":
                continue
            text = data["raw_message"]
            if text == "ping":
                await self.send(data, "pong")
            elif text.startswith("echo "):
                await self.send(data, text[5:])

    async def send(self, event: dict[str, Any], text: str) -> None:
        """Answer in the conversation of `event`."""
        self._echo += 1
        if event.get("group_id") and event.get("message_type") == "group":
            action, params = "send_group_msg", {"group_id": event["group_id"], "message": text}
        else:
            action, params = "send_private_msg", {"user_id": event["user_id"], "message": text}
        frame = {"action": action, "params": params, "echo": self._echo}
        await self.ws.send_bytes(orjson.dumps(frame))

    async def wait_for(self, pred: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The first event so far (or to come) matching `pred`."""
        async with asyncio.timeout(WAIT):
            while True:
                for event in self.events:
                    if pred(event):
                        return event
                self._seen.clear()
                await self._seen.wait()


@pytest.fixture
async def raw_bot(catnest_server: CatnestServer) -> AsyncIterator[RawBot]:
    """The bot, connected to the fixture's forward WS."""
    headers = {"Authorization": f"Bearer {catnest_server.token}"} if catnest_server.token else {}
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(catnest_server.ws_url, headers=headers) as ws,
    ):
        bot = RawBot(ws)
        task = asyncio.create_task(bot.run())
        await catnest_server.wait_for_bot()
        yield bot
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
