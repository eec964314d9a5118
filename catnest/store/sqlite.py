"""The SQLite engine: one writer task batching transactions, reads straight on the loop.

Writes queue to a single writer (Datasette's write-thread idea) so SQLite never reports
"database is locked"; the writer groups queued transactions into one commit, each inside its own
savepoint, so a failing transaction rolls back alone while the others share one fsync.

Reads run on the loop (short indexed queries cost less than a hop to a thread), each read
function inside one read transaction, so all its statements see one snapshot. A read function
that suspends part-way would leave its connection mid-transaction: the next read then takes
another connection from a small pool rather than share that one.

A SQLite file may also be written by another process (a `catnest world seed` run beside the
server, a hand-made fix): `PRAGMA data_version` on the writer's own connection changes only
for commits it did not make, so the engine watches it and tells the world, which then drops
what it derived.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from catnest.store.engine import Engine, Row, T, Txn, TxnFn
from catnest.store.migrate import check_compatible, load_migrations, split_statements
from catnest.store.writequeue import Job, WriteQueue, fail_all, settle

log = logging.getLogger(__name__)

# Transactions per group commit: bounds the latency one slow batch adds to the next writer.
_MAX_BATCH = 128
# How often the writer's connection is asked whether another process committed.
_FOREIGN_CHECK_SECONDS = 0.25


class SQLiteTxn:
    """A transaction handle on one sqlite3 connection (statements run synchronously)."""

    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self.callbacks: list[Callable[[], None]] = []
        self.steps: list[Callable[[Txn], Awaitable[None]]] = []
        self.waits: list[Callable[[], Awaitable[None]]] = []

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._conn.execute(sql, params).rowcount

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._conn.executemany(sql, rows)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row: Row | None = self._conn.execute(sql, params).fetchone()
        return row

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self._conn.execute(sql, params).fetchall()

    def after_commit(self, callback: Callable[[], None]) -> None:
        self.callbacks.append(callback)

    def before_commit(self, step: Callable[[Txn], Awaitable[None]]) -> None:
        self.steps.append(step)

    def after_commit_wait(self, step: Callable[[], Awaitable[None]]) -> None:
        self.waits.append(step)


def _data_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA data_version").fetchone()[0])


def _connect(path: str, *, synchronous: str) -> sqlite3.Connection:
    # isolation_level=None: we issue BEGIN/COMMIT ourselves; check_same_thread=False because a
    # durable commit's fsync runs on a helper thread while the loop goes on.
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


class SQLiteEngine(Engine):
    """SQLite file in WAL mode with foreign keys on and a busy timeout on every connection."""

    dialect = "sqlite"

    def __init__(self, path: Path, *, durability: str = "normal") -> None:
        self.path = path
        self.location = str(path.resolve())
        # WAL + NORMAL survives a process crash (the OS holds the written WAL); FULL adds an
        # fsync per commit so power loss cannot take an acknowledged write either.
        self._synchronous = "FULL" if durability == "full" else "NORMAL"
        self._writer_conn: sqlite3.Connection | None = None
        # Read connections not in use; one is enough unless a read function suspends.
        self._readers: list[sqlite3.Connection] = []
        self._all_readers: list[sqlite3.Connection] = []
        self._jobs = WriteQueue(_MAX_BATCH)
        self._writer_task: asyncio.Task[None] | None = None
        self._watch_task: asyncio.Task[None] | None = None
        self._fsync_thread: ThreadPoolExecutor | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._committing = False
        self._foreign_callbacks: list[Callable[[], None]] = []
        self._data_version = 0

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer_conn = _connect(str(self.path), synchronous=self._synchronous)
        self._migrate(self._writer_conn)
        self._data_version = _data_version(self._writer_conn)
        self._readers.append(self._new_reader())
        if self._synchronous == "FULL":
            self._fsync_thread = ThreadPoolExecutor(1, thread_name_prefix="catnest-commit")
        # Kept: asyncio.get_running_loop() costs a getpid() system call each time.
        self._loop = asyncio.get_running_loop()
        self._writer_task = self._loop.create_task(self._write_loop())
        self._watch_task = self._loop.create_task(self._watch_foreign_writes())

    def _new_reader(self) -> sqlite3.Connection:
        conn = _connect(str(self.path), synchronous=self._synchronous)
        self._all_readers.append(conn)
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        migrations = load_migrations("sqlite")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)"
        )
        applied = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
        current = int(applied.fetchone()[0])
        check_compatible(current, len(migrations), self.location)
        for migration in migrations[current:]:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in split_statements(migration.sql):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, int(time.time())),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            log.info("applied migration %04d_%s", migration.version, migration.name)

    async def close(self) -> None:
        if self._watch_task is not None:
            self._watch_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch_task
            self._watch_task = None
        if self._writer_task is not None:
            await self._jobs.stop()
            await self._writer_task
            self._writer_task = None
        if self._fsync_thread is not None:
            self._fsync_thread.shutdown(wait=True)
        for conn in (self._writer_conn, *self._all_readers):
            if conn is not None:
                conn.close()
        self._writer_conn = None
        self._readers.clear()
        self._all_readers.clear()

    async def read(self, fn: TxnFn[T]) -> T:
        if self._writer_conn is None:
            raise RuntimeError("engine not started")
        conn = self._readers.pop() if self._readers else self._new_reader()
        conn.execute("BEGIN")
        try:
            return await fn(SQLiteTxn(conn))
        finally:
            conn.execute("COMMIT")  # a read transaction: ends the snapshot, writes nothing
            self._readers.append(conn)

    def watch_foreign_writes(self, callback: Callable[[], None]) -> None:
        self._foreign_callbacks.append(callback)

    async def _watch_foreign_writes(self) -> None:
        while True:
            await asyncio.sleep(_FOREIGN_CHECK_SECONDS)
            # Not while a commit runs on a helper thread: the connection is busy there.
            if self._committing or self._writer_conn is None:
                continue
            version = _data_version(self._writer_conn)
            if version != self._data_version:
                self._data_version = version
                log.info("another process wrote to %s; derived answers are dropped", self.path)
                for callback in self._foreign_callbacks:
                    try:
                        callback()
                    except Exception:
                        log.exception("a foreign-write callback failed")

    async def write(self, desc: str, fn: TxnFn[T]) -> T:
        if self._writer_task is None or self._loop is None:
            raise RuntimeError("engine not started")
        return await self._jobs.submit(self._loop, desc, fn)

    async def _write_loop(self) -> None:
        while (batch := await self._jobs.next_batch()) is not None:
            await self._run_batch(batch)

    async def _run_batch(self, batch: list[Job]) -> None:
        conn = self._writer_conn
        assert conn is not None
        self._committing = True
        try:
            await self._commit_batch(conn, batch)
        finally:
            self._committing = False

    async def _commit_batch(self, conn: sqlite3.Connection, batch: list[Job]) -> None:
        conn.execute("BEGIN IMMEDIATE")
        for job in batch:
            txn = SQLiteTxn(conn)
            conn.execute("SAVEPOINT job")
            try:
                job.result = await job.fn(txn)
                for step in txn.steps:
                    await step(txn)
                job.callbacks = txn.callbacks
                job.waits = txn.waits
                conn.execute("RELEASE job")
            except BaseException as exc:
                conn.execute("ROLLBACK TO job")
                conn.execute("RELEASE job")
                job.error = exc
        try:
            if self._fsync_thread is not None:
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(self._fsync_thread, conn.execute, "COMMIT")
            else:
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            log.error("commit of %d transactions failed: %s", len(batch), exc)
            fail_all(batch, exc)
            return
        await settle(batch)
