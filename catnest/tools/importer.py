"""`catnest world import`: a world file into an empty database, all in one transaction.

Lines are decoded, checked and inserted a batch at a time, so a file of any size streams
through in bounded memory (what is kept is the set of account, group and conversation ids and
a packed array of message ids, to check references). The first problem stops the import with
the line number and the whole transaction rolls back: the database is left as it was.
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from catnest.store import tables
from catnest.store.engine import Engine, Row, Txn
from catnest.tools import ToolError
from catnest.tools.progress import Meter, NoMeter
from catnest.tools.worldfile import (
    FORMAT,
    RECORD_TYPES,
    VERSION,
    AccountLine,
    AnyLine,
    BlocklistLine,
    CategoryLine,
    ConversationLine,
    ConversationMemberLine,
    EssenceLine,
    ForwardCarrierLine,
    ForwardLine,
    FriendRequestLine,
    FriendshipLine,
    GroupLine,
    GroupRequestLine,
    Header,
    LikeLine,
    MemberLine,
    MessageLine,
    ReactionLine,
    TableRecord,
    type_name,
)

# Rows per insert batch (and per meter update).
BATCH_ROWS = 10_000

ACCOUNT, GROUP, CONVERSATION = "an account", "a group", "a conversation"
MESSAGE, FORWARD = "a message", "a merged forward"
# The fields of each record that name something defined by an earlier line.
REFERENCES: dict[type[TableRecord], tuple[tuple[str, str], ...]] = {
    CategoryLine: (("owner_uin", ACCOUNT),),
    FriendshipLine: (("owner_uin", ACCOUNT), ("friend_uin", ACCOUNT)),
    GroupLine: (("owner_uin", ACCOUNT),),
    MemberLine: (("group_id", GROUP), ("uin", ACCOUNT)),
    ConversationLine: (
        ("group_id", GROUP),
        ("user_a", ACCOUNT),
        ("user_b", ACCOUNT),
        ("temp_group_id", GROUP),
    ),
    ConversationMemberLine: (("uin", ACCOUNT), ("conv_id", CONVERSATION)),
    MessageLine: (
        ("conv_id", CONVERSATION),
        ("sender_uin", ACCOUNT),
        ("temp_group_id", GROUP),
        ("recalled_by", ACCOUNT),
    ),
    ReactionLine: (("message_id", MESSAGE), ("uin", ACCOUNT)),
    EssenceLine: (("message_id", MESSAGE), ("group_id", GROUP), ("operator", ACCOUNT)),
    ForwardLine: (("owner", ACCOUNT),),
    ForwardCarrierLine: (("res_id", FORWARD), ("message_id", MESSAGE)),
    FriendRequestLine: (("requester", ACCOUNT), ("target", ACCOUNT)),
    GroupRequestLine: (("group_id", GROUP), ("user_id", ACCOUNT), ("inviter", ACCOUNT)),
    LikeLine: (("target", ACCOUNT), ("liker", ACCOUNT)),
    BlocklistLine: (("group_id", GROUP), ("uin", ACCOUNT)),
}
_ORDER = {cls: i for i, cls in enumerate(RECORD_TYPES)}
_KEY_INDEXES = {
    cls: tuple(cls.table.columns.index(column) for column in cls.table.key) for cls in RECORD_TYPES
}
_TYPE_NAMES = ", ".join(type_name(cls) for cls in RECORD_TYPES)


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """What was imported: the records of each type."""

    counts: dict[str, int]

    @property
    def records(self) -> int:
        """Every record but the header."""
        return sum(self.counts.values())


@dataclass(slots=True)
class _Known:
    """What earlier lines defined, for the references of later ones."""

    accounts: set[int] = field(default_factory=set)
    groups: set[int] = field(default_factory=set)
    forwards: set[str] = field(default_factory=set)
    # conv_id -> last_seq: messages may not go past it.
    conversations: dict[int, int] = field(default_factory=dict)
    # Sorted (the file lists messages by id), so membership is a binary search.
    messages: array[int] = field(default_factory=lambda: array("q"))
    # (line, conv_id, last_msg_id) of conversations pointing at a message, checked at the end.
    last_messages: list[tuple[int, int, int]] = field(default_factory=list)

    def has(self, kind: str, value: int | str) -> bool:
        if isinstance(value, str):
            return kind == FORWARD and value in self.forwards
        if kind == ACCOUNT:
            return value in self.accounts
        if kind == GROUP:
            return value in self.groups
        if kind == CONVERSATION:
            return value in self.conversations
        i = bisect.bisect_left(self.messages, value)
        return i < len(self.messages) and self.messages[i] == value


async def import_world(
    engine: Engine, lines: Iterable[bytes], meter: Meter | None = None
) -> ImportSummary:
    """Load a world file into the (empty) database of `engine`; ToolError on any problem."""
    meter = meter or NoMeter()

    async def load(txn: Txn) -> ImportSummary:
        await _require_empty_txn(txn, engine.location)
        loader = _Loader(txn, meter, await tables.schema_version_txn(txn))
        for number, line in enumerate(lines, 1):
            await loader.line(number, line)
        await loader.finish()
        await tables.restored_txn(txn)
        return ImportSummary(loader.counts)

    meter.stage("importing", None, "records")
    return await engine.write("import_world", load)


async def _require_empty_txn(txn: Txn, location: str) -> None:
    for table in tables.WORLD_TABLES:
        if await tables.page_rows_txn(txn, table, None, 1):
            accounts = await tables.count_rows_txn(txn, tables.ACCOUNTS)
            raise ToolError(
                f"the database at {location} already holds a world ({accounts} accounts):"
                " import only into an empty one (a new --data-dir, or store.url)"
            )


class _Loader:
    """The state of one import: where the file is, what it defined, rows waiting to go in."""

    def __init__(self, txn: Txn, meter: Meter, schema: int) -> None:
        self.txn = txn
        self.meter = meter
        self.schema = schema
        self.decoder = msgspec.json.Decoder(AnyLine)
        self.known = _Known()
        self.seen_header = False
        self.current: type[TableRecord] | None = None
        self.previous_key: Row | None = None
        self.rows: list[Row] = []
        self.row_lines: list[int] = []
        self.counts: dict[str, int] = {type_name(cls): 0 for cls in RECORD_TYPES}

    async def line(self, number: int, line: bytes) -> None:
        """Check one line and queue its row."""
        record = self._decode(number, line)
        if isinstance(record, Header):
            self._header(number, record)
            return
        if not self.seen_header:
            raise ToolError(f"line {number}: expected the header line first ({_header_hint()})")
        assert isinstance(record, TableRecord)
        cls = type(record)
        values = msgspec.structs.astuple(record)
        await self._order(number, cls, tuple(values[i] for i in _KEY_INDEXES[cls]))
        self._check(number, record)
        self.counts[type_name(cls)] += 1
        self.rows.append(record.to_row())
        self.row_lines.append(number)
        if len(self.rows) >= BATCH_ROWS:
            await self._flush()

    def _decode(self, number: int, line: bytes) -> msgspec.Struct:
        if not line.strip():
            raise ToolError(f"line {number}: empty line (expected one JSON object a line)")
        try:
            record: msgspec.Struct = self.decoder.decode(line)
        except msgspec.ValidationError as exc:
            raise ToolError(f"line {number}: {_explain(line, exc)}") from None
        except msgspec.DecodeError as exc:
            raise ToolError(f"line {number}: not valid JSON ({exc})") from None
        return record

    def _header(self, number: int, record: Header) -> None:
        if self.seen_header:
            raise ToolError(f"line {number}: a second header line")
        if number != 1:
            raise ToolError(f"line {number}: the header must be the first line")
        if record.format != FORMAT:
            raise ToolError(f"line 1: format {record.format!r} is not {FORMAT!r}")
        if record.version != VERSION:
            raise ToolError(
                f"line 1: world file version {record.version} is not supported"
                f" (this Catnest reads version {VERSION})"
            )
        if record.schema > self.schema:
            raise ToolError(
                f"line 1: the file follows schema version {record.schema}, newer than this"
                f" Catnest's {self.schema}: import it with a newer Catnest"
            )
        self.seen_header = True

    async def _order(self, number: int, cls: type[TableRecord], key: Row) -> None:
        name = type_name(cls)
        if cls is not self.current:
            if self.current is not None and _ORDER[cls] < _ORDER[self.current]:
                raise ToolError(
                    f"line {number}: a {name!r} record after {type_name(self.current)!r}"
                    f" records: types must come in this order: {_TYPE_NAMES}"
                )
            await self._flush()
            self.current, self.previous_key = cls, None
        if self.previous_key is not None and key <= self.previous_key:
            what = (
                "is repeated"
                if key == self.previous_key
                else f"comes after {name} {_show_key(self.previous_key)}"
            )
            raise ToolError(
                f"line {number}: {name} {_show_key(key)} {what}:"
                f" {name} records must be sorted by {', '.join(cls.table.key)} without repeats"
            )
        self.previous_key = key

    def _check(self, number: int, record: TableRecord) -> None:
        known = self.known
        for name, kind in REFERENCES.get(type(record), ()):
            value = getattr(record, name)
            if value is not None and not known.has(kind, value):
                raise ToolError(
                    f"line {number}: {type_name(type(record))}: {name} {value} is not"
                    f" {kind} defined earlier in the file"
                )
        if isinstance(record, MessageLine):
            _check_message(number, record, known)
        elif isinstance(record, AccountLine):
            known.accounts.add(record.uin)
        elif isinstance(record, GroupLine):
            known.groups.add(record.group_id)
        elif isinstance(record, ForwardLine):
            known.forwards.add(record.res_id)
        elif isinstance(record, ConversationLine):
            _check_conversation(number, record)
            known.conversations[record.conv_id] = record.last_seq
            if record.last_msg_id is not None:
                known.last_messages.append((number, record.conv_id, record.last_msg_id))

    async def _flush(self) -> None:
        if not self.rows or self.current is None:
            return
        try:
            await tables.insert_rows_txn(self.txn, self.current.table, self.rows)
        except tables.RowRejected as exc:
            number = self.row_lines[exc.index]
            raise ToolError(
                f"line {number}: {type_name(self.current)}: the database refused it ({exc.reason})"
            ) from None
        self.meter.advance(len(self.rows))
        self.rows, self.row_lines = [], []

    async def finish(self) -> None:
        """Insert what is left and check what could only be checked at the end."""
        if not self.seen_header:
            raise ToolError(f"empty input: expected a world file ({_header_hint()})")
        await self._flush()
        for number, conv_id, message_id in self.known.last_messages:
            if not self.known.has(MESSAGE, message_id):
                raise ToolError(
                    f"line {number}: conversation {conv_id}: last_msg_id {message_id} is not"
                    " a message of the file"
                )


def _check_conversation(number: int, record: ConversationLine) -> None:
    where = f"line {number}: conversation {record.conv_id}"
    if record.kind == 1:
        if record.group_id is not None or record.user_a is None or record.user_b is None:
            raise ToolError(f"{where}: a private one (kind 1) has user_a and user_b, no group_id")
        if record.user_a >= record.user_b:
            raise ToolError(f"{where}: user_a must be the smaller uin of the pair")
    elif record.group_id is None or record.user_a is not None or record.user_b is not None:
        raise ToolError(f"{where}: a group one (kind 2) has group_id, no user_a or user_b")


def _check_message(number: int, record: MessageLine, known: _Known) -> None:
    where = f"line {number}: message {record.message_id}"
    last_seq = known.conversations[record.conv_id]
    if record.seq > last_seq:
        raise ToolError(f"{where}: seq {record.seq} is past its conversation's last_seq {last_seq}")
    for i, segment in enumerate(record.segments):
        if not (isinstance(segment.get("type"), str) and isinstance(segment.get("data"), dict)):
            raise ToolError(
                f'{where}: segments[{i}]: expected {{"type": <string>, "data": <object>}}'
            )
    known.messages.append(record.message_id)


def _explain(line: bytes, exc: msgspec.ValidationError) -> str:
    """`account: uin: expected int, got str` from msgspec's `Expected ... - at `$.uin``."""
    text = str(exc)
    kind: Any = None
    try:
        raw = msgspec.json.decode(line)
        kind = raw.get("type") if isinstance(raw, dict) else None
    except msgspec.DecodeError:
        pass
    prefix = f"{kind}: " if isinstance(kind, str) and text.find("`$.type`") < 0 else ""
    if " - at `$." in text:
        message, _, path = text.rpartition(" - at `$.")
        text = f"{path.rstrip('`')}: {message[0].lower()}{message[1:]}"
        if path.startswith("type`"):
            text = f"type: unknown record type {kind!r} (expected header, {_TYPE_NAMES})"
    elif text.startswith("Object contains unknown field"):
        text = f"{text.split('`')[1]}: unknown field"
    elif text.startswith("Object missing required field"):
        text = f"{text.split('`')[1]}: missing"
    elif text.startswith("Expected `object`"):
        text = "expected a JSON object"
    return f"{prefix}{text}"


def _show_key(key: Row) -> str:
    return str(key[0]) if len(key) == 1 else "(" + ", ".join(str(k) for k in key) + ")"


def _header_hint() -> str:
    return f'{{"type": "header", "format": "{FORMAT}", "version": {VERSION}, "schema": <n>}}'
