"""Benchmark: 1, 2 and 4 `catnest serve` processes on one PostgreSQL world (issue 5).

One world (bench/recent_contact.py's: bot 10001, 20 friends, 10 groups, 10^4 messages) in a fresh
PostgreSQL schema; for each process count N, N processes are started on it, each on its own HTTP
port, and N wrk processes (32/N connections each, 32 in all, pinned to CPU 1) spread the load
over them:

- `send_group_msg` round-robin over the 10 groups (unique texts with `idempotency_key`);
- `send_group_msg` into one group (every process writes the same conversation; writes of all
  processes take turns at the world's write lock);
- `get_recent_contact` (count 10).

The Catnest processes are not pinned: with N processes the kernel spreads them over every CPU.
On a 2-core machine 4 processes oversubscribe it, and the load generator and PostgreSQL share
the same cores. The table gives each figure as a ratio to the 1-process one, and the CPU the
Catnest processes and their PostgreSQL backends used per request. After the run every
acknowledged message_id is checked to be unique across processes. Timings are printed, never
asserted. About three minutes.

    .venv/bin/python bench/processes.py [--duration 5] [--rounds 2] [--counts 1,2,4]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import durable
from durable import (
    CpuClock,
    Server,
    build_recent_world,
    catnest_server,
    drop_schemas,
    failed_answers,
    new_schema,
    pg_backends,
    send_lua,
    wrk_cmd,
)
from recent_contact import GROUPS, LOAD_CPU, WRK_LUA, Run, http_post, parse_wrk

CONNECTIONS = 32
WARMUP_SECONDS = 2
MEASURES = {
    "send": "send_group_msg, 10 groups (msgs/s)",
    "send1": "send_group_msg, 1 group (msgs/s)",
    "recent": "get_recent_contact (RPS)",
}


@dataclass(frozen=True)
class Spread:
    """One load run over N processes: summed rate, worst latencies, CPU per request."""

    rps: float
    p50_ms: float  # the highest of the wrk processes'
    p99_ms: float
    requests: int
    errors: str
    catnest_cpu_us: float
    pg_cpu_us: float
    cores: float  # CPU share the Catnest processes used together (1.0 = one core)


def spread_load(
    servers: Sequence[Server], path: str, seconds: float, scripts: list[Path]
) -> Spread:
    """Drive every server at once, CONNECTIONS/N connections each."""
    pids = [s.pid for s in servers]
    own, theirs = CpuClock(pids), CpuClock(pg_backends(pids))
    per = max(1, CONNECTIONS // len(servers))
    began = time.perf_counter()
    procs = [
        subprocess.Popen(
            wrk_cmd(server.url(path), seconds, script, 1, per),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for server, script in zip(servers, scripts, strict=True)
    ]
    runs: list[Run] = [parse_wrk(p.communicate(timeout=seconds + 60)[0]) for p in procs]
    wall = time.perf_counter() - began
    n = max(sum(r.requests for r in runs), 1)
    return Spread(
        rps=sum(r.rps for r in runs),
        p50_ms=max(r.p50_ms for r in runs),
        p99_ms=max(r.p99_ms for r in runs),
        requests=n,
        errors="; ".join(r.errors for r in runs if r.errors),
        catnest_cpu_us=own.read() / n * 1e6,
        pg_cpu_us=theirs.read() / n * 1e6,
        cores=own.read() / wall,
    )


def scripts_for(measure: str, work: Path, label: str, count: int, acks: Path) -> list[Path]:
    paths = []
    for i in range(count):
        path = work / f"{label}-p{i + 1}.lua"
        if measure == "recent":
            path.write_text(WRK_LUA)
        else:
            groups = GROUPS if measure == "send" else GROUPS[:1]
            path.write_text(send_lua(f"{label}-p{i + 1}", groups, acks))
        paths.append(path)
    return paths


def check_recent(server: Server) -> None:
    status, raw = http_post(server.url("get_recent_contact"))
    body = json.loads(raw)
    if status != 200 or body.get("retcode") != 0 or len(body["data"]) != 10:
        raise RuntimeError(f"{server.name}: get_recent_contact answered {raw[:300]!r}")


def measure_count(
    count: int, store_url: str, work: Path, args: argparse.Namespace
) -> dict[str, list[Spread]]:
    servers = [
        catnest_server(
            f"p{i + 1}", work / f"n{count}" / f"p{i + 1}", store_url=store_url, demo=False
        )
        for i in range(count)
    ]
    for server in servers:
        server.cpu = None  # the kernel spreads the processes over every core
    acks = work / "acks"
    results: dict[str, list[Spread]] = {key: [] for key in MEASURES}
    try:
        for server in servers:
            server.start()
        for server in servers:
            check_recent(server)
        for key in MEASURES:
            spread_load(
                servers,
                _path(key),
                WARMUP_SECONDS,
                scripts_for(key, work, f"n{count}-{key}-warm", count, acks),
            )
        for n in range(args.rounds):
            for key in MEASURES:
                label = f"n{count}-{key}-r{n + 1}"
                results[key].append(
                    spread_load(
                        servers,
                        _path(key),
                        args.duration,
                        scripts_for(key, work, label, count, acks),
                    )
                )
            print(
                f"  {count} process{'es' if count > 1 else ''}, round {n + 1}: "
                + ", ".join(f"{key} {runs[-1].rps:,.0f}/s" for key, runs in results.items())
                + f"; load average {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    finally:
        for server in servers:
            server.stop()
    return results


def log_failures(work: Path, count: int) -> Counter[str]:
    """Exceptions the Catnest processes logged for failed actions (their tracebacks' last line)."""
    found: Counter[str] = Counter()
    for log in (work / f"n{count}").glob("*/catnest.log"):
        failing = False
        for line in log.read_text(errors="replace").splitlines():
            if " ERROR " in line and "failed (request" in line:
                failing = True
            elif (
                failing and line and not line.startswith((" ", "Traceback", "The above", "During"))
            ):
                found[line.split(":", 1)[0]] += 1
                failing = False
    return found


def _path(measure: str) -> str:
    return "get_recent_contact" if measure == "recent" else "send_group_msg"


def check_ids(acks: Path) -> tuple[int, int]:
    """(acknowledged sends, distinct message_ids among them)."""
    ids = [
        int(line.partition(" ")[0])
        for path in acks.glob("*.acks")
        for line in path.read_text().splitlines()
    ]
    return len(ids), len(set(ids))


def report(
    results: dict[int, dict[str, list[Spread]]], acked: int, distinct: int,
    failures: dict[int, tuple[dict[str, int], Counter[str], list[str]]],
) -> None:  # fmt: skip
    counts = sorted(results)
    base_count = counts[0]
    head = f"{'measure (best round)':<38}" + "".join(
        f" {f'{c} proc' + ('s' if c > 1 else ''):>16}" for c in counts
    )
    print()
    print(head)
    print("-" * len(head))
    for key, title in MEASURES.items():
        base = max(r.rps for r in results[base_count][key])
        cells = []
        for c in counts:
            rate = max(r.rps for r in results[c][key])
            cells.append(f"{rate:>8,.0f} ({rate / base:4.2f}x)")
        print(f"{title:<38}" + "".join(f" {cell:>16}" for cell in cells))
    print()
    print("Per request (lowest of the rounds), CPU us: Catnest processes + their PG backends;")
    print("p99 ms (worst wrk process of the best round); Catnest CPU share (1.00 = one core):")
    for key, title in MEASURES.items():
        cells = []
        for c in counts:
            runs = results[c][key]
            top = max(runs, key=lambda r: r.rps)
            cpu = min(r.catnest_cpu_us for r in runs)
            pg = min(r.pg_cpu_us for r in runs)
            cells.append(f"{cpu:,.0f}+{pg:,.0f} us, p99 {top.p99_ms:.0f}, {top.cores:.2f}")
        print(f"  {title}")
        for c, cell in zip(counts, cells, strict=True):
            print(f"    {c} process{'es' if c > 1 else '  '}: {cell}")
    errors = {
        f"{c} x {key}": "; ".join(sorted({r.errors for r in runs if r.errors}))
        for c in counts
        for key, runs in results[c].items()
        if any(r.errors for r in runs)
    }
    for where, text in errors.items():
        print(f"  errors, {where}: {text}")
    for c in counts:
        answers, logged, example = failures[c]
        if any(answers.values()) or logged:
            told = ", ".join(f"{n:,} in {key}" for key, n in answers.items() if n)
            what = ", ".join(f"{n:,} x {name}" for name, n in logged.most_common())
            print(
                f"  {c} process{'es' if c > 1 else ''}: sends answered with an error: {told};"
                f" the servers logged: {what or 'nothing'}"
            )
            if example:
                print(f"    e.g. {example[0]}")
    verdict = "all distinct" if acked == distinct else f"{acked - distinct} DUPLICATES"
    print(f"message_ids acknowledged across all runs: {acked:,}, {verdict}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration", type=float, default=5, help="seconds per load run")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each measure")
    parser.add_argument("--counts", default="1,2,4", help="process counts")
    parser.add_argument("--messages", type=lambda s: int(float(s)), default=10_000)
    parser.add_argument("--postgres", default=durable.POSTGRES, help="the database to use")
    args = parser.parse_args(argv)
    durable.POSTGRES = args.postgres
    if not shutil.which("wrk"):
        raise SystemExit("bench/processes.py needs wrk (apt-get install wrk)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    counts = [int(c) for c in args.counts.split(",") if c.strip()]
    print(
        f"{datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}: 1..N catnest serve processes"
        f" on one PostgreSQL world; {os.cpu_count()} CPUs, servers unpinned, wrk on CPU"
        f" {LOAD_CPU}; {args.duration:g} s x {args.rounds} rounds per measure; load average"
        f" {' '.join(f'{x:.1f}' for x in os.getloadavg())}",
        flush=True,
    )
    schemas: list[str] = []
    try:
        with tempfile.TemporaryDirectory(prefix="catnest-processes-") as tmp:
            work = Path(tmp)
            (work / "acks").mkdir()
            schema, url = new_schema()
            schemas.append(schema)
            print(f"building a {args.messages:,}-message world in schema {schema}", flush=True)
            build_recent_world(work / "build", args.messages, url)
            results: dict[int, dict[str, list[Spread]]] = {}
            failures: dict[int, tuple[dict[str, int], Counter[str], list[str]]] = {}
            for count in counts:
                results[count] = measure_count(count, url, work, args)
                answers = {
                    key: len(failed_answers(work / "acks", f"n{count}-{key}-")) for key in MEASURES
                }
                example = failed_answers(work / "acks", f"n{count}-")[:1]
                failures[count] = (answers, log_failures(work, count), example)
            acked, distinct = check_ids(work / "acks")
    finally:
        drop_schemas(schemas)
    report(results, acked, distinct, failures)
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
