"""Benchmark: HTTP `get_recent_contact` vs raw aiohttp and NapCat's HTTP stack (DESIGN.md §5).

For each size it builds a world (bot 10001, 20 friends, 10 groups, N messages spread across
those 30 conversations, loaded with the store's bulk loader) and starts, each pinned to CPU 0:

- `catnest serve` with its web side on (the default config, so traffic is recorded as in use);
- baseline 1, a raw aiohttp low-level server (`web.Server`, uvloop) that reads each body and
  answers exactly the bytes Catnest's `get_recent_contact` answers (fetched from Catnest at the
  start of every round, so it tracks the world as users write to it);
- baseline 2, NapCat's HTTP stack doing no work (bench/napcat/http-server.js: express 5, cors,
  urlencoded, a JSON5 body reader and a token check, answering a constant OneBot envelope;
  `npm install` runs there the first time; without node or npm its rows say "skipped").

Every round drives, from CPU 1 with wrk -t1 -c32 POSTing `{"count":10}` (or a Python load
generator when wrk is missing): baseline 1, baseline 2, Catnest quiet, then Catnest while 10
virtual users (friends of the bot) send it 200 private messages/s in total through the user
API (`POST /api/v1/users/<uin>/private/10001/messages`; a paced sender on CPU 1). It prints
each server's medians over the rounds (RPS, latency, server CPU time per request) and one
summary table of ratios beside their targets: Catnest/raw aiohttp >= 0.6, Catnest/NapCat >= 3x,
Catnest with users sending/raw aiohttp quiet >= 0.5; and latency flatness (within 20%) from the
smallest to the largest world. Timings are printed, never asserted. About three minutes per
size with the defaults, plus building the world.

    .venv/bin/python bench/recent_contact.py [--sizes 1e4,1e6] [--with-1e7] [--duration 10]
        [--rounds 3] [--rate 200] [--senders 10] [--no-napcat]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import itertools
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from baselines import Napcat, TargetRow, median, prepare_napcat, print_targets

from catnest.app import App
from catnest.config import parse_config
from catnest.store import conversations as conv_sql
from catnest.store.bulk import BulkMessage, BulkSummary, bulk_messages_txn
from catnest.store.engine import Engine, Txn
from catnest.store.records import Conversation
from catnest.world.world import World

BOT = 10001
FRIENDS = [20001 + i for i in range(20)]
GROUPS = [30001 + i for i in range(10)]
GROUP_SIZE = 9  # friends per group, besides the bot
CONNECTIONS = 32
WARMUP_SECONDS = 2
SENDER_INFLIGHT = 64  # the background sender's most requests in flight
SENDER_LEAD = 1.0  # seconds the sender runs before the load starts
SETTLE_SECONDS = 1.0
CHUNK = 500_000  # messages per write transaction while building
BODY = b'{"count":10}'
SERVER_CPU, LOAD_CPU = 0, 1
WRK_LUA = f"""wrk.method = "POST"
wrk.body = '{BODY.decode()}'
wrk.headers["Content-Type"] = "application/json"
"""


# --- building a world -------------------------------------------------------------------


@dataclass(frozen=True)
class Conv:
    """A conversation of the bot and who may speak in it."""

    conv_id: int
    speakers: tuple[int, ...]


@dataclass(frozen=True)
class Built:
    """A world on disk: its messages, the newest message id and how long it took."""

    data_dir: Path
    messages: int
    newest_message_id: int
    seconds: float
    db_bytes: int


def _build_config(data_dir: Path) -> dict[str, Any]:
    """The config the world is built with: no demo, no web side, HTTP on any free port."""
    return {
        "data_dir": str(data_dir),
        "demo": False,
        "log_level": "warning",
        "web": {"enabled": False},
        "bots": [{"uin": BOT, "nickname": "Bench Bot", "http": [{"port": 0}]}],
    }


async def _open_private(engine: Engine, uin: int) -> Conversation:
    async def create(txn: Txn) -> Conversation:
        return await conv_sql.create_private_conv_txn(txn, BOT, uin, 1, None)

    return await engine.write("bench_private", create)


async def _bulk(engine: Engine, chunk: list[BulkMessage]) -> BulkSummary:
    return await engine.write("bench_bulk", lambda txn: bulk_messages_txn(txn, chunk))


async def _social_graph(world: World) -> list[Conv]:
    """Friends with private chats, and groups with the bot as a member: 30 conversations."""
    for uin in FRIENDS:
        await world.accounts.create_account(uin, f"Friend {uin - 20000}")
        await world.friends.make_friends(
            BOT, uin, remark_a=f"remark {uin - 20000}" if uin % 2 else ""
        )
    convs: list[Conv] = []
    for uin in FRIENDS:
        conv = await _open_private(world.engine, uin)
        convs.append(Conv(conv.conv_id, (BOT, uin)))
    for n, group_id in enumerate(GROUPS):
        owner, *members = [FRIENDS[(n + k) % len(FRIENDS)] for k in range(GROUP_SIZE)]
        extra = [(BOT, "admin", "Bot"), *((m, "member", f"card {m}") for m in members)]
        await world.groups.create_group(group_id, f"Bench group {n + 1}", owner, extra)
        conv = await world.conversations.group_conv(BOT, group_id)
        convs.append(Conv(conv.conv_id, (BOT, owner, *members)))
    return convs


def _messages(convs: Sequence[Conv], size: int, start: int) -> Iterator[BulkMessage]:
    """`size` text messages, ten a second from `start`, in random conversations."""
    rng = random.Random(size).random  # random() is C; randrange() costs a microsecond a call
    n_convs = len(convs)
    for i in range(size):
        conv = convs[int(rng() * n_convs)]
        sender = conv.speakers[int(rng() * len(conv.speakers))]
        text = f"bench message {i}: the quick brown fox jumps over the lazy dog"
        segments = f'[{{"type":"text","data":{{"text":"{text}"}}}}]'
        yield BulkMessage(conv.conv_id, sender, start + i // 10, segments, text)


async def build_world(data_dir: Path, size: int) -> Built:
    """Create the world through App (store, world, bulk loader) and close it again."""
    began = time.perf_counter()
    app = App(parse_config(_build_config(data_dir)))
    await app.start()
    try:
        convs = await _social_graph(app.world)
        rows = _messages(convs, size, int(time.time()) - size // 10 - 1)
        newest = 0
        while True:
            chunk = list(itertools.islice(rows, CHUNK))
            if not chunk:
                break
            summary = await _bulk(app.engine, chunk)
            newest = summary.last_message_id or newest
    finally:
        await app.stop()
    seconds = time.perf_counter() - began
    return Built(data_dir, size, newest, seconds, _disk_bytes(data_dir))


def _disk_bytes(data_dir: Path) -> int:
    return sum(p.stat().st_size for p in data_dir.glob("catnest.db*"))


# --- servers ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pinned(cmd: list[str], cpu: int) -> list[str]:
    """`cmd` under `taskset -c cpu` when taskset exists and there is more than one CPU."""
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        return ["taskset", "-c", str(cpu), *cmd]
    return cmd


def http_post(url: str, body: bytes = BODY, timeout: float = 5) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return int(response.status), bytes(response.read())


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {proc.args!r}")
        with contextlib.suppress(OSError):
            http_post(url, timeout=1)
            return
        time.sleep(0.1)
    raise RuntimeError(f"server at {url} not ready after {timeout}s")


@contextlib.contextmanager
def running(cmd: list[str], url: str, log: Path) -> Iterator[int]:
    """Run a server process pinned to SERVER_CPU for the duration of the block; yield its pid.

    (taskset execs the command, so the pid is the server's own.)
    """
    with log.open("wb") as out:
        proc = subprocess.Popen(pinned(cmd, SERVER_CPU), stdout=out, stderr=subprocess.STDOUT)
        try:
            try:
                wait_ready(url, proc)
            except RuntimeError:
                out.flush()
                sys.stderr.write(log.read_text(errors="replace")[-2000:])
                raise
            yield proc.pid
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def catnest_cmd(data_dir: Path, port: int, web_port: int | None = None) -> list[str]:
    """`catnest serve` as users run it (defaults, web side included), on free ports."""
    config = data_dir.parent / "catnest.toml"
    config.write_text(
        f'data_dir = {json.dumps(str(data_dir))}\ndemo = false\nlog_level = "warning"\n\n'
        f'[web]\nhost = "127.0.0.1"\nport = {web_port or free_port()}\n\n'
        f'[[bots]]\nuin = {BOT}\nws = []\n\n[[bots.http]]\nhost = "127.0.0.1"\nport = {port}\n'
    )
    catnest = Path(sys.executable).with_name("catnest")
    return [str(catnest), "serve", "--config", str(config)]


def hello_cmd(port: int) -> list[str]:
    return [sys.executable, __file__, "--serve-hello", str(port)]


def serve_hello(port: int) -> None:
    """The baseline: a bare aiohttp web.Server answering a small orjson body, on uvloop."""
    import orjson
    from aiohttp import web

    body = orjson.dumps({"status": "ok", "retcode": 0, "data": {"hello": "world"}})

    async def handle(request: web.BaseRequest) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    async def main() -> None:
        runner = web.ServerRunner(web.Server(handle), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        await asyncio.Event().wait()

    _run_loop(main())


def _run_loop(coro: Any) -> Any:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def raw_cmd(port: int, body_file: Path) -> list[str]:
    return [sys.executable, __file__, "--serve-raw", str(port), "--body-file", str(body_file)]


def serve_raw(port: int, body_file: Path) -> None:
    """Baseline 1: a raw aiohttp web.Server on uvloop that reads each request's body and
    answers the bytes in `body_file` (Catnest's own answer); SIGHUP reloads the file."""
    from aiohttp import web

    body = [body_file.read_bytes()]

    async def handle(request: web.BaseRequest) -> web.Response:
        await request.read()
        return web.Response(body=body[0], content_type="application/json")

    def reload() -> None:
        body[0] = body_file.read_bytes()

    async def main() -> None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, reload)
        runner = web.ServerRunner(web.Server(handle), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        await asyncio.Event().wait()

    _run_loop(main())


# --- load -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One load run: requests per second, latency percentiles in milliseconds, and the
    server's CPU time per request (robust to other processes competing for the CPU)."""

    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: str = ""
    cpu_us: float = math.nan


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def parse_wrk(output: str) -> Run:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.M)
    if rps is None or p50 is None or p99 is None:
        raise RuntimeError(f"cannot parse wrk output:\n{output}")
    requests = re.search(r"(\d+) requests in", output)
    errors = [
        m.group(0).strip() for m in re.finditer(r"^\s*(Socket errors|Non-2xx).*$", output, re.M)
    ]
    return Run(
        rps=float(rps.group(1)),
        p50_ms=_ms(p50.group(1)),
        p99_ms=_ms(p99.group(1)),
        requests=int(requests.group(1)) if requests else 0,
        errors="; ".join(errors),
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` (Linux /proc), NaN where unavailable."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return math.nan
    fields = stat.rsplit(")", 1)[1].split()  # fields from the 3rd on: utime is the 14th
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load(url: str, seconds: float, lua: Path, server_pid: int) -> Run:
    """Drive `url` for `seconds` from LOAD_CPU with wrk, or with the Python generator."""
    cpu_before = cpu_seconds(server_pid)
    if shutil.which("wrk"):
        cmd = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds:g}s", "--latency"]
        cmd += ["-s", str(lua), url]
        out = subprocess.run(pinned(cmd, LOAD_CPU), capture_output=True, text=True, check=True)
        run = parse_wrk(out.stdout)
    else:
        cmd = [sys.executable, __file__, "--load", url, "--duration", str(seconds)]
        out = subprocess.run(pinned(cmd, LOAD_CPU), capture_output=True, text=True, check=True)
        run = Run(**json.loads(out.stdout))
    cpu = cpu_seconds(server_pid) - cpu_before
    return dataclasses.replace(run, cpu_us=cpu / max(run.requests, 1) * 1e6)


def python_load(url: str, seconds: float) -> None:
    """Fallback load generator: CONNECTIONS keep-alive clients; prints a Run as JSON."""
    import aiohttp

    async def main() -> None:
        latencies: list[float] = []
        errors = 0
        deadline = time.perf_counter() + seconds
        connector = aiohttp.TCPConnector(limit=CONNECTIONS)
        headers = {"Content-Type": "application/json"}
        async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

            async def worker() -> None:
                nonlocal errors
                while (start := time.perf_counter()) < deadline:
                    async with session.post(url, data=BODY) as resp:
                        await resp.read()
                        errors += resp.status != 200
                    latencies.append(time.perf_counter() - start)

            began = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
            elapsed = time.perf_counter() - began
        latencies.sort()
        run = {
            "rps": len(latencies) / elapsed,
            "requests": len(latencies),
            "p50_ms": latencies[len(latencies) // 2] * 1000,
            "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
            "errors": f"Non-2xx responses: {errors}" if errors else "",
        }
        print(json.dumps(run))

    _run_loop(main())


# --- virtual users sending -----------------------------------------------------------


@dataclass(frozen=True)
class SendStats:
    """What the background sender achieved while the bot's API was under load."""

    sent: int
    errors: int
    rate: float  # messages answered per second, over the sender's whole run
    p50_ms: float
    p99_ms: float
    last_message_id: int


def send_messages(spec: dict[str, Any]) -> None:
    """Child process: virtual users (friends of the bot) send it private messages through
    Catnest's user API, `spec["rate"]` a second in total, until SIGINT; prints SendStats."""
    import aiohttp

    base, users, rate = str(spec["base"]), [int(u) for u in spec["users"]], float(spec["rate"])
    headers = {"Content-Type": "application/json"}
    latencies: list[float] = []
    errors = last_id = 0

    async def one(session: aiohttp.ClientSession, n: int) -> None:
        nonlocal errors, last_id
        uin = users[n % len(users)]
        url = f"{base}/api/v1/users/{uin}/private/{BOT}/messages"
        text = f"user message {n}: the quick brown fox jumps over the lazy dog"
        began = time.perf_counter()
        try:
            async with session.post(url, data=json.dumps({"message": text}), headers=headers) as r:
                reply = await r.read()
                if r.status == 201:
                    last_id = max(last_id, int(json.loads(reply)["message_id"]))
                else:
                    errors += 1
        except (aiohttp.ClientError, TimeoutError, ValueError, KeyError):
            errors += 1
        latencies.append(time.perf_counter() - began)

    async def main() -> SendStats:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        inflight: set[asyncio.Task[None]] = set()
        connector = aiohttp.TCPConnector(limit=SENDER_INFLIGHT)
        async with aiohttp.ClientSession(connector=connector) as session:
            print("ready", flush=True)
            began, n = loop.time(), 0
            while True:
                delay = began + n / rate - loop.time()
                if delay > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), delay)
                if stop.is_set():
                    break
                if delay > 0:
                    continue
                task = asyncio.create_task(one(session, n))
                inflight.add(task)
                task.add_done_callback(inflight.discard)
                n += 1
                if len(inflight) >= SENDER_INFLIGHT:
                    await asyncio.wait(inflight, return_when=asyncio.FIRST_COMPLETED)
            elapsed = loop.time() - began
            await asyncio.gather(*inflight)
        latencies.sort()
        p50, p99 = (_quantile_ms(latencies, q) for q in (0.5, 0.99))
        return SendStats(n, errors, (n - errors) / elapsed, p50, p99, last_id)

    print(json.dumps(dataclasses.asdict(_run_loop(main()))), flush=True)


def _quantile_ms(ordered: Sequence[float], q: float) -> float:
    return ordered[int(len(ordered) * q)] * 1000 if ordered else math.nan


def load_while_sending(
    url: str, seconds: float, lua: Path, server_pid: int, spec: dict[str, Any]
) -> tuple[Run, SendStats]:
    """`load()` while the background sender runs (from SENDER_LEAD seconds before until the
    load ends), both on LOAD_CPU."""
    cmd = pinned([sys.executable, __file__, "--send", json.dumps(spec)], LOAD_CPU)
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the message sender did not start (exit {proc.wait()})")
        time.sleep(SENDER_LEAD)
        run = load(url, seconds, lua, server_pid)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if proc.returncode != 0:
        raise RuntimeError(f"the message sender failed with exit {proc.returncode}")
    stats = SendStats(**json.loads(out.strip().splitlines()[-1]))
    time.sleep(SETTLE_SECONDS)  # let the last writes land before the next quiet run
    return run, stats


# --- one size ---------------------------------------------------------------------------


SERVERS = ("raw", "napcat", "catnest", "loaded")  # the order within each round


def server_labels(rate: float) -> dict[str, str]:
    return {
        "raw": "raw-aiohttp (Catnest's bytes)",
        "napcat": "napcat-express (no work)",
        "catnest": "catnest",
        "loaded": f"catnest + {rate:g} msg/s from users",
    }


@dataclass
class Result:
    """Every round of every server at one world size."""

    built: Built
    runs: dict[str, list[Run]]
    sends: list[SendStats]
    answer_bytes: int
    napcat: str  # how NapCat's stack ran, or "skipped: why"

    def med(self, server: str, attr: str) -> float:
        return median(getattr(r, attr) for r in self.runs[server])


def _contacts(status: int, raw: bytes) -> list[dict[str, Any]]:
    body = json.loads(raw)
    if status != 200 or body.get("status") != "ok" or body.get("retcode") != 0:
        raise RuntimeError(f"get_recent_contact failed: HTTP {status} {raw[:300]!r}")
    items: list[dict[str, Any]] = body["data"]
    if len(items) != 10:
        raise RuntimeError(f"get_recent_contact returned {len(items)} items, expected 10")
    return items


def check_catnest(url: str, newest_message_id: int) -> bytes:
    """Refuse to measure a server that answers wrong: 10 items, status ok, newest first.

    Returns the answer's bytes."""
    status, raw = http_post(url)
    top = _contacts(status, raw)[0]["lastestMsg"]["message_id"]
    if top != newest_message_id:
        raise RuntimeError(f"newest item is message {top}, expected {newest_message_id}")
    return raw


def serve_catnest_bytes(catnest_url: str, raw_url: str, raw_pid: int, body_file: Path) -> bytes:
    """Make the raw server answer exactly what Catnest answers now (SIGHUP reloads it)."""
    status, answer = http_post(catnest_url)
    _contacts(status, answer)
    if not body_file.exists() or body_file.read_bytes() != answer:
        body_file.write_bytes(answer)
        os.kill(raw_pid, signal.SIGHUP)
    deadline = time.monotonic() + 10
    while http_post(raw_url)[1] != answer:
        if time.monotonic() > deadline:
            raise RuntimeError("the raw aiohttp server does not answer Catnest's bytes")
        time.sleep(0.05)
    return answer


def check_napcat(url: str) -> None:
    status, raw = http_post(url)
    body = json.loads(raw)
    if status != 200 or body.get("status") != "ok" or body.get("stream") != "normal-action":
        raise RuntimeError(f"NapCat's HTTP stack answered HTTP {status} {raw[:300]!r}")


def measure_size(size: int, work: Path, args: argparse.Namespace, napcat: Napcat) -> Result:
    data_dir = work / "data"
    built = asyncio.run(build_world(data_dir, size))
    print(
        f"  built {size:,} messages in {built.seconds:.1f} s"
        f" ({size / built.seconds:,.0f} msg/s, {built.db_bytes / 2**20:,.0f} MiB on disk)",
        flush=True,
    )
    lua = work / "post.lua"
    lua.write_text(WRK_LUA)
    c_port, web_port, raw_port, nap_port = (free_port() for _ in range(4))
    c_url = f"http://127.0.0.1:{c_port}/get_recent_contact"
    raw_url = f"http://127.0.0.1:{raw_port}/"
    nap_url = f"http://127.0.0.1:{nap_port}/get_recent_contact"
    body_file = work / "answer.json"
    runs: dict[str, list[Run]] = {name: [] for name in SERVERS}
    sends: list[SendStats] = []
    sender = {
        "base": f"http://127.0.0.1:{web_port}",
        "users": FRIENDS[: args.senders],
        "rate": args.rate,
    }
    with contextlib.ExitStack() as stack:
        c_pid = stack.enter_context(
            running(catnest_cmd(data_dir, c_port, web_port), c_url, work / "catnest.log")
        )
        answer = check_catnest(c_url, built.newest_message_id)
        body_file.write_bytes(answer)
        raw_pid = stack.enter_context(
            running(raw_cmd(raw_port, body_file), raw_url, work / "raw.log")
        )
        serve_catnest_bytes(c_url, raw_url, raw_pid, body_file)
        targets = {"raw": (raw_url, raw_pid), "catnest": (c_url, c_pid)}
        if napcat.ready:
            nap_pid = stack.enter_context(
                running(napcat.http_cmd(nap_port), nap_url, work / "napcat.log")
            )
            check_napcat(nap_url)
            targets["napcat"] = (nap_url, nap_pid)
        for url, pid in targets.values():
            load(url, WARMUP_SECONDS, lua, pid)
        for n in range(args.rounds):
            answer = serve_catnest_bytes(c_url, raw_url, raw_pid, body_file)
            for name in SERVERS:
                if name == "loaded":
                    run, sent = load_while_sending(c_url, args.duration, lua, c_pid, sender)
                    runs[name].append(run)
                    sends.append(sent)
                elif name in targets:
                    url, pid = targets[name]
                    runs[name].append(load(url, args.duration, lua, pid))
            print(
                f"  round {n + 1} ({len(answer):,}-byte answer): "
                + ", ".join(f"{k} {v[-1].rps:,.0f} RPS" for k, v in runs.items() if v)
                + f"; users sent {sends[-1].rate:,.0f} msg/s;"
                f" load average {os.getloadavg()[0]:.1f}",
                flush=True,
            )
        newest = max(built.newest_message_id, *(s.last_message_id for s in sends))
        check_catnest(c_url, newest)
    for name in SERVERS:
        for run in runs[name]:
            if run.errors:
                print(f"  warning: {name}: {run.errors}")
    return Result(built, runs, sends, len(answer), napcat.describe())


# --- report -----------------------------------------------------------------------------


def _size_name(messages: int) -> str:
    return f"1e{len(str(messages)) - 1}" if _is_power_of_ten(messages) else f"{messages:,}"


def print_size(result: Result, rate: float) -> None:
    """Every server's medians at one size, with its rounds."""
    labels = server_labels(rate)
    print()
    print(
        f"{_size_name(result.built.messages)} messages ({result.built.messages:,}),"
        f" medians over {len(result.runs['catnest'])} rounds:"
    )
    head = (
        f"  {'server':<36} {'RPS':>8} {'p50 ms':>7} {'p99 ms':>7} {'CPU us/req':>10}"
        "   rounds: RPS (CPU us/req)"
    )
    print(head)
    print("  " + "-" * (len(head) - 2))
    for name in SERVERS:
        runs = result.runs[name]
        if not runs:
            print(f"  {labels[name]:<36} {result.napcat}")
            continue
        rps, p50, p99, cpu = (result.med(name, a) for a in ("rps", "p50_ms", "p99_ms", "cpu_us"))
        rounds = ", ".join(f"{r.rps:,.0f} ({r.cpu_us:.0f})" for r in runs)
        print(f"  {labels[name]:<36} {rps:>8,.0f} {p50:>7.2f} {p99:>7.2f} {cpu:>10.1f}   {rounds}")
    sends = result.sends
    print(
        f"  users' messages: {median(s.rate for s in sends):,.1f}/s answered (target rate"
        f" {rate:g}/s), {sum(s.errors for s in sends)} errors, send latency p50"
        f" {median(s.p50_ms for s in sends):.1f} ms, p99 {median(s.p99_ms for s in sends):.1f} ms"
    )
    print(
        f"  raw-aiohttp served Catnest's quiet answer of each round's start (last round:"
        f" {result.answer_bytes:,} bytes)"
    )
    if result.runs["napcat"]:
        print(f"  NapCat's stack: {result.napcat}")


def _target(
    result: Result, label: str, server: str, baseline: str, target: float, times: bool = False
) -> TargetRow:
    if not result.runs[baseline]:
        reason = result.napcat.removeprefix("skipped: ")
        return TargetRow(label, math.nan, math.nan, target, times, reason)
    ratio = result.med(server, "rps") / result.med(baseline, "rps")
    per_cpu = result.med(baseline, "cpu_us") / result.med(server, "cpu_us")
    return TargetRow(label, ratio, per_cpu, target, times)


def target_rows(results: Sequence[Result], rate: float) -> list[TargetRow]:
    rows: list[TargetRow] = []
    for r in results:
        size = _size_name(r.built.messages)
        rows += [
            _target(r, f"{size}: catnest/raw-aiohttp", "catnest", "raw", 0.6),
            _target(r, f"{size}: catnest/napcat-express", "catnest", "napcat", 3.0, times=True),
            _target(r, f"{size}: catnest+{rate:g}msg/s / raw-aiohttp quiet", "loaded", "raw", 0.5),
        ]
    return rows


def print_table(results: Sequence[Result], rate: float) -> None:
    print_targets(
        target_rows(results, rate),
        "Summary: HTTP get_recent_contact (count 10), wrk -t1 -c32; ratio = median RPS over"
        " median RPS; per-CPU = baseline's server CPU per request over Catnest's",
    )
    if len(results) > 1:
        small, large = results[0], results[-1]
        span = f"{large.built.messages:,} vs {small.built.messages:,} messages"
        print()
        print(f"flatness, large/small ({span}; medians; target within 20%, i.e. 0.80-1.20):")
        for label, attr in (
            ("RPS", "rps"),
            ("p50", "p50_ms"),
            ("p99", "p99_ms"),
            ("CPU/req", "cpu_us"),
        ):
            flat = large.med("catnest", attr) / small.med("catnest", attr)
            print(f"  catnest {label:<11} {flat:.2f}")
        noise = large.med("raw", "rps") / small.med("raw", "rps")
        print(f"  (raw-aiohttp RPS    {noise:.2f}: run-to-run noise)")


def _is_power_of_ten(n: int) -> bool:
    return n > 0 and str(n).strip("0") == "1"


def parse_sizes(text: str) -> list[int]:
    return [int(float(part)) for part in text.split(",") if part.strip()]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="1e4,1e6", help="message counts, e.g. 1e4,1e6")
    parser.add_argument("--with-1e7", action="store_true", help="add a 10^7-message world")
    parser.add_argument("--duration", type=float, default=10, help="seconds per load run")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every server per size")
    parser.add_argument("--rate", type=float, default=200, help="users' messages/s, loaded run")
    parser.add_argument("--senders", type=int, default=10, help="virtual users sending them")
    parser.add_argument("--no-napcat", action="store_true", help="skip NapCat's HTTP stack")
    parser.add_argument("--serve-hello", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-raw", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--body-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--load", help=argparse.SUPPRESS)
    parser.add_argument("--send", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_hello is not None:
        return serve_hello(args.serve_hello)
    if args.serve_raw is not None:
        return serve_raw(args.serve_raw, args.body_file)
    if args.load is not None:
        return python_load(args.load, args.duration)
    if args.send is not None:
        return send_messages(json.loads(args.send))
    if not 1 <= args.senders <= len(FRIENDS):
        parser.error(f"--senders must be 1-{len(FRIENDS)}")
    # SIGTERM unwinds through the finally blocks that stop the servers and the sender.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    sizes = sorted(set(parse_sizes(args.sizes) + ([10**7] if args.with_1e7 else [])))
    napcat = Napcat(reason="--no-napcat") if args.no_napcat else prepare_napcat()
    tool = "wrk" if shutil.which("wrk") else "python aiohttp load generator"
    pin = "taskset" if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else "no pinning"
    print(
        f"get_recent_contact (count 10) over HTTP: catnest quiet and with {args.rate:g} user"
        f" messages/s, vs raw aiohttp answering Catnest's bytes and NapCat's HTTP stack"
        f" ({napcat.describe()}); load: {tool}, {CONNECTIONS} connections,"
        f" {args.duration:g}s x {args.rounds} rounds each, interleaved; servers on CPU"
        f" {SERVER_CPU}, load on CPU {LOAD_CPU} ({pin}); load average now"
        f" {os.getloadavg()[0]:.1f}.",
        flush=True,
    )
    results: list[Result] = []
    for size in sizes:
        print(f"size {size:,}:", flush=True)
        with tempfile.TemporaryDirectory(prefix="catnest-bench-") as tmp:
            results.append(measure_size(size, Path(tmp), args, napcat))
        print_size(results[-1], args.rate)
    print_table(results, args.rate)


if __name__ == "__main__":
    main()
