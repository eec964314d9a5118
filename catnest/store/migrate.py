"""Numbered, append-only SQL migrations recorded in the database they built."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from catnest.store.engine import StoreTooNew

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    """One migration file: its number, name and the SQL for one dialect."""

    version: int
    name: str
    sql: str


def load_migrations(dialect: str) -> list[Migration]:
    """Read the packaged migrations for `dialect`, in order.

    `NNNN_name.sql` is shared; `NNNN_name.postgres.sql` replaces it for PostgreSQL, only where
    the SQL must differ.
    """
    folder = resources.files("catnest.store") / "migrations"
    found: dict[int, Migration] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        match = _NAME.match(entry.name)
        if match is None:
            continue
        version, name = int(match.group(1)), match.group(2)
        sql = entry.read_text(encoding="utf-8")
        variant = folder / f"{match.group(1)}_{name}.{dialect}.sql"
        if variant.is_file():
            sql = variant.read_text(encoding="utf-8")
        found[version] = Migration(version, name, sql)
    versions = sorted(found)
    if versions != list(range(1, len(versions) + 1)):
        raise RuntimeError(f"migration numbers have gaps: {versions}")
    return [found[v] for v in versions]


def split_statements(sql: str) -> list[str]:
    """Split a migration into statements (our migrations never put `;` inside literals)."""
    lines = [line.split("--", 1)[0] for line in sql.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def check_compatible(applied: int, known: int, location: str) -> None:
    """Refuse a database that a newer Catnest has migrated past what this one knows."""
    if applied > known:
        raise StoreTooNew(
            f"the database at {location} is at schema version {applied}, but this Catnest "
            f"knows versions up to {known}: upgrade Catnest or use another database"
        )
