"""Benchmark: `get_recent_contact` over HTTP against a bare aiohttp hello-world (DESIGN.md §5).

For each size it builds a world (bot 10001, 20 friends, 10 groups, N messages spread across
those 30 conversations, loaded with the store's bulk loader), starts `catnest serve` and a bare
aiohttp hello-world server, both pinned to CPU 0, and drives each in turn from CPU 1 with wrk
(or a Python load generator when wrk is missing). Targets: catnest RPS >= 0.6 x hello RPS, and
latency flat within 20% from the smallest to the largest world. Timings are printed, never
asserted.

    .venv/bin/python bench/recent_contact.py [--sizes 1e4,1e6] [--with-1e7] [--duration 10]
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


def catnest_cmd(data_dir: Path, port: int) -> list[str]:
    """`catnest serve` as users run it (defaults, web side included), on free ports."""
    config = data_dir.parent / "catnest.toml"
    config.write_text(
        f'data_dir = {json.dumps(str(data_dir))}\ndemo = false\nlog_level = "warning"\n\n'
        f'[web]\nhost = "127.0.0.1"\nport = {free_port()}\n\n'
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


def _run_loop(coro: Any) -> None:
    try:
        import uvloop

        uvloop.run(coro)
    except ImportError:
        asyncio.run(coro)


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


# --- one size ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    """The best runs of both servers at one world size."""

    built: Built
    catnest: Run
    hello: Run
    catnest_cpu_us: float  # the lowest server CPU time per request over the rounds
    hello_cpu_us: float


def check_catnest(url: str, newest_message_id: int) -> None:
    """Refuse to measure a server that answers wrong: 10 items, status ok, newest first."""
    status, raw = http_post(url)
    body = json.loads(raw)
    if status != 200 or body.get("status") != "ok" or body.get("retcode") != 0:
        raise RuntimeError(f"get_recent_contact failed: HTTP {status} {raw[:300]!r}")
    items = body["data"]
    if len(items) != 10:
        raise RuntimeError(f"get_recent_contact returned {len(items)} items, expected 10")
    top = items[0]["lastestMsg"]["message_id"]
    if top != newest_message_id:
        raise RuntimeError(f"newest item is message {top}, expected {newest_message_id}")


def best(runs: Sequence[Run]) -> Run:
    """The run with the highest RPS (with its own latencies): least disturbed by neighbours."""
    return max(runs, key=lambda r: r.rps)


def measure_size(size: int, work: Path, duration: float, rounds: int) -> Result:
    data_dir = work / "data"
    built = asyncio.run(build_world(data_dir, size))
    print(
        f"  built {size:,} messages in {built.seconds:.1f} s"
        f" ({size / built.seconds:,.0f} msg/s, {built.db_bytes / 2**20:,.0f} MiB on disk)",
        flush=True,
    )
    lua = work / "post.lua"
    lua.write_text(WRK_LUA)
    c_port, h_port = free_port(), free_port()
    c_url = f"http://127.0.0.1:{c_port}/get_recent_contact"
    h_url = f"http://127.0.0.1:{h_port}/"
    catnest_runs: list[Run] = []
    hello_runs: list[Run] = []
    with (
        running(catnest_cmd(data_dir, c_port), c_url, work / "catnest.log") as c_pid,
        running(hello_cmd(h_port), h_url, work / "hello.log") as h_pid,
    ):
        check_catnest(c_url, built.newest_message_id)
        load(h_url, WARMUP_SECONDS, lua, h_pid)
        load(c_url, WARMUP_SECONDS, lua, c_pid)
        for n in range(rounds):
            hello_runs.append(load(h_url, duration, lua, h_pid))
            catnest_runs.append(load(c_url, duration, lua, c_pid))
            h, c = hello_runs[-1], catnest_runs[-1]
            print(
                f"  round {n + 1}: hello {h.rps:,.0f} RPS ({h.cpu_us:.0f} us CPU/req),"
                f" catnest {c.rps:,.0f} RPS ({c.cpu_us:.0f} us CPU/req),"
                f" load average {os.getloadavg()[0]:.1f}",
                flush=True,
            )
        check_catnest(c_url, built.newest_message_id)
    for run in (*hello_runs, *catnest_runs):
        if run.errors:
            print(f"  warning: {run.errors}")
    return Result(
        built,
        best(catnest_runs),
        best(hello_runs),
        catnest_cpu_us=min(r.cpu_us for r in catnest_runs),
        hello_cpu_us=min(r.cpu_us for r in hello_runs),
    )


# --- report -----------------------------------------------------------------------------


def print_table(results: Sequence[Result]) -> None:
    head = (
        f"{'size':>5} {'messages':>11} {'build s':>7} | {'catnest':>7} {'hello':>7} {'ratio':>5}"
        f" | {'p50 ms':>6} {'p99 ms':>6} {'hello p50':>9} {'p99':>5}"
        f" | {'cat us':>6} {'hello us':>8} {'ratio':>5}"
    )
    print()
    print(
        f"{'':26}| {'RPS (best round)':^21} | {'latency (same round)':^29} | CPU per request (min)"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        size = f"1e{len(str(r.built.messages)) - 1}" if _is_power_of_ten(r.built.messages) else ""
        print(
            f"{size:>5} {r.built.messages:>11,} {r.built.seconds:>7.1f} |"
            f" {r.catnest.rps:>7,.0f} {r.hello.rps:>7,.0f} {r.catnest.rps / r.hello.rps:>5.2f} |"
            f" {r.catnest.p50_ms:>6.2f} {r.catnest.p99_ms:>6.2f} {r.hello.p50_ms:>9.2f}"
            f" {r.hello.p99_ms:>5.2f} | {r.catnest_cpu_us:>6.0f} {r.hello_cpu_us:>8.0f}"
            f" {r.hello_cpu_us / r.catnest_cpu_us:>5.2f}"
        )
    print()
    ratios = [r.catnest.rps / r.hello.rps for r in results]
    cpu_ratios = [r.hello_cpu_us / r.catnest_cpu_us for r in results]
    print(
        f"ratio catnest/hello: RPS min {min(ratios):.2f}, CPU-per-request min"
        f" {min(cpu_ratios):.2f} (target >= 0.60)"
    )
    if len(results) > 1:
        small, large = results[0], results[-1]
        span = f"{large.built.messages:,} vs {small.built.messages:,} messages"
        print(f"flatness, large/small ({span}; target within 20%, i.e. 0.80-1.20):")
        print(f"  catnest RPS         {large.catnest.rps / small.catnest.rps:.2f}")
        print(f"  catnest p50         {large.catnest.p50_ms / small.catnest.p50_ms:.2f}")
        print(f"  catnest p99         {large.catnest.p99_ms / small.catnest.p99_ms:.2f}")
        print(f"  catnest CPU/req     {large.catnest_cpu_us / small.catnest_cpu_us:.2f}")
        print(f"  (hello RPS          {large.hello.rps / small.hello.rps:.2f}: run-to-run noise)")


def _is_power_of_ten(n: int) -> bool:
    return n > 0 and str(n).strip("0") == "1"


def parse_sizes(text: str) -> list[int]:
    return [int(float(part)) for part in text.split(",") if part.strip()]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="1e4,1e6", help="message counts, e.g. 1e4,1e6")
    parser.add_argument("--with-1e7", action="store_true", help="add a 10^7-message world")
    parser.add_argument("--duration", type=int, default=10, help="seconds per load run")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each server per size")
    parser.add_argument("--serve-hello", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--load", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_hello is not None:
        return serve_hello(args.serve_hello)
    if args.load is not None:
        return python_load(args.load, args.duration)

    sizes = sorted(set(parse_sizes(args.sizes) + ([10**7] if args.with_1e7 else [])))
    tool = "wrk" if shutil.which("wrk") else "python aiohttp load generator"
    pin = "taskset" if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else "no pinning"
    print(
        f"get_recent_contact (count 10) vs aiohttp hello-world; load: {tool}, {CONNECTIONS}"
        f" connections, {args.duration:g}s x {args.rounds} rounds each, alternating;"
        f" servers on CPU {SERVER_CPU}, load on CPU {LOAD_CPU} ({pin})."
        f" Reported: the best round (highest RPS) with its own latencies, and the lowest"
        f" server CPU time per request (robust to other load; load average now"
        f" {os.getloadavg()[0]:.1f}).",
        flush=True,
    )
    results: list[Result] = []
    for size in sizes:
        print(f"size {size:,}:", flush=True)
        with tempfile.TemporaryDirectory(prefix="catnest-bench-") as tmp:
            results.append(measure_size(size, Path(tmp), args.duration, args.rounds))
    print_table(results)


if __name__ == "__main__":
    main()
