"""The world file covers every world table, column for column."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from catnest.store import tables
from catnest.tools.worldfile import RECORD_TYPES
from tests.tools.conftest import seed


def test_every_table_and_column_is_in_the_format(tmp_path: Path) -> None:
    """A migration adding a table or a column must extend the world file (and its docs)."""
    seed(tmp_path / "data", 1, 0, 0)
    conn = sqlite3.connect(tmp_path / "data" / "catnest.db")
    try:
        names = {
            name
            for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            # Bookkeeping, not world data: migrations, and the multi-process event log.
            if name not in ("schema_migrations", "world_events")
        }
        assert names == {t.name for t in tables.WORLD_TABLES}
        for table in tables.WORLD_TABLES:
            info = conn.execute(f"PRAGMA table_info({table.name})").fetchall()
            assert tuple(row[1] for row in info) == table.columns, table.name
            primary = sorted((row[5], row[1]) for row in info if row[5])
            assert tuple(name for _, name in primary) == table.key, table.name
    finally:
        conn.close()
    assert [cls.table for cls in RECORD_TYPES] == list(tables.WORLD_TABLES)
    for cls in RECORD_TYPES:
        assert cls.__struct_fields__ == cls.table.columns
