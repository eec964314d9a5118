"""Config decoding: defaults, and errors that name the exact key path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from catnest.config import ConfigError, load_config, parse_config


def test_defaults_match_napcat() -> None:
    config = parse_config({})
    (bot,) = config.bots
    assert bot.uin == 10001
    (http,) = bot.http
    assert (http.host, http.port, http.token, http.message_post_format) == (
        "127.0.0.1",
        3000,
        "",
        "array",
    )
    assert config.identity.app_name == "NapCat.Onebot"
    assert config.sqlite_path() == Path("catnest-data") / "catnest.db"


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        ({"bots": [{"http": [{"port": "x"}]}]}, "bots[0].http[0].port: expected `int`"),
        ({"bots": [{"http": [{"port": 70000}]}]}, "bots[0].http[0].port"),
        ({"bots": [{"http": [{"colour": 1}]}]}, "bots[0].http[0].colour: unknown key"),
        ({"bots": [{"uin": 5}]}, "bots[0].uin"),
        ({"bots": []}, "at least one bot"),
        ({"bots": [{"uin": 10001}, {"uin": 10001}]}, "bots[1].uin: 10001 is configured twice"),
        ({"bots": [{"http": [{"host": "0.0.0.0"}]}]}, "bots[0].http[0].token: required"),
        ({"bots": [{"http": [{"message_post_format": "xml"}]}]}, "message_post_format"),
        ({"limits": {"max_body_bytes": "big"}}, "limits.max_body_bytes"),
        ({"store": {"url": "mysql://x"}}, None),
        ({"surprise": True}, "surprise: unknown key"),
    ],
)
def test_errors_name_the_key(raw: dict[str, Any], needle: str | None) -> None:
    if needle is None:
        config = parse_config(raw)
        with pytest.raises(ConfigError, match=r"store\.url"):
            config.sqlite_path()
        return
    with pytest.raises(ConfigError) as info:
        parse_config(raw)
    assert needle in str(info.value)


def test_public_bind_with_token_is_fine() -> None:
    config = parse_config({"bots": [{"http": [{"host": "0.0.0.0", "token": "t"}]}]})
    assert config.bots[0].http[0].host == "0.0.0.0"


def test_toml_errors(tmp_path: Path) -> None:
    bad = tmp_path / "x.toml"
    bad.write_text("data_dir = [", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "missing.toml")
