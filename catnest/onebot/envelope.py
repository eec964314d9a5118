"""The action response envelope NapCat clients read (napcat-api.md §3.1, DESIGN.md §2)."""

from __future__ import annotations

from typing import Any

import orjson

NORMAL = "normal-action"
STREAM = "stream-action"


def ok(data: Any, echo: Any = None, *, stream: str = NORMAL) -> dict[str, Any]:
    """A success envelope. `echo` is the request's, returned with its exact JSON type."""
    return {
        "status": "ok",
        "retcode": 0,
        "data": data,
        "message": "",
        "wording": "",
        "echo": echo,
        "stream": stream,
    }


def failed(retcode: int, message: str, echo: Any = None) -> dict[str, Any]:
    """A failure envelope: `data` is null and `wording` repeats `message`."""
    return {
        "status": "failed",
        "retcode": retcode,
        "data": None,
        "message": message,
        "wording": message,
        "echo": echo,
        "stream": NORMAL,
    }


def encode(envelope: dict[str, Any]) -> bytes:
    """Encode an envelope; non-str keys in data (never produced by actions) are refused."""
    return orjson.dumps(envelope)
