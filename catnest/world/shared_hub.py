"""A hub shared by several Catnest processes on one PostgreSQL world (issue 5).

Why PostgreSQL and not Redis: the event must be durable exactly when the change is, so it is
written in the same transaction (no event without its change, no change without its event);
LISTEN/NOTIFY is only the doorbell, and a follower that missed a notification catches up from
the table on its next poll. Ids are drawn under the world's write lock, which every write
transaction holds until it commits (store/postgres.py), so they follow commit order: a follower
reading `event_id > last` never skips one that commits late.

Every process, the writer included, publishes events as it reads them back from the table, so
each one reaches local listeners once and in the same order everywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import get_args

import msgspec

from catnest.store import events as events_sql
from catnest.store.engine import Engine, Txn
from catnest.world import events as ev
from catnest.world.hub import Hub

log = logging.getLogger(__name__)

# Followers poll this often even without a notification (a lost NOTIFY, a reconnect).
POLL_SECONDS = 1.0
BATCH = 1000
# Events older than this are pruned: followers only ever need the last few seconds.
KEEP_SECONDS = 600
# How long stop() lets a follower round (a read, a prune) finish before cancelling it.
STOP_SECONDS = 5.0

# Every kind of world event, by name: what the log stores as `kind`.
_KINDS: dict[str, type[ev.WorldEvent]] = {cls.__name__: cls for cls in get_args(ev.WorldEvent)}


def encode_event(event: ev.WorldEvent) -> tuple[str, str]:
    """(kind, JSON body) of an event."""
    return type(event).__name__, msgspec.json.encode(event).decode()


def decode_event(kind: str, body: str) -> ev.WorldEvent:
    """The event stored as (kind, body)."""
    return msgspec.json.decode(body, type=_KINDS[kind])


async def announce_rewrite_txn(txn: Txn) -> None:
    """Tell every process following a PostgreSQL world's log that it was changed in bulk
    (a tool's load): their views derived from it are stale. SQLite needs no telling."""
    if txn.dialect == "postgres":
        kind, body = encode_event(ev.WorldRewritten())
        await events_sql.append_event_txn(txn, kind, body, int(time.time()))


class SharedHub(Hub):
    """Routes events through the store's event log and follows it."""

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self._engine = engine
        self._last = 0
        self._wake = asyncio.Event()
        self._catching_up = asyncio.Lock()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._unlisten: object = None

    def publish_after(self, txn: Txn, event: ev.WorldEvent) -> None:
        kind, body = encode_event(event)

        async def append(step_txn: Txn) -> None:
            await events_sql.append_event_txn(step_txn, kind, body, int(time.time()))

        txn.before_commit(append)
        # The writer's own events are published (through the log, in log order) before its
        # call returns, as they are in a single-process world.
        txn.after_commit_wait(self.catch_up)

    async def start(self) -> None:
        """Start following the log from its current end."""
        self._last = await self._engine.read(events_sql.latest_event_id_txn)
        self._unlisten = await self._engine.listen(events_sql.CHANNEL, self._wake.set)
        self._task = asyncio.create_task(self._follow())

    async def stop(self) -> None:
        """Stop following: let the follower finish its round, cancel it only if it hangs."""
        if callable(self._unlisten):
            self._unlisten()
        if self._task is not None:
            self._stopping = True
            self._wake.set()
            try:
                await asyncio.wait_for(asyncio.shield(self._task), STOP_SECONDS)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._task = None

    async def catch_up(self) -> None:
        """Publish every event committed since the last one published."""
        async with self._catching_up:  # one reader at a time: each event is published once
            await self._catch_up()

    async def _catch_up(self) -> None:
        while True:
            batch = await self._engine.read(
                lambda txn: events_sql.events_after_txn(txn, self._last, BATCH)
            )
            for event_id, kind, body in batch:
                self._last = event_id
                try:
                    event = decode_event(kind, body)
                except (KeyError, msgspec.DecodeError):
                    log.error("skipping event %d of unknown shape %r", event_id, kind)
                    continue
                self.publish(event)
            if len(batch) < BATCH:
                return

    async def _follow(self) -> None:
        pruned_at = 0.0
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)
            self._wake.clear()
            if self._stopping:
                return
            try:
                await self.catch_up()
                if time.monotonic() - pruned_at > 60:
                    pruned_at = time.monotonic()
                    await self._prune(int(time.time()) - KEEP_SECONDS)
            except Exception:
                log.exception("following shared events failed; retrying")

    async def _prune(self, cutoff: int) -> None:
        await self._engine.write(
            "prune_events", lambda txn: events_sql.prune_events_txn(txn, cutoff)
        )
