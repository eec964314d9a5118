"""The store interface every engine implements, and the transaction handle queries use."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar

T = TypeVar("T")
Row = tuple[Any, ...]


class Txn(Protocol):
    """A handle on one transaction (or, for reads, one connection).

    SQL uses `?` placeholders; engines whose driver wants another paramstyle convert it.
    """

    dialect: str

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement and return the number of rows it changed."""
        ...

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement once per row of parameters."""
        ...

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """Run a query and return its first row, or None."""
        ...

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run a query and return all its rows."""
        ...

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once the transaction has committed (never if it rolls back)."""
        ...

    def after_commit_wait(self, step: Callable[[], Awaitable[None]]) -> None:
        """Await `step` after the commit, before the write returns to its caller."""
        ...

    def before_commit(self, step: Callable[[Txn], Awaitable[None]]) -> None:
        """Run `step` inside the transaction, after its function returned, just before commit.

        For work that must come last, such as taking the lock that orders shared events.
        """
        ...


TxnFn = Callable[[Txn], Awaitable[T]]


class StoreTooNew(RuntimeError):
    """The database was written by a newer Catnest than this one."""


class Engine(ABC):
    """A database: reads that may run concurrently, and serialised write transactions."""

    dialect: str
    location: str

    @abstractmethod
    async def start(self) -> None:
        """Open connections and apply pending migrations."""

    @abstractmethod
    async def close(self) -> None:
        """Finish queued writes and close every connection."""

    @abstractmethod
    async def read(self, fn: TxnFn[T]) -> T:
        """Run a read-only function against a consistent view of committed data."""

    async def listen(self, channel: str, callback: Callable[[], None]) -> Callable[[], None] | None:
        """Call `callback` whenever another connection notifies `channel`.

        Returns the function that stops listening, or None when the engine has no notifications
        (a single-process SQLite world needs none).
        """
        return None

    def watch_foreign_writes(self, callback: Callable[[], None]) -> None:
        """Call `callback` after a commit this engine did not make (another process writing the
        same database behind the world's back), as soon as the engine can tell.

        Engines whose other writers announce themselves (PostgreSQL's event log) never call it.
        """
        del callback  # nothing to watch: see above

    @abstractmethod
    async def write(self, desc: str, fn: TxnFn[T]) -> T:
        """Run `fn` in one write transaction; return once it has durably committed.

        `desc` names the transaction in logs. Callbacks registered with `after_commit` run
        after the commit and before this returns.
        """
