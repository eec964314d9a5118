"""The world file: a whole world as JSON Lines, one record per line (docs/world-format.md).

Each record type mirrors one world table: its fields are the table's columns in schema order,
with 0/1 flags as booleans and stored JSON (segments, forward nodes) embedded as JSON rather than
as a string. A file is a header line, then the records of each type in `RECORD_TYPES` order,
each type sorted by its table's primary key: the order `catnest world export` writes, so that
export -> import -> export gives the same bytes.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import msgspec
import orjson

from catnest.store import tables
from catnest.store.engine import Row
from catnest.store.ids import MAX_MESSAGE_ID
from catnest.store.tables import Table

FORMAT = "catnest-world"
VERSION = 1

# SQLite integers (and PostgreSQL BIGINT) hold 64 bits; bigger numbers are refused on decode.
I64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
# The ranges the world accepts for new accounts and groups (`catnest.world.accounts.check_uin`).
Uin = Annotated[int, msgspec.Meta(ge=10000, le=2**63 - 1)]
MessageId = Annotated[int, msgspec.Meta(ge=1, le=MAX_MESSAGE_ID)]
Seq = Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]
ChatType = Literal[1, 2, 100]
State = Literal["pending", "approved", "rejected"]


class Record(msgspec.Struct, tag_field="type", forbid_unknown_fields=True):
    """One line of a world file; `type` names the record."""


class Header(Record, tag="header"):
    """The first line: what the file is and which schema its records follow."""

    format: str
    version: I64
    schema: I64


class TableRecord(Record):
    """A row of `table`, field for column."""

    table: ClassVar[Table]
    # Positions of the columns stored as 0/1 (booleans here) and as JSON text (JSON here).
    flags: ClassVar[tuple[int, ...]] = ()
    json: ClassVar[tuple[int, ...]] = ()

    @classmethod
    def from_row(cls, row: Row) -> TableRecord:
        """The record of a stored row (columns in `table.columns` order)."""
        if not cls.flags and not cls.json:
            return cls(*row)
        values = list(row)
        for i in cls.flags:
            values[i] = bool(values[i])
        for i in cls.json:
            values[i] = orjson.loads(values[i])
        return cls(*values)

    def to_row(self) -> Row:
        """The row to store (columns in `table.columns` order)."""
        values = msgspec.structs.astuple(self)
        if not self.flags and not self.json:
            return values
        out = list(values)
        for i in self.flags:
            out[i] = int(out[i])
        for i in self.json:
            # orjson, compact: the bytes `catnest.world.messages` stores when a message is sent.
            out[i] = orjson.dumps(out[i]).decode()
        return tuple(out)


class AccountLine(TableRecord, tag="account"):
    table = tables.ACCOUNTS
    flags = (2,)
    uin: Uin
    nickname: str
    is_bot: bool
    sex: str
    age: I64
    sign: str
    created_at: I64


class CategoryLine(TableRecord, tag="category"):
    table = tables.FRIEND_CATEGORIES
    owner_uin: I64
    category_id: I64
    name: str
    sort_id: I64


class FriendshipLine(TableRecord, tag="friendship"):
    table = tables.FRIENDSHIPS
    owner_uin: I64
    friend_uin: I64
    remark: str
    category_id: I64
    created_at: I64


class GroupLine(TableRecord, tag="group"):
    table = tables.GROUPS
    flags = (4,)
    group_id: Uin
    name: str
    owner_uin: I64
    max_member_count: I64
    whole_ban: bool
    created_at: I64


class MemberLine(TableRecord, tag="member"):
    table = tables.GROUP_MEMBERS
    group_id: I64
    uin: I64
    role: Literal["owner", "admin", "member"]
    card: str
    title: str
    join_time: I64
    last_sent_time: I64
    shut_up_until: I64


class ConversationLine(TableRecord, tag="conversation"):
    table = tables.CONVERSATIONS
    conv_id: Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]
    kind: Literal[1, 2]
    group_id: I64 | None
    user_a: I64 | None
    user_b: I64 | None
    chat_type: ChatType
    temp_group_id: I64 | None
    last_seq: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
    last_msg_id: MessageId | None
    last_time: I64


class ConversationMemberLine(TableRecord, tag="conversation_member"):
    table = tables.CONVERSATION_MEMBERS
    flags = (3,)
    uin: I64
    conv_id: I64
    read_seq: I64
    pinned: bool


class MessageLine(TableRecord, tag="message"):
    table = tables.MESSAGES
    json = (8,)
    message_id: MessageId
    nt_msg_id: I64
    conv_id: I64
    seq: Seq
    sender_uin: I64
    chat_type: ChatType
    temp_group_id: I64 | None
    time: I64
    segments: list[dict[str, Any]]
    raw_message: str
    recalled_at: I64 | None
    recalled_by: I64 | None


class ReactionLine(TableRecord, tag="reaction"):
    table = tables.REACTIONS
    message_id: I64
    emoji_id: str
    uin: I64
    created_at: I64


class EssenceLine(TableRecord, tag="essence"):
    table = tables.ESSENCE_MESSAGES
    message_id: I64
    group_id: I64
    operator: I64
    created_at: I64


class ForwardLine(TableRecord, tag="forward"):
    table = tables.FORWARDS
    json = (2,)
    res_id: str
    owner: I64
    nodes: dict[str, Any]
    created_at: I64


class ForwardCarrierLine(TableRecord, tag="forward_carrier"):
    table = tables.FORWARD_CARRIERS
    res_id: str
    message_id: I64


class FriendRequestLine(TableRecord, tag="friend_request"):
    table = tables.FRIEND_REQUESTS
    flag: str
    requester: I64
    target: I64
    comment: str
    state: State
    created_at: I64


class GroupRequestLine(TableRecord, tag="group_request"):
    table = tables.GROUP_REQUESTS
    flag: str
    kind: Literal["add", "invite"]
    group_id: I64
    user_id: I64
    inviter: I64 | None
    comment: str
    state: State
    created_at: I64


class LikeLine(TableRecord, tag="like"):
    table = tables.PROFILE_LIKES
    target: I64
    liker: I64
    day: I64
    times: Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]


class BlocklistLine(TableRecord, tag="blocklist"):
    table = tables.GROUP_BLOCKLIST
    group_id: I64
    uin: I64


class SendKeyLine(TableRecord, tag="send_key"):
    table = tables.SEND_KEYS
    sender: I64
    send_key: str
    message_id: I64
    created_at: I64


RECORD_TYPES: tuple[type[TableRecord], ...] = (
    AccountLine,
    CategoryLine,
    FriendshipLine,
    GroupLine,
    MemberLine,
    ConversationLine,
    ConversationMemberLine,
    MessageLine,
    ReactionLine,
    EssenceLine,
    ForwardLine,
    ForwardCarrierLine,
    FriendRequestLine,
    GroupRequestLine,
    LikeLine,
    BlocklistLine,
    SendKeyLine,
)
"""Every record type, in file order (the order of `tables.WORLD_TABLES`)."""

AnyLine = (
    Header
    | AccountLine
    | CategoryLine
    | FriendshipLine
    | GroupLine
    | MemberLine
    | ConversationLine
    | ConversationMemberLine
    | MessageLine
    | ReactionLine
    | EssenceLine
    | ForwardLine
    | ForwardCarrierLine
    | FriendRequestLine
    | GroupRequestLine
    | LikeLine
    | BlocklistLine
    | SendKeyLine
)


def type_name(cls: type[Record]) -> str:
    """The `type` value of a record class."""
    tag = cls.__struct_config__.tag
    assert isinstance(tag, str)
    return tag


def header(schema: int) -> Header:
    """The header of a file written against migration `schema`."""
    return Header(format=FORMAT, version=VERSION, schema=schema)
