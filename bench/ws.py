"""Benchmark: Catnest's forward WebSocket against raw aiohttp and NapCat's WS stack (DESIGN.md §5).

In one run, every server pinned to CPU 0 and every load generator pinned to CPU 1:

1. WS action round trips/s over 16 connections to `/api`, 8 requests in flight on each, for
   `get_status` and `get_recent_contact` (count 10), round by round on three servers: a raw
   aiohttp WS server (web.Server + WebSocketResponse, uvloop) answering every frame with the
   bytes Catnest answers that action with (probed first, with an echo as long as the run's);
   NapCat's WS stack doing no work (bench/napcat/ws-server.js: `ws` 8, JSON.parse of each
   request and JSON.stringify of a constant envelope with its echo; `npm install` runs there
   the first time; without node or npm its rows say "skipped"); and Catnest. Targets:
   Catnest >= 0.75 x raw aiohttp and >= 1.3x NapCat, on medians over the rounds.
2. Event fan-out to 1,000 clients: bursts of group messages the bot sends through Catnest's HTTP
   API (`send_group_msg`; the WS server has `report_self_message = true`), each delivered to
   every client on `/` as `message_sent`; vs an aiohttp server that broadcasts a same-size
   pre-encoded frame to 1,000 clients per HTTP request. Deliveries/s = messages x clients /
   time until every client had every message. Target ratio >= 0.5.
3. Server memory per idle WS connection: VmRSS before and after 1,000 idle event connections.
   Target < 64 KiB.
4. A slow client that never reads (small receive buffer) joins a fan-out to 100 of those
   clients with ~3.5 KB messages (the kernel buffers megabytes before the server's queue even
   starts to fill): the others' rate with and without it, the server's RSS per burst, and
   whether the server drops it once its event queue bound is hit.

The clients are a minimal asyncio WebSocket client (no library), cheap enough that the servers
rather than the clients are the bottleneck; the tables show the CPU both sides used, and a
per-CPU ratio (server CPU time per round trip or delivery) keeps the comparison fair when other
work shares the machine. One summary table prints every ratio beside its target. Timings are
printed, never asserted. Five to eight minutes with the defaults, depending on what else shares
the CPUs; `--no-fanout` runs part 1 alone.

    .venv/bin/python bench/ws.py [--duration 10] [--rounds 3] [--clients 1000] [--no-fanout]
        [--no-napcat] [--napcat-parser json|json5]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import math
import os
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import orjson
from baselines import Napcat, TargetRow, median, prepare_napcat, print_targets
from recent_contact import LOAD_CPU, SERVER_CPU, free_port, pinned

BOT = 10001
GROUP = 30001  # the demo world's lounge: the bot is an admin there
CONNECTIONS = 16  # WS round trips: connections ...
WINDOW = 8  # ... and requests in flight on each
WARMUP_SECONDS = 2.0
POSTERS = 8  # concurrent HTTP senders of a fan-out burst
STALL_SECONDS = 5.0  # a burst is given up when no delivery arrived for this long
SETTLE_SECONDS = 3.0
SLOW_RCVBUF = 4096  # the slow client's socket receive buffer (the kernel doubles it)
MESSAGE_SENT = b'"post_type":"message_sent"'
DROP_LOG_LINE = "dropping a slow connection"  # catnest/transport/ws_session.py's warning
CLK_TCK = os.sysconf("SC_CLK_TCK")
PROBE_ECHO = 100_000  # the echo Catnest's answers are probed with (six digits)


def run_loop(coro: Coroutine[Any, Any, Any]) -> Any:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


# --- /proc ------------------------------------------------------------------------------


def rss_kib(pid: int) -> int:
    """The process's resident set size in KiB (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


class CpuMeter:
    """CPU share (1.0 = one core) of a server process and of this process over an interval."""

    def __init__(self, server_pid: int) -> None:
        self._pid = server_pid
        self._t = time.perf_counter()
        self._server = cpu_seconds(server_pid)
        self._own = sum(os.times()[:2])

    def read(self) -> tuple[float, float]:
        wall = time.perf_counter() - self._t
        server = (cpu_seconds(self._pid) - self._server) / wall
        own = (sum(os.times()[:2]) - self._own) / wall
        return server, own


# --- a bare WebSocket client ------------------------------------------------------------

FrameHandler = Callable[["WsClient", bytes], None]


def client_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """A final client frame. The mask key is zero (legal), so the payload goes out as is."""
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, 0x80 | n))
    elif n < 1 << 16:
        head = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, "big")
    return head + b"\0\0\0\0" + payload


class WsClient(asyncio.Protocol):
    """Handshake, then unfragmented server frames to `on_frame`; answers pings and closes."""

    def __init__(self, host: str, port: int, path: str, on_frame: FrameHandler) -> None:
        loop = asyncio.get_running_loop()
        key = base64.b64encode(os.urandom(16)).decode()
        self._request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n\r\n"
        ).encode()
        self._on_frame = on_frame
        self._buf = bytearray()
        self._upgraded = False
        self._transport: asyncio.Transport | None = None
        self.opened: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self.count = 0  # for the frame handler's own bookkeeping

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        self._transport.write(self._request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(f"closed during the handshake: {exc}"))
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        self._buf += data
        if not self._upgraded:
            end = self._buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(self._buf[: self._buf.find(b"\r\n")])
            del self._buf[: end + 4]
            if not status.startswith(b"HTTP/1.1 101"):
                self.opened.set_exception(ConnectionError(status.decode(errors="replace")))
                self.close()
                return
            self._upgraded = True
            self.opened.set_result(None)
        self._frames()

    def _frames(self) -> None:
        buf, pos, size = self._buf, 0, len(self._buf)
        while size - pos >= 2:
            length, head = buf[pos + 1] & 0x7F, 2
            if length == 126:
                if size - pos < 4:
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 4], "big"), 4
            elif length == 127:
                if size - pos < 10:
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
            end = pos + head + length
            if end > size:
                break
            opcode, payload = buf[pos] & 0x0F, bytes(buf[pos + head : end])
            pos = end
            if opcode in (0x1, 0x2):
                self._on_frame(self, payload)
            elif opcode == 0x9:
                self.send(payload, 0xA)
            elif opcode == 0x8:
                self.close()
                break
        del buf[:pos]

    def send(self, payload: bytes, opcode: int = 0x1) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(client_frame(payload, opcode))

    def pause_reading(self) -> None:
        if self._transport is not None:
            self._transport.pause_reading()

    def resume_reading(self) -> None:
        if self._transport is not None:
            self._transport.resume_reading()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


def _ignore(client: WsClient, payload: bytes) -> None:
    pass


async def open_ws(url: str, on_frame: FrameHandler = _ignore, rcvbuf: int = 0) -> WsClient:
    """Connect and finish the handshake; `rcvbuf` shrinks the socket's receive buffer first."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    loop = asyncio.get_running_loop()

    def factory() -> WsClient:
        return WsClient(host, port, parts.path or "/", on_frame)

    if rcvbuf:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        await loop.sock_connect(sock, (host, port))
        _, client = await loop.create_connection(factory, sock=sock)
    else:
        _, client = await loop.create_connection(factory, host, port)
    await asyncio.wait_for(client.opened, 30)
    return client


async def open_many(url: str, n: int, on_frame: FrameHandler) -> list[WsClient]:
    """`n` connections, 50 handshakes at a time (the listen backlog is 128)."""
    clients: list[WsClient] = []
    while len(clients) < n:
        batch = min(50, n - len(clients))
        clients += await asyncio.gather(*(open_ws(url, on_frame) for _ in range(batch)))
    return clients


async def close_all(clients: Sequence[WsClient]) -> None:
    for client in clients:
        client.close()
    await asyncio.gather(*(c.closed for c in clients))


# --- baseline servers -------------------------------------------------------------------


def serve_raw_ws(port: int, replies: dict[str, str]) -> None:
    """The round-trip baseline: a raw aiohttp WS server (web.Server + WebSocketResponse) that
    answers every frame with fixed bytes, Catnest's own answer to the action the connection's
    path names (`/get_status`, `/get_recent_contact`; `replies` maps paths to files)."""
    from aiohttp import WSMsgType, web

    answers = {path: Path(file).read_bytes() for path, file in replies.items()}

    async def handle(request: web.BaseRequest) -> web.StreamResponse:
        reply = answers.get(request.path)
        if reply is None or request.headers.get("Upgrade", "").lower() != "websocket":
            return web.Response(text="ok")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for msg in ws:
            if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                await ws.send_frame(reply, WSMsgType.TEXT)
        return ws

    run_loop(_serve(handle, port))


def serve_fanout(port: int, frame_bytes: int) -> None:
    """The fan-out baseline: each POST /send writes one pre-encoded frame to every client."""
    from aiohttp import WSMsgType, web

    head = b'{"post_type":"message_sent","pad":"'
    frame = head + b"x" * max(0, frame_bytes - len(head) - 2) + b'"}'
    clients: set[web.WebSocketResponse] = set()
    sent = b'{"status":"ok","retcode":0,"data":null}'

    async def handle(request: web.BaseRequest) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            clients.add(ws)
            try:
                async for _ in ws:
                    pass
            finally:
                clients.discard(ws)
            return ws
        if request.path == "/send":
            await request.read()
            for ws in list(clients):
                await ws.send_frame(frame, WSMsgType.TEXT)
            return web.Response(body=sent, content_type="application/json")
        return web.Response(text="ok")

    run_loop(_serve(handle, port))


async def _serve(handle: Any, port: int) -> None:
    from aiohttp import web

    runner = web.ServerRunner(web.Server(handle), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await asyncio.Event().wait()


# --- load 1: round trips ----------------------------------------------------------------


@dataclass(frozen=True)
class RttRun:
    """One round-trip run: completed responses per second and who used the CPU."""

    rate: float
    errors: int
    server_cpu: float
    load_cpu: float
    sample: str  # status, retcode and item count of the first response
    reply_bytes: int  # the first response's size

    @property
    def cpu_us(self) -> float:
        """Server CPU time per round trip, in microseconds."""
        return self.server_cpu / self.rate * 1e6 if self.rate else math.nan


def _describe(payload: bytes) -> str:
    body = orjson.loads(payload)
    data = body.get("data")
    items = f", {len(data)} items" if isinstance(data, list) else ""
    return f"{body.get('status')}/{body.get('retcode')}{items}"


async def rtt_load(url: str, action: str, duration: float, server_pid: int) -> RttRun:
    params = b'{"count":10}' if action == "get_recent_contact" else b"{}"
    prefix = b'{"action":"%s","params":%s,"echo":' % (action.encode(), params)
    completed = errors = echo = 0
    sending = True
    sample: list[bytes] = []

    def on_frame(client: WsClient, payload: bytes) -> None:
        nonlocal completed, errors, echo
        if b'"echo"' not in payload:
            return  # an event: lifecycle or heartbeat
        if not sample:
            sample.append(payload)
        errors += b'"retcode":0' not in payload
        completed += 1
        if sending:
            echo += 1
            client.send(prefix + b"%d}" % echo)

    clients = [await open_ws(url, on_frame) for _ in range(CONNECTIONS)]
    for client in clients:
        for _ in range(WINDOW):
            echo += 1
            client.send(prefix + b"%d}" % echo)
    await asyncio.sleep(WARMUP_SECONDS)
    start, start_errors, meter = completed, errors, CpuMeter(server_pid)
    began = time.perf_counter()
    await asyncio.sleep(duration)
    done, elapsed = completed - start, time.perf_counter() - began
    server_cpu, load_cpu = meter.read()
    sending = False
    await asyncio.sleep(0.5)
    await close_all(clients)
    rate, errors = done / elapsed, errors - start_errors
    return RttRun(rate, errors, server_cpu, load_cpu, _describe(sample[0]), len(sample[0]))


# --- load 2-4: fan-out, memory, slow client ---------------------------------------------


@dataclass(frozen=True)
class Burst:
    """One burst: every client should have received `messages` events."""

    rate: float  # deliveries per second
    complete: bool
    send_seconds: float  # until the last HTTP send was answered
    seconds: float  # until the last delivery
    post_errors: int
    server_cpu: float
    load_cpu: float
    rss_kib: int  # the server's, right after the burst


@dataclass(frozen=True)
class Memory:
    """Server RSS before and after the idle connections were opened."""

    before_kib: int
    after_kib: int
    connections: int

    @property
    def per_connection_kib(self) -> float:
        return (self.after_kib - self.before_kib) / self.connections


@dataclass
class Slow:
    """The slow-client round: bursts to the others without, then with, a client that never reads."""

    others: int = 0
    messages: int = 0  # per burst
    pad: int = 0  # characters added to each message's text
    control: list[Burst] = field(default_factory=list)
    bursts: list[Burst] = field(default_factory=list)
    rss_start_kib: int = 0  # before the control bursts
    rss_before_kib: int = 0
    rss_peak_kib: int = 0
    rss_after_kib: int = 0
    dropped_in_burst: int = 0  # 1-based burst after which the server logged the drop; 0 = never
    closed: bool = False  # the client saw its connection closed once it read again
    received: int = 0  # message events the slow client got before the close


@dataclass(frozen=True)
class FanoutSpec:
    """What the fan-out load process is asked to do (passed as JSON)."""

    catnest_ws: str
    catnest_send: str
    catnest_pid: int
    catnest_log: str
    baseline_ws: str
    baseline_send: str
    baseline_pid: int
    clients: int
    messages: int
    rounds: int
    slow_others: int
    slow_messages: int
    slow_pad: int
    slow_bursts: int


@dataclass
class Target:
    """One fan-out server and its connected clients."""

    name: str
    ws_url: str
    send_url: str
    pid: int
    clients: list[WsClient] = field(default_factory=list)
    received: int = 0
    expected: int = 0
    last: float = 0.0
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def on_frame(self, client: WsClient, payload: bytes) -> None:
        if MESSAGE_SENT in payload:
            client.count += 1
            self.received += 1
            if self.received == self.expected:
                self.last = time.perf_counter()
                self.done.set()


class Sender:
    """Sends bursts of group messages: `send_group_msg` to Catnest, POST /send to the baseline."""

    def __init__(self) -> None:
        import aiohttp

        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=POSTERS))
        self._serial = 0

    async def close(self) -> None:
        await self._session.close()

    async def send(self, url: str, messages: int, pad: int = 0) -> int:
        """Send `messages` (text padded by `pad` characters) with POSTERS in flight.

        Returns how many were not answered ok.
        """
        padding = " " + "x" * pad if pad else ""
        numbers = iter(range(self._serial, self._serial + messages))
        self._serial += messages
        errors = 0
        headers = {"Content-Type": "application/json"}

        async def worker() -> None:
            nonlocal errors
            for n in numbers:
                text = f"fan-out message {n:06d}{padding}"
                body = orjson.dumps({"group_id": GROUP, "message": text})
                async with self._session.post(url, data=body, headers=headers) as resp:
                    reply = await resp.read()
                    errors += resp.status != 200 or b'"retcode":0' not in reply

        await asyncio.gather(*(worker() for _ in range(POSTERS)))
        return errors


async def burst(sender: Sender, target: Target, messages: int, pad: int = 0) -> Burst:
    target.received, target.expected = 0, messages * len(target.clients)
    target.done.clear()
    meter, began = CpuMeter(target.pid), time.perf_counter()
    post_errors = await sender.send(target.send_url, messages, pad)
    sent = time.perf_counter() - began
    complete = await _delivered(target)
    seconds = (target.last if complete else time.perf_counter()) - began
    server_cpu, load_cpu = meter.read()
    rate = target.received / seconds
    rss = rss_kib(target.pid)
    return Burst(rate, complete, sent, seconds, post_errors, server_cpu, load_cpu, rss)


async def _delivered(target: Target) -> bool:
    """Wait until every client has every message; False once deliveries stall."""
    seen, since = -1, time.perf_counter()
    while not target.done.is_set():
        if target.received != seen:
            seen, since = target.received, time.perf_counter()
        elif time.perf_counter() - since > STALL_SECONDS:
            return False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(target.done.wait(), 0.5)
    return True


async def idle_memory(target: Target, clients: int) -> Memory:
    await close_all(await open_many(target.ws_url, 10, _ignore))  # load the code paths first
    await asyncio.sleep(1)
    before = rss_kib(target.pid)
    target.clients = await open_many(target.ws_url, clients, target.on_frame)
    await asyncio.sleep(SETTLE_SECONDS)
    return Memory(before, rss_kib(target.pid), clients)


def logged_drop(log: Path) -> bool:
    """Whether Catnest logged that it dropped a slow connection."""
    return DROP_LOG_LINE in log.read_text(errors="replace")


async def slow_round(sender: Sender, target: Target, spec: FanoutSpec) -> Slow:
    """Fan-out bursts with a client that never reads, until the server drops it (plus two).

    The kernel buffers megabytes for the stalled socket before the server's own queue
    (`limits.max_queued_events`) even starts to fill, so this round needs thousands of
    messages: it keeps only `slow_others` of the clients and pads the messages' text by
    `slow_pad` characters (fewer events fill the kernel's buffers) to stay within seconds,
    and measures the same clients with the same messages without the slow one first.
    """
    extra, target.clients = target.clients[spec.slow_others :], target.clients[: spec.slow_others]
    await close_all(extra)
    await asyncio.sleep(1)
    result = Slow(others=len(target.clients), messages=spec.slow_messages, pad=spec.slow_pad)
    result.rss_start_kib = rss_kib(target.pid)
    for _ in range(3):
        result.control.append(await burst(sender, target, spec.slow_messages, spec.slow_pad))
    result.rss_before_kib = result.rss_peak_kib = rss_kib(target.pid)
    log = Path(spec.catnest_log)

    def count(client: WsClient, payload: bytes) -> None:
        client.count += MESSAGE_SENT in payload

    slow = await open_ws(target.ws_url, count, rcvbuf=SLOW_RCVBUF)
    slow.pause_reading()

    async def sample_rss() -> None:
        while True:
            result.rss_peak_kib = max(result.rss_peak_kib, rss_kib(target.pid))
            await asyncio.sleep(0.2)

    sampler = asyncio.create_task(sample_rss())
    try:
        for n in range(1, spec.slow_bursts + 1):
            result.bursts.append(await burst(sender, target, spec.slow_messages, spec.slow_pad))
            print(f"    slow round burst {n}: {result.bursts[-1].rate:,.0f}/s", file=sys.stderr)
            if not result.dropped_in_burst and logged_drop(log):
                result.dropped_in_burst = n
            if result.dropped_in_burst and n >= result.dropped_in_burst + 2:
                break
    finally:
        sampler.cancel()
    result.rss_after_kib = rss_kib(target.pid)
    slow.resume_reading()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(slow.closed), 10)
    result.closed, result.received = slow.closed.done(), slow.count
    slow.close()
    return result


async def fanout_load(spec: FanoutSpec) -> dict[str, Any]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = spec.clients * 2 + 256
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    catnest = Target("catnest", spec.catnest_ws, spec.catnest_send, spec.catnest_pid)
    baseline = Target("aiohttp", spec.baseline_ws, spec.baseline_send, spec.baseline_pid)
    memory = {t.name: asdict(await idle_memory(t, spec.clients)) for t in (catnest, baseline)}
    print(f"  idle memory: {memory}", file=sys.stderr)
    sender = Sender()
    try:
        for target in (baseline, catnest):
            await burst(sender, target, spec.messages // 4)  # warm-up
        runs: dict[str, list[Burst]] = {"aiohttp": [], "catnest": []}
        for n in range(spec.rounds):
            for target in (baseline, catnest):
                runs[target.name].append(await burst(sender, target, spec.messages))
                await asyncio.sleep(0.5)
            print(
                f"  fan-out round {n + 1}: aiohttp {runs['aiohttp'][-1].rate:,.0f}/s,"
                f" catnest {runs['catnest'][-1].rate:,.0f}/s",
                file=sys.stderr,
                flush=True,
            )
        slow = await slow_round(sender, catnest, spec)
    finally:
        await sender.close()
    undelivered = [
        t.name for t in (catnest, baseline) for c in t.clients if c.closed.done()
    ]  # clients the servers closed on their own
    for target in (catnest, baseline):
        await close_all(target.clients)
    return {
        "memory": memory,
        "runs": {name: [asdict(b) for b in bursts] for name, bursts in runs.items()},
        "slow": asdict(slow),
        "lost_clients": len(undelivered),
    }


# --- orchestration ----------------------------------------------------------------------


def child_cmd(role: str, spec: Any) -> list[str]:
    return [sys.executable, __file__, "--child", role, "--spec", json.dumps(spec)]


def run_load(role: str, spec: Any, timeout: float) -> Any:
    """Run a load process pinned to LOAD_CPU; its last stdout line is its JSON result."""
    cmd = pinned(child_cmd(role, spec), LOAD_CPU)
    out = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True, timeout=timeout)
    return json.loads(out.stdout.strip().splitlines()[-1])


def wait_ports(proc: subprocess.Popen[bytes], ports: Sequence[int], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    for port in ports:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}: {proc.args!r}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"port {port} not open after {timeout}s")
            time.sleep(0.1)


@contextlib.contextmanager
def running(cmd: list[str], ports: Sequence[int], log: Path) -> Iterator[int]:
    """Run a server pinned to SERVER_CPU until the block ends; yields its pid."""
    with log.open("wb") as out:
        proc = subprocess.Popen(pinned(cmd, SERVER_CPU), stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_ports(proc, ports)
            yield proc.pid  # taskset execs the command, so this is the server itself
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def catnest_cmd(work: Path, http_port: int, ws_port: int) -> list[str]:
    """Catnest on the demo world; its web UI stays on (the default), on a free port, not 6099."""
    config = work / "catnest.toml"
    config.write_text(
        f'data_dir = {json.dumps(str(work / "data"))}\ndemo = true\nlog_level = "warning"\n\n'
        f"[web]\nport = {free_port()}\n\n"
        f"[[bots]]\nuin = {BOT}\n\n"
        f'[[bots.http]]\nhost = "127.0.0.1"\nport = {http_port}\n\n'
        f'[[bots.ws]]\nhost = "127.0.0.1"\nport = {ws_port}\nreport_self_message = true\n'
    )
    catnest = Path(sys.executable).with_name("catnest")
    return [str(catnest), "serve", "--config", str(config)]


async def probe_event_bytes(ws_url: str, send_url: str) -> int:
    """The size of one `message_sent` frame, so the baseline broadcasts frames as big."""
    got: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def on_frame(client: WsClient, payload: bytes) -> None:
        if MESSAGE_SENT in payload and not got.done():
            got.set_result(len(payload))

    client = await open_ws(ws_url, on_frame)
    sender = Sender()
    try:
        if await sender.send(send_url, 1):
            raise RuntimeError(f"send_group_msg to {send_url} failed")
        return await asyncio.wait_for(got, 10)
    finally:
        await sender.close()
        client.close()


def _median_per_cpu(runs: Sequence[tuple[float, float]]) -> float:
    return statistics.median(rate / max(cpu, 1e-9) for rate, cpu in runs)


ACTIONS = ("get_status", "get_recent_contact")
RTT_SERVERS = ("raw", "napcat", "catnest")  # the order within each round
RTT_LABELS = {
    "raw": "raw-aiohttp WS (Catnest's bytes)",
    "napcat": "napcat ws 8 (no work)",
    "catnest": "catnest /api",
}


@dataclass
class Report:
    """Everything one run measured, for the tables."""

    rtt: dict[str, dict[str, list[RttRun]]]  # action -> server -> rounds
    fan: dict[str, Any] | None  # fanout_load()'s result; None with --no-fanout
    clients: int
    napcat: str  # how NapCat's stack ran, or "skipped: why"
    answer_bytes: dict[str, int] = field(default_factory=dict)  # Catnest's probed answers


def _rtt_row(report: Report, action: str, baseline: str, target: float, times: bool) -> TargetRow:
    name = "raw-aiohttp" if baseline == "raw" else "napcat-ws"
    label = f"WS {action}: catnest/{name}"
    runs = report.rtt[action]
    if not runs[baseline]:
        return TargetRow(label, math.nan, math.nan, target, times, _reason(report.napcat))
    ratio = median(r.rate for r in runs["catnest"]) / median(r.rate for r in runs[baseline])
    per_cpu = median(r.cpu_us for r in runs[baseline]) / median(r.cpu_us for r in runs["catnest"])
    return TargetRow(label, ratio, per_cpu, target, times)


def _reason(napcat: str) -> str:
    return napcat.removeprefix("skipped: ")


def print_report(report: Report) -> None:
    print()
    print(
        f"WS round trips ({CONNECTIONS} connections x {WINDOW} in flight), medians over"
        " rounds; CPU us = server CPU time per round trip:"
    )
    head = (
        f"  {'action':<18} {'server':<32} {'trips/s':>9} {'CPU us':>7} {'load CPU':>8} {'bytes':>6}"
        "   rounds: trips/s (CPU us)"
    )
    print(head)
    print("  " + "-" * (len(head) - 2))
    for action, by_server in report.rtt.items():
        for server in RTT_SERVERS:
            runs = by_server[server]
            if not runs:
                print(f"  {action:<18} {RTT_LABELS[server]:<32} {report.napcat}")
                continue
            rate, cpu = median(r.rate for r in runs), median(r.cpu_us for r in runs)
            load = median(r.load_cpu for r in runs)
            rounds = ", ".join(f"{r.rate:,.0f} ({r.cpu_us:.1f})" for r in runs)
            errors = sum(r.errors for r in runs)
            print(
                f"  {action:<18} {RTT_LABELS[server]:<32} {rate:>9,.0f} {cpu:>7.1f} {load:>8.2f}"
                f" {runs[0].reply_bytes:>6,}   {rounds}"
                + (f"; {errors} errors" if errors else "")
                + (f"; reply {runs[0].sample}" if server == "catnest" else "")
            )
    if report.answer_bytes:
        probed = ", ".join(f"{a} {n:,} bytes" for a, n in report.answer_bytes.items())
        print(f"  raw-aiohttp answers Catnest's probed answers: {probed}")
    print(f"  NapCat's stack: {report.napcat}")
    rows = [
        *(_rtt_row(report, action, "raw", 0.75, False) for action in report.rtt),
        *(_rtt_row(report, action, "napcat", 1.3, True) for action in report.rtt),
    ]
    fan = report.fan
    if fan is not None:
        bursts = {name: [Burst(**b) for b in runs] for name, runs in fan["runs"].items()}
        cat, base = bursts["catnest"], bursts["aiohttp"]
        rows.append(
            TargetRow(
                f"fan-out deliveries/s ({report.clients:,} clients): catnest/aiohttp",
                _median_rate(cat) / _median_rate(base),
                _median_per_cpu([(b.rate, b.server_cpu) for b in cat])
                / _median_per_cpu([(b.rate, b.server_cpu) for b in base]),
                0.5,
            )
        )
    print_targets(
        rows,
        "Summary: ratio = Catnest's median rate over the baseline's; per-CPU = the baseline's"
        " server CPU time per round trip (or delivery) over Catnest's",
    )
    if fan is None:
        print("(fan-out, idle memory and slow client skipped: --no-fanout)")
        return
    mem = {name: Memory(**m) for name, m in fan["memory"].items()}
    print(
        f"idle WS connection, server KiB each: catnest {mem['catnest'].per_connection_kib:.1f},"
        f" aiohttp {mem['aiohttp'].per_connection_kib:.1f}  (target < 64)"
        f"  {'met' if mem['catnest'].per_connection_kib < 64 else 'BELOW'}"
    )
    slow = Slow(
        **{
            **fan["slow"],
            "control": [Burst(**b) for b in fan["slow"]["control"]],
            "bursts": [Burst(**b) for b in fan["slow"]["bursts"]],
        }
    )
    _print_slow(slow)
    _print_rounds(bursts, mem)
    if fan["lost_clients"]:
        print(f"  warning: {fan['lost_clients']} fan-out clients were closed by a server")


def _print_slow(slow: Slow) -> None:
    control, with_slow = _median_rate(slow.control), _median_rate(slow.bursts)
    control_cpu = _median_per_cpu([(b.rate, b.server_cpu) for b in slow.control])
    with_cpu = _median_per_cpu([(b.rate, b.server_cpu) for b in slow.bursts])
    print()
    print(
        f"Slow client (never reads; {slow.others} others; bursts of {slow.messages:,} messages"
        f" padded by {slow.pad:,} characters):"
    )
    print(
        f"  others' deliveries/s, median burst: {control:,.0f} without it, {with_slow:,.0f} with it"
        f" (ratio {with_slow / control:.2f}, per server CPU-second {with_cpu / control_cpu:.2f};"
        f" target ~1.00)"
    )
    print(f"  bursts without: {_rates(slow.control)}; with: {_rates(slow.bursts)}")
    mib = 1024
    print(
        f"  catnest VmRSS: {slow.rss_start_kib / mib:,.1f} MiB at start,"
        f" {slow.rss_before_kib / mib:,.1f} MiB when the slow client joined,"
        f" {slow.rss_after_kib / mib:,.1f} MiB after its last burst"
        f" (peak {slow.rss_peak_kib / mib:,.1f} MiB)"
    )
    growth, previous = [], slow.rss_start_kib
    for n, b in enumerate([*slow.control, *slow.bursts]):
        dropped_here = n - len(slow.control) + 1 == slow.dropped_in_burst
        mark = "*" if slow.dropped_in_burst and dropped_here else ""
        growth.append(f"{(b.rss_kib - previous) / mib:+.1f}{mark}")
        previous = b.rss_kib
        if n + 1 == len(slow.control):
            growth.append("| with:")
    print(f"  VmRSS growth per burst, MiB, without: {' '.join(growth)} (* = dropped)")
    if slow.dropped_in_burst:
        sent = slow.dropped_in_burst * slow.messages
        print(
            f"  the server logged the drop during burst {slow.dropped_in_burst} (by message"
            f" {sent:,}); reading again, the client got {slow.received:,} events; connection"
            f" closed by the server: {'yes' if slow.closed else 'NO (still open 10 s later)'}"
        )
    else:
        print(
            f"  NOT dropped within {len(slow.bursts) * slow.messages:,} messages; connection"
            f" closed: {'yes' if slow.closed else 'no'}; it received {slow.received:,} events"
        )


def _median_rate(bursts: Sequence[Burst]) -> float:
    return statistics.median(b.rate for b in bursts)


def _rates(bursts: Sequence[Burst]) -> str:
    return ", ".join(f"{b.rate:,.0f}" for b in bursts)


def _print_rounds(bursts: dict[str, list[Burst]], mem: dict[str, Memory]) -> None:
    print()
    print("Fan-out rounds: rate (server CPU / load CPU; 1.00 = one core busy):")
    for name, fan_runs in bursts.items():
        text = ", ".join(
            f"{b.rate:,.0f} ({b.server_cpu:.2f}/{b.load_cpu:.2f}"
            f"{'' if b.complete else ', INCOMPLETE'})"
            for b in fan_runs
        )
        errors = sum(b.post_errors for b in fan_runs)
        sends = statistics.median(b.send_seconds / b.seconds for b in fan_runs)
        print(
            f"  fan-out {name}: {text}; sends answered at {sends:.0%} of a burst, errors {errors}"
        )
    for name, m in mem.items():
        print(
            f"  idle memory {name}: VmRSS {m.before_kib:,} KiB -> {m.after_kib:,} KiB"
            f" with {m.connections:,} connections"
        )


def run_bench(args: argparse.Namespace, napcat: Napcat) -> None:
    with tempfile.TemporaryDirectory(prefix="catnest-ws-bench-") as tmp:
        work = Path(tmp)
        http_port, ws_port = free_port(), free_port()
        catnest_log = work / "catnest.log"
        report = Report({}, None, args.clients, napcat.describe())
        cmd = catnest_cmd(work, http_port, ws_port)
        with running(cmd, [http_port, ws_port], catnest_log) as cat_pid:
            cat_ws, cat_send = f"ws://127.0.0.1:{ws_port}/", f"http://127.0.0.1:{http_port}/"
            # Round trips first, on the demo world as it starts: the fan-out's messages
            # would change what get_recent_contact answers.
            report.rtt, report.answer_bytes = run_rtt(args, work, cat_ws + "api", cat_pid, napcat)
            if not args.no_fanout:
                report.fan = run_fanout(args, work, cat_ws, cat_send, cat_pid)
        problems = log_problems(catnest_log.read_text(errors="replace"))
    print_report(report)
    if problems:
        print()
        print("Catnest log (warnings, errors and the exceptions they carry, with counts):")
        for line, count in problems.most_common(12):
            print(f"  {count:>5} x {line}")


def run_rtt(
    args: argparse.Namespace, work: Path, cat_api: str, cat_pid: int, napcat: Napcat
) -> tuple[dict[str, dict[str, list[RttRun]]], dict[str, int]]:
    """Part 1: start the baselines beside Catnest, run the rounds, stop the baselines."""
    answers = run_loop(probe_answers(cat_api))
    replies: dict[str, str] = {}
    for action, answer in answers.items():
        (work / f"{action}.json").write_bytes(answer)
        replies[f"/{action}"] = str(work / f"{action}.json")
    raw_port, nap_port = free_port(), free_port()
    with contextlib.ExitStack() as stack:
        raw_spec = {"port": raw_port, "replies": replies}
        raw_pid = stack.enter_context(
            running(child_cmd("raw", raw_spec), [raw_port], work / "raw.log")
        )
        servers: dict[str, tuple[str, int]] = {
            "raw": (f"ws://127.0.0.1:{raw_port}/{{action}}", raw_pid),
            "catnest": (cat_api, cat_pid),
        }
        if napcat.ready:
            cmd = napcat.ws_cmd(nap_port, args.napcat_parser)
            nap_pid = stack.enter_context(running(cmd, [nap_port], work / "napcat.log"))
            servers["napcat"] = (f"ws://127.0.0.1:{nap_port}/api", nap_pid)
        rtt = rtt_rounds(args, servers)
    return rtt, {action: len(answer) for action, answer in answers.items()}


def run_fanout(
    args: argparse.Namespace, work: Path, cat_ws: str, cat_send: str, cat_pid: int
) -> dict[str, Any]:
    """Parts 2-4 (fan-out, idle memory, slow client) against the aiohttp fan-out server."""
    fan_port = free_port()
    frame_bytes = run_loop(probe_event_bytes(cat_ws, cat_send + "send_group_msg"))
    print(f"one message_sent event is {frame_bytes} bytes", flush=True)
    fan_spec = [fan_port, frame_bytes]
    with running(child_cmd("fanout", fan_spec), [fan_port], work / "fanout.log") as fan_pid:
        print(f"fan-out: {args.clients:,} clients on each server", flush=True)
        spec = FanoutSpec(
            cat_ws, cat_send + "send_group_msg", cat_pid, str(work / "catnest.log"),
            f"ws://127.0.0.1:{fan_port}/", f"http://127.0.0.1:{fan_port}/send", fan_pid,
            args.clients, args.messages, args.fanout_rounds, args.slow_others,
            args.slow_messages, args.slow_pad, args.slow_bursts,
        )  # fmt: skip
        result: dict[str, Any] = run_load("load-fanout", asdict(spec), timeout=1200)
    return result


async def probe_answers(api_url: str) -> dict[str, bytes]:
    """Catnest's answer to each measured action, asked with a 6-digit echo (as most of a
    run's are), so the raw baseline answers frames of the same bytes and length."""
    loop = asyncio.get_running_loop()
    pending = {PROBE_ECHO + n: (action, loop.create_future()) for n, action in enumerate(ACTIONS)}

    def on_frame(client: WsClient, payload: bytes) -> None:
        echo = orjson.loads(payload).get("echo")
        if echo in pending and not pending[echo][1].done():
            pending[echo][1].set_result(payload)

    client = await open_ws(api_url, on_frame)
    try:
        answers: dict[str, bytes] = {}
        for echo, (action, got) in pending.items():
            params = {"count": 10} if action == "get_recent_contact" else {}
            client.send(orjson.dumps({"action": action, "params": params, "echo": echo}))
            answer = await asyncio.wait_for(got, 10)
            if b'"retcode":0' not in answer:
                raise RuntimeError(f"catnest answered {action} with {answer[:300]!r}")
            answers[action] = answer
        return answers
    finally:
        client.close()


def log_problems(text: str) -> Counter[str]:
    """Warning/error lines without their timestamps, plus each traceback's final line."""
    found: Counter[str] = Counter()
    for line in text.splitlines():
        if " WARNING " in line or " ERROR " in line:
            found[line.split(" ", 2)[-1]] += 1
        elif re.match(r"[A-Za-z_][\w.]*(Error|Exception|Full)\b", line):
            found[line] += 1
    return found


def rtt_rounds(
    args: argparse.Namespace, servers: dict[str, tuple[str, int]]
) -> dict[str, dict[str, list[RttRun]]]:
    """Every action on every server, round by round; `servers` maps names to (URL with an
    optional `{action}` placeholder, pid)."""
    print(
        f"WS round trips: {CONNECTIONS} connections x {WINDOW} in flight,"
        f" {args.duration:g}s x {args.rounds} rounds",
        flush=True,
    )
    runs: dict[str, dict[str, list[RttRun]]] = {
        action: {name: [] for name in RTT_SERVERS} for action in ACTIONS
    }
    for n in range(args.rounds):
        for action in ACTIONS:
            for name in RTT_SERVERS:
                if name not in servers:
                    continue
                url, pid = servers[name]
                spec = {
                    "url": url.format(action=action),
                    "action": action,
                    "duration": args.duration,
                    "pid": pid,
                }
                result = run_load("load-rtt", spec, timeout=args.duration + 60)
                runs[action][name].append(RttRun(**result))
        print(
            f"  round {n + 1}: "
            + "; ".join(
                f"{action} "
                + ", ".join(f"{name} {v[-1].rate:,.0f}/s" for name, v in by.items() if v)
                for action, by in runs.items()
            ),
            flush=True,
        )
    return runs


def run_child(role: str, spec: Any) -> None:
    if role == "raw":
        serve_raw_ws(int(spec["port"]), {str(k): str(v) for k, v in spec["replies"].items()})
    elif role == "fanout":
        serve_fanout(int(spec[0]), int(spec[1]))
    elif role == "load-rtt":
        result = run_loop(rtt_load(spec["url"], spec["action"], spec["duration"], spec["pid"]))
        print(json.dumps(asdict(result)))
    elif role == "load-fanout":
        print(json.dumps(run_loop(fanout_load(FanoutSpec(**spec)))))
    else:
        raise SystemExit(f"unknown child role {role!r}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration", type=float, default=10, help="seconds per round-trip run")
    parser.add_argument("--rounds", type=int, default=3, help="round-trip runs per server")
    parser.add_argument("--no-napcat", action="store_true", help="skip NapCat's WS stack")
    parser.add_argument(
        "--napcat-parser",
        choices=("json", "json5"),
        default="json",
        help="how NapCat's stack parses frames (json: JSON.parse; json5: JSON5.parse)",
    )
    parser.add_argument(
        "--no-fanout", action="store_true", help="skip fan-out, idle memory and slow client"
    )
    parser.add_argument("--clients", type=int, default=1000, help="fan-out WS clients")
    parser.add_argument("--messages", type=int, default=200, help="messages per fan-out burst")
    parser.add_argument("--fanout-rounds", type=int, default=4, help="bursts per server")
    parser.add_argument("--slow-others", type=int, default=100, help="clients besides the slow one")
    parser.add_argument("--slow-messages", type=int, default=1000, help="messages per slow burst")
    parser.add_argument("--slow-pad", type=int, default=3000, help="extra text per slow message")
    parser.add_argument("--slow-bursts", type=int, default=20, help="most bursts with the slow one")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return run_child(args.child, json.loads(args.spec))
    # SIGTERM unwinds through the finally blocks that stop the servers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    napcat = Napcat(reason="--no-napcat") if args.no_napcat else prepare_napcat()
    print(
        f"Catnest forward WS vs raw aiohttp and NapCat's WS stack ({napcat.describe()},"
        f" frames parsed with {args.napcat_parser}); servers on CPU {SERVER_CPU}, load on CPU"
        f" {LOAD_CPU}; round trips {args.duration:g}s x {args.rounds} rounds each, interleaved;"
        + (
            " fan-out skipped."
            if args.no_fanout
            else f" fan-out {args.fanout_rounds} bursts of {args.messages} messages each."
        ),
        flush=True,
    )
    run_bench(args, napcat)


if __name__ == "__main__":
    main()
