"""The one scripted bot the tests talk to: a raw OneBot 11 WebSocket client (or server side of
a reverse WS) that hears every event, answers "ping" with "pong" and "echo <text>" with the
text where it was said, and can call any action and await its answer."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import orjson
from aiohttp import web

WAIT = 10.0

AnySocket = aiohttp.ClientWebSocketResponse | web.WebSocketResponse
Event = dict[str, Any]


class ScriptedBot:
    """A bot speaking OneBot 11 over `ws`; `run()` serves it until the socket closes."""

    def __init__(self, ws: AnySocket) -> None:
        self.ws = ws
        self.events: list[Event] = []
        self._seen = asyncio.Event()
        self._answers: dict[int, asyncio.Future[Event]] = {}
        self._echo = 0

    async def run(self) -> None:
        """Read frames: answers go to their callers, events are kept and replied to."""
        async for frame in self.ws:
            if frame.type != aiohttp.WSMsgType.TEXT:
                continue
            data = orjson.loads(frame.data)
            if "post_type" not in data:
                future = self._answers.pop(data.get("echo"), None)
                if future is not None and not future.done():
                    future.set_result(data)
                continue
            self.events.append(data)
            self._seen.set()
            if data["post_type"] != "message":
                continue
            text = data["raw_message"]
            if text == "ping":
                await self.reply(data, "pong")
            elif text.startswith("echo "):
                await self.reply(data, text[5:])

    async def _send(self, action: str, params: dict[str, Any]) -> asyncio.Future[Event]:
        self._echo += 1
        future: asyncio.Future[Event] = asyncio.get_running_loop().create_future()
        self._answers[self._echo] = future
        await self.ws.send_bytes(
            orjson.dumps({"action": action, "params": params, "echo": self._echo})
        )
        return future

    async def reply(self, event: Event, text: str) -> None:
        """Answer in the conversation of `event` (without waiting for the answer)."""
        if event.get("group_id") and event.get("message_type") == "group":
            await self._send("send_group_msg", {"group_id": event["group_id"], "message": text})
        else:
            await self._send("send_private_msg", {"user_id": event["user_id"], "message": text})

    async def answer(self, action: str, **params: Any) -> Event:
        """Call an action and return its whole envelope."""
        async with asyncio.timeout(WAIT):
            return await (await self._send(action, params))

    async def call(self, action: str, **params: Any) -> Any:
        """Call an action and return its data (asserting success)."""
        answer = await self.answer(action, **params)
        assert answer["retcode"] == 0, answer
        return answer["data"]

    async def wait_for(self, pred: Callable[[Event], bool]) -> Event:
        """The first event so far (or to come) matching `pred`."""
        async with asyncio.timeout(WAIT):
            while True:
                for event in self.events:
                    if pred(event):
                        return event
                self._seen.clear()
                await self._seen.wait()


@contextlib.asynccontextmanager
async def serving(bot: ScriptedBot) -> AsyncIterator[ScriptedBot]:
    """Run `bot` for the block."""
    task = asyncio.create_task(bot.run())
    try:
        yield bot
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.asynccontextmanager
async def connected(
    url: str, *, token: str = "", lifecycle: bool = True
) -> AsyncIterator[ScriptedBot]:
    """A scripted bot connected to the forward WebSocket at `url` for the block; with
    `lifecycle`, once it has heard the lifecycle event."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(url, headers=headers) as ws,
        serving(ScriptedBot(ws)) as bot,
    ):
        if lifecycle:
            await bot.wait_for(lambda e: e.get("meta_event_type") == "lifecycle")
        yield bot
