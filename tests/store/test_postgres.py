"""The PostgreSQL engine: paramstyle, transactions, retries, migrations and id allocation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from importlib import resources
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from catnest.app import open_engine
from catnest.config import ConfigError, parse_config
from catnest.onebot.content import Content
from catnest.store import conversations as conv_sql
from catnest.store.engine import Row, StoreTooNew, Txn
from catnest.store.migrate import load_migrations
from catnest.store.postgres import PostgresEngine, redact, rowcount, to_postgres_params
from catnest.store.sqlite import SQLiteEngine
from catnest.world.hub import Hub
from catnest.world.world import World
from tests.conftest import PostgresSchemas
from tests.waiting import wait_until

BOT, ALICE, BOB, GROUP = 10001, 20001, 20002, 30001


def _text(text: str) -> Content:
    return Content([{"type": "text", "data": {"text": text}}], text)


# --- pure helpers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT 1", "SELECT 1"),
        ("SELECT ? + ?", "SELECT $1 + $2"),
        ("UPDATE t SET a = ? WHERE b = ? AND c < ?", "UPDATE t SET a = $1 WHERE b = $2 AND c < $3"),
        ("SELECT '?' , ?", "SELECT '?' , $1"),
        ("SELECT 'it''s ?', ?", "SELECT 'it''s ?', $1"),
        ('SELECT "odd?col" FROM t WHERE x = ?', 'SELECT "odd?col" FROM t WHERE x = $1'),
        ("SELECT ? -- what?\n, ?", "SELECT $1 -- what?\n, $2"),
        ("SELECT ? /* a ? b */ , ?", "SELECT $1 /* a ? b */ , $2"),
        ("SELECT a - ?, b / ?", "SELECT a - $1, b / $2"),
        ("SELECT '?", "SELECT '?"),  # an unterminated literal swallows the rest
    ],
)
def test_placeholders_become_numbered(sql: str, expected: str) -> None:
    assert to_postgres_params(sql) == expected


def test_conversion_is_cached() -> None:
    sql = "SELECT ? FROM cached_conversion_test"
    before = to_postgres_params.cache_info().hits
    first = to_postgres_params(sql)
    assert to_postgres_params(sql) is first
    assert to_postgres_params.cache_info().hits == before + 1


@pytest.mark.parametrize(
    ("status", "count"),
    [("UPDATE 3", 3), ("INSERT 0 1", 1), ("DELETE 0", 0), ("CREATE TABLE", 0), ("SELECT 12", 12)],
)
def test_rowcount_from_status(status: str, count: int) -> None:
    assert rowcount(status) == count


def test_redact_hides_the_password() -> None:
    assert redact("postgresql://u:secret@h:5432/db?x=1") == "postgresql://u:***@h:5432/db?x=1"
    assert redact("postgresql://u@h/db") == "postgresql://u@h/db"


def test_store_url_selects_the_engine(tmp_path: Path) -> None:
    for url in ("postgresql://u:pw@127.0.0.1:5432/db", "postgres://u@127.0.0.1/db"):
        engine = open_engine(parse_config({"store": {"url": url, "pool_size": 3}}))
        assert isinstance(engine, PostgresEngine)
        assert engine.pool_size == 3
        assert "pw" not in engine.location
    default = open_engine(parse_config({"data_dir": str(tmp_path)}))
    assert isinstance(default, SQLiteEngine)
    with pytest.raises(ConfigError, match=r"store\.url.*postgresql://"):
        open_engine(parse_config({"store": {"url": "mysql://x"}}))


def test_postgres_variant_of_0001_is_the_shared_file_plus_sequences() -> None:
    folder = resources.files("catnest.store") / "migrations"
    shared = (folder / "0001_world.sql").read_text(encoding="utf-8")
    variant = (folder / "0001_world.postgres.sql").read_text(encoding="utf-8")
    assert variant.startswith(shared)
    extra = [s.strip() for s in variant[len(shared) :].split(";") if "CREATE" in s]
    assert [s.splitlines()[-1] for s in extra] == [
        "CREATE SEQUENCE message_ids",
        "CREATE SEQUENCE conversation_ids",
    ]


# --- against a live PostgreSQL ---------------------------------------------------------------


@pytest.fixture
async def url(postgres: PostgresSchemas) -> str:
    """A store URL on a fresh, empty schema."""
    return await postgres.new_url()


@pytest.fixture
async def engines(url: str) -> AsyncIterator[Callable[..., Any]]:
    """Start engines on the test schema; all are closed at the end."""
    opened: list[PostgresEngine] = []

    async def make(**kwargs: Any) -> PostgresEngine:
        engine = PostgresEngine(url, **kwargs)
        opened.append(engine)
        await engine.start()
        return engine

    yield make
    for engine in opened:
        await engine.close()


async def _world(engine: PostgresEngine) -> World:
    world = World(engine, Hub(), clock=lambda: 1_700_000_000)
    await world.accounts.create_account(BOT, "Bot", is_bot=True)
    await world.accounts.create_account(ALICE, "Alice")
    await world.accounts.create_account(BOB, "Bob")
    await world.groups.create_group(GROUP, "Lab", ALICE, [(BOT, "member", ""), (BOB, "member", "")])
    return world


async def test_txn_returns_rowcounts_tuples_and_python_types(engines: Any) -> None:
    engine = await engines()
    world = await _world(engine)
    await world.messages.send_group(ALICE, GROUP, _text("hi"))

    async def fn(txn: Txn) -> tuple[int, Row | None, list[Row]]:
        changed = await txn.execute(
            "UPDATE accounts SET sign = ? WHERE uin IN (?, ?)", ("s", ALICE, BOB)
        )
        one = await txn.fetchone("SELECT uin, nickname, is_bot FROM accounts WHERE uin = ?", (BOB,))
        rows = await txn.fetchall("SELECT uin FROM accounts WHERE uin > ? ORDER BY uin", (0,))
        return changed, one, rows

    changed, one, rows = await engine.write("test", fn)
    assert changed == 2
    assert one == (BOB, "Bob", 0)
    assert all(type(v) is int for row in rows for v in row)
    assert rows == [(BOT,), (ALICE,), (BOB,)]
    assert await engine.read(lambda txn: txn.fetchone("SELECT 1 WHERE 1 = 0")) is None


async def test_a_read_sees_one_snapshot(engines: Any) -> None:
    engine = await engines()
    isolation = "SELECT current_setting('transaction_isolation')"
    # One statement is its own snapshot: no BEGIN / COMMIT round trips.
    one = await engine.read(lambda txn: txn.fetchone(isolation))
    assert one == ("read committed",)
    runs: list[int] = []

    async def two(txn: Txn) -> list[Row | None]:
        runs.append(1)
        return [await txn.fetchone(isolation), await txn.fetchone(isolation)]

    # A second statement reruns the function in a snapshot transaction...
    assert await engine.read(two) == [("repeatable read",)] * 2
    assert len(runs) == 2
    # ...and the function starts there from then on.
    assert await engine.read(two) == [("repeatable read",)] * 2
    assert len(runs) == 3


async def test_reads_are_read_only(engines: Any) -> None:
    engine = await engines()
    with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
        await engine.read(lambda txn: txn.execute("DELETE FROM accounts"))


async def test_after_commit_never_runs_for_a_rolled_back_write(engines: Any) -> None:
    engine = await engines()
    ran: list[str] = []

    async def fails(txn: Txn) -> None:
        await txn.execute(
            "INSERT INTO accounts (uin, nickname, created_at) VALUES (?, ?, ?)", (ALICE, "Alice", 0)
        )
        txn.after_commit(lambda: ran.append("failed"))
        raise ValueError("business rule")

    with pytest.raises(ValueError, match="business rule"):
        await engine.write("fails", fails)
    assert ran == []
    assert await engine.read(lambda txn: txn.fetchall("SELECT uin FROM accounts")) == []

    async def works(txn: Txn) -> None:
        txn.after_commit(lambda: ran.append("first"))
        txn.after_commit(lambda: ran.append("second"))

    await engine.write("works", works)
    assert ran == ["first", "second"]


async def _wait_for_lock_waiter(url: str) -> None:
    """Return once some session waits for a lock on the world's write-lock row."""
    conn = await asyncpg.connect(url)
    try:
        await wait_until(
            lambda: conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND query LIKE '%world_write_lock%'"
            ),
            what="the second writer waiting for the write lock",
        )
    finally:
        await conn.close()


async def test_two_processes_sending_into_one_conversation_wait_instead_of_failing(
    engines: Any, url: str
) -> None:
    # Two pools stand for two processes. The first send stops inside its transaction after
    # reading the group's last_seq; the second must wait for it (not read the same last_seq,
    # not fail, not retry), then continue from what the first committed.
    first, second = await engines(), await engines()
    await _world(first)
    worlds = [World(e, Hub(), clock=lambda: 1_700_000_000) for e in (first, second)]
    inside, release = asyncio.Event(), asyncio.Event()
    published: list[int] = []

    async def held(txn: Txn) -> Any:
        sent = await worlds[0].messages.send_group_txn(
            txn, ALICE, GROUP, _text("from A"), 1_700_000_000
        )
        txn.after_commit(lambda: published.append(ALICE))
        inside.set()
        await release.wait()
        return sent

    async def plain(txn: Txn) -> Any:
        txn.after_commit(lambda: published.append(BOB))
        return await worlds[1].messages.send_group_txn(
            txn, BOB, GROUP, _text("from B"), 1_700_000_000
        )

    a_task = asyncio.ensure_future(first.write("send_group", held))
    await asyncio.wait_for(inside.wait(), 10)
    b_task = asyncio.ensure_future(second.write("send_group", plain))
    await _wait_for_lock_waiter(url)
    assert not b_task.done()
    release.set()
    a, b = await asyncio.wait_for(asyncio.gather(a_task, b_task), 10)
    assert (a.seq, b.seq) == (1, 2)
    assert a.message_id != b.message_id
    assert first.retries == second.retries == 0
    assert published == [ALICE, BOB]
    conv = await worlds[0].conversations.group_conv(BOT, GROUP)
    assert conv.last_seq == 2 and conv.last_msg_id == b.message_id


async def test_a_bulk_load_and_another_process_sending_never_share_ids(
    engines: Any, url: str
) -> None:
    # The bulk loader draws one id from the sequence and uses the ids after it, moving the
    # sequence past them at the end: another process's send must not draw one of them meanwhile.
    from catnest.store.bulk import BulkMessage, bulk_messages_txn

    loader, sender = await engines(), await engines()
    await _world(loader)
    conv = await World(loader, Hub()).conversations.group_conv(BOT, GROUP)
    inside, release = asyncio.Event(), asyncio.Event()
    rows = [BulkMessage(conv.conv_id, ALICE, 1_700_000_000, "[]", f"bulk {i}") for i in range(50)]

    async def load(txn: Txn) -> Any:
        summary = await bulk_messages_txn(txn, rows)
        inside.set()
        await release.wait()
        return summary

    bulk = asyncio.ensure_future(loader.write("bulk", load))
    await asyncio.wait_for(inside.wait(), 10)
    world = World(sender, Hub(), clock=lambda: 1_700_000_001)
    send = asyncio.ensure_future(world.messages.send_group(BOB, GROUP, _text("meanwhile")))
    await _wait_for_lock_waiter(url)
    release.set()
    await asyncio.wait_for(bulk, 10)
    sent = await asyncio.wait_for(send, 10)
    ids = await loader.read(
        lambda txn: txn.fetchall("SELECT message_id, seq FROM messages ORDER BY message_id")
    )
    assert len(ids) == 51 and len({i for i, _ in ids}) == 51
    assert (sent.message_id, sent.seq) == (ids[-1][0], 51)


async def test_many_concurrent_senders_get_dense_distinct_seqs(engines: Any) -> None:
    first, second = await engines(pool_size=4), await engines(pool_size=4)
    await _world(first)
    worlds = [World(e, Hub(), clock=lambda: 1_700_000_000) for e in (first, second)]
    sends = [
        worlds[i % 2].messages.send_group((ALICE, BOB)[i % 2], GROUP, _text(f"m{i}"))
        for i in range(24)
    ]
    sent = await asyncio.gather(*sends)
    assert sorted(m.seq for m in sent) == list(range(1, 25))
    assert len({m.message_id for m in sent}) == 24
    history = await worlds[1].conversations.history(
        BOT, await worlds[1].conversations.group_conv(BOT, GROUP), anchor=None, count=50, older=True
    )
    assert [m.seq for m in history] == list(range(1, 25))


async def test_queued_writes_commit_together_and_a_failing_one_rolls_back_alone(
    engines: Any,
) -> None:
    engine = await engines()
    committed: list[int] = []

    def insert(uin: int) -> Any:
        async def fn(txn: Txn) -> int:
            await txn.execute(
                "INSERT INTO accounts (uin, nickname, created_at) VALUES (?, ?, ?)",
                (uin, f"u{uin}", 0),
            )
            txn.after_commit(lambda: committed.append(uin))
            if uin == 20005:
                raise ValueError("business rule")
            return uin

        return engine.write(f"insert {uin}", fn)

    before = engine.batches
    results = await asyncio.gather(*(insert(20001 + i) for i in range(10)), return_exceptions=True)
    assert isinstance(results[4], ValueError)
    assert [r for r in results if not isinstance(r, BaseException)] == [
        20001 + i for i in range(10) if i != 4
    ]
    rows = await engine.read(lambda txn: txn.fetchall("SELECT uin FROM accounts ORDER BY uin"))
    assert [r[0] for r in rows] == [20001 + i for i in range(10) if i != 4]
    assert sorted(committed) == [r[0] for r in rows]
    # Queued together, they shared transactions (one lock, one WAL flush per batch).
    assert engine.batches - before < 10


async def test_a_failing_statement_in_a_batch_rolls_back_to_its_savepoint(engines: Any) -> None:
    engine = await engines()

    async def good(txn: Txn) -> None:
        await txn.execute(
            "INSERT INTO accounts (uin, nickname, created_at) VALUES (?, ?, ?)", (ALICE, "A", 0)
        )

    async def duplicate(txn: Txn) -> None:
        await txn.execute(
            "INSERT INTO accounts (uin, nickname, created_at) VALUES (?, ?, ?)", (BOB, "B", 0)
        )
        # A genuine unique violation: not retried, and the transaction stays usable.
        await txn.execute(
            "INSERT INTO accounts (uin, nickname, created_at) VALUES (?, ?, ?)", (BOB, "B", 0)
        )

    results = await asyncio.gather(
        engine.write("a", good), engine.write("dup", duplicate), return_exceptions=True
    )
    assert results[0] is None
    assert isinstance(results[1], asyncpg.UniqueViolationError)
    assert engine.retries == 0
    rows = await engine.read(lambda txn: txn.fetchall("SELECT uin FROM accounts"))
    assert rows == [(ALICE,)]


async def test_retries_stop_after_the_budget(engines: Any) -> None:
    engine = await engines(max_attempts=3)
    calls: list[int] = []

    async def always_conflicts(txn: Txn) -> None:
        calls.append(1)
        txn.after_commit(lambda: calls.append(100))
        raise asyncpg.SerializationError("could not serialize access")

    with pytest.raises(asyncpg.SerializationError):
        await engine.write("doomed", always_conflicts)
    assert calls == [1, 1, 1]
    assert engine.retries == 2


async def test_a_write_whose_caller_went_away_still_commits(engines: Any) -> None:
    engine = await engines()
    started, release = asyncio.Event(), asyncio.Event()
    ran: list[str] = []

    async def slow(txn: Txn) -> None:
        await txn.execute(
            "INSERT INTO accounts (uin, nickname, created_at) VALUES (?, ?, ?)", (ALICE, "A", 0)
        )
        started.set()
        await release.wait()
        txn.after_commit(lambda: ran.append("event"))

    caller = asyncio.ensure_future(engine.write("slow", slow))
    await asyncio.wait_for(started.wait(), 10)
    caller.cancel()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await caller
    await engine.close()  # waits for the write
    assert ran == ["event"]
    reopened = await engines()
    assert await reopened.read(lambda txn: txn.fetchall("SELECT uin FROM accounts")) == [(ALICE,)]


async def test_ids_from_two_processes_never_collide(engines: Any) -> None:
    from catnest.store.ids import next_id_txn

    first, second = await engines(), await engines()

    async def take(engine: PostgresEngine) -> list[int]:
        return [await engine.write("id", lambda t: next_id_txn(t, "message")) for _ in range(20)]

    a, b = await asyncio.gather(take(first), take(second))
    assert len(set(a) | set(b)) == 40


async def test_concurrent_starts_migrate_once(url: str, engines: Any) -> None:
    engines_started = await asyncio.gather(*(engines() for _ in range(3)))
    rows = await engines_started[0].read(
        lambda txn: txn.fetchall("SELECT version FROM schema_migrations ORDER BY version")
    )
    assert [r[0] for r in rows] == list(range(1, len(load_migrations("postgres")) + 1))
    # The tables and sequences exist: the first conversation id comes from its sequence.
    conv_id = await engines_started[1].write(
        "conv", lambda txn: conv_sql.create_group_conv_txn(txn, GROUP)
    )
    assert conv_id == 1


async def test_a_newer_database_is_refused(url: str, engines: Any) -> None:
    engine = await engines()
    await engine.write(
        "future",
        lambda txn: txn.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
            (999, "from_the_future", 0),
        ),
    )
    later = PostgresEngine(url)
    with pytest.raises(StoreTooNew, match="schema version 999"):
        await later.start()
    await later.close()  # nothing left open
