"""Typed action parameters: coercion the way NapCat clients need, errors that name the field.

Clients send numbers as strings (pycqbot's form bodies, NcatBot's `"user_id":"20002"`, every GET
query) and booleans as `"true"`/`"1"`, and add keys such as `self_id`: msgspec's lax conversion
accepts the first two and ignores unknown keys.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar, get_args, get_origin

import msgspec

from catnest.limits import Limits
from catnest.onebot.errors import BadParams

S = TypeVar("S", bound=msgspec.Struct)

# QQ numbers and group ids: positive, inside int64 (clients keep them in 64-bit fields).
Uin = Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]
MessageId = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]

_PATH = re.compile(r" - at `\$\.?(.*)`$")
_DIGITS = re.compile(r"^[ \t\r\n]*(\d+)[ \t\r\n]*$")


class NoParams(msgspec.Struct):
    """For actions that take no parameters (extra keys are still ignored)."""


@dataclass(frozen=True, slots=True)
class CountRule:
    """Marks an `int` params field as a count (DESIGN.md §2 `count` rules), bounded by the
    `Limits` attribute named by `limit`, or by `limit` itself when it is a number.

    Declared as `count: Annotated[int, CountRule("max_recent_contacts")] = 10`: the field's
    default applies when the key is absent, and the handler receives a checked int.
    """

    limit: str | int

    def maximum(self, limits: Limits) -> int:
        """The largest count allowed under `limits`."""
        return self.limit if isinstance(self.limit, int) else int(getattr(limits, self.limit))


_ABSENT = object()
_DEFAULT_LIMITS = Limits()

RecentCount = Annotated[int, CountRule("max_recent_contacts")]
HistoryCount = Annotated[int, CountRule("max_history_count")]


@functools.cache
def _count_fields(struct: type[msgspec.Struct]) -> tuple[tuple[str, CountRule], ...]:
    found = []
    for info in msgspec.structs.fields(struct):
        if get_origin(info.type) is Annotated:
            rules = [a for a in get_args(info.type)[1:] if isinstance(a, CountRule)]
            if rules:
                found.append((info.encode_name, rules[0]))
    return tuple(found)


def convert_params(params: dict[str, Any], struct: type[S], limits: Limits | None = None) -> S:
    """Convert a params object into `struct`, or raise 1400 naming the bad field.

    Count fields (`CountRule`) are checked first, by the one rule every count follows.
    """
    counted = _count_fields(struct)
    if counted:
        checked: dict[str, Any] | None = None
        bounds = limits or _DEFAULT_LIMITS
        for name, rule in counted:
            value = params.get(name, _ABSENT)
            if value is _ABSENT:
                continue
            limit = rule.limit
            maximum = limit if type(limit) is int else getattr(bounds, limit)  # type: ignore[arg-type]
            if type(value) is int and 0 <= value <= maximum:
                continue  # already what the handler gets
            if checked is None:
                checked = dict(params)  # the caller's params are recorded as they were sent
            checked[name] = parse_count(value, name=name, maximum=maximum)
        if checked is not None:
            params = checked
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


def parse_count(value: Any, *, name: str, maximum: int) -> int:
    """A non-negative integral count (DESIGN.md §2 `count` rules).

    Accepted: an integer, an integral JSON number (`2.0`), or a string of decimal digits with
    optional surrounding blanks. Anything else (null included), and values above `maximum`,
    fail with 1400 naming `name`.
    """
    if value is None:
        raise BadParams(f"{name}: expected a non-negative integer, got null")
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
