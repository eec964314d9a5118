"""Churn (issue 5): hundreds of WS clients come and go; the server keeps nothing of them.

Several rounds of 300 clients on the forward WS event path (`/`): each round they connect,
all hear one group message as an event, and leave, a third each way: a polite close frame, an
abrupt reset (RST, no close frame), and giving up halfway through the handshake. Afterwards the
bot's event sinks, the loop's tasks, the process's file descriptors and its memory are back
near where they started (measured after one warm-up round, so that allocator pools and lazily
imported code do not count as growth).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import os
import resource
import socket
import struct
import time
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import BOB, BOT, LAB, Running, StartServer, content
from tests.waiting import wait_until

CLIENTS = 300
ROUNDS = 4  # after the warm-up round
HANDSHAKES_AT_ONCE = 50  # the listen backlog is 128
WAIT = 30.0
SETTLE = 20.0
FD_SLACK, TASK_SLACK, RSS_SLACK_KIB = 20, 10, 30 * 1024
MODES = ("close", "reset", "half")


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/self/status")


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


@dataclass
class Usage:
    sinks: int
    tasks: int
    fds: int
    rss_kib: int

    def __str__(self) -> str:
        return f"sinks {self.sinks}, tasks {self.tasks}, fds {self.fds}, RSS {self.rss_kib} KiB"


def usage(server: Running) -> Usage:
    gc.collect()
    return Usage(
        server.app.bot_events[BOT].sink_count, len(asyncio.all_tasks()), fd_count(), rss_kib()
    )


class Client:
    """A bare WebSocket client on asyncio streams: no tasks of its own, every way of leaving."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def handshake(cls, port: int, *, complete: bool = True) -> Client:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n"
            "\r\n".encode()
        )
        client = cls(reader, writer)
        if complete:
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 101"), head
        return client

    async def frame(self) -> tuple[int, bytes]:
        b0, b1 = await self.reader.readexactly(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", await self.reader.readexactly(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", await self.reader.readexactly(8))[0]
        return b0 & 0x0F, await self.reader.readexactly(n)

    async def until(self, marker: bytes) -> None:
        """Read frames until a text frame containing `marker` arrives."""
        while True:
            opcode, payload = await self.frame()
            assert opcode != 0x8, payload
            if opcode == 0x1 and marker in payload:
                return

    async def close(self) -> None:
        """A close frame (masked with a zero key), then wait for the server to hang up."""
        self.writer.write(b"\x88\x82\0\0\0\0" + struct.pack("!H", 1000))
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                opcode, _ = await self.frame()
                if opcode == 0x8:
                    break
            await self.reader.read()  # EOF: the server closed the TCP connection
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()

    def reset(self) -> None:
        """Vanish: SO_LINGER 0 makes close() send RST; the server never gets a close frame."""
        sock = self.writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()


async def churn_round(server: Running, port: int, n: int) -> None:
    """`n` clients connect, hear one message, and leave in the three ways."""
    modes = [MODES[i % len(MODES)] for i in range(n)]
    clients: list[Client] = []
    for start in range(0, n, HANDSHAKES_AT_ONCE):
        batch = modes[start : start + HANDSHAKES_AT_ONCE]
        clients += await asyncio.gather(
            *(Client.handshake(port, complete=mode != "half") for mode in batch)
        )
    full = [c for c, mode in zip(clients, modes, strict=True) if mode != "half"]
    # The lifecycle event is queued just before the sink is registered: once every full client
    # has it, the server is sending events to all of them.
    await asyncio.wait_for(asyncio.gather(*(c.until(b'"lifecycle"') for c in full)), WAIT)
    assert server.app.bot_events[BOT].sink_count >= len(full)
    sent = await server.app.world.messages.send_group(BOB, LAB, content(f"churn {time.time()}"))
    marker = b'"message_id":%d' % sent.message_id
    await asyncio.wait_for(asyncio.gather(*(c.until(marker) for c in full)), WAIT)
    closing = []
    for client, mode in zip(clients, modes, strict=True):
        if mode == "close":
            closing.append(client.close())
        elif mode == "reset":
            client.reset()
        else:
            client.writer.transport.abort()  # mid-handshake: the 101 was never read
    await asyncio.wait_for(asyncio.gather(*closing), WAIT)


async def test_ws_clients_churn_leaves_nothing_behind(start_server: StartServer) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = CLIENTS * 2 + 512  # both ends of every connection live in this process
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    server = await start_server(bot={"ws": [{"port": 0}]})
    port = server.app.ws_servers[0].port
    start = usage(server)

    async def settled_from(base: Usage) -> Usage:
        # Server-side handlers and writer tasks end once their sockets are gone.
        await wait_until(
            lambda: server.app.bot_events[BOT].sink_count == base.sinks,
            SETTLE,
            what=f"event sinks back to {base.sinks}",
        )
        await wait_until(
            lambda: len(asyncio.all_tasks()) <= base.tasks + TASK_SLACK,
            SETTLE,
            what=f"tasks back to {base.tasks} + {TASK_SLACK}",
        )
        await wait_until(
            lambda: fd_count() <= base.fds + FD_SLACK,
            SETTLE,
            what=f"file descriptors back to {base.fds} + {FD_SLACK}",
        )
        return usage(server)

    await churn_round(server, port, CLIENTS)  # warm-up: code paths, pools, caches
    warm = await settled_from(start)
    peaks: list[int] = []
    for _ in range(ROUNDS):
        await churn_round(server, port, CLIENTS)
        peaks.append(rss_kib())
        await settled_from(start)
    end = usage(server)
    report = f"start: {start}; after warm-up: {warm}; end: {end}; RSS after rounds {peaks}"
    assert end.sinks == start.sinks, report
    assert end.tasks <= start.tasks + TASK_SLACK, report
    assert end.fds <= start.fds + FD_SLACK, report
    assert end.rss_kib - warm.rss_kib < RSS_SLACK_KIB, report
    # The server still serves events to a newcomer after all that.
    client = await Client.handshake(port)
    await asyncio.wait_for(client.until(b'"lifecycle"'), WAIT)
    await client.close()
    print(report)
