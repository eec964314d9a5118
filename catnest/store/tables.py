"""The world's tables verbatim: their definitions, and whole-table reading and writing.

`catnest world export` / `import` move every row of every world table as it is, ids included.
Tables are read in primary-key order a page at a time (keyset paging, so a page costs the same
at row 10^6 as at row 0) and written with `executemany`. The bulk loaders (`bulk.py`) write
through `insert_rows_txn` too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from catnest.store.engine import Row, Txn


@dataclass(frozen=True, slots=True)
class Table:
    """A world table: its columns in schema order and its primary key (the dump order)."""

    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]


ACCOUNTS = Table(
    "accounts", ("uin", "nickname", "is_bot", "sex", "age", "sign", "created_at"), ("uin",)
)
FRIEND_CATEGORIES = Table(
    "friend_categories",
    ("owner_uin", "category_id", "name", "sort_id"),
    ("owner_uin", "category_id"),
)
FRIENDSHIPS = Table(
    "friendships",
    ("owner_uin", "friend_uin", "remark", "category_id", "created_at"),
    ("owner_uin", "friend_uin"),
)
GROUPS = Table(
    "groups",
    ("group_id", "name", "owner_uin", "max_member_count", "whole_ban", "created_at"),
    ("group_id",),
)
GROUP_MEMBERS = Table(
    "group_members",
    (
        "group_id", "uin", "role", "card", "title", "join_time", "last_sent_time",
        "shut_up_until",
    ),
    ("group_id", "uin"),
)  # fmt: skip
CONVERSATIONS = Table(
    "conversations",
    (
        "conv_id", "kind", "group_id", "user_a", "user_b", "chat_type", "temp_group_id",
        "last_seq", "last_msg_id", "last_time",
    ),
    ("conv_id",),
)  # fmt: skip
CONVERSATION_MEMBERS = Table(
    "conversation_members", ("uin", "conv_id", "read_seq", "pinned"), ("uin", "conv_id")
)
MESSAGES = Table(
    "messages",
    (
        "message_id", "nt_msg_id", "conv_id", "seq", "sender_uin", "chat_type",
        "temp_group_id", "time", "segments", "raw_message", "recalled_at", "recalled_by",
    ),
    ("message_id",),
)  # fmt: skip
REACTIONS = Table(
    "reactions", ("message_id", "emoji_id", "uin", "created_at"), ("message_id", "emoji_id", "uin")
)
ESSENCE_MESSAGES = Table(
    "essence_messages", ("message_id", "group_id", "operator", "created_at"), ("message_id",)
)
FORWARDS = Table("forwards", ("res_id", "owner", "nodes", "created_at"), ("res_id",))
FORWARD_CARRIERS = Table("forward_carriers", ("res_id", "message_id"), ("res_id", "message_id"))
FRIEND_REQUESTS = Table(
    "friend_requests",
    ("flag", "requester", "target", "comment", "state", "created_at"),
    ("flag",),
)
GROUP_REQUESTS = Table(
    "group_requests",
    ("flag", "kind", "group_id", "user_id", "inviter", "comment", "state", "created_at"),
    ("flag",),
)
PROFILE_LIKES = Table(
    "profile_likes", ("target", "liker", "day", "times"), ("target", "liker", "day")
)
GROUP_BLOCKLIST = Table("group_blocklist", ("group_id", "uin"), ("group_id", "uin"))

SEND_KEYS = Table(
    "send_keys", ("sender", "send_key", "message_id", "created_at"), ("sender", "send_key")
)

WORLD_TABLES: tuple[Table, ...] = (
    ACCOUNTS, FRIEND_CATEGORIES, FRIENDSHIPS, GROUPS, GROUP_MEMBERS, CONVERSATIONS,
    CONVERSATION_MEMBERS, MESSAGES, REACTIONS, ESSENCE_MESSAGES, FORWARDS, FORWARD_CARRIERS,
    FRIEND_REQUESTS, GROUP_REQUESTS, PROFILE_LIKES, GROUP_BLOCKLIST, SEND_KEYS,
)  # fmt: skip
"""Every table of the world, parents before the tables whose foreign keys point at them."""


class RowRejected(Exception):
    """The database refused row `index` of a batch (a duplicate key, a dangling reference...)."""

    def __init__(self, index: int, reason: str) -> None:
        super().__init__(f"row {index}: {reason}")
        self.index = index
        self.reason = reason


async def insert_rows_txn(txn: Txn, table: Table, rows: Sequence[Row]) -> None:
    """Insert rows given in `table.columns` order, all or none.

    When the database refuses the batch, the batch is undone and its rows are tried one at a
    time to name the culprit: RowRejected carries its index and the database's reason.
    """
    if not rows:
        return
    marks = ", ".join("?" for _ in table.columns)
    sql = f"INSERT INTO {table.name} ({', '.join(table.columns)}) VALUES ({marks})"
    await txn.execute("SAVEPOINT bulk_rows")
    try:
        await txn.executemany(sql, rows)
    except Exception:  # any driver's error: the row probe below names it
        await txn.execute("ROLLBACK TO SAVEPOINT bulk_rows")
        await txn.execute("RELEASE SAVEPOINT bulk_rows")
        rejected = await _find_rejected_txn(txn, sql, rows)
        if rejected is None:
            raise
        raise rejected from None
    await txn.execute("RELEASE SAVEPOINT bulk_rows")


async def _find_rejected_txn(txn: Txn, sql: str, rows: Sequence[Row]) -> RowRejected | None:
    # Only runs after a failure, so its cost (one statement a row) never slows a good load.
    await txn.execute("SAVEPOINT bulk_probe")
    try:
        for index, row in enumerate(rows):
            try:
                await txn.execute(sql, row)
            except Exception as exc:
                return RowRejected(index, str(exc))
        return None
    finally:
        await txn.execute("ROLLBACK TO SAVEPOINT bulk_probe")
        await txn.execute("RELEASE SAVEPOINT bulk_probe")


async def page_rows_txn(txn: Txn, table: Table, after: Row | None, limit: int) -> list[Row]:
    """Up to `limit` rows of `table` in key order, starting after the row whose key is `after`."""
    columns = ", ".join(table.columns)
    order = ", ".join(table.key)
    if after is None:
        sql = f"SELECT {columns} FROM {table.name} ORDER BY {order} LIMIT ?"
        return await txn.fetchall(sql, (limit,))
    marks = ", ".join("?" for _ in table.key)
    sql = f"SELECT {columns} FROM {table.name} WHERE ({order}) > ({marks}) ORDER BY {order} LIMIT ?"
    return await txn.fetchall(sql, (*after, limit))


def row_key(table: Table, row: Row) -> Row:
    """The primary key of `row` (given in `table.columns` order), for `page_rows_txn`."""
    return tuple(row[table.columns.index(column)] for column in table.key)


async def count_rows_txn(txn: Txn, table: Table) -> int:
    """How many rows `table` has."""
    row = await txn.fetchone(f"SELECT COUNT(*) FROM {table.name}")
    return int(row[0]) if row else 0


async def schema_version_txn(txn: Txn) -> int:
    """The number of the last migration applied to this database."""
    row = await txn.fetchone("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
    return int(row[0]) if row else 0


async def restored_txn(txn: Txn) -> None:
    """After a verbatim restore: id sequences continue past the restored ids (PostgreSQL)."""
    if txn.dialect == "postgres":
        for sequence, table, column in (
            ("message_ids", "messages", "message_id"),
            ("conversation_ids", "conversations", "conv_id"),
        ):
            await txn.fetchone(
                f"SELECT setval('{sequence}', COALESCE((SELECT MAX({column}) FROM {table}), 0)"
                " + 1, false)"
            )
