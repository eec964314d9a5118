"""Each bot's recent OneBot traffic: the ring buffer and its endpoints."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from catnest.onebot import envelope
from catnest.web.traffic import TrafficEntry, TrafficLog
from tests.conftest import ALICE, BOT
from tests.scripted_bot import ScriptedBot
from tests.web.conftest import WAIT, Web
from tests.web.test_events import read_sse


def decoded(entries: list[TrafficEntry]) -> list[dict[str, Any]]:
    return [orjson.loads(e.data) for e in entries]


def test_ring_keeps_the_latest_entries_per_bot() -> None:
    log = TrafficLog(capacity=3, clock=lambda: 1700000000.5)
    for i in range(5):
        log.record_action(BOT, "get_status", {"i": i}, envelope.ok({"online": True}, i))
    log.record_action(10002, "get_login_info", {}, envelope.ok({}))
    kept = decoded(log.recent(BOT))
    assert [e["params"]["i"] for e in kept] == [2, 3, 4]
    assert kept[0] == {
        "seq": 3,
        "time": 1700000000.5,
        "bot_id": BOT,
        "kind": "action",
        "action": "get_status",
        "params": {"i": 2},
        "retcode": 0,
        "status": "ok",
        "message": "",
        "data": {"online": True},
    }
    assert [e.seq for e in log.recent(BOT, after=4)] == [5]
    assert [e.seq for e in log.recent(BOT, limit=1)] == [5]
    assert log.recent(BOT, limit=0) == []
    assert log.bots() == [BOT, 10002]
    assert log.recent(99999) == []


def test_entries_record_failures_events_and_truncate_big_ones() -> None:
    log = TrafficLog(max_entry_bytes=512)
    log.record_action(
        BOT, "delete_msg", {"message_id": 1}, envelope.failed(1404, "gone"), elapsed_ms=1.23456
    )
    failed = log.recent(BOT)[-1]
    assert failed.ok is False and failed.name == "delete_msg" and failed.kind == "action"
    assert orjson.loads(failed.data)["elapsed_ms"] == 1.235
    log.record_event(
        BOT, orjson.dumps({"post_type": "message", "message_type": "private", "raw_message": "hi"})
    )
    log.record_event(BOT, {"post_type": "notice", "notice_type": "group_recall"})
    log.record_event(BOT, b"{broken")
    names = [e.name for e in log.recent(BOT)]
    assert names == ["delete_msg", "message.private", "notice.group_recall", "event"]
    log.record_action(
        BOT, "send_private_msg", {"message": "x" * 10_000}, envelope.ok({"message_id": 1})
    )
    big = orjson.loads(log.recent(BOT)[-1].data)
    assert "params" not in big and big["truncated"]["fields"] == ["params", "data"]
    assert big["action"] == "send_private_msg" and big["retcode"] == 0
    log.record_action(BOT, {"weird": True}, object(), envelope.ok(None))
    assert log.recent(BOT)[-1].name == "{'weird': True}"


def test_subscribers_hear_each_entry_and_can_leave() -> None:
    log = TrafficLog()
    heard: list[int] = []
    everything: list[int] = []

    def broken(entry: TrafficEntry) -> None:
        raise RuntimeError("a listener failing must not stop the others")

    log.subscribe(BOT, broken)
    stop = log.subscribe(BOT, lambda e: heard.append(e.seq))
    log.subscribe(None, lambda e: everything.append(e.bot_id))
    log.record_event(BOT, {"post_type": "meta_event"})
    log.record_event(10002, {"post_type": "meta_event"})
    stop()
    stop()
    log.record_event(BOT, {"post_type": "meta_event"})
    assert heard == [1] and everything == [BOT, 10002, BOT]


async def test_traffic_endpoint(web: Web) -> None:
    log = web.app.traffic
    assert log is not None
    empty = await web.ok("GET", f"/api/v1/bots/{BOT}/traffic")
    assert empty == {"entries": [], "cursor": 0}
    log.record_action(BOT, "get_login_info", {}, envelope.ok({"user_id": BOT}))
    log.record_event(BOT, {"post_type": "message", "message_type": "private"})
    answer = await web.ok("GET", f"/api/v1/bots/{BOT}/traffic")
    assert [e["kind"] for e in answer["entries"]] == ["action", "event"]
    assert answer["entries"][0]["data"] == {"user_id": BOT}
    cursor = answer["cursor"]
    log.record_action(BOT, "get_status", {}, envelope.ok({}))
    newer = await web.ok("GET", f"/api/v1/bots/{BOT}/traffic?after={cursor}")
    assert [e["action"] for e in newer["entries"]] == ["get_status"]
    latest = await web.ok("GET", f"/api/v1/bots/{BOT}/traffic?limit=1")
    assert [e["action"] for e in latest["entries"]] == ["get_status"]
    await web.fails("GET", f"/api/v1/bots/{ALICE}/traffic", status=404)
    await web.fails("GET", "/api/v1/bots/99999/traffic", status=404)
    await web.fails("GET", f"/api/v1/bots/{BOT}/traffic?limit=0", status=400)
    await web.fails("GET", f"/api/v1/bots/{BOT}/traffic?after=-1", status=400)


async def test_traffic_stream(web: Web) -> None:
    log = web.app.traffic
    assert log is not None
    log.record_action(BOT, "before", {}, envelope.ok(None))
    url = web.base + f"/api/v1/bots/{BOT}/traffic/stream"
    async with web.session.get(url) as resp:
        assert resp.status == 200
        assert await resp.content.readline() == b": connected\n"
        log.record_action(BOT, "during", {}, envelope.ok(None))
        log.record_action(10002, "another bot", {}, envelope.ok(None))
        log.record_event(BOT, {"post_type": "notice", "notice_type": "friend_add"})
        async with asyncio.timeout(WAIT):
            first_id, first = await read_sse(resp)
            _, second = await read_sse(resp)
        assert first["action"] == "during" and first_id == str(first["seq"])
        assert second["event"]["notice_type"] == "friend_add"
    # Resuming sends the kept entries after Last-Event-ID first.
    async with web.session.get(url, headers={"Last-Event-ID": "0"}) as resp:
        async with asyncio.timeout(WAIT):
            replay = [(await read_sse(resp))[1] for _ in range(3)]
        assert [e.get("action", "event") for e in replay] == ["before", "during", "event"]
    status, _ = await web.call("GET", f"/api/v1/bots/{ALICE}/traffic/stream")
    assert status == 404


async def test_a_slow_traffic_stream_is_ended(web: Web) -> None:
    log = web.app.traffic
    assert log is not None
    url = web.base + f"/api/v1/bots/{BOT}/traffic/stream"
    async with web.session.get(url) as resp:
        assert await resp.content.readline() == b": connected\n"
        # More entries than one stream may hold, recorded while it is not being read.
        for i in range(1500):
            log.record_action(BOT, "flood", {"i": i}, envelope.ok(None))
        async with asyncio.timeout(WAIT):
            rest = await resp.content.read()
        assert rest.count(b"data: ") <= 1000


async def test_a_bots_real_traffic_is_recorded(web: Web, echo_bot: ScriptedBot) -> None:
    url = web.base + f"/api/v1/bots/{BOT}/traffic/stream"
    entries: list[dict[str, Any]] = []
    async with web.session.get(url) as resp:
        assert await resp.content.readline() == b": connected\n"
        await web.ok(
            "POST", f"/api/v1/users/{ALICE}/private/{BOT}/messages", {"message": "ping"}, status=201
        )
        async with asyncio.timeout(WAIT):
            while not any(e.get("action") == "send_private_msg" for e in entries):
                entries.append((await read_sse(resp))[1])
    event = next(e for e in entries if e["kind"] == "event")
    assert event["event"]["raw_message"] == "ping" and event["event"]["user_id"] == ALICE
    action = next(e for e in entries if e.get("action") == "send_private_msg")
    assert action["params"] == {"user_id": ALICE, "message": "pong"}
    assert action["retcode"] == 0 and action["data"]["message_id"] > 0
    assert action["elapsed_ms"] >= 0
    recent = await web.ok("GET", f"/api/v1/bots/{BOT}/traffic")
    assert [e["seq"] for e in recent["entries"]][-len(entries) :] == [e["seq"] for e in entries]
