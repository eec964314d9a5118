"""The HTTP answers the OneBot HTTP-speaking transports give besides action results: refusals,
rate limits and the listener's own errors, each an envelope with a real status."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import orjson
from aiohttp import web

from catnest.onebot import envelope
from catnest.onebot.errors import Retcode
from catnest.serving.auth import Refusal


def json_response(
    body: dict[str, Any], headers: Mapping[str, str], *, status: int = 200
) -> web.Response:
    """An envelope (or any JSON object) as a response."""
    return web.Response(
        body=orjson.dumps(body), status=status, headers=headers, content_type="application/json"
    )


def refused(refusal: Refusal, headers: Mapping[str, str]) -> web.Response:
    """An auth or origin refusal: its status and an envelope saying why."""
    extra = {"WWW-Authenticate": "Bearer"} if refusal.status == 401 else {}
    body = envelope.failed(refusal.retcode, refusal.message)
    return json_response(body, {**headers, **extra}, status=refusal.status)


def rate_limited_message(wait: float) -> str:
    """What a refused-for-rate caller reads: when to try again."""
    return f"rate limit exceeded: retry in {max(1, round(wait * 1000))} ms"


def too_many(wait: float, headers: Mapping[str, str]) -> web.Response:
    """HTTP 429 with Retry-After: a retryable refusal, made before any work."""
    body = envelope.failed(Retcode.BAD_REQUEST, rate_limited_message(wait))
    extra = {"Retry-After": str(max(1, math.ceil(wait)))}
    return json_response(body, {**headers, **extra}, status=429)


def onebot_error(status: int, message: str) -> web.Response:
    """What the listener answers a request it refuses before any handler (a malformed head,
    an over-long header): an envelope, as every other answer of these ports."""
    retcode = Retcode.INTERNAL if status >= 500 else Retcode.BAD_REQUEST
    return json_response(envelope.failed(retcode, message), {}, status=status)
