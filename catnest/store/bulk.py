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
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from catnest.store.engine import Txn
from catnest.store.ids import MAX_MESSAGE_ID, IdsExhausted, next_id_txn

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


@dataclass(frozen=True, slots=True)
class BulkMessage:
    """One message to append to conversation `conv_id`.

    `chat_type` None keeps the conversation's current chat type and temp-chat source group;
    otherwise `chat_type` and `temp_group_id` are stored as given.
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
    """An NT-style 64-bit msgId, the same formula as `catnest.world.chat.nt_msg_id`."""
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

    async def add(self, m: BulkMessage) -> None:
        tip = self.tips.get(m.conv_id)
        if tip is None:
            tip = self.tips[m.conv_id] = await _load_tip(self.txn, m.conv_id)
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
        tip.seq += 1
        tip.message_id, tip.time, tip.touched = message_id, m.time, True
        self.batch.append(
            (
                message_id,
                nt_msg_id(m.time, message_id),
                m.conv_id,
                tip.seq,
                m.sender_uin,
                tip.chat_type,
                tip.temp_group_id,
                m.time,
                m.segments_json,
                m.raw_message,
            )
        )
        self.read_upto[(m.conv_id, m.sender_uin)] = tip.seq
        if tip.group_id is not None:
            self.sent_at[(tip.group_id, m.sender_uin)] = m.time
        self.next_id += 1
        if len(self.batch) >= self.batch_size:
            await self.flush()

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
    for message in messages:
        await loader.add(message)
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
