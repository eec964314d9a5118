"""Helpers the benchmarks share: NapCat's Node.js stacks as baselines, and target rows.

bench/napcat/ holds two small Node.js servers that stand for what a user would otherwise run:
NapCat's OneBot HTTP stack (express 5, cors, urlencoded, a JSON5 body reader, a token check;
`http-server.js`) and its forward WebSocket stack (`ws` 8, a parse and a JSON.stringify per
frame; `ws-server.js`), each answering a constant OneBot envelope. `prepare_napcat()` runs
`npm install` there the first time; without node or npm it says why, and the benchmarks print
their NapCat rows as skipped. Not a benchmark itself: imported by bench/recent_contact.py and
bench/ws.py.
"""

from __future__ import annotations

import json
import math
import shutil
import statistics
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

NAPCAT_DIR = Path(__file__).resolve().with_name("napcat")
NAPCAT_PACKAGES = ("cors", "express", "json5", "on-finished", "type-is", "ws")
MIN_NODE_MAJOR = 18  # express 5 needs Node.js 18 or newer
NPM_TIMEOUT = 600


@dataclass(frozen=True)
class Napcat:
    """The NapCat baselines: ready to start (`node` set) or skipped (`reason` set)."""

    node: str = ""
    reason: str = ""

    @property
    def ready(self) -> bool:
        return bool(self.node)

    def http_cmd(self, port: int) -> list[str]:
        return [self.node, str(NAPCAT_DIR / "http-server.js"), str(port)]

    def ws_cmd(self, port: int, parser: str = "json") -> list[str]:
        return [self.node, str(NAPCAT_DIR / "ws-server.js"), str(port), parser]

    def describe(self) -> str:
        if not self.ready:
            return f"skipped: {self.reason}"
        versions = ", ".join(
            f"{name} {_package_version(name)}" for name in ("express", "cors", "json5", "ws")
        )
        return f"node {_node_version(self.node)}, {versions}"


def _node_version(node: str) -> str:
    out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30)
    return out.stdout.strip().lstrip("v")


def _package_version(name: str) -> str:
    manifest = NAPCAT_DIR / "node_modules" / name / "package.json"
    try:
        return str(json.loads(manifest.read_text())["version"])
    except (OSError, ValueError, KeyError):
        return "?"


def _installed() -> bool:
    modules = NAPCAT_DIR / "node_modules"
    return all((modules / name / "package.json").is_file() for name in NAPCAT_PACKAGES)


def prepare_napcat() -> Napcat:
    """Find node, install bench/napcat/'s packages when missing; never raises."""
    node = shutil.which("node")
    if node is None:
        return Napcat(reason="node not found on PATH")
    try:
        version = _node_version(node)
        major = int(version.split(".")[0])
    except (OSError, ValueError, subprocess.SubprocessError) as exc:
        return Napcat(reason=f"cannot run {node} --version: {exc}")
    if major < MIN_NODE_MAJOR:
        return Napcat(reason=f"node {version} is older than {MIN_NODE_MAJOR} (express 5 needs it)")
    if not _installed():
        npm = shutil.which("npm")
        if npm is None:
            return Napcat(reason="npm not found on PATH (needed once to install bench/napcat/)")
        print(f"installing NapCat's stack into {NAPCAT_DIR / 'node_modules'} (npm install)")
        cmd = [npm, "install", "--no-audit", "--no-fund", "--loglevel=error"]
        try:
            out = subprocess.run(
                cmd, cwd=NAPCAT_DIR, capture_output=True, text=True, timeout=NPM_TIMEOUT
            )
        except (OSError, subprocess.SubprocessError) as exc:
            return Napcat(reason=f"npm install failed: {exc}")
        if out.returncode != 0 or not _installed():
            tail = (out.stderr or out.stdout).strip().splitlines()[-3:]
            return Napcat(reason=f"npm install failed ({out.returncode}): {' / '.join(tail)}")
    return Napcat(node=node)


# --- statistics and the summary table ---------------------------------------------------


def median(values: Iterable[float]) -> float:
    """The median of the finite values; NaN when there are none."""
    finite = [v for v in values if not math.isnan(v)]
    return statistics.median(finite) if finite else math.nan


@dataclass(frozen=True)
class TargetRow:
    """One target: Catnest's figure over a baseline's, beside what it should reach.

    `ratio` compares throughput (medians over rounds); `per_cpu` compares the server CPU time
    per request (baseline's over Catnest's, so higher is better for both), which stays fair
    when other work shares the server's core. `times` prints the ratio as 3.10x.
    """

    label: str
    ratio: float
    per_cpu: float
    target: float
    times: bool = False
    skipped: str = ""

    def _fmt(self, value: float) -> str:
        if math.isnan(value):
            return "-"
        return f"{value:.2f}x" if self.times else f"{value:.2f}"

    def line(self, width: int) -> str:
        if self.skipped:
            return f"{self.label:<{width}}  skipped: {self.skipped}"
        goal = f"{self.target:g}x" if self.times else f"{self.target:g}"
        met = "met" if self.ratio >= self.target else "BELOW"
        target = f"(target >= {goal})"
        return (
            f"{self.label:<{width}} {self._fmt(self.ratio):>7} {self._fmt(self.per_cpu):>8}"
            f"  {target:<18} {met}"
        )


def print_targets(rows: list[TargetRow], title: str) -> None:
    width = max(len(r.label) for r in rows)
    head = f"{'target':<{width}} {'ratio':>7} {'per-CPU':>8}"
    print()
    print(title)
    print(head)
    print("-" * (len(head) + 30))
    for row in rows:
        print(row.line(width))
