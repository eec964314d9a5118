"""CQ code escaping, parsing and encoding (napcat-api.md §5.4)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catnest.onebot.cqcode import (
    Segment,
    encode_cq,
    encode_segment,
    escape_param,
    escape_text,
    parse_cq,
    unescape_param,
    unescape_text,
)
from catnest.onebot.errors import BadParams

BIG = 1_000_000


def text(t: str) -> Segment:
    return {"type": "text", "data": {"text": t}}


# --- escaping ----------------------------------------------------------------------------------


def test_escape_text_leaves_commas() -> None:
    assert escape_text("a&b[c]d,e") == "a&amp;b&#91;c&#93;d,e"


def test_escape_param_escapes_commas() -> None:
    assert escape_param("a&b[c]d,e") == "a&amp;b&#91;c&#93;d&#44;e"


def test_unescape_is_a_single_exact_pass() -> None:
    assert escape_text("&#91;") == "&amp;#91;"
    assert unescape_text("&amp;#91;") == "&#91;"
    assert escape_param("&#44;") == "&amp;#44;"
    assert unescape_param("&amp;#44;") == "&#44;"
    assert unescape_param("&amp;amp;") == "&amp;"
    assert unescape_param("&#91;&#93;&#44;&amp;") == "[],&"


def test_unescape_leaves_unknown_entities() -> None:
    assert unescape_text("&lt;&#92;&amp") == "&lt;&#92;&amp"


def test_unescape_text_decodes_comma_like_napcat() -> None:
    assert unescape_text("a&#44;b") == "a,b"


@given(st.text())
def test_text_escape_round_trip(t: str) -> None:
    assert unescape_text(escape_text(t)) == t


@given(st.text())
def test_param_escape_round_trip(t: str) -> None:
    escaped = escape_param(t)
    assert unescape_param(escaped) == t
    assert not set(escaped) & set("[],")


@given(st.text(alphabet="&#91;[]a,4"))
def test_escape_round_trip_on_entity_like_text(t: str) -> None:
    assert unescape_text(escape_text(t)) == t
    assert unescape_param(escape_param(t)) == t


# --- parsing: concrete cases -------------------------------------------------------------------


def test_parse_napcat_image_example() -> None:
    s = "[CQ:image,summary=&#91;图片&#93;,file=abc.jpg,sub_type=0]"
    assert parse_cq(s, max_codes=BIG) == [
        {"type": "image", "data": {"summary": "[图片]", "file": "abc.jpg", "sub_type": "0"}}
    ]


def test_parse_text_around_codes() -> None:
    s = "hi [CQ:at,qq=123] &amp; [CQ:face,id=14]"
    assert parse_cq(s, max_codes=BIG) == [
        text("hi "),
        {"type": "at", "data": {"qq": "123"}},
        text(" & "),
        {"type": "face", "data": {"id": "14"}},
    ]


def test_parse_code_without_params() -> None:
    assert parse_cq("[CQ:dice]", max_codes=BIG) == [{"type": "dice", "data": {}}]


def test_parse_empty_string() -> None:
    assert parse_cq("", max_codes=BIG) == []


def test_parse_malformed_code_stays_text() -> None:
    assert parse_cq("[CQ:face,id]", max_codes=BIG) == [text("[CQ:face,id]")]
    assert parse_cq("x[CQ:face,id]y[CQ:at,qq=1]", max_codes=BIG) == [
        text("x[CQ:face,id]y"),
        {"type": "at", "data": {"qq": "1"}},
    ]


@pytest.mark.parametrize(
    "s",
    [
        "[CQ:]",
        "[CQ:face",
        "[CQ:fa ce,id=1]",
        "[CQ:face,=1]",
        "[CQ:face,id=1,]",
        "[cq:face,id=1]",
        "[CQ:face;id=1]",
        "[CQ:表情,id=1]",
    ],
)
def test_parse_malformed_variants_stay_text(s: str) -> None:
    assert parse_cq(s, max_codes=BIG) == [text(s)]


def test_parse_value_split_at_first_equals() -> None:
    s = "[CQ:image,file=https://x/?a=1&amp;b=2,url=k=v=w]"
    assert parse_cq(s, max_codes=BIG) == [
        {"type": "image", "data": {"file": "https://x/?a=1&b=2", "url": "k=v=w"}}
    ]


def test_parse_empty_value_is_kept_as_empty_string() -> None:
    assert parse_cq("[CQ:at,qq=]", max_codes=BIG) == [{"type": "at", "data": {"qq": ""}}]


def test_parse_repeated_key_keeps_last() -> None:
    assert parse_cq("[CQ:a,k=1,k=2]", max_codes=BIG) == [{"type": "a", "data": {"k": "2"}}]


def test_parse_nested_brackets() -> None:
    # A value may contain "[" (the regex's `[^,\]]`), so the outer code swallows the inner
    # opening; the first "]" closes it and the rest is text.
    s = "[CQ:a,b=[CQ:c,d=e]]"
    assert parse_cq(s, max_codes=BIG) == [
        {"type": "a", "data": {"b": "[CQ:c", "d": "e"}},
        text("]"),
    ]


def test_parse_inner_code_when_outer_is_malformed() -> None:
    s = "[CQ:a,b[CQ:c,d=e]"
    assert parse_cq(s, max_codes=BIG) == [text("[CQ:a,b"), {"type": "c", "data": {"d": "e"}}]


def test_parse_escaped_brackets_in_text_are_not_codes() -> None:
    s = "&#91;CQ:at,qq=1&#93;"
    assert parse_cq(s, max_codes=BIG) == [text("[CQ:at,qq=1]")]


def test_parse_dotted_and_dashed_names() -> None:
    assert parse_cq("[CQ:node.v2,file-id=1]", max_codes=BIG) == [
        {"type": "node.v2", "data": {"file-id": "1"}}
    ]


def test_parse_too_many_codes() -> None:
    assert len(parse_cq("[CQ:dice]" * 3, max_codes=3)) == 3
    with pytest.raises(BadParams) as err:
        parse_cq("[CQ:dice]" * 4, max_codes=3)
    assert err.value.message == "message: more than 3 CQ codes (limit max_cq_codes)"
    assert err.value.retcode == 1400


# --- parsing: adversarial inputs (each is quadratic for a backtracking regex scan) -----------


def test_parse_adversarial_unclosed_openings() -> None:
    s = "[CQ:a," * 50000
    assert parse_cq(s, max_codes=BIG) == [text(s)]


def test_parse_adversarial_unclosed_pairs() -> None:
    s = "[CQ:a,b=x" * 25000
    assert parse_cq(s, max_codes=BIG) == [text(s)]


def test_parse_adversarial_bad_last_piece() -> None:
    s = "[CQ:a,b=x" * 25000 + ",]"
    assert parse_cq(s, max_codes=BIG) == [text(s)]


def test_parse_adversarial_openings_then_close() -> None:
    s = "[CQ:" * 50000 + "]"
    assert parse_cq(s, max_codes=BIG) == [text(s)]


def test_parse_adversarial_one_long_code() -> None:
    s = "[CQ:a,b=x" * 25000 + "]"
    assert parse_cq(s, max_codes=BIG) == [{"type": "a", "data": {"b": "x"}}]


def test_parse_adversarial_many_small_windows() -> None:
    s = "[CQ:a,b]" * 25000 + "[CQ:a,b=1]"
    assert parse_cq(s, max_codes=BIG) == [
        text("[CQ:a,b]" * 25000),
        {"type": "a", "data": {"b": "1"}},
    ]


# --- parsing: agrees with the reference regex --------------------------------------------------

_REFERENCE = re.compile(r"\[CQ:([A-Za-z0-9_.\-]+)((?:,[A-Za-z0-9_.\-]+=[^,\]]*)*)\]")


def _reference_parse(s: str) -> list[Segment]:
    out: list[Segment] = []
    pos = 0
    for m in _REFERENCE.finditer(s):
        if m.start() > pos:
            out.append(text(unescape_text(s[pos : m.start()])))
        data: dict[str, Any] = {}
        for pair in m.group(2).split(",")[1:]:
            key, _, value = pair.partition("=")
            data[key] = unescape_param(value)
        out.append({"type": m.group(1), "data": data})
        pos = m.end()
    if pos < len(s):
        out.append(text(unescape_text(s[pos:])))
    return out


_CQ_ALPHABET = st.sampled_from(["[CQ:", "[", "]", ",", "=", "a", "b", "-", " ", "&#91;", "&", "猫"])


@given(st.lists(_CQ_ALPHABET, max_size=40).map("".join))
def test_parse_matches_reference_regex(s: str) -> None:
    assert parse_cq(s, max_codes=BIG) == _reference_parse(s)


# --- encoding ----------------------------------------------------------------------------------


def test_encode_text_segment() -> None:
    assert encode_segment(text("a[b],c&d")) == "a&#91;b&#93;,c&amp;d"


def test_encode_napcat_image_example() -> None:
    seg = {
        "type": "image",
        "data": {
            "summary": "[图片]",
            "file": "abc.jpg",
            "sub_type": 0,
            "url": "https://x/?a=1&rkey=2",
            "file_size": "1234",
        },
    }
    assert encode_segment(seg) == (
        "[CQ:image,summary=&#91;图片&#93;,file=abc.jpg,sub_type=0,"
        "url=https://x/?a=1&amp;rkey=2,file_size=1234]"
    )


def test_encode_value_forms() -> None:
    seg = {
        "type": "x",
        "data": {
            "none": None,
            "empty": "",
            "t": True,
            "f": False,
            "i": 42,
            "fl": 1.5,
            "whole": 2.0,
            "obj": {"k": "猫", "n": [1, 2]},
            "arr": ["a,b"],
            "comma": "a,b",
        },
    }
    assert encode_segment(seg) == (
        '[CQ:x,t=true,f=false,i=42,fl=1.5,whole=2,obj={"k":"猫"&#44;"n":&#91;1&#44;2&#93;}'
        ',arr=&#91;"a&#44;b"&#93;,comma=a&#44;b]'
    )


def test_encode_segment_without_data() -> None:
    assert encode_segment({"type": "dice"}) == "[CQ:dice]"
    assert encode_segment({"type": "rps", "data": None}) == "[CQ:rps]"


def test_encode_cq_joins_without_trimming() -> None:
    segs = [text(" hi "), {"type": "at", "data": {"qq": "1"}}, text(" ")]
    assert encode_cq(segs) == " hi [CQ:at,qq=1] "
    assert encode_cq([]) == ""


# --- round trips -------------------------------------------------------------------------------

_NAMES = st.from_regex(r"[A-Za-z0-9_.\-]{1,8}", fullmatch=True)
_VALUES = st.text(alphabet=st.one_of(st.sampled_from("&[],=#;9 "), st.characters()), max_size=12)
_CODE = st.builds(
    lambda t, d: {"type": t, "data": d},
    _NAMES.filter(lambda t: t != "text"),
    st.dictionaries(_NAMES, _VALUES, max_size=4),
)
_TEXT = st.builds(text, _VALUES)


def _canonical(segments: list[Segment]) -> list[Segment]:
    out: list[Segment] = []
    for seg in segments:
        if seg["type"] == "text":
            if not seg["data"]["text"]:
                continue
            if out and out[-1]["type"] == "text":
                out[-1] = text(out[-1]["data"]["text"] + seg["data"]["text"])
                continue
            out.append(seg)
        else:
            data = {k: v for k, v in seg["data"].items() if v != ""}
            out.append({"type": seg["type"], "data": data})
    return out


@given(st.lists(st.one_of(_TEXT, _CODE), max_size=8))
def test_encode_then_parse_round_trips(segments: list[Segment]) -> None:
    assert parse_cq(encode_cq(segments), max_codes=BIG) == _canonical(segments)


@given(st.one_of(st.text(), st.lists(_CQ_ALPHABET, max_size=40).map("".join)))
def test_parse_then_encode_is_stable(s: str) -> None:
    once = encode_cq(parse_cq(s, max_codes=BIG))
    assert encode_cq(parse_cq(once, max_codes=BIG)) == once
