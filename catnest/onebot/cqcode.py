"""CQ codes: the string form of a OneBot 11 message (napcat-api.md §5.4, OB11 `message/string.md`).

A CQ string is text with codes such as `[CQ:image,file=abc.jpg]` embedded in it. Text escapes
`&`, `[` and `]`; parameter values also escape `,`. Everything here is a pure function.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import orjson

from catnest.onebot.errors import BadParams

Segment = dict[str, Any]
"""A message segment: `{"type": str, "data": dict}`."""

_TEXT_ESCAPES = {"&": "&amp;", "[": "&#91;", "]": "&#93;"}
_PARAM_ESCAPES = {**_TEXT_ESCAPES, ",": "&#44;"}
_UNESCAPES = {"amp": "&", "#91": "[", "#93": "]", "#44": ","}
_TEXT_ESCAPE_RE = re.compile(r"[&\[\]]")
_PARAM_ESCAPE_RE = re.compile(r"[&\[\],]")
# One left-to-right pass: "&amp;#91;" must give back "&#91;", which sequential replaces
# can only get right by a careful ordering; a single pass is exact by construction.
_UNESCAPE_RE = re.compile(r"&(amp|#91|#93|#44);")

# NapCat uses `\w` (ASCII letters, digits, `_`); `.` and `-` are accepted too so that
# types like `node.v2` or keys like `file-id` from other implementations survive a round trip.
_NAME_RE = re.compile(r"[A-Za-z0-9_.\-]+")
_PAIR_KEY_RE = re.compile(r"[A-Za-z0-9_.\-]+=")
_OPEN = "[CQ:"


def escape_text(s: str) -> str:
    """Escape plain text for a CQ string: `&`, `[` and `]` (commas are left alone)."""
    return _TEXT_ESCAPE_RE.sub(lambda m: _TEXT_ESCAPES[m.group()], s)


def escape_param(s: str) -> str:
    """Escape a CQ code parameter value: `&`, `[`, `]` and `,`."""
    return _PARAM_ESCAPE_RE.sub(lambda m: _PARAM_ESCAPES[m.group()], s)


def _unescape(s: str) -> str:
    if "&" not in s:
        return s
    return _UNESCAPE_RE.sub(lambda m: _UNESCAPES[m.group(1)], s)


def unescape_text(s: str) -> str:
    """Undo `escape_text`.

    `&#44;` is decoded too, as NapCat does for text between codes (its `decodeCQCode` uses one
    unescape for text and values); `escape_text` never produces it bare, so round trips stay exact.
    """
    return _unescape(s)


def unescape_param(s: str) -> str:
    """Undo `escape_param`."""
    return _unescape(s)


def _code_spans(s: str) -> Iterator[tuple[int, int]]:
    """Yield `(start, end)` of every well-formed code, left to right, in linear time.

    Equivalent to `re.finditer(r"\\[CQ:(NAME)((?:,NAME=[^,\\]]*)*)\\]", s)`, whose backtracking
    is quadratic on inputs such as `"[CQ:a,b=x" * n`: every `[CQ:` rescans to the end. Instead,
    a code contains no `]`, so every candidate `[CQ:` before the next `]` shares that `]` as its
    end, and the commas between them split the same `key=value` pieces. Checking each piece once
    and remembering the last bad one decides all the candidates of a window together.
    """
    pos = 0
    while True:
        start = s.find(_OPEN, pos)
        if start < 0:
            return
        end = s.find("]", start)
        if end < 0:
            return
        commas: list[int] = []
        comma = s.find(",", start, end)
        while comma >= 0:
            commas.append(comma)
            comma = s.find(",", comma + 1, end)
        # Key characters exclude ",", so each piece is scanned once.
        last_bad = -1
        for k, comma in enumerate(commas):
            if _PAIR_KEY_RE.match(s, comma + 1, end) is None:
                last_bad = k
        k = 0
        cand = start
        while cand >= 0:
            while k < len(commas) and commas[k] < cand:
                k += 1
            type_end = commas[k] if k < len(commas) else end
            # The name stops at the first non-name character, and every later candidate starts
            # with "[", so these scans never overlap either.
            name = _NAME_RE.match(s, cand + len(_OPEN), end)
            if name is not None and name.end() == type_end and k > last_bad:
                yield cand, end + 1
                break
            cand = s.find(_OPEN, cand + 1, end)
        pos = end + 1


def parse_cq(s: str, *, max_codes: int) -> list[Segment]:
    """Parse a CQ string into segments.

    Text between codes becomes `text` segments (unescaped; empty ones are skipped). Malformed
    codes such as `[CQ:face,id]` stay literal text. Parameter values are unescaped strings, split
    at the first `=`; a repeated key keeps its last value. More than `max_codes` codes raises
    `BadParams`. Runs in time linear in `len(s)`.
    """
    segments: list[Segment] = []
    pos = 0
    for count, (start, end) in enumerate(_code_spans(s), 1):
        if count > max_codes:
            raise BadParams(f"message: more than {max_codes} CQ codes (limit max_cq_codes)")
        if start > pos:
            segments.append({"type": "text", "data": {"text": unescape_text(s[pos:start])}})
        body = s[start + len(_OPEN) : end - 1]
        seg_type, *pairs = body.split(",")
        data: dict[str, Any] = {}
        for pair in pairs:
            key, _, value = pair.partition("=")
            data[key] = unescape_param(value)
        segments.append({"type": seg_type, "data": data})
        pos = end
    if pos < len(s):
        segments.append({"type": "text", "data": {"text": unescape_text(s[pos:])}})
    return segments


def _param_str(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        # JavaScript's String(1.0) is "1"; match what NapCat would write.
        return str(int(value))
    if isinstance(value, (dict, list, tuple)):
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    return str(value)


def encode_segment(seg: Mapping[str, Any]) -> str:
    """Encode one segment as CQ text.

    A `text` segment is its escaped text. Any other segment is `[CQ:type,key=value,...]` in
    data insertion order; keys whose value is None or whose string form is empty are skipped.
    Objects and arrays are compact JSON (non-ASCII kept), booleans `true`/`false`.
    """
    data: Mapping[str, Any] = seg.get("data") or {}
    seg_type = str(seg.get("type", ""))
    if seg_type == "text":
        return escape_text(_param_str(data.get("text")) or "")
    parts = [_OPEN, seg_type]
    for key, value in data.items():
        text = _param_str(value)
        if text:
            parts.append(f",{key}={escape_param(text)}")
    parts.append("]")
    return "".join(parts)


def encode_cq(segments: Iterable[Mapping[str, Any]]) -> str:
    """Encode a list of segments as one CQ string (not trimmed)."""
    return "".join(encode_segment(seg) for seg in segments)
