"""Response helpers shared by the HTTP-speaking transports.

A `Reply` is a response as data (status, headers, JSON body): the OneBot HTTP port writes it
straight to the socket (transport/http_wire.py) or, for requests aiohttp serves, turns it into
an aiohttp response; both answer alike.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NamedTuple

import orjson
from aiohttp import web

from catnest.onebot import envelope
from catnest.onebot.errors import Retcode
from catnest.transport.auth import Refusal


class Reply(NamedTuple):
    """An HTTP response with a JSON body."""

    status: int
    headers: Mapping[str, str]
    body: bytes


def json_reply(body: dict[str, Any], headers: Mapping[str, str], *, status: int = 200) -> Reply:
    """An envelope (or any JSON object) as a reply."""
    return Reply(status, headers, orjson.dumps(body))


def refused_reply(refusal: Refusal, headers: Mapping[str, str]) -> Reply:
    """The reply to an auth or origin refusal: status and an envelope saying why."""
    extra = {"WWW-Authenticate": "Bearer"} if refusal.status == 401 else {}
    body = envelope.failed(refusal.retcode, refusal.message)
    return json_reply(body, {**headers, **extra}, status=refusal.status)


def rate_limited_message(wait: float) -> str:
    """What a refused-for-rate caller reads: when to try again."""
    return f"rate limit exceeded: retry in {max(1, round(wait * 1000))} ms"


def too_many_reply(wait: float, headers: Mapping[str, str]) -> Reply:
    """HTTP 429 with Retry-After: a retryable refusal, made before any work."""
    body = envelope.failed(Retcode.BAD_REQUEST, rate_limited_message(wait))
    extra = {"Retry-After": str(max(1, math.ceil(wait)))}
    return json_reply(body, {**headers, **extra}, status=429)


def as_response(reply: Reply) -> web.Response:
    """A reply as an aiohttp response."""
    return web.Response(
        body=reply.body,
        status=reply.status,
        headers=reply.headers,
        content_type="application/json",
    )


def json_response(
    body: dict[str, Any], headers: Mapping[str, str], *, status: int = 200
) -> web.Response:
    """An envelope (or any JSON object) as an aiohttp response."""
    return as_response(json_reply(body, headers, status=status))


def refused(refusal: Refusal, headers: Mapping[str, str]) -> web.Response:
    """An auth or origin refusal as an aiohttp response."""
    return as_response(refused_reply(refusal, headers))


def too_many(wait: float, headers: Mapping[str, str]) -> web.Response:
    """HTTP 429 as an aiohttp response."""
    return as_response(too_many_reply(wait, headers))
