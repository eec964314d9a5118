"""Merged-forward bundles and the messages carrying them.

A bundle's `nodes` column holds one JSON object (see `catnest/world/forwards.py` for its keys):
the nodes themselves plus what every node shares (nesting depth, destination group, the card's
texts), so that showing or nesting a bundle reads one row. `forward_carriers` maps a bundle to
every message carrying it, so that who may open a bundle is one indexed query.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from catnest.store.engine import Txn


@dataclass(frozen=True, slots=True)
class StoredForward:
    """A merged-forward bundle as stored: its nodes column is decoded by the world."""

    res_id: str
    owner: int
    body_json: str
    created_at: int


async def insert_forward_txn(txn: Txn, res_id: str, owner: int, body_json: str, at: int) -> None:
    """Store a bundle under a fresh res_id."""
    await txn.execute(
        "INSERT INTO forwards (res_id, owner, nodes, created_at) VALUES (?, ?, ?, ?)",
        (res_id, owner, body_json, at),
    )


async def get_forward_txn(txn: Txn, res_id: str) -> StoredForward | None:
    """The bundle `res_id`, or None."""
    row = await txn.fetchone(
        "SELECT res_id, owner, nodes, created_at FROM forwards WHERE res_id = ?", (res_id,)
    )
    return StoredForward(str(row[0]), int(row[1]), str(row[2]), int(row[3])) if row else None


async def insert_forward_carriers_txn(txn: Txn, message_id: int, res_ids: Iterable[str]) -> None:
    """Record that message `message_id` carries bundles `res_ids` (each at most once); called
    in the transaction that stores the message."""
    rows = [(res_id, message_id) for res_id in dict.fromkeys(res_ids)]
    if rows:
        await txn.executemany(
            "INSERT INTO forward_carriers (res_id, message_id) VALUES (?, ?)", rows
        )


async def forward_visible_txn(txn: Txn, res_id: str, viewer: int) -> bool:
    """Whether `viewer` may open bundle `res_id`: its owner, or a member of a conversation
    where a message that is not recalled carries it."""
    # One probe of forwards, then the carriers of this bundle by primary key, each joined to
    # its message and to the viewer's membership row (both primary keys).
    row = await txn.fetchone(
        "SELECT CASE WHEN f.owner = ? OR EXISTS ("
        "SELECT 1 FROM forward_carriers fc"
        " JOIN messages msg ON msg.message_id = fc.message_id AND msg.recalled_at IS NULL"
        " JOIN conversation_members m ON m.conv_id = msg.conv_id AND m.uin = ?"
        " WHERE fc.res_id = f.res_id) THEN 1 ELSE 0 END"
        " FROM forwards f WHERE f.res_id = ?",
        (viewer, viewer, res_id),
    )
    return row is not None and bool(row[0])


async def seen_messages_txn(txn: Txn, viewer: int, message_ids: Sequence[int]) -> set[int]:
    """Those of `message_ids` that are not recalled and are in conversations of `viewer`."""
    if not message_ids:
        return set()
    marks = ", ".join("?" for _ in message_ids)
    rows = await txn.fetchall(
        "SELECT msg.message_id FROM messages msg JOIN conversation_members m"
        " ON m.conv_id = msg.conv_id AND m.uin = ?"
        f" WHERE msg.message_id IN ({marks}) AND msg.recalled_at IS NULL",
        (viewer, *message_ids),
    )
    return {int(r[0]) for r in rows}
