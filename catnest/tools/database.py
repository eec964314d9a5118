"""Opening the configured world for a tool, and leaving no trace when the tool fails on a
database it had to create."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from catnest.app import open_engine
from catnest.config import Config, ConfigError
from catnest.store.engine import Engine, StoreTooNew
from catnest.tools import ToolError

# SQLite keeps these beside the database in WAL mode.
_SIDE_FILES = ("-wal", "-shm", "-journal")


def database_path(config: Config) -> Path:
    """The SQLite file the config points at, or ToolError."""
    try:
        return config.sqlite_path()
    except ConfigError as exc:
        raise ToolError(f"config: {exc}") from None


@contextlib.asynccontextmanager
async def open_world(config: Config, *, create: bool) -> AsyncIterator[Engine]:
    """The world's engine, started (migrations applied) and closed after the block.

    Without `create` a missing SQLite database is an error rather than a new empty world.
    With it, a database (and folders) created here are removed again if the block fails, so a
    refused seed or import leaves the disk as it found it. (A PostgreSQL database is never
    created here; each tool changes it in transactions that roll back on failure.)
    """
    if config.uses_postgres():
        path, existed, made_dirs = None, True, []
    else:
        path = database_path(config)
        if path.is_dir():
            raise ToolError(f"{path}: is a folder, not a database file")
        existed = path.exists()
        if not existed and not create:
            raise ToolError(
                f"no world at {path}: start `catnest serve` or run `catnest world seed` first"
            )
        made_dirs = [p for p in (path.parent, *path.parent.parents) if not p.exists()]
    engine = open_engine(config)
    try:
        await engine.start()
    except Exception as exc:  # the driver's own errors: a bad file, a refused connection...
        await engine.close()
        if path is not None and not existed:
            _remove(path, made_dirs)
        if isinstance(exc, StoreTooNew):
            raise ToolError(str(exc)) from None
        raise ToolError(f"{engine.location}: {exc}") from None
    try:
        yield engine
    except BaseException:
        await engine.close()
        if path is not None and not existed:
            _remove(path, made_dirs)
        raise
    await engine.close()


def _remove(path: Path, made_dirs: list[Path]) -> None:
    for suffix in ("", *_SIDE_FILES):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{path}{suffix}").unlink()
    for folder in made_dirs:  # deepest first
        with contextlib.suppress(OSError):
            folder.rmdir()
