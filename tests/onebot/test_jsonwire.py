"""Strict JSON decoding of request bodies and frames."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catnest.onebot.errors import BadParams
from catnest.onebot.jsonwire import decode_object


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('{"a": 1, "a": 2}', "duplicate key 'a'"),
        ('{"x": [{"k": 1, "k": 1}]}', "duplicate key 'k'"),
        ('{"n": 9223372036854775808}', "64-bit"),
        ('{"n": -9223372036854775809}', "64-bit"),
        ('{"n": 99999999999999999999}', "64-bit"),
        ('{"n": NaN}', "invalid JSON"),
        ('{"n": -Infinity}', "invalid JSON"),
        ("[]", "got an array"),
        ("1", "got a number"),
        ("true", "got a boolean"),
        ('{"a": 1} x', "invalid JSON"),
    ],
)
def test_refused(text: str, needle: str) -> None:
    with pytest.raises(BadParams, match=needle):
        decode_object(text)


@pytest.mark.parametrize(
    "text",
    [
        '{"n": 9223372036854775807, "m": -9223372036854775808}',
        '{"f": 1.99999999999999999999, "g": 1e30, "h": 2.5E+40}',
        '{"s": "99999999999999999999", "t": "a\\"b:c"}',
        '{"a": {"a": {"a": 1}}}',
    ],
)
def test_accepted(text: str) -> None:
    assert isinstance(decode_object(text), dict)


def test_depth_limit() -> None:
    deep = '{"a":' * 64 + "1" + "}" * 64
    assert decode_object(deep, max_depth=64)
    with pytest.raises(BadParams, match="deeper than 64"):
        decode_object('{"a":' * 65 + "1" + "}" * 65, max_depth=64)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=20,
)


@given(st.dictionaries(st.text(max_size=8), json_values, max_size=6))
def test_round_trip_of_valid_objects(value: dict[str, object]) -> None:
    import json

    assert decode_object(json.dumps(value)) == value
