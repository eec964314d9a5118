"""The SQLite engine: group commit with per-transaction savepoints, change tokens, pragmas."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from catnest.store.engine import Txn
from catnest.store.sqlite import SQLiteEngine


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


async def test_change_token_follows_every_writer(tmp_path: Path) -> None:
    engine = SQLiteEngine(tmp_path / "w.db")
    await engine.start()
    first = await engine.change_token()
    assert await engine.change_token() == first  # reads change nothing
    await engine.write("x", lambda txn: _insert(txn, 10001))
    second = await engine.change_token()
    assert second != first
    # Another process (here: another connection) writing is seen too.
    other = sqlite3.connect(tmp_path / "w.db")
    other.execute("INSERT INTO accounts (uin, nickname, created_at) VALUES (10002, 'x', 0)")
    other.commit()
    other.close()
    # A reading serves the loop iteration it was taken in (work already queued cannot know of
    # a later commit); from the next one on, the other writer's commit shows.
    await asyncio.sleep(0)
    assert await engine.change_token() != second
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
