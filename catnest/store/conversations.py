"""Conversations, their members' read cursors, and recent-contact lists."""

from __future__ import annotations

from catnest.store.engine import Row, Txn
from catnest.store.ids import next_id_txn
from catnest.store.messages import MESSAGE_COLUMNS, MESSAGE_JOINS, message_from_row
from catnest.store.records import Conversation, RecentEntry

KIND_PRIVATE = 1
KIND_GROUP = 2

_CONV_COLUMNS = (
    "conv_id, kind, group_id, user_a, user_b, chat_type, temp_group_id, last_seq,"
    " last_msg_id, last_time"
)


def _conversation(row: Row) -> Conversation:
    return Conversation(
        conv_id=int(row[0]),
        kind=int(row[1]),
        group_id=None if row[2] is None else int(row[2]),
        user_a=None if row[3] is None else int(row[3]),
        user_b=None if row[4] is None else int(row[4]),
        chat_type=int(row[5]),
        temp_group_id=None if row[6] is None else int(row[6]),
        last_seq=int(row[7]),
        last_msg_id=None if row[8] is None else int(row[8]),
        last_time=int(row[9]),
    )


def ordered_pair(a: int, b: int) -> tuple[int, int]:
    """A private pair in its stored order (smaller uin first)."""
    return (a, b) if a < b else (b, a)


async def get_private_conv_txn(txn: Txn, a: int, b: int) -> Conversation | None:
    """The private conversation between `a` and `b`, or None if they never spoke."""
    user_a, user_b = ordered_pair(a, b)
    row = await txn.fetchone(
        f"SELECT {_CONV_COLUMNS} FROM conversations WHERE kind = 1 AND user_a = ? AND user_b = ?",
        (user_a, user_b),
    )
    return _conversation(row) if row else None


async def get_group_conv_txn(txn: Txn, group_id: int) -> Conversation | None:
    """The conversation of group `group_id`, or None."""
    row = await txn.fetchone(
        f"SELECT {_CONV_COLUMNS} FROM conversations WHERE kind = 2 AND group_id = ?",
        (group_id,),
    )
    return _conversation(row) if row else None


async def get_conv_txn(txn: Txn, conv_id: int) -> Conversation | None:
    """The conversation `conv_id`, or None."""
    row = await txn.fetchone(
        f"SELECT {_CONV_COLUMNS} FROM conversations WHERE conv_id = ?", (conv_id,)
    )
    return _conversation(row) if row else None


async def create_private_conv_txn(
    txn: Txn, a: int, b: int, chat_type: int, temp_group_id: int | None
) -> Conversation:
    """Create the private conversation of a pair, with both as members."""
    conv_id = await next_id_txn(txn, "conversation")
    user_a, user_b = ordered_pair(a, b)
    await txn.execute(
        "INSERT INTO conversations (conv_id, kind, user_a, user_b, chat_type, temp_group_id)"
        " VALUES (?, 1, ?, ?, ?, ?)",
        (conv_id, user_a, user_b, chat_type, temp_group_id),
    )
    await txn.executemany(
        "INSERT INTO conversation_members (uin, conv_id) VALUES (?, ?)",
        [(user_a, conv_id), (user_b, conv_id)],
    )
    conv = await get_conv_txn(txn, conv_id)
    assert conv is not None
    return conv


async def create_group_conv_txn(txn: Txn, group_id: int) -> int:
    """Create a group's conversation (members join it with `join_conv_txn`)."""
    conv_id = await next_id_txn(txn, "conversation")
    await txn.execute(
        "INSERT INTO conversations (conv_id, kind, group_id, chat_type) VALUES (?, 2, ?, 2)",
        (conv_id, group_id),
    )
    return conv_id


async def join_conv_txn(txn: Txn, conv_id: int, uin: int) -> None:
    """Make `uin` a member of a conversation; what was said before counts as read."""
    await txn.execute(
        "INSERT INTO conversation_members (uin, conv_id, read_seq)"
        " SELECT ?, conv_id, last_seq FROM conversations WHERE conv_id = ?",
        (uin, conv_id),
    )


async def leave_conv_txn(txn: Txn, conv_id: int, uin: int) -> None:
    """Drop `uin`'s membership (it vanishes from their recent contacts)."""
    await txn.execute(
        "DELETE FROM conversation_members WHERE uin = ? AND conv_id = ?", (uin, conv_id)
    )


async def is_conv_member_txn(txn: Txn, conv_id: int, uin: int) -> bool:
    """Whether `uin` takes part in conversation `conv_id`."""
    row = await txn.fetchone(
        "SELECT 1 FROM conversation_members WHERE uin = ? AND conv_id = ?", (uin, conv_id)
    )
    return row is not None


async def bot_members_txn(txn: Txn, conv_id: int) -> tuple[int, ...]:
    """The bot accounts taking part in conversation `conv_id`."""
    rows = await txn.fetchall(
        "SELECT m.uin FROM conversation_members m JOIN accounts a ON a.uin = m.uin"
        " WHERE m.conv_id = ? AND a.is_bot = 1",
        (conv_id,),
    )
    return tuple(int(r[0]) for r in rows)


async def advance_conv_txn(
    txn: Txn,
    conv_id: int,
    *,
    seq: int,
    message_id: int,
    at: int,
    chat_type: int,
    temp_group_id: int | None,
) -> None:
    """Make a new message the conversation's last one."""
    await txn.execute(
        "UPDATE conversations SET last_seq = ?, last_msg_id = ?, last_time = ?, chat_type = ?,"
        " temp_group_id = ? WHERE conv_id = ?",
        (seq, message_id, at, chat_type, temp_group_id, conv_id),
    )


async def set_last_visible_txn(
    txn: Txn, conv_id: int, message_id: int | None, at: int | None
) -> None:
    """Point a conversation at its newest visible message after a recall."""
    if message_id is None:
        await txn.execute(
            "UPDATE conversations SET last_msg_id = NULL WHERE conv_id = ?", (conv_id,)
        )
    else:
        await txn.execute(
            "UPDATE conversations SET last_msg_id = ?, last_time = ? WHERE conv_id = ?",
            (message_id, at, conv_id),
        )


async def set_read_txn(txn: Txn, uin: int, conv_id: int, seq: int) -> None:
    """Move `uin`'s read cursor forward to `seq` (never backwards)."""
    await txn.execute(
        "UPDATE conversation_members SET read_seq = ? WHERE uin = ? AND conv_id = ?"
        " AND read_seq < ?",
        (seq, uin, conv_id, seq),
    )


async def mark_conv_read_txn(txn: Txn, uin: int, conv_id: int) -> None:
    """Mark everything in one conversation read for `uin`."""
    await txn.execute(
        "UPDATE conversation_members SET read_seq = (SELECT last_seq FROM conversations c"
        " WHERE c.conv_id = conversation_members.conv_id) WHERE uin = ? AND conv_id = ?",
        (uin, conv_id),
    )


async def mark_all_read_txn(txn: Txn, uin: int) -> None:
    """Mark every conversation of `uin` read."""
    await txn.execute(
        "UPDATE conversation_members SET read_seq = (SELECT last_seq FROM conversations c"
        " WHERE c.conv_id = conversation_members.conv_id) WHERE uin = ?",
        (uin,),
    )


# One indexed walk of the account's memberships joined with each conversation's last message:
# its cost follows the number of conversations the account is in, never the number of messages.
_RECENT_SQL = (
    f"SELECT cv.conv_id, cv.kind, cv.chat_type, cv.last_seq, m.read_seq, m.pinned,"
    f" CASE WHEN cv.kind = 2 THEN cv.group_id WHEN cv.user_a = m.uin THEN cv.user_b"
    f" ELSE cv.user_a END AS peer,"
    f" CASE WHEN cv.kind = 2 THEN COALESCE(g.name, '') ELSE COALESCE(pa.nickname, '') END,"
    f" COALESCE(f.remark, ''), {MESSAGE_COLUMNS}"
    f" FROM conversation_members m"
    f" JOIN conversations cv ON cv.conv_id = m.conv_id"
    f" JOIN messages msg ON msg.message_id = cv.last_msg_id"
    f"{MESSAGE_JOINS}"
    f" LEFT JOIN accounts pa ON cv.kind = 1"
    f" AND pa.uin = CASE WHEN cv.user_a = m.uin THEN cv.user_b ELSE cv.user_a END"
    f" LEFT JOIN friendships f ON cv.kind = 1 AND f.owner_uin = m.uin AND f.friend_uin = pa.uin"
    f" WHERE m.uin = ?"
    f" ORDER BY cv.last_time DESC, cv.last_msg_id DESC LIMIT ?"
)


async def recent_contacts_txn(txn: Txn, uin: int, count: int) -> list[RecentEntry]:
    """`uin`'s conversations that have a visible message, most recent first."""
    rows = await txn.fetchall(_RECENT_SQL, (uin, count))
    return [
        RecentEntry(
            conv_id=int(r[0]),
            kind=int(r[1]),
            chat_type=int(r[2]),
            last_seq=int(r[3]),
            read_seq=int(r[4]),
            pinned=bool(r[5]),
            peer_uin=int(r[6]),
            peer_name=r[7],
            remark=r[8],
            last=message_from_row(r, 9),
        )
        for r in rows
    ]
