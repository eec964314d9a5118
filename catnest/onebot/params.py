"""Typed action parameters: coercion the way NapCat clients need, errors that name the field.

Clients send numbers as strings (pycqbot's form bodies, NcatBot's `"user_id":"20002"`, every GET
query) and booleans as `"true"`/`"1"`, and add keys such as `self_id`: msgspec's lax conversion
accepts the first two and ignores unknown keys.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, TypeVar

import msgspec

from catnest.onebot.errors import BadParams

S = TypeVar("S", bound=msgspec.Struct)

# QQ numbers and group ids: positive, inside int64 (clients keep them in 64-bit fields).
Uin = Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]
MessageId = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]

_PATH = re.compile(r" - at `\$\.?(.*)`$")
_DIGITS = re.compile(r"^[ \t\r\n]*(\d+)[ \t\r\n]*$")


class NoParams(msgspec.Struct):
    """For actions that take no parameters (extra keys are still ignored)."""


def convert_params(params: dict[str, Any], struct: type[S]) -> S:
    """Convert a params object into `struct`, or raise 1400 naming the bad field."""
    try:
        return msgspec.convert(params, struct, strict=False)
    except msgspec.ValidationError as exc:
        raise BadParams(_describe(str(exc))) from None


def _describe(text: str) -> str:
    match = _PATH.search(text)
    if match is None:
        return text
    message = text[: match.start()]
    field = match.group(1)
    if message.startswith("Object missing required field"):
        return f"{message.split('`')[1]}: required"
    message = message[0].lower() + message[1:]
    return f"{field}: {message}" if field else message


def parse_count(value: Any, *, name: str, default: int, maximum: int) -> int:
    """A non-negative integral count (DESIGN.md §2 `count` rules).

    Accepted: absent (→ default), an integer, an integral JSON number (`2.0`), or a string of
    decimal digits with optional surrounding blanks. Anything else, and values above
    `maximum`, fail with 1400 naming `name`.
    """
    if value is None or value is msgspec.UNSET:
        if value is None:
            raise BadParams(f"{name}: expected a non-negative integer, got null")
        return default
    if isinstance(value, bool):
        raise BadParams(f"{name}: expected a non-negative integer, got a boolean")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not value.is_integer():
            raise BadParams(f"{name}: expected a non-negative integer, got {value!r}")
        number = int(value)
    elif isinstance(value, str):
        match = _DIGITS.match(value)
        if match is None:
            raise BadParams(f"{name}: expected a non-negative integer, got {value!r}")
        # A string of thousands of digits would cost quadratic time to convert.
        if len(match.group(1)) > 19:
            raise BadParams(f"{name}: must be at most {maximum}")
        number = int(match.group(1))
    else:
        kind = "an array" if isinstance(value, list) else "an object"
        raise BadParams(f"{name}: expected a non-negative integer, got {kind}")
    if number < 0:
        raise BadParams(f"{name}: must not be negative, got {number}")
    if number > maximum:
        raise BadParams(f"{name}: must be at most {maximum}, got {number}")
    return number


def parse_bool(value: Any, *, name: str, default: bool) -> bool:
    """A boolean given as JSON true/false, 0/1 or the strings "true"/"false"/"1"/"0"."""
    if value is msgspec.UNSET:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    raise BadParams(f"{name}: expected a boolean, got {value!r}")
