"""Slow-loris connections, connection floods and slow bodies are cut off; real clients go on."""

from __future__ import annotations

import asyncio

from tests.conftest import StartServer

WAIT = 10.0


async def test_slow_loris_is_closed_and_real_clients_are_served(
    start_server: StartServer,
) -> None:
    running = await start_server(limits={"header_timeout_seconds": 1})
    port = int(running.url.rsplit(":", 1)[1])
    slow = []
    for _ in range(20):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /get_status HTTP/1.1\r\nHost: x\r\n")  # never finishes the head
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
    for _ in range(50):
        try:
            assert (await running.ok("get_status"))["online"] is True
            break
        except AssertionError:
            await asyncio.sleep(0.05)


async def test_slow_body_gets_408(start_server: StartServer) -> None:
    running = await start_server(limits={"body_timeout_seconds": 1})
    port = int(running.url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"POST /get_status HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
    await writer.drain()
    head = await asyncio.wait_for(reader.readline(), WAIT)
    assert b" 408 " in head
    writer.close()
