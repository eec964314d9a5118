"""Crash safety on both stores (issue 5): `kill -9` at random moments loses no acknowledged send.

A real `catnest serve` process takes `send_group_msg` calls from concurrent clients, each call
carrying `idempotency_key` = its (unique) text. The server is killed with SIGKILL at a random
moment while they send, restarted, and killed again, for several rounds. A call answered with
`retcode 0` is acknowledged; a call whose connection broke is not, and is sent again with the
same key in a later round. After the last restart:

- every acknowledged `message_id` reads back (`get_msg`) with its text, in its group;
- the group's history holds every acknowledged text exactly once, under that message_id;
- an unacknowledged send the server had committed before it died is in the history at most
  once, and repeating it with its key returns that message instead of posting it again.

The run's random seed is in every failure message; CATNEST_CRASH_SEED=<seed> repeats it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import sys
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tests.conftest import LAB, Store

ROUNDS = 5
CLIENTS = 16
START_TIMEOUT = 30.0
CALL_TIMEOUT = aiohttp.ClientTimeout(total=15)
# After the first acknowledged call of a round, the kill comes this much later (at random).
KILL_AFTER = (0.0, 0.6)
PREFIX = "crash "


@dataclass
class Server:
    """One `catnest serve` process: its HTTP API URL and the last lines it printed."""

    proc: asyncio.subprocess.Process
    url: str
    output: deque[str]
    pump: asyncio.Task[None]

    async def kill9(self) -> None:
        """SIGKILL: no shutdown code runs, nothing is flushed by Catnest itself."""
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()
        await asyncio.wait_for(self.proc.wait(), 15)
        await asyncio.wait_for(self.pump, 15)

    async def stop(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                await self.kill9()
        await asyncio.wait_for(self.pump, 15)


async def start_serve(config: Path, cwd: Path) -> Server:
    """Run `catnest serve --config` and wait for its banner to name the bound HTTP URL."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "catnest", "serve", "--config", str(config),
        cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert proc.stdout is not None
    stdout = proc.stdout
    output: deque[str] = deque(maxlen=200)
    url: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def pump() -> None:
        # Keeps reading to the end, so a chatty server never blocks on a full pipe.
        while line := (await stdout.readline()).decode(errors="replace"):
            output.append(line)
            match = re.search(r"HTTP API on (http://\S+?)/ ", line)
            if match and not url.done():
                url.set_result(match.group(1))
        if not url.done():
            url.set_exception(AssertionError("server exited:\n" + "".join(output)))

    task = asyncio.create_task(pump())
    try:
        bound = await asyncio.wait_for(asyncio.shield(url), START_TIMEOUT)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        await task
        raise
    return Server(proc, bound, output, task)


def write_config(folder: Path, store_settings: dict[str, Any]) -> Path:
    store = "".join(f"{key} = {json.dumps(value)}\n" for key, value in store_settings.items())
    config = folder / "catnest.toml"
    config.write_text(
        f"data_dir = {json.dumps(str(folder / 'data'))}\n"
        'log_level = "warning"\n'
        f"[store]\n{store}"
        "[web]\nenabled = false\n"
        "[[bots]]\nuin = 10001\nws = []\n[[bots.http]]\nport = 0\n",
        encoding="utf-8",
    )
    return config


@dataclass
class Ledger:
    """What the clients were told: acknowledged sends, and sends still owed a retry."""

    seed: int
    acked: dict[str, int] = field(default_factory=dict)  # text -> message_id
    pending: list[str] = field(default_factory=list)  # unacknowledged, to send again
    # Unacknowledged sends found in the history after a restart: the server had committed them.
    committed: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    serial: int = 0
    interrupted: int = 0  # sends whose connection broke

    def texts(self, round_no: int) -> Iterator[str]:
        """Retries first, then new unique texts."""
        while True:
            if self.pending:
                yield self.pending.pop()
            else:
                self.serial += 1
                yield f"{PREFIX}r{round_no} n{self.serial}"

    def ack(self, text: str, message_id: int) -> None:
        earlier = self.acked.setdefault(text, self.committed.get(text, message_id))
        if earlier != message_id:
            self.problems.append(f"{text!r} stored as {earlier}, acknowledged as {message_id}")

    def check_history(self, history: list[dict[str, Any]]) -> None:
        """After a restart: no text twice; note which unacknowledged sends had committed."""
        found = ours(history)
        counts = Counter(text for text, _ in found)
        twice = [text for text, n in counts.items() if n > 1]
        assert twice == [], (self.seed, twice)
        stored = dict(found)
        missing = [text for text in self.acked if text not in stored]
        assert missing == [], (self.seed, "acknowledged but not in the history", missing)
        self.committed.update((t, stored[t]) for t in self.pending if t in stored)


async def send(session: aiohttp.ClientSession, url: str, text: str) -> dict[str, Any]:
    params = {"group_id": LAB, "message": text, "idempotency_key": text}
    async with session.post(f"{url}/send_group_msg", json=params, timeout=CALL_TIMEOUT) as resp:
        body: dict[str, Any] = await resp.json(content_type=None)
        return body


async def sender(
    session: aiohttp.ClientSession, url: str, ledger: Ledger, texts: Iterator[str],
    first_ack: asyncio.Event,
) -> None:  # fmt: skip
    """Send until the connection breaks (the server was killed)."""
    for text in texts:
        try:
            body = await send(session, url, text)
        except (aiohttp.ClientError, TimeoutError, ValueError):
            ledger.pending.append(text)  # unacknowledged: it may or may not have committed
            ledger.interrupted += 1
            return
        if body.get("retcode") != 0:
            ledger.problems.append(f"{text!r} refused: {body}")
            return
        ledger.ack(text, int(body["data"]["message_id"]))
        first_ack.set()


async def crash_round(
    config: Path, cwd: Path, ledger: Ledger, round_no: int, rng: random.Random
) -> None:
    server = await start_serve(config, cwd)
    try:
        first_ack = asyncio.Event()
        texts = ledger.texts(round_no)
        connector = aiohttp.TCPConnector(limit=CLIENTS)
        async with aiohttp.ClientSession(connector=connector) as session:
            ledger.check_history(await group_history(session, server.url))
            clients = [
                asyncio.create_task(sender(session, server.url, ledger, texts, first_ack))
                for _ in range(CLIENTS)
            ]
            # Kill under load: once sends are being answered, at a random moment after that.
            await asyncio.wait_for(first_ack.wait(), 30)
            await asyncio.sleep(rng.uniform(*KILL_AFTER))  # the crash moment, not a sync point
            await server.kill9()
            await asyncio.wait_for(asyncio.gather(*clients), 30)
    finally:
        await server.stop()
    assert not ledger.problems, (ledger.seed, ledger.problems, "".join(server.output))


async def group_history(session: aiohttp.ClientSession, url: str) -> list[dict[str, Any]]:
    """Every message of the group, oldest first (pages of 1000, going back)."""
    params: dict[str, Any] = {"group_id": LAB, "count": 1000}
    found: dict[int, dict[str, Any]] = {}
    while True:
        async with session.post(f"{url}/get_group_msg_history", json=params) as resp:
            body = await resp.json()
        assert body["retcode"] == 0, body
        page = body["data"]["messages"]
        new = [m for m in page if m["message_id"] not in found]
        found.update((m["message_id"], m) for m in new)
        if not new:
            break
        params = {**params, "message_seq": page[0]["message_id"], "reverse_order": True}
    return sorted(found.values(), key=lambda m: int(m["real_seq"]))


def ours(history: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [
        (m["raw_message"], m["message_id"]) for m in history if m["raw_message"].startswith(PREFIX)
    ]


async def test_kill_9_at_random_moments_loses_no_acknowledged_send(
    store: Store, tmp_path: Path
) -> None:
    seed = int(os.environ.get("CATNEST_CRASH_SEED", random.randrange(2**32)))
    rng = random.Random(seed)
    ledger = Ledger(seed)
    config = write_config(tmp_path, await store.settings(tmp_path / "data"))
    for round_no in range(1, ROUNDS + 1):
        await crash_round(config, tmp_path, ledger, round_no, rng)
    where = f"seed {seed}, store {store.kind}"

    server = await start_serve(config, tmp_path)
    try:
        async with aiohttp.ClientSession() as session:
            # Before anything is retried: nothing twice, however many sends died in flight.
            ledger.check_history(await group_history(session, server.url))
            # Every unacknowledged send, again with its key: a committed one answers with its
            # message_id and is not posted again; the others are posted now.
            pending = sorted(set(ledger.pending))
            assert len(pending) == len(ledger.pending), where
            ledger.pending.clear()
            for text in pending:
                body = await send(session, server.url, text)
                assert body["retcode"] == 0, (where, text, body)
                ledger.ack(text, int(body["data"]["message_id"]))
            assert not ledger.problems, (where, ledger.problems)

            # Every acknowledged id reads back with its text.
            gate = asyncio.Semaphore(16)

            async def read(text: str, message_id: int) -> None:
                async with (
                    gate,
                    session.post(f"{server.url}/get_msg", json={"message_id": message_id}) as resp,
                ):
                    body = await resp.json()
                assert body["retcode"] == 0, (where, text, message_id, body)
                assert body["data"]["raw_message"] == text, (where, message_id, body)
                assert body["data"]["group_id"] == LAB, (where, message_id, body)

            await asyncio.gather(*(read(t, mid) for t, mid in ledger.acked.items()))

            # The history: each text exactly once, under its acknowledged id, nothing else.
            after = ours(await group_history(session, server.url))
            assert len(after) == len(ledger.acked), (where, len(after), len(ledger.acked))
            assert dict(after) == ledger.acked, where
    finally:
        await server.stop()
    # Every kill did land mid-stream: sends were in flight.
    assert ledger.interrupted >= ROUNDS, where
    print(
        f"{where}: {len(ledger.acked)} sends acknowledged over {ROUNDS} kills;"
        f" {ledger.interrupted} sends were cut off by a kill, {len(ledger.committed)} of them"
        " after they had committed"
    )
