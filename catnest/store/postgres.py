"""The PostgreSQL engine: an asyncpg pool; writes serialised world-wide and group-committed.

The SQL is the SQLite SQL: `?` placeholders become `$1..$n` once per statement text (cached),
and asyncpg prepares and caches each statement per connection.

Writes. The shared transaction functions read, decide, then write with no row locks of their
own (`Chat._store_txn` reads `conversations.last_seq` and inserts `last_seq + 1`), which is
race-free under SQLite's single writer. Here every write transaction first updates the one row
of `world_write_lock` (migration 0006): the row lock makes the writes of every process on the
world run one at a time, and, at READ COMMITTED, each statement after it sees every write that
committed before the lock was granted. So nothing is lost, nothing is retried, and the order in
which writes commit is the order they held the lock: the shared event log (store/events.py)
relies on that. An earlier version ran SERIALIZABLE transactions and retried conflicts: with four
processes sending into one conversation, some sends used up 16 attempts and failed, and the
conflicts came late anyway, at the event log's lock.

Within a process, one writer task takes queued write functions in batches (like the SQLite
engine), runs each inside a savepoint of one transaction and commits once: the lock is taken
and the WAL flushed once per batch, not per message. A function that fails rolls back alone.
Serialization failures and deadlocks can still come from outside Catnest (a tool writing to the
tables directly, an administrator's session holding a lock); the whole batch is then re-run on
a fresh transaction with jittered backoff, up to `max_attempts` times. Callbacks registered by a
failed attempt are dropped; those of the attempt that committed run once, after the commit.
`before_commit` steps run inside the savepoint after the function, so a re-run repeats them.

Reads see one snapshot: a REPEATABLE READ READ ONLY transaction for functions that run several
statements. A single statement is its own snapshot, so functions that run one
(`get_recent_contact`'s query, most lookups) skip BEGIN and COMMIT: two round trips, more than
half the cost of such a read. The engine cannot know beforehand, so a read function starts
without a transaction; at its second statement it is stopped and run again in a snapshot
transaction, and its code object is remembered so later calls start there directly. Read
functions must therefore be re-runnable, as write functions already are.

Durability: every commit waits for PostgreSQL's WAL flush (the server's default
`synchronous_commit = on`), which already survives power loss; `durability` has no further
effect here.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import asyncpg  # type: ignore[import-untyped]

from catnest.store.engine import Engine, Row, T, Txn, TxnFn
from catnest.store.migrate import check_compatible, load_migrations, split_statements
from catnest.store.writequeue import Job, WriteQueue, fail_all, settle

log = logging.getLogger(__name__)

URL_SCHEMES = ("postgresql://", "postgres://")

# SQLSTATEs a re-run on a fresh transaction can clear: serialization_failure and
# deadlock_detected. A unique violation is a real error: writers never race each other.
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
MAX_ATTEMPTS = 16
# Write functions per transaction: bounds how long one batch holds the world's write lock, and
# stays under PostgreSQL's 64 cached subtransactions per backend (each savepoint that writes is
# one; past 64, every snapshot taken while the batch runs gets slower).
MAX_BATCH = 32
# Backoff before attempt n+1 is uniform in [0, min(CAP, BASE * 2**n)): full jitter, so writers
# that collided once spread out instead of colliding again in lockstep.
_BACKOFF_BASE = 0.002
_BACKOFF_CAP = 0.1

DEFAULT_POOL_SIZE = 10
# asyncpg prepares every statement once per connection and keeps this many (LRU). The store has
# over a hundred distinct statements, more with IN lists of varying length; asyncpg's default of
# 100 would keep re-preparing them (one more round trip each time).
DEFAULT_STATEMENT_CACHE_SIZE = 512
# Our statements are short indexed lookups; JIT compilation of one costs tens of milliseconds.
# A process stopped (SIGSTOP, a debugger) inside a write transaction would hold every process's
# writes behind the world's write lock: PostgreSQL ends such a session after a minute idle.
_SERVER_SETTINGS = {
    "jit": "off",
    "application_name": "catnest",
    "idle_in_transaction_session_timeout": "60s",
}
# Every write transaction starts here (see the module docstring). An upsert rather than an
# UPDATE: with the row gone (a hand-emptied schema), an UPDATE would lock nothing.
_TAKE_WRITE_LOCK = (
    "INSERT INTO world_write_lock (id, version) VALUES (1, 1)"
    " ON CONFLICT (id) DO UPDATE SET version = world_write_lock.version + 1 RETURNING version"
)

# One advisory-lock class for migrations; the second key is the schema, so worlds in different
# schemas of one database migrate independently.
_MIGRATION_LOCK_CLASS = 0x0CA7


@functools.lru_cache(maxsize=4096)
def to_postgres_params(sql: str) -> str:
    """`sql` with each `?` placeholder turned into `$1`, `$2`, ... in order.

    A `?` inside a string literal, a quoted identifier or a comment is left alone (dollar
    quoting is not recognised: the shared SQL never uses it).
    """
    out: list[str] = []
    n = 0
    i, end = 0, len(sql)
    while i < end:
        ch = sql[i]
        if ch == "?":
            n += 1
            out.append(f"${n}")
            i += 1
            continue
        if ch in "'\"":
            close = sql.find(ch, i + 1)
            # A doubled quote inside a literal is an escaped quote: keep scanning past it.
            while close != -1 and close + 1 < end and sql[close + 1] == ch:
                close = sql.find(ch, close + 2)
            stop = end if close == -1 else close + 1
        elif sql.startswith("--", i):
            newline = sql.find("\n", i)
            stop = end if newline == -1 else newline
        elif sql.startswith("/*", i):
            close = sql.find("*/", i + 2)
            stop = end if close == -1 else close + 2
        else:
            stop = i + 1
            while stop < end and sql[stop] not in "?'\"-/":
                stop += 1
        out.append(sql[i:stop])
        i = stop
    return "".join(out)


def rowcount(status: str) -> int:
    """The row count of a command status such as `UPDATE 3` or `INSERT 0 1` (0 if none)."""
    last = status.rpartition(" ")[2]
    return int(last) if last.isdigit() else 0


def redact(url: str) -> str:
    """`url` without its password, for logs and banners."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    netloc = f"{parts.username}:***@{host}" if parts.username else host
    return urlunsplit(parts._replace(netloc=netloc))


class PostgresTxn:
    """A transaction handle on one pooled asyncpg connection."""

    dialect = "postgres"

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self.callbacks: list[Callable[[], None]] = []
        self.steps: list[Callable[[Txn], Awaitable[None]]] = []
        self.waits: list[Callable[[], Awaitable[None]]] = []

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        status: str = await self._conn.execute(to_postgres_params(sql), *params)
        return rowcount(status)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            await self._conn.executemany(to_postgres_params(sql), rows)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        record = await self._conn.fetchrow(to_postgres_params(sql), *params)
        return None if record is None else tuple(record)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        records = await self._conn.fetch(to_postgres_params(sql), *params)
        return [tuple(r) for r in records]

    def after_commit(self, callback: Callable[[], None]) -> None:
        self.callbacks.append(callback)

    def before_commit(self, step: Callable[[Txn], Awaitable[None]]) -> None:
        self.steps.append(step)

    def after_commit_wait(self, step: Callable[[], Awaitable[None]]) -> None:
        self.waits.append(step)


class _NeedsSnapshot(BaseException):
    """A read function went past one statement: run it again inside a snapshot transaction.

    A BaseException so that no `except Exception` in a read function swallows it.
    """


class _OneStatementTxn(PostgresTxn):
    """A read handle outside any transaction that allows one query, and no writes."""

    def __init__(self, conn: Any) -> None:
        super().__init__(conn)
        self._used = False

    def _one(self) -> None:
        if self._used:
            raise _NeedsSnapshot
        self._used = True

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        raise _NeedsSnapshot  # in the READ ONLY transaction, a write fails as it should

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        raise _NeedsSnapshot

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        self._one()
        return await super().fetchone(sql, params)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        self._one()
        return await super().fetchall(sql, params)


async def _keep_session(conn: Any) -> None:
    """Pool reset that sends nothing (DESIGN.md §4: asyncpg's reset query costs a round trip
    per release). Nothing here leaves session state behind: every statement runs inside a
    transaction that is committed or rolled back before release (asyncpg rolls back a leftover
    one itself), the migration lock is transaction-scoped, and we never LISTEN, SET or open
    cursors on pooled connections."""


class _RolledBack(Exception):
    """The lone write of a batch failed: roll its transaction back (its error is kept)."""


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, asyncpg.PostgresError) and exc.sqlstate in RETRYABLE_SQLSTATES


class PostgresEngine(Engine):
    """A world in a PostgreSQL database (or one schema of it: `?search_path=` in the URL)."""

    dialect = "postgres"

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = DEFAULT_POOL_SIZE,
        statement_cache_size: int = DEFAULT_STATEMENT_CACHE_SIZE,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.url = url
        self.location = redact(url)
        self.pool_size = pool_size
        self.statement_cache_size = statement_cache_size
        self.max_attempts = max_attempts
        self.retries = 0  # batches that failed and were re-run, for tests and benchmarks
        self.batches = 0  # write transactions committed, for tests and benchmarks
        self._pool: Any = None
        self._listeners: set[Any] = set()
        self._jobs = WriteQueue(MAX_BATCH)
        self._writer_task: asyncio.Task[None] | None = None
        # Code objects of read functions seen to run more than one statement (a bounded set).
        self._multi_statement_reads: set[object] = set()

    async def start(self) -> None:
        settings = self._settings()
        self._pool = await asyncpg.create_pool(
            self.url,
            min_size=min(2, self.pool_size),
            max_size=self.pool_size,
            statement_cache_size=self.statement_cache_size,
            server_settings=settings,
            reset=_keep_session,
        )
        try:
            await self._migrate()
        except BaseException:
            await self._pool.close()
            self._pool = None
            raise
        self._writer_task = asyncio.get_running_loop().create_task(self._write_loop())

    def _settings(self) -> dict[str, str]:
        # URL query parameters are server settings (asyncpg's rule); they win over our defaults.
        given = {k for k, _ in parse_qsl(urlsplit(self.url).query)}
        return {k: v for k, v in _SERVER_SETTINGS.items() if k not in given}

    async def _migrate(self) -> None:
        migrations = load_migrations("postgres")
        async with self._pool.acquire() as conn, conn.transaction():
            # Two processes starting at once: the second waits here, then finds nothing to do.
            await conn.execute(
                "SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))",
                _MIGRATION_LOCK_CLASS,
            )
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)"
            )
            current = int(
                await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
            )
            check_compatible(current, len(migrations), self.location)
            # PostgreSQL DDL is transactional: every pending migration commits together or not.
            for migration in migrations[current:]:
                for statement in split_statements(migration.sql):
                    await conn.execute(statement)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                    migration.version,
                    migration.name,
                    int(time.time()),
                )
                log.info("applied migration %04d_%s", migration.version, migration.name)

    async def listen(self, channel: str, callback: Callable[[], None]) -> Callable[[], None] | None:
        # A connection of its own: a pooled one would be handed to other work between queries.
        conn = await asyncpg.connect(self.url, server_settings=self._settings())
        await conn.add_listener(channel, lambda *_: callback())
        self._listeners.add(conn)

        def stop() -> None:
            if conn in self._listeners:
                self._listeners.discard(conn)
                conn.terminate()

        return stop

    async def close(self) -> None:
        for conn in list(self._listeners):
            conn.terminate()
        self._listeners.clear()
        if self._writer_task is not None:
            await self._jobs.stop()  # queued writes run first: callers were promised them
            await self._writer_task
            self._writer_task = None
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    async def read(self, fn: TxnFn[T]) -> T:
        if self._pool is None:
            raise RuntimeError("engine not started")
        code = getattr(fn, "__code__", None)
        async with self._pool.acquire() as conn:
            if code is not None and code not in self._multi_statement_reads:
                try:
                    return await fn(_OneStatementTxn(conn))
                except _NeedsSnapshot:
                    self._multi_statement_reads.add(code)
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                return await fn(PostgresTxn(conn))

    async def write(self, desc: str, fn: TxnFn[T]) -> T:
        if self._writer_task is None:
            raise RuntimeError("engine not started")
        # A caller that stops waiting does not stop the write: once queued it runs to its end,
        # callbacks included, so a cancelled request never leaves a commit without its events.
        return await self._jobs.submit(asyncio.get_running_loop(), desc, fn)

    async def _write_loop(self) -> None:
        while (batch := await self._jobs.next_batch()) is not None:
            try:
                await self._run_batch(batch)
            except Exception as exc:  # the batch could not commit: every caller hears why
                fail_all(batch, exc)

    async def _run_batch(self, batch: list[Job]) -> None:
        attempt = 1
        while True:
            try:
                await self._attempt(batch)
                break
            except Exception as exc:
                if not _retryable(exc) or attempt >= self.max_attempts:
                    raise
                self.retries += 1
                delay = random.uniform(0, min(_BACKOFF_CAP, _BACKOFF_BASE * 2**attempt))
                log.debug(
                    "batch of %d writes (%s, ...): attempt %d hit %s; retrying in %.1f ms",
                    len(batch),
                    batch[0].desc,
                    attempt,
                    getattr(exc, "sqlstate", "?"),
                    delay * 1000,
                )
                attempt += 1
                await asyncio.sleep(delay)
        self.batches += 1
        await settle(batch)

    async def _attempt(self, batch: list[Job]) -> None:
        """Run every job of `batch` in one transaction and commit it; raise only to re-run."""
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                await conn.fetchval(_TAKE_WRITE_LOCK)
                # A lone job needs no savepoint: if it fails, the transaction rolls back.
                alone = len(batch) == 1
                for job in batch:
                    await self._run_job(conn, job, savepoint=not alone)
                    if alone and job.error is not None:
                        raise _RolledBack
        except _RolledBack:
            pass

    async def _run_job(self, conn: Any, job: Job, *, savepoint: bool) -> None:
        # A fresh handle per attempt: callbacks of a failed attempt are dropped.
        txn = PostgresTxn(conn)
        job.result, job.error, job.callbacks, job.waits = None, None, [], []
        if savepoint:
            await conn.execute("SAVEPOINT job")
        try:
            job.result = await job.fn(txn)
            for step in txn.steps:
                await step(txn)
        except Exception as exc:
            if _retryable(exc):
                raise  # the whole batch is re-run
            job.error = exc
            if savepoint:
                await conn.execute("ROLLBACK TO SAVEPOINT job")
            return
        # No RELEASE (a round trip): the savepoint just stays until the commit, and the next
        # job's `ROLLBACK TO SAVEPOINT job` goes back to that job's own, the newest of the name.
        job.callbacks, job.waits = txn.callbacks, txn.waits
