"""Benchmark: durable ingest, get_recent_contact on PostgreSQL beside SQLite, idle WS memory.

Issue 5 / DESIGN.md §5, in one run, every Catnest and the baseline pinned to CPU 0 and every load
generator to CPU 1 (PostgreSQL's own processes run wherever the kernel puts them):

1. Server memory per idle WS connection on each store: VmRSS before and after 1,000 idle event
   connections, on freshly started servers. Target < 64 KiB.
2. Durable ingest: `send_group_msg` over HTTP (unique texts, each with `idempotency_key`, the
   crash-safe way to send) from wrk, 32 connections, on SQLite with `durability = "normal"`
   (survives kill -9) and `"full"` (fsync per commit: survives power loss) and on PostgreSQL
   (`synchronous_commit = on`), beside the aiohttp hello-world driven by the same wrk script.
   Each request also carries its text as `echo`, so wrk's Lua records every answer's
   message_id with the text it was sent with.
3. Then one more run per store during which the server is killed with SIGKILL at a random
   moment; it is restarted and every acknowledged message_id of every run is read back with
   `get_msg` and compared with its text. Target: all of them, with the same content.
4. `get_recent_contact` (count 10) on the same 10^4-message world built on SQLite and on
   PostgreSQL, beside the hello-world, as bench/recent_contact.py drives it (wrk -t1 -c32).

For PostgreSQL the tables also show the CPU its backends serving that Catnest used per request
(found through the server's connections), which the Catnest process's own figure leaves out.
Timings are printed, never asserted. About three minutes.

    .venv/bin/python bench/durable.py [--duration 5] [--rounds 2] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import itertools
import json
import math
import os
import random
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recent_contact import (
    BOT,
    CHUNK,
    LOAD_CPU,
    SERVER_CPU,
    WRK_LUA,
    Run,
    _bulk,
    _messages,
    _social_graph,
    check_catnest,
    cpu_seconds,
    free_port,
    hello_cmd,
    parse_wrk,
    pinned,
    wait_ready,
)
from ws import close_all as close_ws
from ws import open_many, rss_kib, run_loop

from catnest.app import App
from catnest.config import parse_config

POSTGRES = os.environ.get("CATNEST_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
LAB = 30002  # the demo world's group owned by the bot
CONNECTIONS = 32
WARMUP_SECONDS = 2
VERIFY_CONCURRENCY = 32


# --- PostgreSQL -------------------------------------------------------------------------


async def _pg(sql: str, *args: Any) -> list[Any]:
    import asyncpg

    conn = await asyncpg.connect(POSTGRES)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


def new_schema(prefix: str = "bench") -> tuple[str, str]:
    """A fresh schema in the benchmark database: (its name, a store URL using it)."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    asyncio.run(_pg(f"CREATE SCHEMA {name}"))
    return name, f"{POSTGRES}{'&' if '?' in POSTGRES else '?'}search_path={name}"


def drop_schemas(names: Sequence[str]) -> None:
    for name in names:
        with contextlib.suppress(Exception):
            asyncio.run(_pg(f"DROP SCHEMA IF EXISTS {name} CASCADE"))


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:["):
                    inodes.add(link[8:-1])
    return inodes


def pg_backends(pids: Sequence[int]) -> list[int]:
    """PostgreSQL backend pids serving processes `pids` (their TCP connections to its port)."""
    port = int(POSTGRES.rpartition("@")[2].split("/")[0].partition(":")[2] or 5432)
    inodes = set().union(*(_socket_inodes(pid) for pid in pids)) if pids else set()
    local_ports: list[int] = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                cols = line.split()
                if cols[9] in inodes and int(cols[2].rsplit(":", 1)[1], 16) == port:
                    local_ports.append(int(cols[1].rsplit(":", 1)[1], 16))
    if not local_ports:
        return []
    rows = asyncio.run(
        _pg("SELECT pid FROM pg_stat_activity WHERE client_port = ANY($1::int[])", local_ports)
    )
    return [int(r["pid"]) for r in rows]


class CpuClock:
    """CPU seconds used by some processes between construction and `read()`."""

    def __init__(self, pids: Sequence[int]) -> None:
        self.pids = list(pids)
        self._start = {pid: cpu_seconds(pid) for pid in self.pids}

    def read(self) -> float:
        used = 0.0
        for pid, before in self._start.items():
            now = cpu_seconds(pid)
            if not math.isnan(now) and not math.isnan(before):
                used += now - before
        return used


# --- servers ----------------------------------------------------------------------------


def catnest_config(
    folder: Path, *, http_port: int, ws_port: int, store_url: str = "",
    durability: str = "normal", demo: bool = True,
) -> Path:  # fmt: skip
    """`catnest serve` as users run it (web side on, on a free port), plus one WS server."""
    store = f"url = {json.dumps(store_url)}\n" if store_url else ""
    config = folder / "catnest.toml"
    config.write_text(
        f"data_dir = {json.dumps(str(folder / 'data'))}\ndemo = {str(demo).lower()}\n"
        f'log_level = "warning"\n\n[store]\n{store}durability = "{durability}"\n\n'
        f'[web]\nhost = "127.0.0.1"\nport = {free_port()}\n\n'
        f"[[bots]]\nuin = {BOT}\n\n"
        f'[[bots.http]]\nhost = "127.0.0.1"\nport = {http_port}\n\n'
        f'[[bots.ws]]\nhost = "127.0.0.1"\nport = {ws_port}\n'
    )
    return config


@dataclass
class Server:
    """A `catnest serve` (or hello-world) process pinned to `cpu`, restartable."""

    name: str
    cmd: list[str]
    http_port: int
    log: Path
    ws_port: int = 0
    cpu: int | None = SERVER_CPU
    ready_path: str = "get_recent_contact"
    proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid  # taskset execs the command: this is the server itself

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.http_port}/{path}"

    def start(self) -> Server:
        with self.log.open("ab") as out:
            cmd = self.cmd if self.cpu is None else pinned(self.cmd, self.cpu)
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_ready(self.url(self.ready_path), self.proc)
        except RuntimeError:
            sys.stderr.write(self.log.read_text(errors="replace")[-2000:])
            raise
        return self

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill9()


def catnest_server(
    name: str, folder: Path, *, store_url: str = "", durability: str = "normal", demo: bool = True
) -> Server:
    folder.mkdir(parents=True, exist_ok=True)
    http_port, ws_port = free_port(), free_port()
    config = catnest_config(
        folder, http_port=http_port, ws_port=ws_port, store_url=store_url,
        durability=durability, demo=demo,
    )  # fmt: skip
    cmd = [str(Path(sys.executable).with_name("catnest")), "serve", "--config", str(config)]
    return Server(name, cmd, http_port, folder / "catnest.log", ws_port)


# --- load -------------------------------------------------------------------------------


def send_lua(label: str, groups: Sequence[int], acks_dir: Path | None) -> str:
    """wrk script: unique texts, each also its `idempotency_key` and `echo`, round-robin over
    `groups`; with `acks_dir`, each acknowledged send's `message_id text` (the text read back
    from the answer's echo) goes to a `.acks` file per wrk thread, and every other answer
    (HTTP status and the start of the body) to a `.fails` file."""
    directory = json.dumps(str(acks_dir) if acks_dir else "")
    return f"""
local label, dir = {json.dumps(label)}, {directory}
local groups = {{{", ".join(str(g) for g in groups)}}}
local threads = 0
local counter, out, fails = 0, nil, nil
local headers = {{["Content-Type"] = "application/json"}}

function setup(thread)
  threads = threads + 1
  thread:set("tag", "t" .. threads)
end

function init(args)
  if dir ~= "" then
    out = io.open(dir .. "/" .. label .. "-" .. tag .. ".acks", "w")
    fails = io.open(dir .. "/" .. label .. "-" .. tag .. ".fails", "w")
  end
end

function request()
  counter = counter + 1
  local text = label .. " " .. tag .. " n" .. counter
  local group = groups[counter % #groups + 1]
  return wrk.format("POST", nil, headers, '{{"group_id":' .. group .. ',"message":"' .. text
    .. '","idempotency_key":"' .. text .. '","echo":"' .. text .. '"}}')
end

function response(status, headers, body)
  if not out then return end
  if status == 200 and body:find('"retcode":0', 1, true) then
    local id, echo = body:match('"message_id":(%d+)'), body:match('"echo":"([^"]*)"')
    if id and echo then out:write(id, " ", echo, "\\n") end
  else
    fails:write(status, " ", (body:sub(1, 300):gsub("\\n", " ")), "\\n")
  end
end
"""


@dataclass(frozen=True)
class Measured:
    """One load run, with the CPU its server and (for PostgreSQL) its backends used."""

    run: Run
    server_cpu_us: float  # per request
    pg_cpu_us: float  # per request; NaN when not on PostgreSQL

    @property
    def total_cpu_us(self) -> float:
        return self.server_cpu_us + (0.0 if math.isnan(self.pg_cpu_us) else self.pg_cpu_us)


def wrk_cmd(url: str, seconds: float, script: Path, threads: int, connections: int) -> list[str]:
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency"]
    return pinned([*cmd, "-s", str(script), url], LOAD_CPU)


def drive(
    server: Server, url: str, seconds: float, script: Path, *, threads: int, pg: bool
) -> Measured:
    """Run wrk against `url` for `seconds`; the server's (and its backends') CPU per request."""
    backends = pg_backends([server.pid]) if pg else []
    own, theirs = CpuClock([server.pid]), CpuClock(backends)
    out = subprocess.run(
        wrk_cmd(url, seconds, script, threads, CONNECTIONS), capture_output=True, text=True,
        check=True, timeout=seconds + 60,
    )  # fmt: skip
    run = parse_wrk(out.stdout)
    n = max(run.requests, 1)
    return Measured(run, own.read() / n * 1e6, theirs.read() / n * 1e6 if pg else math.nan)


# --- 1. idle WS memory ------------------------------------------------------------------


@dataclass(frozen=True)
class Memory:
    name: str
    before_kib: int
    after_kib: int
    connections: int

    @property
    def per_connection_kib(self) -> float:
        return (self.after_kib - self.before_kib) / self.connections


async def _idle_memory(server: Server, clients: int) -> Memory:
    url = f"ws://127.0.0.1:{server.ws_port}/"
    await close_ws(await open_many(url, 10, lambda c, p: None))  # load the code paths first
    await asyncio.sleep(1)
    before = rss_kib(server.pid)
    opened = await open_many(url, clients, lambda c, p: None)
    await asyncio.sleep(3)  # let the server finish registering them
    after = rss_kib(server.pid)
    await close_ws(opened)
    return Memory(server.name, before, after, clients)


def idle_memory(servers: Sequence[Server], clients: int) -> list[Memory]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < clients + 256:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(clients + 256, hard), hard))
    results = []
    for server in servers:
        results.append(run_loop(_idle_memory(server, clients)))
        print(f"  {server.name}: {results[-1].per_connection_kib:.1f} KiB per idle WS", flush=True)
    return results


# --- 2-3. durable ingest and kill -9 ----------------------------------------------------


@dataclass
class Ingest:
    server: Server
    pg: bool
    acks_dir: Path
    runs: list[Measured] = field(default_factory=list)
    crash_acks: int = 0
    killed_after: float = 0.0
    verified: int = 0
    acknowledged: int = 0
    problems: list[str] = field(default_factory=list)
    verify_seconds: float = 0.0


def ingest_round(target: Ingest, work: Path, label: str, seconds: float) -> Measured:
    script = work / f"{label}.lua"
    script.write_text(send_lua(label, [LAB], target.acks_dir))
    return drive(
        target.server, target.server.url("send_group_msg"), seconds, script,
        threads=1, pg=target.pg,
    )  # fmt: skip


def crash_run(target: Ingest, work: Path, seconds: float, rng: random.Random) -> None:
    """wrk for `seconds`; SIGKILL the server at a random moment in the middle of it."""
    label = f"{target.server.name}-crash"
    script = work / f"{label}.lua"
    script.write_text(send_lua(label, [LAB], target.acks_dir))
    cmd = wrk_cmd(target.server.url("send_group_msg"), seconds, script, 1, CONNECTIONS)
    wrk = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    target.killed_after = rng.uniform(0.3, 0.7) * seconds
    time.sleep(target.killed_after)
    target.server.kill9()
    wrk.communicate(timeout=seconds + 60)
    target.crash_acks = sum(1 for _ in _ack_lines(target.acks_dir, label))


def failed_answers(folder: Path, label: str = "") -> list[str]:
    """Answers other than `retcode 0` that wrk saw (status and the start of the body)."""
    return [
        line for path in sorted(folder.glob(f"{label}*.fails"))
        for line in path.read_text().splitlines()
    ]  # fmt: skip


def _ack_lines(folder: Path, label: str = "") -> Iterator[tuple[int, str]]:
    for path in sorted(folder.glob(f"{label}*.acks")):
        for line in path.read_text().splitlines():
            message_id, _, text = line.partition(" ")
            yield int(message_id), text


async def _verify(url: str, acked: dict[int, str]) -> list[str]:
    import aiohttp

    problems: list[str] = []
    gate = asyncio.Semaphore(VERIFY_CONCURRENCY)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def check(message_id: int, text: str) -> None:
            async with gate, session.post(f"{url}get_msg", json={"message_id": message_id}) as r:
                body = await r.json(content_type=None)
            if body.get("retcode") != 0:
                problems.append(f"message {message_id} ({text!r}): {body.get('message')}")
            elif body["data"]["raw_message"] != text:
                got = body["data"]["raw_message"]
                problems.append(f"message {message_id}: {got!r} != {text!r}")

        await asyncio.gather(*(check(mid, text) for mid, text in acked.items()))
    return problems


def verify(target: Ingest) -> None:
    """Restart the killed server and read every acknowledged message back."""
    acked: dict[int, str] = {}
    for message_id, text in _ack_lines(target.acks_dir):
        if acked.setdefault(message_id, text) != text:
            target.problems.append(f"message_id {message_id} acknowledged for two texts")
    target.acknowledged = len(acked)
    target.server.start()
    began = time.perf_counter()
    try:
        target.problems += run_loop(_verify(target.server.url(), acked))
    finally:
        target.server.stop()
    target.verify_seconds = time.perf_counter() - began
    target.verified = target.acknowledged - len(target.problems)


def ingest(
    targets: Sequence[Ingest], hello: Server, work: Path, args: argparse.Namespace
) -> list[Measured]:
    hello_runs: list[Measured] = []
    warm = work / "warm.lua"
    warm.write_text(send_lua("warm", [LAB], None))
    drive(hello, hello.url(), WARMUP_SECONDS, warm, threads=1, pg=False)
    for target in targets:
        ingest_round(target, work, f"{target.server.name}-warm", WARMUP_SECONDS)
    for n in range(args.rounds):
        hello_runs.append(drive(hello, hello.url(), args.duration, warm, threads=1, pg=False))
        line = [f"hello {hello_runs[-1].run.rps:,.0f}"]
        for target in targets:
            label = f"{target.server.name}-r{n + 1}"
            target.runs.append(ingest_round(target, work, label, args.duration))
            line.append(f"{target.server.name} {target.runs[-1].run.rps:,.0f}")
        print(
            f"  round {n + 1} (msgs/s): {', '.join(line)}; load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    rng = random.Random(args.seed)
    for target in targets:
        crash_run(target, work, args.crash_seconds, rng)
        verify(target)
        print(
            f"  {target.server.name}: killed {target.killed_after:.1f} s into a run"
            f" ({target.crash_acks:,} sends acknowledged in it); after restart"
            f" {target.verified:,} of {target.acknowledged:,} acknowledged messages read back"
            f" ({target.verify_seconds:.1f} s)",
            flush=True,
        )
    return hello_runs


# --- 4. get_recent_contact on both stores -----------------------------------------------


async def _build(config: dict[str, Any], size: int) -> int:
    app = App(parse_config(config))
    await app.start()
    try:
        convs = await _social_graph(app.world)
        rows = _messages(convs, size, int(time.time()) - size // 10 - 1)
        newest = 0
        while chunk := list(itertools.islice(rows, CHUNK)):
            newest = (await _bulk(app.engine, chunk)).last_message_id or newest
    finally:
        await app.stop()
    return newest


def build_recent_world(folder: Path, size: int, store_url: str = "") -> int:
    """recent_contact.py's world (20 friends, 10 groups, `size` messages); the newest id."""
    config: dict[str, Any] = {
        "data_dir": str(folder / "data"),
        "demo": False,
        "log_level": "warning",
        "web": {"enabled": False},
        "bots": [{"uin": BOT, "nickname": "Bench Bot", "http": [{"port": 0}]}],
    }
    if store_url:
        config["store"] = {"url": store_url}
    return asyncio.run(_build(config, size))


def recent(
    servers: Sequence[tuple[Server, bool, int]], hello: Server, work: Path, args: argparse.Namespace
) -> tuple[list[Measured], dict[str, list[Measured]]]:
    script = work / "recent.lua"
    script.write_text(WRK_LUA)
    for server, _, newest in servers:
        check_catnest(server.url("get_recent_contact"), newest)
    drive(hello, hello.url(), WARMUP_SECONDS, script, threads=1, pg=False)
    for server, pg, _ in servers:
        drive(server, server.url("get_recent_contact"), WARMUP_SECONDS, script, threads=1, pg=pg)
    hello_runs: list[Measured] = []
    runs: dict[str, list[Measured]] = {server.name: [] for server, _, _ in servers}
    for n in range(args.rounds):
        hello_runs.append(drive(hello, hello.url(), args.duration, script, threads=1, pg=False))
        line = [f"hello {hello_runs[-1].run.rps:,.0f}"]
        for server, pg, _ in servers:
            url = server.url("get_recent_contact")
            runs[server.name].append(drive(server, url, args.duration, script, threads=1, pg=pg))
            line.append(f"{server.name} {runs[server.name][-1].run.rps:,.0f}")
        print(
            f"  round {n + 1} (RPS): {', '.join(line)}; load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    for server, _, newest in servers:
        check_catnest(server.url("get_recent_contact"), newest)
    return hello_runs, runs


# --- report -----------------------------------------------------------------------------


def best(runs: Sequence[Measured]) -> Measured:
    return max(runs, key=lambda m: m.run.rps)


def _us(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:,.0f}"


def print_rates(
    title: str, unit: str, rows: dict[str, list[Measured]], hello: list[Measured]
) -> None:
    base = best(hello)
    head = (
        f"{'':<16} {unit:>9} {'hello':>8} {'ratio':>5} {'p50 ms':>7} {'p99 ms':>7}"
        f" | {'catnest':>7} {'PG':>6} {'total':>6}  {'errors'}"
    )
    print()
    print(title)
    print(f"{'':<16} {'best round':^39} | {'CPU us per request (min)':^22}")
    print(head)
    print("-" * len(head))
    for name, runs in rows.items():
        top = best(runs)
        errors = "; ".join(sorted({m.run.errors for m in runs if m.run.errors})) or "none"
        print(
            f"{name:<16} {top.run.rps:>9,.0f} {base.run.rps:>8,.0f}"
            f" {top.run.rps / base.run.rps:>5.2f} {top.run.p50_ms:>7.2f} {top.run.p99_ms:>7.2f}"
            f" | {_us(min(m.server_cpu_us for m in runs)):>7}"
            f" {_us(min(m.pg_cpu_us for m in runs)):>6} {_us(min(m.total_cpu_us for m in runs)):>6}"
            f"  {errors}"
        )
    print(
        f"{'hello-world':<16} {base.run.rps:>9,.0f} {'':>8} {'':>5} {base.run.p50_ms:>7.2f}"
        f" {base.run.p99_ms:>7.2f} | {_us(min(m.server_cpu_us for m in hello)):>7}"
    )


def report(
    memory: Sequence[Memory], targets: Sequence[Ingest], ingest_hello: list[Measured],
    recent_hello: list[Measured], recent_runs: dict[str, list[Measured]], size: int,
) -> None:  # fmt: skip
    print()
    print("Idle WS connections (1,000; target < 64 KiB each):")
    for m in memory:
        print(
            f"  {m.name:<16} VmRSS {m.before_kib:>8,} KiB -> {m.after_kib:>8,} KiB:"
            f" {m.per_connection_kib:5.1f} KiB per connection"
        )
    print_rates(
        f"Durable ingest: send_group_msg with idempotency_key, {CONNECTIONS} connections"
        " (wrk -t1 -c32; the hello-world gets the same requests)",
        "msgs/s",
        {t.server.name: t.runs for t in targets},
        ingest_hello,
    )
    print()
    print("kill -9 during a run, then restart: acknowledged messages read back by get_msg")
    for t in targets:
        failed = failed_answers(t.acks_dir)
        if failed:
            print(
                f"  {t.server.name}: {len(failed):,} sends answered with an error, e.g. {failed[0]}"
            )
    for t in targets:
        verdict = "all, same content" if not t.problems else f"{len(t.problems)} PROBLEMS"
        print(
            f"  {t.server.name:<16} {t.verified:>7,} of {t.acknowledged:>7,} ({verdict});"
            f" killed {t.killed_after:.1f} s into the crash run"
        )
        for problem in t.problems[:10]:
            print(f"    {problem}")
    print_rates(
        f"get_recent_contact (count 10), {size:,} messages, {CONNECTIONS} connections"
        " (wrk -t1 -c32, as bench/recent_contact.py)",
        "RPS",
        recent_runs,
        recent_hello,
    )
    print()
    print(
        "CPU columns: 'catnest' is the Catnest process, 'PG' the PostgreSQL backends on its"
        " connections; the lowest per-request figure over the rounds (robust to neighbours)."
    )


# --- main -------------------------------------------------------------------------------


def run(args: argparse.Namespace, work: Path, schemas: list[str]) -> None:
    hello_port = free_port()
    hello = Server("hello", hello_cmd(hello_port), hello_port, work / "hello.log", ready_path="")
    pg_schema, pg_url = new_schema()
    schemas.append(pg_schema)
    targets = [
        Ingest(catnest_server("sqlite normal", work / "normal"), False, work / "acks-normal"),
        Ingest(
            catnest_server("sqlite full", work / "full", durability="full"), False,
            work / "acks-full",
        ),
        Ingest(catnest_server("postgres", work / "pg", store_url=pg_url), True, work / "acks-pg"),
    ]  # fmt: skip
    servers = [hello] + [t.server for t in targets]
    try:
        for server in servers:
            server.start()
        for t in targets:
            t.acks_dir.mkdir()
        print(f"idle WS memory ({args.ws_clients:,} connections each):", flush=True)
        memory = idle_memory([t.server for t in targets], args.ws_clients)
        print(f"durable ingest ({args.duration:g} s x {args.rounds} rounds):", flush=True)
        ingest_hello = ingest(targets, hello, work, args)

        print(f"get_recent_contact: building {args.messages:,}-message worlds", flush=True)
        rc_schema, rc_url = new_schema()
        schemas.append(rc_schema)
        recent_servers = []
        for name, folder, url in [
            ("sqlite", work / "rc-sqlite", ""),
            ("postgres", work / "rc-pg", rc_url),
        ]:
            newest = build_recent_world(folder, args.messages, url)
            server = catnest_server(name, folder, store_url=url, demo=False)
            servers.append(server.start())
            recent_servers.append((server, bool(url), newest))
        recent_hello, recent_runs = recent(recent_servers, hello, work, args)
    finally:
        for server in servers:
            server.stop()
    report(memory, targets, ingest_hello, recent_hello, recent_runs, args.messages)


def main(argv: Sequence[str] | None = None) -> None:
    global POSTGRES
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration", type=float, default=5, help="seconds per load run")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each server")
    parser.add_argument("--crash-seconds", type=float, default=4, help="the kill -9 run")
    parser.add_argument("--messages", type=lambda s: int(float(s)), default=10_000)
    parser.add_argument("--ws-clients", type=int, default=1000, help="idle WS connections")
    parser.add_argument("--postgres", default=POSTGRES, help="database for the PostgreSQL runs")
    parser.add_argument("--seed", type=int, default=None, help="random seed of the kill moments")
    args = parser.parse_args(argv)
    POSTGRES = args.postgres
    if not shutil.which("wrk"):
        raise SystemExit("bench/durable.py needs wrk (apt-get install wrk)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind: stop the servers
    if args.seed is None:
        args.seed = random.randrange(2**31)
    if (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {LOAD_CPU})  # this process's clients load CPU 1, like wrk
    print(
        f"{datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}: Catnest durable ingest,"
        f" recent contacts on PostgreSQL beside SQLite, idle WS memory; {os.cpu_count()} CPUs,"
        f" servers on CPU {SERVER_CPU}, load on CPU {LOAD_CPU}; load average"
        f" {' '.join(f'{x:.1f}' for x in os.getloadavg())}; kill seed {args.seed}",
        flush=True,
    )
    schemas: list[str] = []
    try:
        with tempfile.TemporaryDirectory(prefix="catnest-durable-") as tmp:
            run(args, Path(tmp), schemas)
    finally:
        drop_schemas(schemas)
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
