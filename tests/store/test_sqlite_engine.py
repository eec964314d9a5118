"""The SQLite engine: group commit with per-transaction savepoints, change tokens, pragmas."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from catnest.store.engine import Txn
from catnest.store.sqlite import SQLiteEngine
from tests.waiting import wait_until


async def _insert(txn: Txn, uin: int) -> None:
    await txn.execute(
        "INSERT INTO accounts (uin, nickname, created_at) VALUES (?, ?, 0)", (uin, f"u{uin}")
    )


async def test_a_failing_transaction_rolls_back_alone(tmp_path: Path) -> None:
    engine = SQLiteEngine(tmp_path / "w.db")
    await engine.start()
    ran: list[int] = []

    def job(uin: int, fail: bool):  # type: ignore[no-untyped-def]
        async def fn(txn: Txn) -> int:
            await _insert(txn, uin)
            txn.after_commit(lambda: ran.append(uin))
            if fail:
                raise ValueError("boom")
            return uin

        return fn

    # Queued together, so they share one group commit.
    results = await asyncio.gather(
        engine.write("a", job(10001, False)),
        engine.write("b", job(10002, True)),
        engine.write("c", job(10003, False)),
        return_exceptions=True,
    )
    assert results[0] == 10001 and results[2] == 10003
    assert isinstance(results[1], ValueError)
    assert ran == [10001, 10003]  # no callback for the rolled-back one
    rows = await engine.read(lambda txn: txn.fetchall("SELECT uin FROM accounts ORDER BY uin"))
    assert rows == [(10001,), (10003,)]
    await engine.close()


async def test_commits_of_another_process_are_noticed_and_its_own_are_not(tmp_path: Path) -> None:
    engine = SQLiteEngine(tmp_path / "w.db")
    seen: list[str] = []
    engine.watch_foreign_writes(lambda: seen.append("foreign"))
    await engine.start()
    await engine.write("x", lambda txn: _insert(txn, 10001))
    await asyncio.sleep(0.6)  # past two checks: our own commit is never taken for another's
    assert seen == []
    # Another process (here: another connection) writing is seen.
    other = sqlite3.connect(tmp_path / "w.db")
    other.execute("INSERT INTO accounts (uin, nickname, created_at) VALUES (10002, 'x', 0)")
    other.commit()
    other.close()
    await wait_until(lambda: seen == ["foreign"], what="the other process's commit noticed")
    await engine.close()


async def test_a_read_sees_one_snapshot(tmp_path: Path) -> None:
    engine = SQLiteEngine(tmp_path / "w.db")
    await engine.start()
    await engine.write("x", lambda txn: _insert(txn, 10001))
    other = sqlite3.connect(tmp_path / "w.db", isolation_level=None)

    async def twice(txn: Txn) -> tuple[Any, Any]:
        first = await txn.fetchall("SELECT uin FROM accounts")
        # Another connection commits between the two statements of one read.
        other.execute("INSERT INTO accounts (uin, nickname, created_at) VALUES (10002, 'y', 0)")
        second = await txn.fetchall("SELECT uin FROM accounts")
        return first, second

    first, second = await engine.read(twice)
    assert first == second == [(10001,)]
    assert len(await engine.read(lambda txn: txn.fetchall("SELECT uin FROM accounts"))) == 2
    other.close()
    await engine.close()


@pytest.mark.parametrize(("durability", "level"), [("normal", 1), ("full", 2)])
async def test_pragmas(tmp_path: Path, durability: str, level: int) -> None:
    engine = SQLiteEngine(tmp_path / "w.db", durability=durability)
    await engine.start()
    rows = await engine.read(lambda txn: txn.fetchall("PRAGMA journal_mode"))
    assert rows == [("wal",)]
    assert await engine.read(lambda txn: txn.fetchone("PRAGMA foreign_keys")) == (1,)
    assert await engine.read(lambda txn: txn.fetchone("PRAGMA synchronous")) == (level,)
    await engine.write("x", lambda txn: _insert(txn, 10001))
    await engine.close()


async def test_foreign_keys_are_enforced(tmp_path: Path) -> None:
    engine = SQLiteEngine(tmp_path / "w.db")
    await engine.start()

    async def orphan(txn: Txn) -> None:
        await txn.execute(
            "INSERT INTO friendships (owner_uin, friend_uin, created_at) VALUES (1, 2, 0)"
        )

    with pytest.raises(sqlite3.IntegrityError):
        await engine.write("orphan", orphan)
    await engine.close()
