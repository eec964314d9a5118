"""Normalising the `message` of a send action into canonical segments (napcat-api.md §5.3).

Every segment that leaves here is `{"type": t, "data": {...}}` with string data values (a
node's `content` is a list of segments), so the world and the store never see a number where
a string was meant, a `file://` path, or a message past the limits.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import orjson

from catnest.limits import Limits
from catnest.onebot.cqcode import Segment, encode_cq, parse_cq
from catnest.onebot.errors import BadParams

SEND_TYPES: frozenset[str] = frozenset(
    {
        "text", "face", "at", "reply", "image", "record", "video", "file", "json", "forward",
        "node", "dice", "rps", "poke", "markdown", "mface", "contact", "music", "location",
    }
)  # fmt: skip
"""Segment types accepted for sending."""

_MEDIA_TYPES = frozenset({"image", "record", "video", "file"})
_MUSIC_TYPES = frozenset({"qq", "163", "kugou", "migu", "kuwo", "custom"})
_DIGITS_RE = re.compile(r"[0-9]+")
_NUMBER_RE = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_DRIVE_RE = re.compile(r"[A-Za-z]:")
_PATH_SEP_RE = re.compile(r"[/\\]")
_SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_MEDIA_SCHEMES = frozenset({"http", "https", "base64"})
# JavaScript's String.prototype.trim() set, so raw_message trims exactly what NapCat trims.
_JS_WHITESPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)

_Data = Mapping[str, Any]


class _Budget:
    """Counts shared by a message and the forward nodes nested in it."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.text_chars = 0
        self.nodes = 0


def normalize_message(message: object, *, auto_escape: bool, limits: Limits) -> list[Segment]:
    """Validate a send action's `message` and return canonical segments.

    `message` may be a list of segments, one segment object, or a CQ string (one verbatim text
    segment when `auto_escape` is true). Raises `BadParams` naming the offending field path.
    """
    return _normalize_list(message, "message", 0, _Budget(limits), auto_escape=auto_escape)


def _normalize_list(
    message: object, path: str, depth: int, budget: _Budget, *, auto_escape: bool = False
) -> list[Segment]:
    limits = budget.limits
    items: list[Any]
    if isinstance(message, str):
        if auto_escape:
            items = [{"type": "text", "data": {"text": message}}]
        else:
            items = parse_cq(message, max_codes=limits.max_cq_codes)
    elif isinstance(message, dict):
        items = [message]
    elif isinstance(message, list):
        items = message
    else:
        raise BadParams(f"{path}: expected a string, an object or an array of segments")
    if len(items) > limits.max_segments:
        raise BadParams(
            f"{path}: {len(items)} segments, more than max_segments ({limits.max_segments})"
        )
    segments: list[Segment] = []
    for i, item in enumerate(items):
        seg = _normalize_segment(item, f"{path}[{i}]", depth, budget)
        if seg is not None:
            segments.append(seg)
    if not segments:
        raise BadParams(f"{path} is empty")
    has_nodes = any(seg["type"] == "node" for seg in segments)
    if has_nodes and any(seg["type"] != "node" for seg in segments):
        raise BadParams(f"{path}: forward nodes cannot be mixed with other segments")
    return segments


def _normalize_segment(item: object, path: str, depth: int, budget: _Budget) -> Segment | None:
    if not isinstance(item, dict) or not isinstance(item.get("type"), str):
        raise BadParams(f"{path}: expected an object with 'type' and 'data'")
    seg_type: str = item["type"]
    data = item.get("data")
    if data is None:
        data = {}
    elif not isinstance(data, dict):
        raise BadParams(f"{path}: expected an object with 'type' and 'data'")
    if seg_type not in SEND_TYPES:
        raise BadParams(f"{path}.type: unknown segment type: {seg_type}")
    field = f"{path}.data."
    if seg_type == "text":
        text = _string(data, "text", field, required=True)
        if not text:
            return None
        budget.text_chars += len(text)
        if budget.text_chars > budget.limits.max_message_text_chars:
            raise BadParams(
                f"{field}text: message text is longer than max_message_text_chars "
                f"({budget.limits.max_message_text_chars} characters)"
            )
        return {"type": "text", "data": {"text": text}}
    if seg_type == "node":
        return {"type": "node", "data": _node(data, path, depth, budget)}
    if seg_type in _MEDIA_TYPES:
        media = _media(seg_type, data, field)
        _check_inline_size(media["file"], f"{field}file", budget.limits)
        return {"type": seg_type, "data": media}
    return {"type": seg_type, "data": _SIMPLE[seg_type](data, field)}


# --- field readers: each names the full path of the field it refuses -------------------------


def _scalar_str(value: object) -> str | None:
    """A string, or a number in the string form NapCat (JavaScript) would give it."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return str(int(value)) if value.is_integer() else repr(value)
    return None


def _string(data: _Data, key: str, field: str, *, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise BadParams(f"{field}{key}: required")
        return None
    text = _scalar_str(value)
    if text is None:
        raise BadParams(f"{field}{key}: expected a string")
    return text


def _required(data: _Data, key: str, field: str) -> str:
    text = _string(data, key, field, required=True)
    if not text:
        raise BadParams(f"{field}{key}: required")
    return text


def _digits(data: _Data, key: str, field: str, *, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise BadParams(f"{field}{key}: required")
        return None
    text = _scalar_str(value) if isinstance(value, (str, int)) else None
    if text is None or not _DIGITS_RE.fullmatch(text):
        raise BadParams(f"{field}{key}: expected a number or a string of digits")
    return text


def _number(data: _Data, key: str, field: str) -> str:
    text = _required(data, key, field)
    if not _NUMBER_RE.fullmatch(text):
        raise BadParams(f"{field}{key}: expected a number")
    return text


def _choice(data: _Data, key: str, field: str, choices: Iterable[str]) -> str:
    text = _required(data, key, field)
    allowed = sorted(choices)
    if text not in allowed:
        raise BadParams(f"{field}{key}: expected one of {', '.join(allowed)}")
    return text


def _optional(out: dict[str, str], data: _Data, keys: Iterable[str], field: str) -> dict[str, str]:
    for key in keys:
        text = _string(data, key, field)
        if text is not None:
            out[key] = text
    return out


# --- segment types ---------------------------------------------------------------------------


def _media_source(value: str, where: str) -> str:
    # Catnest never reads a local file named by a message. Message content is data: a CQ code a
    # user typed and a bot echoed back (a common pattern) must not make the server read
    # /etc/passwd or the database and send it to the chat. Media come from a URL, inline
    # base64, or a bare name inside the media folder (DESIGN.md §6).
    if "\x00" in value:
        raise BadParams(f"{where}: contains a NUL character")
    if _DRIVE_RE.match(value) or value.startswith(("/", "\\")):
        raise BadParams(f"{where}: local file paths are not accepted")
    scheme = _SCHEME_RE.match(value)
    if scheme is not None:
        if scheme.group(1).lower() not in _MEDIA_SCHEMES:
            raise BadParams(f"{where}: only http://, https:// and base64:// are accepted")
        return value
    if ".." in _PATH_SEP_RE.split(value):
        raise BadParams(f"{where}: '..' is not accepted in a file name")
    return value


def _check_inline_size(value: str, where: str, limits: Limits) -> None:
    # Inline media is stored with the message: cap it well below the body limit, so one image
    # cannot make every history page that shows it megabytes long.
    if value[:9].lower() == "base64://" and len(value) - 9 > limits.max_inline_media_chars:
        raise BadParams(
            f"{where}: inline base64 media is {len(value) - 9} characters, more than "
            f"max_inline_media_chars ({limits.max_inline_media_chars}); upload it instead"
        )


def _media(seg_type: str, data: _Data, field: str) -> dict[str, str]:
    # go-cqhttp clients sometimes send only `url`; NapCat then uses it as the file.
    file = _string(data, "file", field)
    url = _string(data, "url", field)
    if url:
        _media_source(url, f"{field}url")
    if file:
        out = {"file": _media_source(file, f"{field}file")}
    elif url:
        out = {"file": url}
    else:
        raise BadParams(f"{field}file: required")
    if url:
        out["url"] = url
    keys = ["name", "summary", "sub_type"] if seg_type == "image" else ["name", "summary"]
    return _optional(out, data, keys, field)


def _node(data: _Data, path: str, depth: int, budget: _Budget) -> dict[str, Any]:
    limits = budget.limits
    field = f"{path}.data."
    budget.nodes += 1
    if budget.nodes > limits.max_forward_nodes:
        raise BadParams(
            f"{path}: more than max_forward_nodes ({limits.max_forward_nodes}) forward nodes"
        )
    # NapCat: a node with an id forwards that stored message; its other fields are ignored.
    if data.get("id") is not None:
        return {"id": _required(data, "id", field)}
    if data.get("content") is None:
        raise BadParams(f"{field}content: required (or id)")
    if depth + 1 > limits.max_forward_depth:
        raise BadParams(
            f"{field}content: forward nodes nested deeper than max_forward_depth "
            f"({limits.max_forward_depth})"
        )
    out: dict[str, Any] = {}
    user_id = _digits(data, "user_id", field) or _digits(data, "uin", field)
    if user_id is not None:
        out["user_id"] = user_id
    nickname = _string(data, "nickname", field) or _string(data, "name", field)
    if nickname is not None:
        out["nickname"] = nickname
    out["content"] = _normalize_list(data["content"], f"{field}content", depth + 1, budget)
    return _optional(out, data, ["source", "summary", "prompt", "time"], field)


def _face(data: _Data, field: str) -> dict[str, str]:
    out = {"id": _digits(data, "id", field, required=True) or ""}
    return _optional(out, data, ["resultId", "chainCount"], field)


def _at(data: _Data, field: str) -> dict[str, str]:
    qq = "all" if data.get("qq") == "all" else _digits(data, "qq", field, required=True) or ""
    return _optional({"qq": qq}, data, ["name"], field)


def _reply(data: _Data, field: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for key in ("id", "seq"):
        value = _digits(data, key, field)
        if value is not None:
            out[key] = value
    if not out:
        raise BadParams(f"{field}id: required (or seq)")
    return out


def _json(data: _Data, field: str) -> dict[str, str]:
    value = data.get("data")
    if isinstance(value, (dict, list)):
        return {"data": orjson.dumps(value).decode()}
    if not isinstance(value, str) or not value:
        raise BadParams(f"{field}data: expected a JSON string or object")
    return {"data": value}


def _music(data: _Data, field: str) -> dict[str, str]:
    kind = _choice(data, "type", field, _MUSIC_TYPES)
    if kind != "custom":
        return {"type": kind, "id": _required(data, "id", field)}
    out = {"type": kind}
    for key in ("url", "audio", "title"):
        out[key] = _required(data, key, field)
    return _optional(out, data, ["image", "content"], field)


def _location(data: _Data, field: str) -> dict[str, str]:
    out = {"lat": _number(data, "lat", field), "lon": _number(data, "lon", field)}
    return _optional(out, data, ["title", "content"], field)


def _contact(data: _Data, field: str) -> dict[str, str]:
    kind = _choice(data, "type", field, ("qq", "group"))
    return {"type": kind, "id": _digits(data, "id", field, required=True) or ""}


def _mface(data: _Data, field: str) -> dict[str, str]:
    out = {key: _required(data, key, field) for key in ("emoji_id", "emoji_package_id")}
    return _optional(out, data, ["key", "summary"], field)


_SIMPLE: dict[str, Callable[[_Data, str], dict[str, str]]] = {
    "face": _face,
    "at": _at,
    "reply": _reply,
    "json": _json,
    "forward": lambda data, field: {"id": _required(data, "id", field)},
    "dice": lambda data, field: _optional({}, data, ["result"], field),
    "rps": lambda data, field: _optional({}, data, ["result"], field),
    "poke": lambda data, field: _optional({}, data, ["type", "id"], field),
    "markdown": lambda data, field: {"content": _required(data, "content", field)},
    "mface": _mface,
    "contact": _contact,
    "music": _music,
    "location": _location,
}


# --- output forms ------------------------------------------------------------------------------


def raw_message(segments: Iterable[Segment]) -> str:
    """The `raw_message` of an event: the CQ string of the segments, trimmed as NapCat does."""
    return encode_cq(segments).strip(_JS_WHITESPACE)


def to_string_form(segments: Iterable[Segment]) -> str:
    """The `message` field when an adapter's messagePostFormat is "string".

    NapCat builds the string form as a clone with `message = raw_message` (napcat-api.md §5.1
    step 5), so it is trimmed too and always equals `raw_message`.
    """
    return raw_message(segments)


def plain_text(segments: Iterable[Segment]) -> str:
    """The text of the text segments, concatenated (for summaries and previews)."""
    return "".join(str(seg["data"].get("text", "")) for seg in segments if seg["type"] == "text")
