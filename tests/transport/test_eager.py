"""start_eagerly: a coroutine's first step now, a task only when it has to wait."""

from __future__ import annotations

import asyncio

import pytest

from catnest.transport.eager import start_eagerly


async def test_a_coroutine_that_never_waits_runs_at_once_without_a_task() -> None:
    ran: list[str] = []

    async def quick() -> None:
        ran.append("done")

    assert start_eagerly(quick(), asyncio.get_running_loop()) is None
    assert ran == ["done"]


async def test_an_error_of_the_first_step_is_raised_to_the_caller() -> None:
    async def broken() -> None:
        raise ConnectionResetError("gone")

    with pytest.raises(ConnectionResetError):
        start_eagerly(broken(), asyncio.get_running_loop())


async def test_a_coroutine_that_waits_goes_on_in_a_task_with_what_it_awaited() -> None:
    gate: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    steps: list[object] = []

    async def waits() -> None:
        steps.append("first")
        steps.append(await gate)
        await asyncio.sleep(0)  # a bare yield is handed over too
        steps.append("last")

    task = start_eagerly(waits(), asyncio.get_running_loop())
    assert task is not None and steps == ["first"]
    gate.set_result(7)
    await asyncio.wait_for(task, 5)
    assert steps == ["first", 7, "last"]


async def test_errors_and_cancellation_reach_the_coroutine_after_the_hand_off() -> None:
    gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    seen: list[str] = []

    async def fails_later() -> None:
        try:
            await gate
        except ValueError:
            seen.append("caught")
            raise

    task = start_eagerly(fails_later(), asyncio.get_running_loop())
    assert task is not None
    gate.set_exception(ValueError("boom"))
    with pytest.raises(ValueError):
        await task
    assert seen == ["caught"]

    forever: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def cleans_up() -> None:
        try:
            await forever
        finally:
            seen.append("finally")

    task = start_eagerly(cleans_up(), asyncio.get_running_loop())
    assert task is not None
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert seen == ["caught", "finally"]
    assert forever.cancelled()  # the awaited future was cancelled, as a task would do


async def test_not_inline_safe_runs_in_a_task_where_task_bound_timeouts_work() -> None:
    done: list[str] = []

    async def uses_a_timeout() -> None:
        async with asyncio.timeout(5):  # needs (and would cancel) the task it runs in
            await asyncio.sleep(0)
        done.append("ok")

    task = start_eagerly(uses_a_timeout(), asyncio.get_running_loop(), inline_safe=False)
    assert task is not None
    await asyncio.wait_for(task, 5)
    assert done == ["ok"]
