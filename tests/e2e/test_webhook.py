"""The HTTP webhook: headers, HMAC signature, lifecycle first, events in order."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from aiohttp import web

from tests.conftest import ALICE, BOB, BOT, LAB, StartServer, content
from tests.waiting import wait_until

WAIT = 10.0


@dataclass
class Receiver:
    """A bot-side HTTP server recording posted events; answers with `answer` if set."""

    posts: asyncio.Queue[tuple[dict[str, str], bytes]] = field(default_factory=asyncio.Queue)
    answer: dict[str, Any] | None = None
    status: int = 204
    runner: web.AppRunner | None = None
    port: int = 0

    async def handler(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        await self.posts.put((dict(request.headers), body))
        event = orjson.loads(body)
        if self.answer is not None and event.get("post_type") == "message":
            return web.json_response(self.answer)
        return web.Response(status=self.status)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/", self.handler)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.port = int(self.runner.addresses[0][1])

    async def next(self, pred: Any = lambda e: True) -> tuple[dict[str, str], dict[str, Any]]:
        while True:
            headers, body = await asyncio.wait_for(self.posts.get(), WAIT)
            event = orjson.loads(body)
            if pred(event):
                return headers, event


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.start()
    yield r
    assert r.runner is not None
    await r.runner.cleanup()


def hook(r: Receiver, **extra: Any) -> dict[str, Any]:
    return {"webhooks": [{"url": f"http://127.0.0.1:{r.port}/", **extra}]}


async def test_lifecycle_then_signed_events(start_server: StartServer, receiver: Receiver) -> None:
    running = await start_server(bot=hook(receiver, token="secret"))
    headers, first = await receiver.next()
    assert first["meta_event_type"] == "lifecycle" and first["self_id"] == BOT
    await running.app.world.messages.send_private(ALICE, BOT, content("hooked"))
    headers, raw_event = await asyncio.wait_for(receiver.posts.get(), WAIT)
    event = orjson.loads(raw_event)
    assert event["raw_message"] == "hooked"
    assert headers["X-Self-ID"] == str(BOT)
    assert headers["Content-Type"] == "application/json"
    expected = hmac.new(b"secret", raw_event, hashlib.sha1).hexdigest()
    assert headers["X-Signature"] == f"sha1={expected}"


async def test_unsigned_without_token(start_server: StartServer, receiver: Receiver) -> None:
    running = await start_server(bot=hook(receiver))
    await receiver.next()
    await running.app.world.messages.send_group(BOB, LAB, content("g"))
    headers, event = await receiver.next(lambda e: e.get("post_type") == "message")
    assert "X-Signature" not in headers and event["group_id"] == LAB


async def test_events_in_order(start_server: StartServer, receiver: Receiver) -> None:
    running = await start_server(bot=hook(receiver))
    await receiver.next()
    sent = [
        await running.app.world.messages.send_group(BOB, LAB, content(f"o{i}")) for i in range(10)
    ]
    got = [
        (await receiver.next(lambda e: e.get("post_type") == "message"))[1]["message_id"]
        for _ in range(10)
    ]
    assert got == [m.message_id for m in sent]


async def test_down_receiver_does_not_grow_memory(
    start_server: StartServer, receiver: Receiver
) -> None:
    receiver.status = 500
    running = await start_server(bot=hook(receiver), limits={"max_queued_events": 5})
    await receiver.next()  # the lifecycle is retried; first attempt fails with 500
    for i in range(30):
        await running.app.world.messages.send_group(BOB, LAB, content(f"d{i}"))
    webhook = running.app.webhooks[0]
    assert webhook._queue.qsize() <= 5


async def test_quick_reply_to_a_private_message(
    start_server: StartServer, receiver: Receiver
) -> None:
    receiver.answer = {"reply": "pong [CQ:face,id=1]"}
    running = await start_server(bot=hook(receiver))
    await receiver.next()
    await running.app.world.messages.send_private(ALICE, BOT, content("ping"))
    await receiver.next(lambda e: e.get("post_type") == "message")

    async def last_message() -> str | None:
        history = await running.ok("get_friend_msg_history", user_id=ALICE, count=1)
        text: str = history["messages"][0]["raw_message"]
        return None if text == "ping" else text

    assert await wait_until(last_message, what="the quick reply") == "pong [CQ:face,id=1]"


async def test_quick_reply_in_a_group_mentions_the_sender(
    start_server: StartServer, receiver: Receiver
) -> None:
    receiver.answer = {"reply": "[x]", "auto_escape": True, "ban": True, "ban_duration": 60}
    running = await start_server(bot=hook(receiver))
    await receiver.next()
    await running.app.world.messages.send_group(20004, LAB, content("spam"))
    await receiver.next(lambda e: e.get("post_type") == "message")

    async def applied() -> tuple[str, int] | None:
        last = (await running.ok("get_group_msg_history", group_id=LAB, count=1))["messages"][0]
        member = await running.ok("get_group_member_info", group_id=LAB, user_id=20004)
        if last["raw_message"] == "spam" or not member["shut_up_timestamp"]:
            return None
        return last["raw_message"], member["shut_up_timestamp"]

    raw, muted_until = await wait_until(applied, what="the quick reply and the mute")
    assert raw == "[CQ:at,qq=20004] &#91;x&#93;"
    assert muted_until > 0


async def test_quick_operation_action(start_server: StartServer) -> None:
    running = await start_server()
    msg = await running.app.world.messages.send_group(BOB, LAB, content("hello"))
    context = await running.ok("get_msg", message_id=msg.message_id)
    await running.ok(
        ".handle_quick_operation",
        context=context,
        operation={"reply": "hi", "at_sender": False, "delete": True},
    )
    last = (await running.ok("get_group_msg_history", group_id=LAB, count=2))["messages"]
    assert [m["raw_message"] for m in last][-1] == "hi"
    await running.fails("get_msg", 1404, message_id=msg.message_id)
    await running.fails(
        ".handle_quick_operation", 1400, context={"post_type": "weird"}, operation={}
    )
    await running.fails(
        ".handle_quick_operation",
        1400,
        context=context,
        operation={"ban": True, "ban_duration": "long"},
    )
