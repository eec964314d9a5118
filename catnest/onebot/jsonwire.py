"""Strict JSON for request bodies and WS frames (DESIGN.md §2, "strict JSON").

orjson already refuses NaN, Infinity, invalid UTF-8 and trailing garbage; it accepts duplicate
keys (last wins), integers up to 2**64 and any nesting up to its own recursion limit, so those
three are checked here.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

from catnest.onebot.errors import BadParams

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise BadParams(f"invalid JSON: duplicate key {key!r}")
        result[key] = value
    return result


# Strings (skipped) and number literals, for finding integer literals orjson turned into floats.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|(-?\d+)((?:\.\d+)?(?:[eE][+-]?\d+)?)')


def _check_tree(value: Any, max_depth: int) -> str | None:
    """Check depth and int64 range.

    Returns the path of a float of 2**63 or more, which may have been an integer literal
    that orjson read as a float; None when there is none.
    """
    suspicious: str | None = None
    stack: list[tuple[Any, int, str]] = [(value, 1, "")]
    while stack:
        node, depth, path = stack.pop()
        if isinstance(node, dict):
            children: Any = (
                (child, f"{path}.{key}" if path else key) for key, child in node.items()
            )
        elif isinstance(node, list):
            children = ((child, f"{path}[{i}]") for i, child in enumerate(node))
        else:
            if type(node) is int and not INT64_MIN <= node <= INT64_MAX:
                raise BadParams(f"{path or 'body'}: integer outside the 64-bit signed range")
            # orjson reads integer literals beyond u64 as floats, silently.
            if type(node) is float and abs(node) >= 2**63 and suspicious is None:
                suspicious = path or "body"
            continue
        if depth > max_depth:
            raise BadParams(f"invalid JSON: nested deeper than {max_depth} levels")
        stack.extend((child, depth + 1, child_path) for child, child_path in children)
    return suspicious


def _check_integer_literals(text: str, path: str) -> None:
    for match in _TOKENS.finditer(text):
        digits = match.group(1)
        in_range = digits is None or match.group(2) or INT64_MIN <= int(digits) <= INT64_MAX
        if not in_range:
            raise BadParams(f"{path}: integer outside the 64-bit signed range")


def decode_object(data: bytes | str, *, max_depth: int = 64) -> dict[str, Any]:
    """Decode a JSON object strictly; raise BadParams naming the problem otherwise."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise BadParams(f"invalid JSON: {_describe(exc)}") from None
    suspicious = _check_tree(value, max_depth)
    if not isinstance(value, dict):
        raise BadParams(f"invalid JSON: expected an object at the top level, got {_kind(value)}")
    # A second, pair-aware parse only when a duplicate is possible: an object whose decoded key
    # count is below the number of `":` separators could have lost a duplicate.
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    if suspicious is not None:
        _check_integer_literals(text, suspicious)
    if text.count(":") > _count_keys(value):
        json.loads(text, object_pairs_hook=_no_duplicates)
    return value


def _count_keys(value: Any) -> int:
    total, stack = 0, [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            total += len(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return total


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "a string"


def _describe(exc: orjson.JSONDecodeError) -> str:
    text = str(exc)
    if "utf-8" in text.lower() or "surrogate" in text.lower():
        return "not valid UTF-8"
    return text
