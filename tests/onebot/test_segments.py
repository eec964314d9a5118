"""Normalising send-action messages (napcat-api.md §5.3) and the output string forms."""

from __future__ import annotations

from typing import Any

import pytest

from catnest.limits import Limits
from catnest.onebot.errors import BadParams
from catnest.onebot.segments import (
    SEND_TYPES,
    normalize_message,
    plain_text,
    raw_message,
    to_string_form,
)

LIMITS = Limits()


def norm(message: object, *, auto_escape: bool = False, limits: Limits = LIMITS) -> Any:
    return normalize_message(message, auto_escape=auto_escape, limits=limits)


def one(seg_type: str, **data: Any) -> Any:
    """Normalise a one-segment message and return the data of its segment."""
    [seg] = norm([{"type": seg_type, "data": data}])
    assert seg["type"] == seg_type
    return seg["data"]


def error(message: object, *, auto_escape: bool = False, limits: Limits = LIMITS) -> str:
    with pytest.raises(BadParams) as err:
        norm(message, auto_escape=auto_escape, limits=limits)
    assert err.value.retcode == 1400
    return err.value.message


def seg_error(seg_type: str, **data: Any) -> str:
    return error([{"type": seg_type, "data": data}])


def test_send_types() -> None:
    expected = {
        "text", "face", "at", "reply", "image", "record", "video", "file", "json", "forward",
        "node", "dice", "rps", "poke", "markdown", "mface", "contact", "music", "location",
    }  # fmt: skip
    assert expected == SEND_TYPES


# --- message shapes ----------------------------------------------------------------------------


def test_list_of_segments() -> None:
    msg = [{"type": "text", "data": {"text": "hi"}}, {"type": "face", "data": {"id": 14}}]
    assert norm(msg) == [
        {"type": "text", "data": {"text": "hi"}},
        {"type": "face", "data": {"id": "14"}},
    ]


def test_single_segment_object() -> None:
    assert norm({"type": "at", "data": {"qq": 10001}}) == [{"type": "at", "data": {"qq": "10001"}}]


def test_cq_string() -> None:
    assert norm("hi[CQ:at,qq=10001] &#91;x&#93;") == [
        {"type": "text", "data": {"text": "hi"}},
        {"type": "at", "data": {"qq": "10001"}},
        {"type": "text", "data": {"text": " [x]"}},
    ]


def test_auto_escape_string_is_one_verbatim_text_segment() -> None:
    s = "[CQ:at,qq=10001] &#91;"
    assert norm(s, auto_escape=True) == [{"type": "text", "data": {"text": s}}]


def test_cq_string_segments_are_validated() -> None:
    assert error("[CQ:image,file=file:///etc/passwd]") == (
        "message[0].data.file: only http://, https:// and base64:// are accepted"
    )
    assert error("[CQ:unknown,a=1]") == "message[0].type: unknown segment type: unknown"


def test_cq_string_code_limit() -> None:
    limits = Limits(max_cq_codes=2)
    assert len(norm("[CQ:dice][CQ:dice]", limits=limits)) == 2
    assert error("[CQ:dice]" * 3, limits=limits) == (
        "message: more than 2 CQ codes (limit max_cq_codes)"
    )


@pytest.mark.parametrize("message", [1, 1.5, True, False, None])
def test_bad_message_type(message: object) -> None:
    assert error(message) == "message: expected a string, an object or an array of segments"


@pytest.mark.parametrize(
    "item",
    ["text", 3, None, [], {"data": {}}, {"type": 1, "data": {}}, {"type": "text", "data": "x"}],
)
def test_bad_segment_shape(item: object) -> None:
    msg = [{"type": "dice"}, {"type": "dice"}, item]
    assert error(msg) == "message[2]: expected an object with 'type' and 'data'"


def test_missing_or_null_data_is_empty() -> None:
    assert norm([{"type": "dice"}, {"type": "rps", "data": None}]) == [
        {"type": "dice", "data": {}},
        {"type": "rps", "data": {}},
    ]


def test_unknown_type() -> None:
    assert error([{"type": "xml", "data": {}}]) == "message[0].type: unknown segment type: xml"


def test_empty_messages() -> None:
    assert error([]) == "message is empty"
    assert error("") == "message is empty"
    assert error("", auto_escape=True) == "message is empty"
    assert error([{"type": "text", "data": {"text": ""}}]) == "message is empty"


def test_segment_limit() -> None:
    limits = Limits(max_segments=2)
    assert len(norm([{"type": "dice"}] * 2, limits=limits)) == 2
    assert error([{"type": "dice"}] * 3, limits=limits) == (
        "message: 3 segments, more than max_segments (2)"
    )


def test_text_limit_counts_all_text() -> None:
    limits = Limits(max_message_text_chars=5)
    assert norm("abc猫猫", limits=limits) == [{"type": "text", "data": {"text": "abc猫猫"}}]
    msg = [{"type": "text", "data": {"text": "abc"}}, {"type": "text", "data": {"text": "def"}}]
    assert error(msg, limits=limits) == (
        "message[1].data.text: message text is longer than max_message_text_chars (5 characters)"
    )


# --- text ---------------------------------------------------------------------------------------


def test_text() -> None:
    assert one("text", text="hi [x]") == {"text": "hi [x]"}
    assert one("text", text=12) == {"text": "12"}
    assert one("text", text=1.5) == {"text": "1.5"}
    assert one("text", text=2.0) == {"text": "2"}


def test_empty_text_segments_are_dropped() -> None:
    msg = [{"type": "text", "data": {"text": ""}}, {"type": "dice", "data": {}}]
    assert norm(msg) == [{"type": "dice", "data": {}}]


def test_text_errors() -> None:
    assert seg_error("text") == "message[0].data.text: required"
    assert seg_error("text", text=None) == "message[0].data.text: required"
    assert seg_error("text", text=True) == "message[0].data.text: expected a string"
    assert seg_error("text", text=["a"]) == "message[0].data.text: expected a string"


# --- face, at, reply ----------------------------------------------------------------------------


def test_face() -> None:
    assert one("face", id=14) == {"id": "14"}
    assert one("face", id="14", resultId="r", chainCount=2) == {
        "id": "14",
        "resultId": "r",
        "chainCount": "2",
    }
    assert seg_error("face") == "message[0].data.id: required"
    for bad in ("x1", "-1", -1, "", True, 1.5, "１"):
        assert seg_error("face", id=bad) == (
            "message[0].data.id: expected a number or a string of digits"
        )


def test_at() -> None:
    assert one("at", qq="all") == {"qq": "all"}
    assert one("at", qq=10001) == {"qq": "10001"}
    assert one("at", qq="10001", name="Alice") == {"qq": "10001", "name": "Alice"}
    assert seg_error("at") == "message[0].data.qq: required"
    assert seg_error("at", qq="everyone") == (
        "message[0].data.qq: expected a number or a string of digits"
    )
    assert seg_error("at", qq=1, name={"x": 1}) == "message[0].data.name: expected a string"


def test_reply() -> None:
    assert one("reply", id=-0 + 5) == {"id": "5"}
    assert one("reply", seq="77") == {"seq": "77"}
    assert one("reply", id="5", seq=77) == {"id": "5", "seq": "77"}
    assert seg_error("reply") == "message[0].data.id: required (or seq)"
    assert seg_error("reply", id="abc") == (
        "message[0].data.id: expected a number or a string of digits"
    )


# --- media ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("seg_type", ["image", "record", "video", "file"])
@pytest.mark.parametrize(
    "file",
    ["https://example.com/a.png?x=1", "http://example.com/a", "base64://iVBORw0=", "abc.jpg",
     "sub/abc.jpg", "HTTPS://EXAMPLE.COM/A", "a..b.jpg"],
)  # fmt: skip
def test_media_sources_accepted(seg_type: str, file: str) -> None:
    assert one(seg_type, file=file) == {"file": file}


@pytest.mark.parametrize(
    ("file", "reason"),
    [
        ("file:///etc/passwd", "only http://, https:// and base64:// are accepted"),
        ("FILE:///etc/passwd", "only http://, https:// and base64:// are accepted"),
        ("ftp://example.com/a", "only http://, https:// and base64:// are accepted"),
        ("data:image/png;base64,AA", "only http://, https:// and base64:// are accepted"),
        ("/etc/passwd", "local file paths are not accepted"),
        ("\\\\server\\share\\a.png", "local file paths are not accepted"),
        ("C:\\Windows\\win.ini", "local file paths are not accepted"),
        ("c:/windows/win.ini", "local file paths are not accepted"),
        ("../catnest.db", "'..' is not accepted in a file name"),
        ("a/../../b", "'..' is not accepted in a file name"),
        ("a\\..\\b", "'..' is not accepted in a file name"),
        ("..", "'..' is not accepted in a file name"),
        ("a\x00.png", "contains a NUL character"),
    ],
)
def test_media_sources_refused(file: str, reason: str) -> None:
    assert seg_error("image", file=file) == f"message[0].data.file: {reason}"


def test_media_url_used_when_file_missing() -> None:
    url = "https://example.com/a.png"
    assert one("image", url=url) == {"file": url, "url": url}
    assert one("video", file="", url=url) == {"file": url, "url": url}
    assert seg_error("record", url="file:///etc/passwd") == (
        "message[0].data.url: only http://, https:// and base64:// are accepted"
    )


def test_media_optional_fields() -> None:
    data = one(
        "image", file="a.jpg", url="https://x/a.jpg", name="a", summary="[图片]", sub_type=1, k=1
    )
    assert data == {
        "file": "a.jpg",
        "url": "https://x/a.jpg",
        "name": "a",
        "summary": "[图片]",
        "sub_type": "1",
    }
    assert one("file", file="a.txt", name="a.txt", sub_type=1) == {"file": "a.txt", "name": "a.txt"}


def test_media_errors() -> None:
    assert seg_error("image") == "message[0].data.file: required"
    assert seg_error("file", file="") == "message[0].data.file: required"
    assert seg_error("image", file=["a"]) == "message[0].data.file: expected a string"


# --- json, forward, markdown, dice, rps, poke, mface, contact -----------------------------------


def test_json() -> None:
    assert one("json", data='{"app":"x"}') == {"data": '{"app":"x"}'}
    assert one("json", data={"app": "猫", "n": [1]}) == {"data": '{"app":"猫","n":[1]}'}
    assert one("json", data=[1, 2]) == {"data": "[1,2]"}
    assert seg_error("json") == "message[0].data.data: expected a JSON string or object"
    assert seg_error("json", data=5) == "message[0].data.data: expected a JSON string or object"


def test_forward() -> None:
    assert one("forward", id="7301234567890") == {"id": "7301234567890"}
    assert one("forward", id=42) == {"id": "42"}
    assert seg_error("forward") == "message[0].data.id: required"


def test_markdown() -> None:
    assert one("markdown", content="# hi") == {"content": "# hi"}
    assert seg_error("markdown") == "message[0].data.content: required"
    assert seg_error("markdown", content="") == "message[0].data.content: required"


def test_dice_rps_poke() -> None:
    assert one("dice") == {}
    assert one("dice", result=3) == {"result": "3"}
    assert one("rps", result="2") == {"result": "2"}
    assert one("poke", type=1, id="2") == {"type": "1", "id": "2"}
    assert one("poke") == {}


def test_mface() -> None:
    data = one("mface", emoji_id="e1", emoji_package_id=10, key="k", summary="[s]", x="y")
    assert data == {"emoji_id": "e1", "emoji_package_id": "10", "key": "k", "summary": "[s]"}
    assert seg_error("mface", emoji_id="e1") == "message[0].data.emoji_package_id: required"


def test_contact() -> None:
    assert one("contact", type="qq", id=10001) == {"type": "qq", "id": "10001"}
    assert one("contact", type="group", id="123") == {"type": "group", "id": "123"}
    assert seg_error("contact", type="user", id=1) == (
        "message[0].data.type: expected one of group, qq"
    )
    assert seg_error("contact", type="qq") == "message[0].data.id: required"


# --- music, location ----------------------------------------------------------------------------


def test_music() -> None:
    assert one("music", type="163", id=28949129) == {"type": "163", "id": "28949129"}
    assert one("music", type=163, id="1") == {"type": "163", "id": "1"}
    custom = one(
        "music", type="custom", url="https://u", audio="https://a", title="t", image="https://i"
    )
    assert custom == {
        "type": "custom",
        "url": "https://u",
        "audio": "https://a",
        "title": "t",
        "image": "https://i",
    }
    assert seg_error("music", type="spotify", id=1) == (
        "message[0].data.type: expected one of 163, custom, kugou, kuwo, migu, qq"
    )
    assert seg_error("music", type="qq") == "message[0].data.id: required"
    assert seg_error("music", type="custom", url="u", audio="a") == (
        "message[0].data.title: required"
    )


def test_location() -> None:
    assert one("location", lat=39.9, lon="116.4", title="t") == {
        "lat": "39.9",
        "lon": "116.4",
        "title": "t",
    }
    assert one("location", lat=-1, lon="-2.5e1") == {"lat": "-1", "lon": "-2.5e1"}
    assert seg_error("location", lon=1) == "message[0].data.lat: required"
    assert seg_error("location", lat="north", lon=1) == "message[0].data.lat: expected a number"
    assert seg_error("location", lat=1, lon="nan") == "message[0].data.lon: expected a number"


# --- forward nodes ------------------------------------------------------------------------------


def node(content: Any = None, **data: Any) -> dict[str, Any]:
    if content is not None:
        data["content"] = content
    return {"type": "node", "data": data}


def test_node_by_id() -> None:
    assert norm([node(id=123, nickname="ignored")]) == [{"type": "node", "data": {"id": "123"}}]


def test_node_with_content() -> None:
    msg = [
        node("hi[CQ:face,id=1]", uin=10001, name="Alice"),
        node([{"type": "text", "data": {"text": "yo"}}], user_id="10002", nickname="Bob", time=5),
    ]
    assert norm(msg) == [
        {
            "type": "node",
            "data": {
                "user_id": "10001",
                "nickname": "Alice",
                "content": [
                    {"type": "text", "data": {"text": "hi"}},
                    {"type": "face", "data": {"id": "1"}},
                ],
            },
        },
        {
            "type": "node",
            "data": {
                "user_id": "10002",
                "nickname": "Bob",
                "content": [{"type": "text", "data": {"text": "yo"}}],
                "time": "5",
            },
        },
    ]


def test_node_errors() -> None:
    assert error([node()]) == "message[0].data.content: required (or id)"
    assert error([node([])]) == "message[0].data.content is empty"
    assert error([node("x", user_id="bob")]) == (
        "message[0].data.user_id: expected a number or a string of digits"
    )
    assert error([node([{"type": "nope"}])]) == (
        "message[0].data.content[0].type: unknown segment type: nope"
    )


def test_nodes_cannot_be_mixed() -> None:
    msg = [node(id=1), {"type": "text", "data": {"text": "x"}}]
    assert error(msg) == "message: forward nodes cannot be mixed with other segments"
    inner = [node([node(id=1), {"type": "dice"}])]
    assert (
        error(inner) == "message[0].data.content: forward nodes cannot be mixed with other segments"
    )


def test_nodes_with_empty_text_between_are_not_mixed() -> None:
    assert norm([node(id=1), {"type": "text", "data": {"text": ""}}, node(id=2)]) == [
        {"type": "node", "data": {"id": "1"}},
        {"type": "node", "data": {"id": "2"}},
    ]


def nested(levels: int) -> list[dict[str, Any]]:
    message: Any = "leaf"
    for _ in range(levels):
        message = [node(message, user_id=1, nickname="n")]
    return list(message)


def test_forward_depth_limit() -> None:
    limits = Limits(max_forward_depth=2)
    assert norm(nested(2), limits=limits)[0]["data"]["content"][0]["data"]["content"] == [
        {"type": "text", "data": {"text": "leaf"}}
    ]
    assert error(nested(3), limits=limits) == (
        "message[0].data.content[0].data.content[0].data.content: "
        "forward nodes nested deeper than max_forward_depth (2)"
    )


def test_forward_node_limit_counts_nested_nodes() -> None:
    limits = Limits(max_forward_nodes=3)
    assert len(norm([node(id=1)] * 3, limits=limits)) == 3
    msg = [node([node(id=1), node(id=2)]), node(id=3)]
    assert error(msg, limits=limits) == (
        "message[1]: more than max_forward_nodes (3) forward nodes"
    )


def test_text_limit_counts_node_content() -> None:
    limits = Limits(max_message_text_chars=3)
    msg = [node("ab", user_id=1), node("cd", user_id=1)]
    assert error(msg, limits=limits) == (
        "message[1].data.content[0].data.text: "
        "message text is longer than max_message_text_chars (3 characters)"
    )


# --- output forms -------------------------------------------------------------------------------


def test_raw_message_is_trimmed_cq() -> None:
    segs = [
        {"type": "text", "data": {"text": " \u3000 hi [1] "}},
        {"type": "image", "data": {"file": "a.jpg", "summary": "[图片]"}},
        {"type": "text", "data": {"text": "\n\ufeff"}},
    ]
    assert raw_message(segs) == "hi &#91;1&#93; [CQ:image,file=a.jpg,summary=&#91;图片&#93;]"
    assert to_string_form(segs) == raw_message(segs)


def test_raw_message_trims_like_javascript() -> None:
    # \x1c is whitespace to Python's str.strip but not to JavaScript's trim().
    segs = [{"type": "text", "data": {"text": "\x1cA\x85"}}]
    assert raw_message(segs) == "\x1cA\x85"


def test_plain_text() -> None:
    segs = norm("a[CQ:at,qq=1]b[CQ:face,id=2]c")
    assert plain_text(segs) == "abc"
    assert plain_text([]) == ""


def test_inline_base64_media_is_capped() -> None:
    limits = Limits(max_inline_media_chars=8)
    ok = normalize_message("[CQ:image,file=base64://AAAAAAAA]", auto_escape=False, limits=limits)
    assert ok[0]["data"]["file"] == "base64://AAAAAAAA"
    with pytest.raises(BadParams, match="max_inline_media_chars"):
        normalize_message("[CQ:image,file=base64://AAAAAAAAA]", auto_escape=False, limits=limits)
