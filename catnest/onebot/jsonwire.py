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
# orjson reads integer literals beyond u64 as floats: a float this large may have been one.
_FLOAT_LIMIT = float(2**63)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise BadParams(f"invalid JSON: duplicate key {key!r}")
        result[key] = value
    return result


# Strings (skipped) and number literals, for finding integer literals orjson turned into floats.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|(-?\d+)((?:\.\d+)?(?:[eE][+-]?\d+)?)')


def _scan(value: Any, max_depth: int) -> tuple[int, bool, bool]:
    """One pass over a decoded tree: (keys, integer out of range, float that may be one).

    Paths are not built here: this runs on every request, and errors are rare; `_path_of`
    finds the path once something is wrong.
    """
    keys = 0
    bad_int = huge_float = False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            keys += len(node)
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            if type(node) is int:
                bad_int = bad_int or not INT64_MIN <= node <= INT64_MAX
            elif type(node) is float and abs(node) >= 2**63:
                # orjson reads integer literals beyond u64 as floats, silently.
                huge_float = True
            continue
        if depth > max_depth:
            raise BadParams(f"invalid JSON: nested deeper than {max_depth} levels")
        for child in children:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
            elif type(child) is int:
                bad_int = bad_int or not INT64_MIN <= child <= INT64_MAX
            elif type(child) is float and abs(child) >= 2**63:
                huge_float = True
    return keys, bad_int, huge_float


def _flat_keys(value: Any, nested: bool = True) -> int:
    """The key count of an object of in-range scalars, or with such objects one level down
    (a WS frame's `params`): most requests. -1 for anything else (scan it).

    Written out flat (no helper calls, no generators): every request of every bot runs it.
    """
    if type(value) is not dict:
        return -1
    keys = len(value)
    for item in value.values():
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is int:
            if INT64_MIN <= item <= INT64_MAX:
                continue
            return -1
        if kind is float:
            if -_FLOAT_LIMIT < item < _FLOAT_LIMIT:
                continue
            return -1
        if kind is not dict or not nested:
            return -1
        for inner in item.values():
            inner_kind = type(inner)
            if inner_kind is str or inner_kind is bool or inner is None:
                continue
            if inner_kind is int:
                if INT64_MIN <= inner <= INT64_MAX:
                    continue
                return -1
            if inner_kind is float and -_FLOAT_LIMIT < inner < _FLOAT_LIMIT:
                continue
            return -1
        keys += len(item)
    return keys


def _path_of(value: Any, bad: Any) -> str:
    """The path of the first leaf for which `bad(leaf)` holds ("body" for the top level)."""
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            stack.extend((v, f"{path}.{k}" if path else k) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, f"{path}[{i}]") for i, v in enumerate(node))
        elif bad(node):
            return path or "body"
    return "body"


def _check_integer_literals(text: str) -> bool:
    """Whether the text holds an integer literal outside int64."""
    return any(
        match.group(1) is not None
        and not match.group(2)
        and not INT64_MIN <= int(match.group(1)) <= INT64_MAX
        for match in _TOKENS.finditer(text)
    )


def decode_object(data: bytes | str, *, max_depth: int = 64) -> dict[str, Any]:
    """Decode a JSON object strictly; raise BadParams naming the problem otherwise."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise BadParams(f"invalid JSON: {_describe(exc)}") from None
    flat = _flat_keys(value, max_depth >= 2)
    keys, bad_int, huge_float = (flat, False, False) if flat >= 0 else _scan(value, max_depth)
    if bad_int or (huge_float and _check_integer_literals(_text(data))):
        path = _path_of(value, _out_of_range if bad_int else _huge)
        raise BadParams(f"{path}: integer outside the 64-bit signed range")
    if not isinstance(value, dict):
        raise BadParams(f"invalid JSON: expected an object at the top level, got {_kind(value)}")
    # A second, pair-aware parse only when a duplicate is possible: with no more `:` in the
    # text than decoded keys, no key can have been lost.
    colons = data.count(b":") if isinstance(data, bytes) else data.count(":")
    if colons > keys:
        json.loads(_text(data), object_pairs_hook=_no_duplicates)
    return value


def _text(data: bytes | str) -> str:
    return data.decode("utf-8") if isinstance(data, bytes) else data


def _out_of_range(leaf: Any) -> bool:
    return type(leaf) is int and not INT64_MIN <= leaf <= INT64_MAX


def _huge(leaf: Any) -> bool:
    return type(leaf) is float and abs(leaf) >= 2**63


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
