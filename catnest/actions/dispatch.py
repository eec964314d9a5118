"""The one place where an action call is looked up, its params decoded, its handler run, and
its result or error turned into an envelope."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable
from typing import Any

from catnest.actions.context import ActionContext
from catnest.onebot import envelope
from catnest.onebot.errors import ActionError, BadParams, NotFound, Retcode
from catnest.onebot.params import convert_params
from catnest.onebot.registry import Registry

log = logging.getLogger("catnest.actions")


def may_wait_long(registry: Registry[ActionContext], action: Any) -> bool:
    """Whether a call may wait long enough that a connection should not hold the calls behind
    it until it is answered: `_rate_limited` calls wait out their spacing."""
    return isinstance(action, str) and action.endswith("_rate_limited")


def run_action(
    registry: Registry[ActionContext], ctx: ActionContext, action: Any, params: Any, echo: Any
) -> Awaitable[dict[str, Any]]:
    """Run one action call and return its envelope, recording it when traffic is watched.

    Never raises for the client's mistakes. Unexpected failures answer 1200 with a request id
    that the log line carries too, so an operator can find the stack trace without it ever
    reaching the wire. (One function, not three nested ones: every call of every bot comes
    through here, and each coroutine layer costs as much as the recording: this returns the
    coroutine to await rather than being one.)
    """
    if isinstance(action, str) and action.endswith("_rate_limited"):
        return _spaced_answer(registry, ctx, action, params, echo)
    return _answer(registry, ctx, action, params, echo)


async def _spaced_answer(
    registry: Registry[ActionContext], ctx: ActionContext, action: Any, params: Any, echo: Any
) -> dict[str, Any]:
    async with _spaced(ctx):
        return await _answer(registry, ctx, action, params, echo)


@contextlib.asynccontextmanager
async def _spaced(ctx: ActionContext) -> AsyncIterator[None]:
    # `_rate_limited` calls of one bot run one at a time, `rate_limited_interval_ms` apart.
    lock, last = ctx.spacing.of(ctx.self_id)
    async with lock:
        wait = last[0] + ctx.limits.rate_limited_interval_ms / 1000 - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        last[0] = time.monotonic()
        yield


async def _answer(
    registry: Registry[ActionContext], ctx: ActionContext, action: Any, params: Any, echo: Any
) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        if not isinstance(action, str) or not action:
            raise NotFound(f"unknown action: {action!r}")
        spec = registry.resolve(action)
        if spec is None:
            raise NotFound(f"unknown action: {action}")
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise BadParams("params: expected an object")
        # Params are decoded (counts checked, types coerced) once, here; handlers trust them.
        data = await spec.handler(ctx, convert_params(params, spec.params, ctx.limits))
    except ActionError as exc:
        result = envelope.failed(exc.retcode, exc.message, echo)
    except Exception:
        request_id = secrets.token_hex(6)
        log.exception("action %r failed (request %s)", action, request_id)
        result = envelope.failed(
            Retcode.INTERNAL, f"internal error (request {request_id}); see the server log", echo
        )
    else:
        result = envelope.ok(data, echo)
    if ctx.traffic is not None:
        elapsed_ms = (time.perf_counter() - started) * 1000
        ctx.traffic.record_action(ctx.self_id, action, params, result, elapsed_ms)
    return result
