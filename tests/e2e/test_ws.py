"""Forward WebSocket, NapCat-style WS on the HTTP port, and SSE, on the wire."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import orjson
import pytest

from tests.conftest import ALICE, BOB, BOT, LAB, LOUNGE, Running, StartServer, content
from tests.waiting import wait_until

WAIT = 10.0


async def ws_server(start_server: StartServer, token: str = "", **ws: Any) -> Running:
    config: dict[str, Any] = {"port": 0, "token": token, **ws}
    return await start_server(bot={"ws": [config]})


def ws_url(running: Running, path: str = "/") -> str:
    return f"ws://127.0.0.1:{running.app.ws_servers[0].port}{path}"


async def next_json(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    msg = await asyncio.wait_for(ws.receive(), WAIT)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    data: dict[str, Any] = orjson.loads(msg.data)
    return data


async def until(ws: aiohttp.ClientWebSocketResponse, pred: Any) -> dict[str, Any]:
    """The first frame matching `pred` (heartbeats and other events are skipped)."""
    while True:
        frame = await next_json(ws)
        if pred(frame):
            return frame


async def call(
    ws: aiohttp.ClientWebSocketResponse, action: str, echo: Any, **params: Any
) -> dict[str, Any]:
    await ws.send_str(orjson.dumps({"action": action, "params": params, "echo": echo}).decode())
    return await until(ws, lambda f: "post_type" not in f and f.get("echo") == echo)


async def test_lifecycle_is_the_first_frame(start_server: StartServer) -> None:
    running = await ws_server(start_server, heart_interval=50)
    async with running.session.ws_connect(ws_url(running)) as ws:
        first = await next_json(ws)
        assert first["post_type"] == "meta_event" and first["meta_event_type"] == "lifecycle"
        assert first["sub_type"] == "connect" and first["self_id"] == BOT
        assert "echo" not in first
        beat = await until(ws, lambda f: f.get("meta_event_type") == "heartbeat")
        assert beat["interval"] == 50 and beat["status"] == {"online": True, "good": True}


async def test_api_path_gets_no_events(start_server: StartServer) -> None:
    running = await ws_server(start_server, heart_interval=50)
    async with running.session.ws_connect(ws_url(running, "/api")) as ws:
        reply = await call(ws, "get_login_info", "1")
        assert reply["data"]["user_id"] == BOT
        await running.app.world.messages.send_private(ALICE, BOT, content("hi"))
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.receive(), 0.3)


@pytest.mark.parametrize("echo", ["1", 2, {"seq": 1}, [1], "py-uuid", None, 0, False])
async def test_echo_keeps_its_json_type(start_server: StartServer, echo: Any) -> None:
    running = await ws_server(start_server)
    async with running.session.ws_connect(ws_url(running, "/api")) as ws:
        await ws.send_str(orjson.dumps({"action": "get_status", "echo": echo}).decode())
        reply = await next_json(ws)
        assert reply["echo"] == echo and type(reply["echo"]) is type(echo)
        assert list(reply) == ["status", "retcode", "data", "message", "wording", "echo", "stream"]


async def test_missing_echo_is_null(start_server: StartServer) -> None:
    running = await ws_server(start_server)
    async with running.session.ws_connect(ws_url(running, "/api")) as ws:
        await ws.send_str('{"action": "get_status"}')
        assert (await next_json(ws))["echo"] is None


async def test_binary_frames_are_requests(start_server: StartServer) -> None:
    running = await ws_server(start_server)
    async with running.session.ws_connect(ws_url(running, "/api")) as ws:
        await ws.send_bytes(orjson.dumps({"action": "get_login_info", "echo": "py-1"}))
        reply = await next_json(ws)
        assert reply["echo"] == "py-1" and reply["data"]["user_id"] == BOT


async def test_errors_on_the_socket(start_server: StartServer) -> None:
    running = await ws_server(start_server)
    async with running.session.ws_connect(ws_url(running, "/api")) as ws:
        unknown = await call(ws, "get_guild_service_profile", "u")
        assert unknown["retcode"] == 1404 and unknown["status"] == "failed"
        bad = await call(ws, "get_recent_contact", "c", count="abc")
        assert bad["retcode"] == 1400 and "count" in bad["message"]
        await ws.send_str("{not json")
        broken = await next_json(ws)
        assert broken["retcode"] == 1400 and broken["echo"] is None
        await ws.send_str('{"action": "x", "action": "y"}')
        assert "duplicate" in (await next_json(ws))["message"]
        no_action = await call(ws, "", "n")
        assert no_action["retcode"] == 1404
        # The socket still works after all that.
        assert (await call(ws, "get_status", "ok"))["retcode"] == 0


async def test_params_null_or_missing(start_server: StartServer) -> None:
    running = await ws_server(start_server)
    async with running.session.ws_connect(ws_url(running, "/api")) as ws:
        await ws.send_str('{"action": "get_recent_contact", "params": null, "echo": 1}')
        assert len((await next_json(ws))["data"]) == 5
        await ws.send_str('{"action": "get_recent_contact", "params": [], "echo": 2}')
        assert (await next_json(ws))["retcode"] == 1400


async def test_concurrent_requests_match_by_echo(start_server: StartServer) -> None:
    running = await ws_server(start_server)
    async with running.session.ws_connect(ws_url(running, "/api")) as ws:
        for i in range(30):
            await ws.send_str(
                orjson.dumps(
                    {
                        "action": "send_group_msg",
                        "params": {"group_id": LAB, "message": f"n{i}"},
                        "echo": i,
                    }
                ).decode()
            )
        replies = [await next_json(ws) for _ in range(30)]
        assert sorted(r["echo"] for r in replies) == list(range(30))
        assert len({r["data"]["message_id"] for r in replies}) == 30


async def test_events_arrive_in_commit_order(start_server: StartServer) -> None:
    running = await ws_server(start_server)
    async with running.session.ws_connect(ws_url(running)) as ws:
        await next_json(ws)  # lifecycle
        sent = [
            await running.app.world.messages.send_group(ALICE, LOUNGE, content(f"e{i}"))
            for i in range(20)
        ]
        events = [await until(ws, lambda f: f.get("post_type") == "message") for _ in range(20)]
        assert [e["message_id"] for e in events] == [m.message_id for m in sent]
        first = events[0]
        assert first["message_type"] == "group" and first["group_id"] == LOUNGE
        assert first["sender"]["role"] == "owner" and first["raw_message"] == "e0"
        assert first["self_id"] == BOT and "echo" not in first


async def test_private_message_event_and_bot_reply(start_server: StartServer) -> None:
    running = await ws_server(start_server)
    async with running.session.ws_connect(ws_url(running)) as ws:
        await next_json(ws)
        await running.app.world.messages.send_private(BOB, BOT, content("ping"))
        event = await until(ws, lambda f: f.get("post_type") == "message")
        assert event["message_type"] == "private" and event["sub_type"] == "friend"
        assert event["user_id"] == BOB and event["target_id"] == BOB
        reply = await call(ws, "send_private_msg", "r", user_id=event["user_id"], message="pong")
        assert reply["retcode"] == 0
        history = await call(ws, "get_friend_msg_history", "h", user_id=BOB, count=2)
        assert [m["raw_message"] for m in history["data"]["messages"]] == ["ping", "pong"]


async def test_self_messages_only_when_reported(start_server: StartServer) -> None:
    running = await ws_server(start_server, report_self_message=True)
    async with running.session.ws_connect(ws_url(running)) as ws:
        await next_json(ws)
        await ws.send_str(
            orjson.dumps(
                {
                    "action": "send_group_msg",
                    "echo": "s",
                    "params": {"group_id": LAB, "message": "mine"},
                }
            ).decode()
        )
        # The event is pushed after commit, the reply after that: either may come first.
        frames = [
            await until(ws, lambda f: f.get("echo") == "s" or f.get("post_type") == "message_sent")
            for _ in range(2)
        ]
        reply = next(f for f in frames if "post_type" not in f)
        sent = next(f for f in frames if "post_type" in f)
        assert sent["message_id"] == reply["data"]["message_id"]
        assert sent["message_sent_type"] == "self"
    quiet = await ws_server(start_server)
    async with quiet.session.ws_connect(ws_url(quiet)) as ws:
        await next_json(ws)
        await call(ws, "send_group_msg", "s", group_id=LAB, message="mine")
        await quiet.app.world.messages.send_group(BOB, LAB, content("theirs"))
        event = await until(ws, lambda f: f.get("post_type") in ("message", "message_sent"))
        assert event["raw_message"] == "theirs"


async def test_string_format_events(start_server: StartServer) -> None:
    running = await ws_server(start_server, message_post_format="string")
    async with running.session.ws_connect(ws_url(running)) as ws:
        await next_json(ws)
        await running.app.world.messages.send_group(BOB, LAB, content("[CQ:face,id=5]hey"))
        event = await until(ws, lambda f: f.get("post_type") == "message")
        assert event["message"] == "[CQ:face,id=5]hey" and event["message_format"] == "string"


async def test_recall_notice(start_server: StartServer) -> None:
    running = await ws_server(start_server)
    async with running.session.ws_connect(ws_url(running)) as ws:
        await next_json(ws)
        msg = await running.app.world.messages.send_group(BOB, LAB, content("oops"))
        await running.app.world.messages.recall(BOB, msg.message_id)
        notice = await until(ws, lambda f: f.get("post_type") == "notice")
        assert notice["notice_type"] == "group_recall" and notice["message_id"] == msg.message_id
        assert notice["operator_id"] == BOB and notice["user_id"] == BOB
        pm = await running.app.world.messages.send_private(ALICE, BOT, content("private oops"))
        await running.app.world.messages.recall(ALICE, pm.message_id)
        notice = await until(ws, lambda f: f.get("post_type") == "notice")
        assert notice == {
            **notice,
            "notice_type": "friend_recall",
            "user_id": ALICE,
            "message_id": pm.message_id,
        }


@pytest.mark.parametrize(
    ("headers", "query", "status"),
    [
        ({}, "", 401),
        ({"Authorization": "Bearer nope"}, "", 403),
        ({}, "?access_token=nope", 403),
        ({"Authorization": "Bearer s3cret"}, "?access_token=other", 403),
        ({"Authorization": "Bearer s3cret"}, "", 101),
        ({"Authorization": "Token s3cret"}, "", 101),
        ({}, "?access_token=s3cret", 101),
    ],
)
async def test_auth_at_the_handshake(
    start_server: StartServer, headers: dict[str, str], query: str, status: int
) -> None:
    running = await ws_server(start_server, token="s3cret")
    if status == 101:
        async with running.session.ws_connect(ws_url(running) + query, headers=headers) as ws:
            assert (await next_json(ws))["meta_event_type"] == "lifecycle"
        return
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await running.session.ws_connect(ws_url(running) + query, headers=headers)
    assert info.value.status == status


async def test_frames_sent_before_a_failed_handshake_do_nothing(
    start_server: StartServer,
) -> None:
    running = await ws_server(start_server, token="s3cret")
    port = running.app.ws_servers[0].port
    frame = orjson.dumps(
        {"action": "send_group_msg", "params": {"group_id": LAB, "message": "intruder"}}
    )
    # A raw upgrade request immediately followed by a (masked) frame, no waiting.
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"GET /api HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        + bytes([0x81, 0x80 | 126])
        + len(frame).to_bytes(2, "big")
        + b"\0\0\0\0"
        + frame
    )
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), WAIT)
    assert b" 401 " in status_line
    writer.close()
    history = await running.ok("get_group_msg_history", group_id=LAB)
    assert all(m["raw_message"] != "intruder" for m in history["messages"])


async def test_foreign_origin_refused_without_token(start_server: StartServer) -> None:
    running = await ws_server(start_server)
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await running.session.ws_connect(ws_url(running), headers={"Origin": "http://evil.example"})
    assert info.value.status == 403


async def test_plain_http_on_the_ws_port(start_server: StartServer) -> None:
    running = await ws_server(start_server)
    async with running.session.get(f"http://127.0.0.1:{running.app.ws_servers[0].port}/") as r:
        assert r.status == 426


async def test_slow_client_is_dropped_and_others_keep_going(start_server: StartServer) -> None:
    running = await start_server(bot={"ws": [{"port": 0}]}, limits={"max_queued_events": 20})
    slow = await running.session.ws_connect(ws_url(running), max_msg_size=0)
    fast = await running.session.ws_connect(ws_url(running))
    await next_json(fast)
    # The slow client never reads; its kernel buffers fill, then its queue, then it is closed.
    big = "x" * 60000
    received = 0
    for i in range(300):
        await running.app.world.messages.send_group(BOB, LAB, content(f"{i} {big}"))
        await until(fast, lambda f: f.get("post_type") == "message")
        received += 1
    assert received == 300
    events = running.app.bot_events[BOT]
    # Only the fast client is still subscribed.
    await wait_until(lambda: events.sink_count == 1, what="the slow client dropped")
    await slow.close()
    await fast.close()


async def test_http_port_websocket_when_enabled(start_server: StartServer) -> None:
    running = await start_server(http={"enable_websocket": True})
    url = running.url.replace("http://", "ws://") + "/"
    async with running.session.ws_connect(url) as ws:
        assert (await next_json(ws))["meta_event_type"] == "lifecycle"
        assert (await call(ws, "get_login_info", 9))["data"]["user_id"] == BOT
    plain = await start_server(data_dir=None, http={"enable_websocket": False})
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await plain.session.ws_connect(plain.url.replace("http://", "ws://") + "/")


async def test_sse_streams_events(start_server: StartServer) -> None:
    running = await start_server(token="s3cret")
    async with running.session.get(
        f"{running.url}/_events", headers={"Authorization": "Bearer s3cret"}
    ) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        assert await asyncio.wait_for(resp.content.readline(), WAIT) == b": connected\n"
        await running.app.world.messages.send_private(ALICE, BOT, content("over sse"))
        while True:
            line = await asyncio.wait_for(resp.content.readline(), WAIT)
            if line.startswith(b"data: "):
                event = orjson.loads(line[6:])
                break
        assert event["raw_message"] == "over sse" and event["post_type"] == "message"
    async with running.session.get(f"{running.url}/_events") as resp:
        assert resp.status == 401


async def test_stop_closes_sockets_with_going_away(start_server: StartServer) -> None:
    running = await ws_server(start_server)
    ws = await running.session.ws_connect(ws_url(running))
    await next_json(ws)
    await running.app.ws_servers[0].stop()
    msg = await asyncio.wait_for(ws.receive(), WAIT)
    assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 1001
    await ws.close()
