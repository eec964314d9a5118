"""The shared event log of a multi-process (PostgreSQL) world.

Writers call `append_event_txn` inside their write transaction. Every write transaction of a
PostgreSQL world holds the world's write lock until it commits (store/postgres.py), so event ids
are drawn in commit order and a follower reading `event_id > last` never skips one that
commits late. The `NOTIFY` reaches followers only once the transaction commits (and several in
one transaction arrive as one).
"""

from __future__ import annotations

from catnest.store.engine import Txn

CHANNEL = "catnest_events"


async def append_event_txn(txn: Txn, kind: str, body: str, at: int) -> None:
    """Append one event (in a PostgreSQL write transaction, which holds the write lock)."""
    # One round trip for both: the notification rides on the insert.
    await txn.fetchone(
        "WITH added AS (INSERT INTO world_events (event_id, kind, body, created_at)"
        " VALUES (nextval('world_event_ids'), ?, ?, ?) RETURNING event_id)"
        f" SELECT pg_notify('{CHANNEL}', '') FROM added",
        (kind, body, at),
    )


async def latest_event_id_txn(txn: Txn) -> int:
    """The newest event id (0 when there is none): where a new follower starts."""
    row = await txn.fetchone("SELECT COALESCE(MAX(event_id), 0) FROM world_events")
    return int(row[0]) if row else 0


async def events_after_txn(txn: Txn, after: int, limit: int) -> list[tuple[int, str, str]]:
    """Up to `limit` events with ids above `after`, oldest first: (event_id, kind, body)."""
    rows = await txn.fetchall(
        "SELECT event_id, kind, body FROM world_events WHERE event_id > ?"
        " ORDER BY event_id LIMIT ?",
        (after, limit),
    )
    return [(int(r[0]), r[1], r[2]) for r in rows]


async def prune_events_txn(txn: Txn, before: int) -> int:
    """Forget events created before `before` (Unix seconds); returns how many."""
    return await txn.execute("DELETE FROM world_events WHERE created_at < ?", (before,))
