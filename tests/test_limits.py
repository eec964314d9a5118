"""docs/limits.md lists every limit with its real default; limits must be positive."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from catnest.config import ConfigError, parse_config
from catnest.limits import Limits

DOC = Path(__file__).resolve().parents[1] / "docs" / "limits.md"


def test_doc_lists_every_limit_with_its_default() -> None:
    text = DOC.read_text(encoding="utf-8")
    for field in msgspec.structs.fields(Limits):
        assert f"| `{field.name}` | {field.default} |" in text, field.name


@pytest.mark.parametrize("value", [0, -1])
def test_limits_must_be_positive(value: int) -> None:
    with pytest.raises(ConfigError, match=r"limits\.max_body_bytes"):
        parse_config({"limits": {"max_body_bytes": value}})
