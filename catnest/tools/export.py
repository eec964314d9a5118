"""`catnest world export`: the whole world as a world file, streamed a page at a time.

Memory stays flat whatever the world's size: each table is read in primary-key pages and
each page written out before the next is read, all inside one read snapshot so that a
server writing to the same database meanwhile cannot leave the file inconsistent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

import msgspec
import orjson

from catnest.store import tables
from catnest.store.engine import Engine, Txn
from catnest.tools import ToolError
from catnest.tools.progress import Meter, NoMeter
from catnest.tools.worldfile import RECORD_TYPES, header, type_name

# Rows read per query: big enough that paging costs little, small enough to keep memory flat.
PAGE_ROWS = 5000


@dataclass(frozen=True, slots=True)
class ExportSummary:
    """What a file received: the schema version and the records of each type."""

    schema: int
    counts: dict[str, int]

    @property
    def records(self) -> int:
        """Every record but the header."""
        return sum(self.counts.values())


async def export_world(engine: Engine, out: BinaryIO, meter: Meter | None = None) -> ExportSummary:
    """Write the world stored in `engine` to `out` as a world file."""
    meter = meter or NoMeter()

    # One read: every page of the dump comes from one snapshot, so a server writing the same
    # world meanwhile cannot leave a message whose conversation the dump never saw.
    return await engine.read(lambda txn: _dump_txn(txn, out, meter))


async def _dump_txn(txn: Txn, out: BinaryIO, meter: Meter) -> ExportSummary:
    encoder = msgspec.json.Encoder()
    schema = await tables.schema_version_txn(txn)
    total = 0
    for cls in RECORD_TYPES:
        total += await tables.count_rows_txn(txn, cls.table)
    meter.stage("exporting", total, "records")
    out.write(encoder.encode(header(schema)) + b"\n")
    counts: dict[str, int] = {}
    buffer = bytearray()
    for cls in RECORD_TYPES:
        count = 0
        after = None
        while True:
            rows = await tables.page_rows_txn(txn, cls.table, after, PAGE_ROWS)
            for row in rows:
                try:
                    record = cls.from_row(row)
                except orjson.JSONDecodeError as exc:
                    key = tables.row_key(cls.table, row)
                    raise ToolError(
                        f"{cls.table.name} {key}: a stored JSON column is not JSON ({exc})"
                    ) from None
                encoder.encode_into(record, buffer, -1)
                buffer += b"\n"
            out.write(buffer)
            buffer.clear()
            count += len(rows)
            meter.advance(len(rows))
            if len(rows) < PAGE_ROWS:
                break
            after = tables.row_key(cls.table, rows[-1])
        counts[type_name(cls)] = count
    out.flush()
    return ExportSummary(schema, counts)
