"""Bulk loading of messages: many rows per statement, for seeding worlds and benchmarks.

`bulk_messages_txn` appends messages to existing conversations much faster than sending them
one by one: ids come from one `next_id_txn` and then run consecutively, rows go to the database
with `executemany` in large batches, and each touched conversation is updated once at the end.
The world stays as consistent as if every message had been sent normally: conversations point
at their newest message, per-conversation seqs continue from `last_seq`, senders have read up to
their own last message and group members' `last_sent_time` moves forward.

The caller is trusted: friendships, memberships, mutes and content limits are not checked
(that is the world's job); foreign keys still are. Segments JSON and the raw message are stored
as given.

Below the message loader: loaders for the rest of a seeded world (accounts, friendships, groups,
members, private conversations, read marks). Whole-table dumping and restoring, for
`catnest world export` / `import`, is in `tables.py`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from catnest.store.accounts import DEFAULT_CATEGORY
from catnest.store.engine import Row, Txn
from catnest.store.ids import MAX_MESSAGE_ID, IdsExhausted, next_id_txn
from catnest.store.records import Account, Group
from catnest.store.tables import (
    ACCOUNTS,
    CONVERSATION_MEMBERS,
    CONVERSATIONS,
    FRIEND_CATEGORIES,
    FRIENDSHIPS,
    GROUP_MEMBERS,
    GROUPS,
    insert_rows_txn,
)

# Rows per executemany: large enough to amortise the per-statement overhead, small enough to
# keep one batch's parameters (about 200 bytes a row) far from memory trouble.
DEFAULT_BATCH_SIZE = 20_000

_INSERT_SQL = (
    "INSERT INTO messages (message_id, nt_msg_id, conv_id, seq, sender_uin, chat_type,"
    " temp_group_id, time, segments, raw_message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_ADVANCE_SQL = (
    "UPDATE conversations SET last_seq = ?, last_msg_id = ?, last_time = ?, chat_type = ?,"
    " temp_group_id = ? WHERE conv_id = ?"
)
_READ_SQL = (
    "UPDATE conversation_members SET read_seq = ? WHERE uin = ? AND conv_id = ? AND read_seq < ?"
)
_SENT_SQL = (
    "UPDATE group_members SET last_sent_time = ? WHERE group_id = ? AND uin = ?"
    " AND last_sent_time < ?"
)

MessageRow = tuple[int, int, int, int, int, int, int | None, int, str, str]


class BulkMessage(NamedTuple):
    """One message to append to conversation `conv_id`.

    `chat_type` None keeps the conversation's current chat type and temp-chat source group;
    otherwise `chat_type` and `temp_group_id` are stored as given. (A NamedTuple: building
    millions of them costs a fraction of a frozen dataclass.)
    """

    conv_id: int
    sender_uin: int
    time: int
    segments_json: str
    raw_message: str
    chat_type: int | None = None
    temp_group_id: int | None = None


@dataclass(frozen=True, slots=True)
class BulkSummary:
    """What a bulk load stored: the id range and each touched conversation's newest message."""

    count: int
    first_message_id: int | None
    last_message_id: int | None
    newest_by_conv: dict[int, int] = field(default_factory=dict)


@dataclass(slots=True)
class _Tip:
    """A conversation's newest message as the load goes on."""

    group_id: int | None
    seq: int
    message_id: int | None
    time: int
    chat_type: int
    temp_group_id: int | None
    touched: bool = False


def nt_msg_id(at: int, message_id: int) -> int:
    """An NT-style 64-bit msgId, the same formula as `catnest.world.messages.nt_msg_id`."""
    return (at << 32) | message_id


async def _load_tip(txn: Txn, conv_id: int) -> _Tip:
    row = await txn.fetchone(
        "SELECT group_id, last_seq, last_msg_id, last_time, chat_type, temp_group_id"
        " FROM conversations WHERE conv_id = ?",
        (conv_id,),
    )
    if row is None:
        raise LookupError(f"conversation {conv_id} does not exist")
    return _Tip(
        group_id=None if row[0] is None else int(row[0]),
        seq=int(row[1]),
        message_id=None if row[2] is None else int(row[2]),
        time=int(row[3]),
        chat_type=int(row[4]),
        temp_group_id=None if row[5] is None else int(row[5]),
    )


class _Loader:
    """The state of one bulk load: next id, conversation tips, pending rows and cursors."""

    def __init__(self, txn: Txn, first_id: int, batch_size: int) -> None:
        self.txn = txn
        self.next_id = first_id
        self.batch_size = batch_size
        self.tips: dict[int, _Tip] = {}
        self.batch: list[MessageRow] = []
        # (conv_id, sender) -> seq of the sender's last message; (group_id, sender) -> its time.
        self.read_upto: dict[tuple[int, int], int] = {}
        self.sent_at: dict[tuple[int, int], int] = {}

    def add(self, m: BulkMessage, tip: _Tip) -> bool:
        """Queue one message; True when a batch is full and should be flushed."""
        if m.time < tip.time:
            raise ValueError(
                f"conversation {m.conv_id}: message time {m.time} is before its last"
                f" message's time {tip.time} (bulk messages append in time order)"
            )
        message_id = self.next_id
        if message_id > MAX_MESSAGE_ID:
            raise IdsExhausted("every int32 message_id has been used")
        if m.chat_type is not None:
            tip.chat_type, tip.temp_group_id = m.chat_type, m.temp_group_id
        seq = tip.seq = tip.seq + 1
        tip.message_id, tip.time, tip.touched = message_id, m.time, True
        self.batch.append(
            (
                message_id,
                (m.time << 32) | message_id,  # nt_msg_id(), inlined: this runs per row
                m.conv_id,
                seq,
                m.sender_uin,
                tip.chat_type,
                tip.temp_group_id,
                m.time,
                m.segments_json,
                m.raw_message,
            )
        )
        self.read_upto[(m.conv_id, m.sender_uin)] = seq
        if tip.group_id is not None:
            self.sent_at[(tip.group_id, m.sender_uin)] = m.time
        self.next_id = message_id + 1
        return len(self.batch) >= self.batch_size

    async def flush(self) -> None:
        if self.batch:
            rows, self.batch = self.batch, []
            await self.txn.executemany(_INSERT_SQL, rows)

    async def finish(self) -> None:
        """Write pending rows, then move conversations, read cursors and send times forward."""
        await self.flush()
        touched = [(conv_id, tip) for conv_id, tip in self.tips.items() if tip.touched]
        advance: list[tuple[Any, ...]] = [
            (tip.seq, tip.message_id, tip.time, tip.chat_type, tip.temp_group_id, conv_id)
            for conv_id, tip in touched
        ]
        await self.txn.executemany(_ADVANCE_SQL, advance)
        await self.txn.executemany(
            _READ_SQL,
            [(seq, uin, conv_id, seq) for (conv_id, uin), seq in self.read_upto.items()],
        )
        await self.txn.executemany(
            _SENT_SQL,
            [(at, group_id, uin, at) for (group_id, uin), at in self.sent_at.items()],
        )


async def bulk_messages_txn(
    txn: Txn, messages: Iterable[BulkMessage], *, batch_size: int = DEFAULT_BATCH_SIZE
) -> BulkSummary:
    """Append `messages`, in the order given, to their (existing) conversations.

    Each conversation's seq continues from its `last_seq`; message ids are consecutive from the
    store's next id. Within a conversation, times must not go backwards (nor before its current
    last message). `messages` may be a generator: rows are consumed and written `batch_size` at
    a time, so loads far larger than memory work. Call it inside one write transaction; to keep
    transactions (and SQLite's WAL) small, call it several times with consecutive slices.

    Raises LookupError for an unknown conversation, ValueError for a message older than its
    conversation's last one, and IdsExhausted past the int32 id space.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    first_id = await next_id_txn(txn, "message")
    loader = _Loader(txn, first_id, batch_size)
    tips = loader.tips
    for message in messages:
        tip = tips.get(message.conv_id)
        if tip is None:
            tip = tips[message.conv_id] = await _load_tip(txn, message.conv_id)
        if loader.add(message, tip):
            await loader.flush()
    await loader.finish()
    count = loader.next_id - first_id
    if count == 0:
        return BulkSummary(0, None, None)
    if txn.dialect == "postgres":
        # Ids after the first were not taken from the sequence: move it past them.
        await txn.fetchone("SELECT setval('message_ids', ?)", (loader.next_id - 1,))
    newest = {
        conv_id: tip.message_id
        for conv_id, tip in loader.tips.items()
        if tip.touched and tip.message_id is not None
    }
    return BulkSummary(count, first_id, loader.next_id - 1, newest)


# --- the social graph in bulk ------------------------------------------------------------------
#
# Seeding a world of 10^5 users through `Social` would take one transaction per account; these
# loaders write the same rows with `executemany` and keep the same invariants: every account gets
# QQ's default friend category, every group its conversation, every member a read cursor there.


class BulkFriendship(NamedTuple):
    """One direction of a friendship: what `owner` calls `friend` (callers add both)."""

    owner_uin: int
    friend_uin: int
    remark: str
    created_at: int
    category_id: int = 0


class BulkMember(NamedTuple):
    """A member of a group created by `bulk_groups_txn` (or any group with a conversation)."""

    group_id: int
    uin: int
    role: str
    card: str
    title: str
    join_time: int


class BulkPrivateConv(NamedTuple):
    """A private conversation to open between `a` and `b` (a temp chat when chat_type is 100)."""

    a: int
    b: int
    chat_type: int
    temp_group_id: int | None = None


async def bulk_accounts_txn(txn: Txn, accounts: Sequence[Account]) -> None:
    """Create accounts, each with QQ's default friend category."""
    await insert_rows_txn(
        txn,
        ACCOUNTS,
        [(a.uin, a.nickname, int(a.is_bot), a.sex, a.age, a.sign, a.created_at) for a in accounts],
    )
    await insert_rows_txn(txn, FRIEND_CATEGORIES, [(a.uin, *DEFAULT_CATEGORY) for a in accounts])


async def bulk_friendships_txn(txn: Txn, rows: Sequence[BulkFriendship]) -> None:
    """Record friendships, one row per direction as given."""
    await insert_rows_txn(
        txn,
        FRIENDSHIPS,
        # In key order: appending to the primary-key b-tree is far cheaper than random inserts.
        sorted((f.owner_uin, f.friend_uin, f.remark, f.category_id, f.created_at) for f in rows),
    )


async def bulk_groups_txn(txn: Txn, groups: Sequence[Group]) -> dict[int, int]:
    """Create groups and their conversations; returns each group's conv_id.

    Members, the owner included, are added with `bulk_members_txn`.
    """
    await insert_rows_txn(
        txn,
        GROUPS,
        [
            (g.group_id, g.name, g.owner_uin, g.max_member_count, int(g.whole_ban), g.created_at)
            for g in groups
        ],
    )
    conv_ids = await _take_conv_ids_txn(txn, len(groups))
    await insert_rows_txn(
        txn,
        CONVERSATIONS,
        [
            (conv_id, 2, g.group_id, None, None, 2, None, 0, None, 0)
            for conv_id, g in zip(conv_ids, groups, strict=True)
        ],
    )
    return {g.group_id: conv_id for conv_id, g in zip(conv_ids, groups, strict=True)}


async def bulk_members_txn(txn: Txn, members: Sequence[BulkMember]) -> None:
    """Add members to groups and to their conversations; what was said before counts as read."""
    await insert_rows_txn(
        txn,
        GROUP_MEMBERS,
        [(m.group_id, m.uin, m.role, m.card, m.title, m.join_time, 0, 0) for m in members],
    )
    await txn.executemany(
        "INSERT INTO conversation_members (uin, conv_id, read_seq)"
        " SELECT ?, conv_id, last_seq FROM conversations WHERE kind = 2 AND group_id = ?",
        sorted((m.uin, m.group_id) for m in members),  # key order, as above
    )


async def bulk_private_convs_txn(txn: Txn, convs: Sequence[BulkPrivateConv]) -> list[int]:
    """Open private conversations with both sides as members; returns their conv_ids in order."""
    conv_ids = await _take_conv_ids_txn(txn, len(convs))
    rows: list[Row] = []
    members: list[Row] = []
    for conv_id, c in zip(conv_ids, convs, strict=True):
        user_a, user_b = (c.a, c.b) if c.a < c.b else (c.b, c.a)
        rows.append((conv_id, 1, None, user_a, user_b, c.chat_type, c.temp_group_id, 0, None, 0))
        members += [(user_a, conv_id, 0, 0), (user_b, conv_id, 0, 0)]
    await insert_rows_txn(txn, CONVERSATIONS, rows)
    await insert_rows_txn(txn, CONVERSATION_MEMBERS, sorted(members))  # key order, as above
    return conv_ids


async def bulk_mark_read_txn(txn: Txn, marks: Sequence[tuple[int, int]]) -> None:
    """Mark whole conversations read: each `(uin, conv_id)` reads up to the last seq."""
    await txn.executemany(
        "UPDATE conversation_members SET read_seq = (SELECT last_seq FROM conversations c"
        " WHERE c.conv_id = conversation_members.conv_id) WHERE uin = ? AND conv_id = ?",
        marks,
    )


async def _take_conv_ids_txn(txn: Txn, count: int) -> list[int]:
    if count == 0:
        return []
    first = await next_id_txn(txn, "conversation")
    if txn.dialect == "postgres" and count > 1:
        await txn.fetchone("SELECT setval('conversation_ids', ?)", (first + count - 1,))
    return list(range(first, first + count))


async def accounts_between_txn(txn: Txn, low: int, high: int, limit: int) -> list[int]:
    """Up to `limit` existing account uins in [low, high], smallest first."""
    rows = await txn.fetchall(
        "SELECT uin FROM accounts WHERE uin BETWEEN ? AND ? ORDER BY uin LIMIT ?",
        (low, high, limit),
    )
    return [int(r[0]) for r in rows]


async def groups_between_txn(txn: Txn, low: int, high: int, limit: int) -> list[int]:
    """Up to `limit` existing group ids in [low, high], smallest first."""
    rows = await txn.fetchall(
        "SELECT group_id FROM groups WHERE group_id BETWEEN ? AND ? ORDER BY group_id LIMIT ?",
        (low, high, limit),
    )
    return [int(r[0]) for r in rows]


async def largest_ids_txn(txn: Txn) -> tuple[int, int, int]:
    """The largest account uin, group id and message id in use (0 when there is none)."""
    row = await txn.fetchone(
        "SELECT (SELECT COALESCE(MAX(uin), 0) FROM accounts),"
        " (SELECT COALESCE(MAX(group_id), 0) FROM groups),"
        " (SELECT COALESCE(MAX(message_id), 0) FROM messages)"
    )
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


async def peek_message_id_txn(txn: Txn) -> int:
    """The id `bulk_messages_txn` would give its first message now, without taking it.

    A loader that must know its messages' ids before handing them over (to make replies quote
    earlier ones) peeks, loads, and checks `BulkSummary.first_message_id` against the peek: on
    PostgreSQL another writer may take ids in between.
    """
    if txn.dialect == "postgres":
        row = await txn.fetchone(
            "SELECT last_value + CASE WHEN is_called THEN 1 ELSE 0 END FROM message_ids"
        )
    else:
        row = await txn.fetchone("SELECT COALESCE(MAX(message_id), 0) + 1 FROM messages")
    assert row is not None
    return int(row[0])
