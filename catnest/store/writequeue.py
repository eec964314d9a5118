"""The queue both engines' single writer task takes batches of write functions from.

Callers queue a write function and await its future; the writer takes whatever is queued (up to
a batch size) and runs it in one transaction, so concurrent writes share one commit. After the
commit, `settle` runs each write's callbacks, then the after-commit steps (once each, however
many writes registered the same one), then answers the callers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from catnest.store.engine import T, TxnFn

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Job:
    """One queued write: its function, its caller's future and, once run, its outcome."""

    desc: str
    fn: TxnFn[Any]
    future: asyncio.Future[Any]
    result: Any = None
    error: BaseException | None = None
    callbacks: list[Callable[[], None]] = field(default_factory=list)
    waits: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


class WriteQueue:
    """Write functions waiting for the writer, taken in batches of at most `max_batch`."""

    def __init__(self, max_batch: int) -> None:
        self._queue: asyncio.Queue[Job | None] = asyncio.Queue()
        self._max_batch = max_batch
        self._stopping = False

    def submit(self, loop: asyncio.AbstractEventLoop, desc: str, fn: TxnFn[T]) -> asyncio.Future[T]:
        """Queue `fn`; the future is answered once it has committed (or failed)."""
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put_nowait(Job(desc, fn, future))
        return future

    async def stop(self) -> None:
        """Let the writer finish what is queued, then `next_batch` returns None."""
        await self._queue.put(None)

    async def next_batch(self) -> list[Job] | None:
        """The next jobs to run together (waiting for one if none is queued); None once
        stopped and drained."""
        if self._stopping:
            return None
        first = await self._queue.get()
        if first is None:
            return None
        batch = [first]
        while len(batch) < self._max_batch and not self._queue.empty():
            job = self._queue.get_nowait()
            if job is None:
                self._stopping = True
                break
            batch.append(job)
        return batch


def fail_all(batch: list[Job], error: BaseException) -> None:
    """Answer every caller of a batch that could not commit with `error`."""
    for job in batch:
        if not job.future.done():
            job.future.set_exception(error)


async def settle(batch: list[Job]) -> None:
    """After a batch committed: callbacks, after-commit steps, then the callers' answers."""
    waits: list[Callable[[], Awaitable[None]]] = []
    for job in batch:
        if job.error is None:
            for callback in job.callbacks:
                try:
                    callback()
                except Exception:
                    log.exception("after-commit callback of %s failed", job.desc)
            # The same step registered by several writes (the shared hub's catch-up) runs once.
            waits.extend(w for w in job.waits if w not in waits)
    for wait in waits:
        try:
            await wait()
        except Exception:
            log.exception("after-commit step of a batch of %d writes failed", len(batch))
    for job in batch:
        if job.future.done():  # the caller went away; the write stands
            continue
        if job.error is not None:
            job.future.set_exception(job.error)
        else:
            job.future.set_result(job.result)
