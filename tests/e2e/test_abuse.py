"""Slow-loris connections, connection floods and slow bodies are cut off; real clients go on."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import aiohttp

from tests.conftest import StartServer
from tests.waiting import wait_until

WAIT = 10.0


async def test_slow_loris_is_closed_and_real_clients_are_served(
    start_server: StartServer,
) -> None:
    running = await start_server(limits={"header_timeout_seconds": 1})
    port = int(running.url.rsplit(":", 1)[1])
    slow = []
    for _ in range(20):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /get_status HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finishes the head
        await writer.drain()
        slow.append((reader, writer))
    # A real client is answered while the slow ones hang.
    assert (await running.ok("get_status"))["online"] is True
    # Each slow connection is closed by the server within the header timeout.
    for reader, writer in slow:
        assert await asyncio.wait_for(reader.read(), WAIT) == b""
        writer.close()


async def test_connections_per_address_are_capped(start_server: StartServer) -> None:
    running = await start_server(limits={"max_connections_per_address": 5})
    port = int(running.url.rsplit(":", 1)[1])
    held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(5)]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    assert await asyncio.wait_for(reader.read(), WAIT) == b""  # refused on accept
    writer.close()
    for _, w in held:
        w.close()
        await w.wait_closed()
    # Once they are gone, new connections are served again.
    status = await wait_until(
        lambda: running.ok("get_status"),
        what="a new connection served",
        retry_on=(aiohttp.ClientError,),
    )
    assert status["online"] is True


async def test_slow_body_gets_408(start_server: StartServer) -> None:
    running = await start_server(limits={"body_timeout_seconds": 1})
    port = int(running.url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"POST /get_status HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{")
    await writer.drain()
    head = await asyncio.wait_for(reader.readline(), WAIT)
    assert b" 408 " in head
    writer.close()


async def test_rate_limit_is_per_credential_and_retryable(start_server: StartServer) -> None:
    running = await start_server(limits={"requests_per_second": 1, "request_burst": 3})
    for _ in range(3):
        assert (await running.ok("get_status"))["online"] is True
    async with running.session.post(f"{running.url}/get_status", json={}) as resp:
        assert resp.status == 429 and int(resp.headers["Retry-After"]) >= 1
        body = await resp.json()
    assert body["retcode"] == 1400 and "retry in" in body["message"]


async def test_rate_limit_on_websocket(start_server: StartServer) -> None:
    import orjson

    running = await start_server(
        bot={"ws": [{"port": 0}]}, limits={"requests_per_second": 1, "request_burst": 2}
    )
    url = f"ws://127.0.0.1:{running.app.ws_servers[0].port}/api"
    async with running.session.ws_connect(url) as ws:
        replies = []
        for i in range(3):
            await ws.send_str(orjson.dumps({"action": "get_status", "echo": i}).decode())
            replies.append(orjson.loads((await asyncio.wait_for(ws.receive(), WAIT)).data))
    assert [r["retcode"] for r in replies] == [0, 0, 1400]
    assert replies[2]["echo"] == 2 and "retry in" in replies[2]["message"]


async def test_rate_limited_calls_are_spaced(start_server: StartServer, monkeypatch: Any) -> None:
    from catnest.actions import dispatch

    running = await start_server(limits={"rate_limited_interval_ms": 200})
    waits: list[float] = []
    real_sleep = asyncio.sleep

    async def recording_sleep(seconds: float) -> None:
        # Only the dispatcher's waits: the store's own timers sleep through the same module.
        if inspect.stack()[1].filename == dispatch.__file__:
            waits.append(seconds)
        await real_sleep(seconds)

    monkeypatch.setattr(dispatch.asyncio, "sleep", recording_sleep)
    results = await asyncio.gather(*[running.ok("get_status_rate_limited") for _ in range(3)])
    assert all(r["online"] for r in results)
    # The 2nd and 3rd calls each waited out (most of) the 200 ms gap; plain calls never wait.
    assert len(waits) == 2 and all(0.1 < w <= 0.2 for w in waits)
    await running.ok("get_status")
    assert len(waits) == 2
