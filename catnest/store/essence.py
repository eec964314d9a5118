"""Essence messages (QQ's 精华消息) of groups."""

from __future__ import annotations

from dataclasses import dataclass

from catnest.store.engine import Txn
from catnest.store.messages import MESSAGE_COLUMNS, MESSAGE_JOINS, MESSAGE_WIDTH, message_from_row
from catnest.store.records import StoredMessage


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
