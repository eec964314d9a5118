"""Real OneBot client libraries, each run as a subprocess bot against a real Catnest.

The bot scripts live beside this file and are started with the interpreter running pytest.
Their stdout and stderr go to a log file in the test's tmp_path (no pipes to drain), which
every failure message quotes. Each bot prints `READY` once its library has registered bot
10001; replies are awaited on the world's hub, never by sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from catnest.store.records import StoredMessage
from catnest.world.events import MessageCreated, WorldEvent
from catnest.world.hub import Hub
from tests.conftest import ALICE, BOT, Running, content

HERE = Path(__file__).resolve().parent
WAIT = 20.0  # the longest any single wait may take
READY = "CATNEST-CLIENT connected"


def free_port() -> int:
    """A loopback port free right now (for configs that must be known before start)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class BotProcess:
    """A client-library bot running in a subprocess, with its output in `log`."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def fail(self, what: str) -> AssertionError:
        code = self.proc.poll()
        state = "running" if code is None else f"exited with {code}"
        return AssertionError(f"{self.name}: {what} ({state}); its output:\n{self.output()}")

    async def _until(self, what: str, check: Callable[[], Any]) -> None:
        deadline = time.monotonic() + WAIT
        while True:
            if await check():
                return
            if self.proc.poll() is not None:
                raise self.fail(what)
            if time.monotonic() > deadline:
                raise self.fail(f"timed out after {WAIT:.0f} s waiting for {what}")
            await asyncio.sleep(0.05)

    async def wait_output(self, marker: str) -> None:
        """Until `marker` appears in the bot's output."""

        async def check() -> bool:
            return marker in self.output()

        await self._until(repr(marker), check)

    async def wait_ready(self) -> None:
        """Until the library says it has registered the bot (the plugin prints READY)."""
        await self.wait_output(f"{READY} {BOT}")

    async def wait_listening(self, port: int) -> None:
        """Until the bot's server accepts TCP connections on `port`."""

        async def check() -> bool:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                return False
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            return True

        await self._until(f"port {port} to listen", check)

    def stop(self) -> None:
        """Terminate (kill after 5 s) and reap the process."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc.wait()


Spawn = Callable[[str, dict[str, Any]], BotProcess]


@pytest.fixture(autouse=True)
def catnest_stays_quiet(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """A real client must not make Catnest warn (failed quick operation, refused webhook,
    bad frame...): every such line is a compatibility bug."""
    caplog.set_level(logging.INFO, logger="catnest")
    yield
    loud = [
        f"{r.name}: {r.getMessage()}"
        for r in caplog.get_records("call")
        if r.name.startswith("catnest") and r.levelno >= logging.WARNING
    ]
    assert not loud, loud


@pytest.fixture
def spawn_bot(tmp_path: Path) -> Iterator[Spawn]:
    """Start `script` (a file beside this one) with `config` as JSON in its environment.

    The variable is CATNEST_<STEM>_CONFIG minus a `_bot` suffix, e.g. CATNEST_NONEBOT_CONFIG
    for nonebot_bot.py. Every process started is stopped when the test ends.
    """
    bots: list[BotProcess] = []

    def spawn(script: str, config: dict[str, Any]) -> BotProcess:
        stem = Path(script).stem.removesuffix("_bot").upper()
        log = tmp_path / f"{Path(script).stem}-{len(bots)}.log"
        env = {
            **os.environ,
            f"CATNEST_{stem}_CONFIG": json.dumps(config),
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        env.pop("PYTHONWARNINGS", None)
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, str(HERE / script)],
                cwd=tmp_path,  # NoneBot reads .env files from its working directory
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        bot = BotProcess(script, proc, log)
        bots.append(bot)
        return bot

    yield spawn
    for bot in bots:
        bot.stop()


@dataclass
class MessageWatch:
    """Messages stored in the world from now on, in commit order."""

    hub: Hub
    queue: asyncio.Queue[StoredMessage] = field(default_factory=asyncio.Queue)

    def __post_init__(self) -> None:
        self._unsubscribe = self.hub.subscribe(None, self._on_event)

    def _on_event(self, event: WorldEvent) -> None:
        if isinstance(event, MessageCreated):
            self.queue.put_nowait(event.message)

    def close(self) -> None:
        self._unsubscribe()

    async def next(
        self, bot: BotProcess, pred: Callable[[StoredMessage], bool], what: str
    ) -> StoredMessage:
        deadline = time.monotonic() + WAIT
        while True:
            try:
                message = await asyncio.wait_for(
                    self.queue.get(), max(0.0, deadline - time.monotonic())
                )
            except TimeoutError:
                raise bot.fail(f"timed out after {WAIT:.0f} s waiting for {what}") from None
            if pred(message):
                return message


@contextlib.contextmanager
def watch_messages(running: Running) -> Iterator[MessageWatch]:
    watch = MessageWatch(running.app.world.hub)
    try:
        yield watch
    finally:
        watch.close()


async def expected_summary(running: Running, peer: int, count: int) -> str:
    """What the bot's reply says about `get_recent_contact(count)` (peerUin is a string)."""
    recent = await running.app.world.conversations.recent_contacts(BOT, count)
    return f"recent={len(recent)} first={str(peer)!r}"


async def ask_and_check(
    running: Running,
    bot: BotProcess,
    text: str,
    expect: str,
    *,
    group: int | None = None,
    count: int = 10,
) -> StoredMessage:
    """Alice says `text` (to the bot, or in `group`); the bot must answer
    `<expect> recent=<n> first='<peer>'` in the same conversation, and that answer must be
    the latest message of Alice's most recent contact."""
    with watch_messages(running) as watch:
        if group is None:
            asked = await running.app.world.messages.send_private(ALICE, BOT, content(text))
        else:
            asked = await running.app.world.messages.send_group(ALICE, group, content(text))
        reply = await watch.next(
            bot,
            lambda m: m.sender_uin == BOT and m.conv_id == asked.conv_id,
            f"the bot's answer to {text!r}",
        )
    peer = BOT if group is None else group
    summary = await expected_summary(running, ALICE if group is None else group, count)
    assert reply.raw_message == f"{expect} {summary}", bot.output()
    assert reply.group_id == group
    recent = await running.app.world.conversations.recent_contacts(ALICE, 10)
    assert recent[0].peer_uin == peer
    assert recent[0].last.message_id == reply.message_id
    assert recent[0].last.raw_message == reply.raw_message
    return reply
