"""Messages: insert, fetch by id, history pages and recalls."""

from __future__ import annotations

from catnest.store.engine import Row, Txn
from catnest.store.records import StoredMessage

# The message row joined with what showing it needs (sender name, group name, sender's card
# and role). Shared by get, history and recent contacts so every view builds the same object.
MESSAGE_COLUMNS = (
    "msg.message_id, msg.nt_msg_id, msg.conv_id, c.kind, msg.seq, msg.sender_uin, sa.nickname,"
    " msg.chat_type, msg.temp_group_id, c.group_id, COALESCE(g.name, ''), COALESCE(gm.card, ''),"
    " COALESCE(gm.role, 'member'), COALESCE(gm.title, ''), c.user_a, c.user_b, msg.time,"
    " msg.segments, msg.raw_message, msg.recalled_at, msg.recalled_by"
)
MESSAGE_JOINS = (
    " JOIN conversations c ON c.conv_id = msg.conv_id"
    " JOIN accounts sa ON sa.uin = msg.sender_uin"
    " LEFT JOIN groups g ON g.group_id = c.group_id"
    " LEFT JOIN group_members gm ON gm.group_id = c.group_id AND gm.uin = msg.sender_uin"
)
MESSAGE_WIDTH = 21


def message_from_row(row: Row, at: int = 0) -> StoredMessage:
    """Build a StoredMessage from MESSAGE_COLUMNS starting at index `at`."""
    r = row[at : at + MESSAGE_WIDTH]
    return StoredMessage(
        message_id=int(r[0]),
        nt_msg_id=int(r[1]),
        conv_id=int(r[2]),
        conv_kind=int(r[3]),
        seq=int(r[4]),
        sender_uin=int(r[5]),
        sender_nickname=r[6],
        chat_type=int(r[7]),
        temp_group_id=None if r[8] is None else int(r[8]),
        group_id=None if r[9] is None else int(r[9]),
        group_name=r[10],
        sender_card=r[11],
        sender_role=r[12],
        sender_title=r[13],
        pair=None if r[14] is None else (int(r[14]), int(r[15])),
        time=int(r[16]),
        segments_json=r[17],
        raw_message=r[18],
        recalled_at=None if r[19] is None else int(r[19]),
        recalled_by=None if r[20] is None else int(r[20]),
    )


async def insert_message_txn(
    txn: Txn,
    *,
    message_id: int,
    nt_msg_id: int,
    conv_id: int,
    seq: int,
    sender_uin: int,
    chat_type: int,
    temp_group_id: int | None,
    time: int,
    segments_json: str,
    raw_message: str,
) -> None:
    """Store one message; its id and seq were allocated in the same transaction."""
    await txn.execute(
        "INSERT INTO messages (message_id, nt_msg_id, conv_id, seq, sender_uin, chat_type,"
        " temp_group_id, time, segments, raw_message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            message_id,
            nt_msg_id,
            conv_id,
            seq,
            sender_uin,
            chat_type,
            temp_group_id,
            time,
            segments_json,
            raw_message,
        ),
    )


async def get_message_txn(txn: Txn, message_id: int) -> StoredMessage | None:
    """The message `message_id` (recalled or not), or None."""
    row = await txn.fetchone(
        f"SELECT {MESSAGE_COLUMNS} FROM messages msg{MESSAGE_JOINS} WHERE msg.message_id = ?",
        (message_id,),
    )
    return message_from_row(row) if row else None


async def get_message_by_nt_txn(txn: Txn, nt_msg_id: int) -> StoredMessage | None:
    """The message whose NT-style msgId is `nt_msg_id`, or None."""
    row = await txn.fetchone(
        f"SELECT {MESSAGE_COLUMNS} FROM messages msg{MESSAGE_JOINS} WHERE msg.nt_msg_id = ?",
        (nt_msg_id,),
    )
    return message_from_row(row) if row else None


async def history_txn(
    txn: Txn,
    conv_id: int,
    *,
    anchor_seq: int | None,
    count: int,
    older: bool,
    with_recalled: bool = False,
) -> list[StoredMessage]:
    """A page of a conversation's messages that are not recalled (all of them with
    `with_recalled`), oldest first.

    No anchor: the latest `count` (with `older=False`, the earliest `count`). With an anchor,
    the anchor and the `count - 1` messages before it (`older`) or after it.
    """
    if anchor_seq is None:
        anchor_seq = 2**62 if older else 0
    compare, order = ("<=", "DESC") if older else (">=", "ASC")
    visible = "" if with_recalled else " AND msg.recalled_at IS NULL"
    rows = await txn.fetchall(
        f"SELECT {MESSAGE_COLUMNS} FROM messages msg{MESSAGE_JOINS}"
        f" WHERE msg.conv_id = ? AND msg.seq {compare} ?{visible}"
        f" ORDER BY msg.seq {order} LIMIT ?",
        (conv_id, anchor_seq, count),
    )
    messages = [message_from_row(r) for r in rows]
    if older:
        messages.reverse()
    return messages


async def mark_recalled_txn(txn: Txn, message_id: int, by: int, at: int) -> None:
    """Mark a message recalled; its row stays so ids never get reused."""
    await txn.execute(
        "UPDATE messages SET recalled_at = ?, recalled_by = ? WHERE message_id = ?",
        (at, by, message_id),
    )


async def latest_visible_txn(txn: Txn, conv_id: int) -> tuple[int, int] | None:
    """(message_id, time) of the newest message of `conv_id` that is not recalled."""
    row = await txn.fetchone(
        "SELECT message_id, time FROM messages WHERE conv_id = ? AND recalled_at IS NULL"
        " ORDER BY seq DESC LIMIT 1",
        (conv_id,),
    )
    return (int(row[0]), int(row[1])) if row else None


async def keyed_message_txn(txn: Txn, sender: int, key: str) -> int | None:
    """The message_id an earlier send by `sender` with idempotency key `key` produced."""
    row = await txn.fetchone(
        "SELECT message_id FROM send_keys WHERE sender = ? AND send_key = ?", (sender, key)
    )
    return int(row[0]) if row else None


async def remember_key_txn(txn: Txn, sender: int, key: str, message_id: int, at: int) -> None:
    """Record that `sender`'s send with key `key` produced `message_id`."""
    await txn.execute(
        "INSERT INTO send_keys (sender, send_key, message_id, created_at) VALUES (?, ?, ?, ?)",
        (sender, key, message_id, at),
    )
