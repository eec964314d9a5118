"""Waiting for news as a user: long-poll and SSE, filtered to what that user can see."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import orjson

from catnest.web.feed import UserFeed
from catnest.world.events import Poked
from catnest.world.hub import Hub
from tests.conftest import ALICE, BOB, BOT, CAROL, DAVE, LAB, LOUNGE, content
from tests.scripted_bot import ScriptedBot
from tests.web.conftest import WAIT, Web


def events_path(uin: int) -> str:
    return f"/api/v1/users/{uin}/events"


async def cursor_of(web: Web, uin: int) -> str:
    answer = await web.ok("GET", events_path(uin) + "?timeout=0")
    assert answer["events"] == [] and answer["reset"] is False
    cursor: str = answer["cursor"]
    return cursor


async def poll_until(web: Web, uin: int, cursor: str, pred: Any) -> tuple[dict[str, Any], str]:
    """Long-poll from `cursor` until an event matching `pred`; it and the cursor after it."""
    async with asyncio.timeout(WAIT):
        while True:
            answer = await web.ok("GET", events_path(uin) + f"?after={cursor}&timeout=5")
            assert answer["reset"] is False
            for event in answer["events"]:
                if pred(event):
                    return event, event["cursor"]
            cursor = answer["cursor"]


async def test_long_poll_delivers_the_bots_reply(web: Web, echo_bot: ScriptedBot) -> None:
    cursor = (await web.ok("GET", f"/api/v1/users/{ALICE}/conversations"))["cursor"]
    sent = await web.ok(
        "POST", f"/api/v1/users/{ALICE}/private/{BOT}/messages", {"message": "ping"}, status=201
    )
    own, cursor = await poll_until(web, ALICE, cursor, lambda e: e["type"] == "message")
    assert own["message_id"] == sent["message_id"]
    assert own["message"]["post_type"] == "message_sent"
    reply, _ = await poll_until(web, ALICE, cursor, lambda e: e["type"] == "message")
    assert reply["conversation"] == {"type": "private", "peer_id": BOT}
    assert reply["sender_id"] == BOT and reply["message"]["raw_message"] == "pong"
    assert reply["message"]["post_type"] == "message" and reply["message"]["user_id"] == BOT


async def test_a_waiting_poll_answers_when_news_arrives(web: Web) -> None:
    cursor = await cursor_of(web, ALICE)
    waiting = asyncio.create_task(web.ok("GET", events_path(ALICE) + f"?after={cursor}&timeout=30"))
    await web.app.world.messages.send_private(BOB, ALICE, content("are you there?"))
    async with asyncio.timeout(WAIT):
        answer = await waiting
    assert [e["message"]["raw_message"] for e in answer["events"]] == ["are you there?"]
    assert answer["cursor"] == answer["events"][-1]["cursor"]


async def test_users_see_only_their_conversations(web: Web) -> None:
    cursor = await cursor_of(web, CAROL)
    await web.app.world.messages.send_group(
        DAVE, LAB, content("lab talk")
    )  # Carol is not in the lab
    await web.app.world.messages.send_private(ALICE, BOB, content("private talk"))
    quiet = await web.ok("GET", events_path(CAROL) + f"?after={cursor}&timeout=0")
    assert quiet["events"] == [] and quiet["cursor"] != cursor
    await web.app.world.messages.send_group(DAVE, LOUNGE, content("lounge talk"))
    news = await web.ok("GET", events_path(CAROL) + f"?after={quiet['cursor']}&timeout=0")
    assert [e["message"]["raw_message"] for e in news["events"]] == ["lounge talk"]
    assert news["events"][0]["conversation"] == {"type": "group", "group_id": LOUNGE}


async def test_recalls_reactions_and_membership_events(web: Web) -> None:
    world = web.app.world
    cursor = await cursor_of(web, DAVE)
    sent = await world.messages.send_group(DAVE, LOUNGE, content("soon gone"))
    await world.reactions.react(CAROL, sent.message_id, "76", True)
    await world.messages.recall(DAVE, sent.message_id)
    await world.group_admin.set_card(ALICE, LOUNGE, DAVE, "D")
    await world.group_admin.kick(BOB, LAB, DAVE)
    await world.pokes.poke(ALICE, DAVE)
    answer = await web.ok("GET", events_path(DAVE) + f"?after={cursor}&timeout=0")
    events = answer["events"]
    assert [e["type"] for e in events] == [
        "message",
        "reaction",
        "recall",
        "card_changed",
        "member_left",
        "poked",
    ]
    reaction, recall, card, left, poke = events[1:]
    assert reaction["message_id"] == sent.message_id and reaction["emoji_id"] == "76"
    assert reaction["count"] == 1 and reaction["user_id"] == CAROL
    assert recall["message_id"] == sent.message_id and recall["operator"] == DAVE
    assert recall["conversation"] == {"type": "group", "group_id": LOUNGE}
    assert "message" not in recall
    assert card["card_new"] == "D" and card["group_id"] == LOUNGE
    assert left == {**left, "group_id": LAB, "user_id": DAVE, "operator_id": BOB, "kicked": True}
    assert poke["user_id"] == ALICE and poke["target_id"] == DAVE
    # Dave is out of the lab now: its news no longer reaches him.
    await world.messages.send_group(BOB, LAB, content("without dave"))
    after = await web.ok("GET", events_path(DAVE) + f"?after={answer['cursor']}&timeout=0")
    assert after["events"] == []


async def test_bad_and_stale_cursors_reset(web: Web) -> None:
    for cursor in ("nonsense", "0000-1", "x-y"):
        answer = await web.ok("GET", events_path(ALICE) + f"?after={cursor}&timeout=0")
        assert answer == {"events": [], "cursor": answer["cursor"], "reset": True}
    fresh = await cursor_of(web, ALICE)
    journal, _, _ = fresh.partition("-")
    answer = await web.ok("GET", events_path(ALICE) + f"?after={journal}-999999&timeout=0")
    assert answer["reset"] is True
    await web.fails("GET", events_path(ALICE) + "?timeout=abc", status=400)
    await web.fails("GET", events_path(ALICE) + "?timeout=500", status=400)
    await web.fails("GET", events_path(BOT), status=403)


async def test_journal_forgets_the_oldest_and_says_so() -> None:
    hub = Hub()
    feed = UserFeed(hub, capacity=3)
    feed.start()
    start = feed.cursor()
    for i in range(5):
        hub.publish(Poked(None, ALICE, BOB + i, ()))
    assert feed.first_seq == 3 and feed.last_seq == 5
    assert feed.position(start) is None  # events 1 and 2 were dropped
    assert feed.position(feed.cursor(2)) == 2
    assert [seq for seq, _ in feed.after(2, 10)] == [3, 4, 5]
    assert [seq for seq, _ in feed.after(3, 1)] == [4]
    assert not await feed.wait(5, 0.01)
    feed.close()
    hub.publish(Poked(None, ALICE, BOB, ()))
    assert feed.last_seq == 5


async def read_sse(resp: aiohttp.ClientResponse) -> tuple[str | None, dict[str, Any]]:
    """The next event of an SSE stream: its id and decoded data (comments skipped)."""
    event_id: str | None = None
    data: dict[str, Any] | None = None
    while True:
        line = (await resp.content.readline()).decode()
        assert line, "stream ended"
        line = line.rstrip("\n")
        if line.startswith("id: "):
            event_id = line[4:]
        elif line.startswith("data: "):
            data = orjson.loads(line[6:])
        elif line == "" and data is not None:
            return event_id, data


async def test_sse_stream_delivers_the_bots_reply(web: Web, echo_bot: ScriptedBot) -> None:
    url = web.base + f"/api/v1/users/{ALICE}/stream"
    async with web.session.get(url) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "text/event-stream"
        assert await resp.content.readline() == b": connected\n"
        await web.ok(
            "POST", f"/api/v1/users/{ALICE}/private/{BOT}/messages", {"message": "ping"}, status=201
        )
        async with asyncio.timeout(WAIT):
            first_id, first = await read_sse(resp)
            assert first["message"]["raw_message"] == "ping" and first["cursor"] == first_id
            _, second = await read_sse(resp)
        assert second["sender_id"] == BOT and second["message"]["raw_message"] == "pong"
    # Reconnecting with Last-Event-ID resumes right after it.
    async with web.session.get(url, headers={"Last-Event-ID": str(first_id)}) as resp:
        async with asyncio.timeout(WAIT):
            _, again = await read_sse(resp)
        assert again["message"]["raw_message"] == "pong"


async def test_sse_stream_resets_an_unknown_cursor(web: Web) -> None:
    url = web.base + f"/api/v1/users/{ALICE}/stream?after=stale-1"
    async with web.session.get(url) as resp:
        async with asyncio.timeout(WAIT):
            reset_id, reset = await read_sse(resp)
        assert reset == {"type": "reset"} and reset_id
        await web.app.world.messages.send_private(BOB, ALICE, content("after the reset"))
        async with asyncio.timeout(WAIT):
            _, news = await read_sse(resp)
        assert news["message"]["raw_message"] == "after the reset"
    status, _ = await web.call("GET", f"/api/v1/users/{BOT}/stream")
    assert status == 403
