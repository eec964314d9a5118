"""Id allocation: done by the database so ids survive restarts and never repeat."""

from __future__ import annotations

from catnest.store.engine import Txn

# OneBot clients store message_id in int32 fields (NapCat's ids are non-negative int32).
MAX_MESSAGE_ID = 2**31 - 1

_SEQUENCES = {"message": ("messages", "message_id"), "conversation": ("conversations", "conv_id")}


class IdsExhausted(RuntimeError):
    """No int32 message id is left."""


async def next_id_txn(txn: Txn, kind: str) -> int:
    """The next id of `kind` ("message" or "conversation").

    PostgreSQL takes it from a sequence; SQLite has one writer, so max + 1 under the write
    transaction is race-free and costs one index probe.
    """
    if txn.dialect == "postgres":
        row = await txn.fetchone(f"SELECT nextval('{kind}_ids')")
    else:
        table, column = _SEQUENCES[kind]
        row = await txn.fetchone(f"SELECT COALESCE(MAX({column}), 0) + 1 FROM {table}")
    assert row is not None
    value = int(row[0])
    if kind == "message" and value > MAX_MESSAGE_ID:
        raise IdsExhausted("every int32 message_id has been used")
    return value
