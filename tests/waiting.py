"""The one way tests wait for something that nothing announces: poll a condition, with a
deadline, and fail saying what never happened (STYLE.md: no sleep to wait for a thing)."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

INTERVAL = 0.02


async def wait_until(
    condition: Callable[[], T | Awaitable[T]],
    timeout: float = 10.0,  # noqa: ASYNC109 (the deadline is the point of this helper)
    *,
    what: str = "",
    retry_on: tuple[type[BaseException], ...] = (),
) -> T:
    """Call `condition` (a function or coroutine function) until it returns something truthy,
    and return that; fail after `timeout` seconds naming `what`.

    Exceptions of the `retry_on` types count as "not yet" (a server that refuses at first).
    """
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            result = condition()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return result  # type: ignore[return-value]
            last = result
        except retry_on as exc:
            last = exc
        if time.monotonic() > deadline:
            label = what or getattr(condition, "__name__", "the condition")
            raise AssertionError(f"not within {timeout:g} s: {label} (last: {last!r})")
        await asyncio.sleep(INTERVAL)
