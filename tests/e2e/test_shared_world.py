"""Two Catnest processes on one PostgreSQL world: events cross, reads agree (issue 5).

Each App here is what one `catnest serve` process builds: its own engine, pool, hub and
listeners; they share nothing but the database.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import orjson
import pytest

from tests.conftest import ALICE, BOB, BOT, LAB, LOUNGE, Running, StartServer, content
from tests.waiting import wait_until

WAIT = 10.0


async def _events_ws(running: Running) -> aiohttp.ClientWebSocketResponse:
    ws = await running.session.ws_connect(f"ws://127.0.0.1:{running.app.ws_servers[0].port}/")
    first = orjson.loads((await asyncio.wait_for(ws.receive(), WAIT)).data)
    assert first["meta_event_type"] == "lifecycle"
    return ws


async def _next_message(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    while True:
        frame = orjson.loads((await asyncio.wait_for(ws.receive(), WAIT)).data)
        if frame.get("post_type") in ("message", "notice"):
            return dict(frame)


async def test_two_processes_share_events_and_answers(start_server: StartServer) -> None:
    a = await start_server(bot={"ws": [{"port": 0}]})
    if a.app.engine.dialect != "postgres":
        pytest.skip("several processes share a world only on PostgreSQL")
    b = await start_server(bot={"ws": [{"port": 0}]})  # same data dir: the same world
    ws_a, ws_b = await _events_ws(a), await _events_ws(b)
    # Written through A (a virtual user, and the bot over HTTP): both A's and B's clients hear
    # every event exactly once, in the same order.
    sent = [await a.app.world.messages.send_group(BOB, LAB, content(f"m{i}")) for i in range(5)]
    reply = await a.ok("send_group_msg", group_id=LAB, message="bot says hi")
    await b.app.world.messages.recall(BOB, sent[0].message_id)
    expected = [m.message_id for m in sent]
    for ws in (ws_a, ws_b):
        got = [(await _next_message(ws))["message_id"] for _ in range(5)]
        assert got == expected
        notice = await _next_message(ws)
        assert notice["notice_type"] == "group_recall"
        assert notice["message_id"] == sent[0].message_id
    # Reads agree on both processes, including the bot's own reply and the recall.
    for action, params in [
        ("get_recent_contact", {"count": 20}),
        ("get_group_msg_history", {"group_id": LAB, "count": 50}),
        ("get_msg", {"message_id": reply["message_id"]}),
        ("get_group_member_list", {"group_id": LOUNGE}),
    ]:
        assert await a.ok(action, **params) == await b.ok(action, **params), action
    await ws_a.close()
    await ws_b.close()


async def test_message_ids_never_collide_across_processes(start_server: StartServer) -> None:
    a = await start_server()
    if a.app.engine.dialect != "postgres":
        pytest.skip("several processes share a world only on PostgreSQL")
    b = await start_server()
    results = await asyncio.gather(
        *[
            srv.ok("send_private_msg", user_id=ALICE, message=f"{i}")
            for i, srv in enumerate([a, b] * 15)
        ]
    )
    ids = [r["message_id"] for r in results]
    assert len(set(ids)) == 30
    history = await a.ok("get_friend_msg_history", user_id=ALICE, count=100)
    seqs = [int(m["real_seq"]) for m in history["messages"]]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert {m["message_id"] for m in history["messages"]} >= set(ids)
    assert BOT in {m["user_id"] for m in history["messages"]}


async def test_a_cached_recent_contact_answer_follows_writes_of_the_other_process(
    start_server: StartServer,
) -> None:
    a = await start_server()
    if a.app.engine.dialect != "postgres":
        pytest.skip("several processes share a world only on PostgreSQL")
    b = await start_server()
    before = await b.ok("get_recent_contact", count=5)
    assert await b.ok("get_recent_contact", count=5) == before  # now served from B's cache
    # A write through A (the other process) reaches B's cache through the shared event log.
    await a.ok("send_group_msg", group_id=LAB, message="from the other process")

    async def top() -> Any:
        return (await b.ok("get_recent_contact", count=5))[0]

    async def lab_on_top() -> bool:
        item = await top()
        return bool(item["lastestMsg"]["raw_message"] == "from the other process")

    await wait_until(lab_on_top, 5, what="A's message at the top of B's answer")
    assert (await top())["peerUin"] == str(LAB)
    # A read mark through A moves B's unread counts too.
    await a.app.world.messages.send_private(ALICE, BOT, content("unread one"))
    await wait_until(lambda: _unread(top), 5, what="B sees the new message unread")
    await a.ok("mark_private_msg_as_read", user_id=ALICE)
    await wait_until(lambda: _read(top), 5, what="B sees A's read mark")


async def _unread(top: Any) -> bool:
    return bool((await top())["unreadCnt"] >= 1)


async def _read(top: Any) -> bool:
    return bool((await top())["unreadCnt"] == 0)
