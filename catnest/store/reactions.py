"""Emoji reactions on messages (QQ's 表情回应)."""

from __future__ import annotations

from collections.abc import Sequence

from catnest.store.engine import Txn


async def add_reaction_txn(txn: Txn, message_id: int, emoji_id: str, uin: int, at: int) -> bool:
    """Record `uin`'s reaction; False if it was already there."""
    changed = await txn.execute(
        "INSERT INTO reactions (message_id, emoji_id, uin, created_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (message_id, emoji_id, uin, at),
    )
    return changed > 0


async def remove_reaction_txn(txn: Txn, message_id: int, emoji_id: str, uin: int) -> bool:
    """Drop `uin`'s reaction; False if there was none."""
    changed = await txn.execute(
        "DELETE FROM reactions WHERE message_id = ? AND emoji_id = ? AND uin = ?",
        (message_id, emoji_id, uin),
    )
    return changed > 0


async def reaction_count_txn(txn: Txn, message_id: int, emoji_id: str) -> int:
    """How many accounts reacted to a message with one emoji."""
    row = await txn.fetchone(
        "SELECT COUNT(*) FROM reactions WHERE message_id = ? AND emoji_id = ?",
        (message_id, emoji_id),
    )
    return int(row[0]) if row else 0


async def reaction_summary_txn(txn: Txn, message_id: int) -> list[tuple[str, int]]:
    """(emoji_id, count) of every emoji on a message: first used (to the second) first."""
    rows = await txn.fetchall(
        "SELECT emoji_id, COUNT(*) FROM reactions WHERE message_id = ?"
        " GROUP BY emoji_id ORDER BY MIN(created_at), emoji_id",
        (message_id,),
    )
    return [(str(r[0]), int(r[1])) for r in rows]


async def reaction_summaries_txn(
    txn: Txn, message_ids: Sequence[int], viewer: int
) -> dict[int, list[tuple[str, int, bool]]]:
    """(emoji_id, count, whether `viewer` is among them) of every emoji on each message, in
    `reaction_summary_txn`'s order; messages without reactions are left out."""
    if not message_ids:
        return {}
    marks = ", ".join("?" * len(message_ids))
    rows = await txn.fetchall(
        "SELECT message_id, emoji_id, COUNT(*), MAX(CASE WHEN uin = ? THEN 1 ELSE 0 END)"
        f" FROM reactions WHERE message_id IN ({marks}) GROUP BY message_id, emoji_id"
        " ORDER BY message_id, MIN(created_at), emoji_id",
        (viewer, *message_ids),
    )
    found: dict[int, list[tuple[str, int, bool]]] = {}
    for message_id, emoji_id, count, mine in rows:
        found.setdefault(int(message_id), []).append((str(emoji_id), int(count), bool(mine)))
    return found


async def reaction_users_txn(
    txn: Txn, message_id: int, emoji_id: str, limit: int | None
) -> list[tuple[int, str]]:
    """(uin, nickname) of who reacted with `emoji_id`, earliest (then lowest uin) first; all
    when `limit` is None."""
    sql = (
        "SELECT r.uin, a.nickname FROM reactions r JOIN accounts a ON a.uin = r.uin"
        " WHERE r.message_id = ? AND r.emoji_id = ? ORDER BY r.created_at, r.uin"
    )
    params: tuple[object, ...] = (message_id, emoji_id)
    if limit is not None:
        sql += " LIMIT ?"
        params += (limit,)
    rows = await txn.fetchall(sql, params)
    return [(int(r[0]), str(r[1])) for r in rows]
