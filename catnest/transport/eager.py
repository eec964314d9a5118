"""Run a coroutine's first step at once; make a task only if it has to wait.

A WS session answers each frame concurrently (a slow send must not hold up a cheap read), so it
used to start a task per frame. Most answers never wait for anything (cached reads, SQLite
lookups, a reply written straight to the socket), and a task per frame cost a quarter of a
round trip. Python 3.12's eager task factory does this for every task; on 3.11 we do it here,
for the one hot path that needs it.

Caveat: on 3.11 the first step runs inside the caller's task (or in no task at all, from a
protocol callback), so code on that path must not use "the current task" (`asyncio.timeout`,
`current_task()`): callers pass `inline_safe=False` where it might (asyncpg does).
"""

from __future__ import annotations

import asyncio
import sys
import types
from collections.abc import Coroutine, Generator
from typing import Any


def start_eagerly(
    coro: Coroutine[Any, Any, None],
    loop: asyncio.AbstractEventLoop,
    *,
    inline_safe: bool = True,
) -> asyncio.Task[None] | None:
    """Run `coro` until it first waits: None if it finished (its exception, if any, raised
    here), else a task that carries it on from where it waits.

    `inline_safe` False means the coroutine may use task-bound primitives (`asyncio.timeout`):
    on Python 3.11 it then gets a task from the start; 3.12's eager tasks are always safe.
    `loop` is the running loop, passed in: `asyncio.get_running_loop()` calls getpid(), a real
    system call costing several percent of a request on some hosts.
    """
    if sys.version_info >= (3, 12):
        task: asyncio.Task[None] = asyncio.Task(coro, loop=loop, eager_start=True)
        if task.done():
            task.result()
            return None
        return task
    if not inline_safe:
        return loop.create_task(coro)
    try:
        waiting_on = coro.send(None)
    except StopIteration:
        return None
    return loop.create_task(_carry_on(coro, waiting_on))


async def _carry_on(coro: Coroutine[Any, Any, None], waiting_on: Any) -> None:
    await _resume(coro, waiting_on)


@types.coroutine
def _resume(coro: Coroutine[Any, Any, None], waiting_on: Any) -> Generator[Any, Any, None]:
    # Hands what the coroutine waits on (a future, or None for a bare yield) to the task running
    # us, and the outcome back in: exactly what the task would have done with `coro` itself.
    while True:
        try:
            outcome = yield waiting_on
        except BaseException as exc:  # cancellation and errors go into the coroutine
            try:
                waiting_on = coro.throw(exc)
            except StopIteration:
                return
        else:
            try:
                waiting_on = coro.send(outcome)
            except StopIteration:
                return
