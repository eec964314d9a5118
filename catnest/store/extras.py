"""Reactions, essence messages, merged-forward bundles, and the lookups pokes need.

A bundle's `nodes` column holds one JSON object (see `catnest/world/forwards.py` for its keys):
the nodes themselves plus what every node shares (nesting depth, destination group, the card's
texts), so that showing or nesting a bundle reads one row. `forward_carriers` maps a bundle to
every message carrying it, so that who may open a bundle is one indexed query.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from catnest.store.engine import Txn
from catnest.store.messages import MESSAGE_COLUMNS, MESSAGE_JOINS, MESSAGE_WIDTH, message_from_row
from catnest.store.records import StoredMessage

# --- reactions ---------------------------------------------------------------------------------


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


# --- essence messages --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EssenceEntry:
    """An essence message with who set it, and when."""

    message: StoredMessage
    operator: int
    operator_nick: str
    created_at: int


async def is_essence_txn(txn: Txn, message_id: int) -> bool:
    """Whether a message is one of its group's essence messages."""
    row = await txn.fetchone("SELECT 1 FROM essence_messages WHERE message_id = ?", (message_id,))
    return row is not None


async def insert_essence_txn(
    txn: Txn, message_id: int, group_id: int, operator: int, at: int
) -> None:
    """Make a group message essence."""
    await txn.execute(
        "INSERT INTO essence_messages (message_id, group_id, operator, created_at)"
        " VALUES (?, ?, ?, ?)",
        (message_id, group_id, operator, at),
    )


async def delete_essence_txn(txn: Txn, message_id: int) -> None:
    """Remove a message from its group's essence messages."""
    await txn.execute("DELETE FROM essence_messages WHERE message_id = ?", (message_id,))


async def list_essence_txn(txn: Txn, group_id: int) -> list[EssenceEntry]:
    """A group's essence messages that are not recalled, most recently set first."""
    rows = await txn.fetchall(
        f"SELECT {MESSAGE_COLUMNS}, e.operator,"
        " COALESCE(NULLIF(om.card, ''), oa.nickname), e.created_at"
        f" FROM essence_messages e JOIN messages msg ON msg.message_id = e.message_id"
        f"{MESSAGE_JOINS}"
        " JOIN accounts oa ON oa.uin = e.operator"
        " LEFT JOIN group_members om ON om.group_id = e.group_id AND om.uin = e.operator"
        " WHERE e.group_id = ? AND msg.recalled_at IS NULL"
        " ORDER BY e.created_at DESC, e.message_id DESC",
        (group_id,),
    )
    return [
        EssenceEntry(
            message=message_from_row(r),
            operator=int(r[MESSAGE_WIDTH]),
            operator_nick=str(r[MESSAGE_WIDTH + 1]),
            created_at=int(r[MESSAGE_WIDTH + 2]),
        )
        for r in rows
    ]


async def message_by_seq_txn(txn: Txn, group_id: int, seq: int) -> int | None:
    """The message_id at `seq` in a group's conversation (NapCat's msg_seq addressing)."""
    row = await txn.fetchone(
        "SELECT msg.message_id FROM messages msg JOIN conversations c ON c.conv_id = msg.conv_id"
        " WHERE c.kind = 2 AND c.group_id = ? AND msg.seq = ?",
        (group_id, seq),
    )
    return int(row[0]) if row else None


# --- merged forwards ---------------------------------------------------------------------------


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


# --- who may poke whom -------------------------------------------------------------------------


async def share_a_group_txn(txn: Txn, a: int, b: int) -> bool:
    """Whether `a` and `b` are members of at least one common group."""
    row = await txn.fetchone(
        "SELECT 1 FROM group_members x JOIN group_members y ON y.group_id = x.group_id"
        " WHERE x.uin = ? AND y.uin = ? LIMIT 1",
        (a, b),
    )
    return row is not None


async def bots_among_txn(txn: Txn, uins: tuple[int, ...]) -> tuple[int, ...]:
    """The bot accounts among `uins`, by uin."""
    marks = ", ".join("?" for _ in uins)
    rows = await txn.fetchall(
        f"SELECT uin FROM accounts WHERE is_bot = 1 AND uin IN ({marks}) ORDER BY uin", uins
    )
    return tuple(int(r[0]) for r in rows)
