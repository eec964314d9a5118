"""NapCat's onebot11_<uin>.json accepted as is."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from catnest.config import ConfigError, load_config

NAPCAT_FILE = {
    "network": {
        "httpServers": [
            {
                "name": "http",
                "enable": True,
                "port": 3000,
                "host": "127.0.0.1",
                "enableCors": True,
                "enableWebsocket": True,
                "messagePostFormat": "array",
                "token": "",
                "debug": False,
            }
        ],
        "httpSseServers": [
            {
                "name": "sse",
                "enable": False,
                "port": 3002,
                "host": "0.0.0.0",
                "token": "",
                "messagePostFormat": "array",
            }
        ],
        "httpClients": [
            {
                "name": "hook",
                "enable": True,
                "url": "http://localhost:8080/",
                "messagePostFormat": "string",
                "reportSelfMessage": True,
                "token": "sig",
                "debug": False,
            }
        ],
        "websocketServers": [
            {
                "name": "ws",
                "enable": True,
                "host": "127.0.0.1",
                "port": 3001,
                "messagePostFormat": "array",
                "reportSelfMessage": False,
                "token": "t",
                "enableForcePushEvent": True,
                "debug": False,
                "heartInterval": 30000,
            }
        ],
        "websocketClients": [
            {
                "name": "rev",
                "enable": True,
                "url": "ws://localhost:8082",
                "messagePostFormat": "array",
                "reportSelfMessage": False,
                "reconnectInterval": 5000,
                "token": "",
                "debug": False,
                "heartInterval": 30000,
            }
        ],
        "plugins": [],
    },
    "musicSignUrl": "",
    "enableLocalFile2Url": False,
    "parseMultMsg": False,
}


def test_napcat_file_as_config(tmp_path: Path) -> None:
    path = tmp_path / "onebot11_123456.json"
    path.write_bytes(orjson.dumps(NAPCAT_FILE))
    config = load_config(path)
    (bot,) = config.bots
    assert bot.uin == 123456
    assert [(h.port, h.enable_websocket) for h in bot.http] == [(3000, True)]
    assert [(w.port, w.token) for w in bot.ws] == [(3001, "t")]
    assert [c.url for c in bot.ws_clients] == ["ws://localhost:8082"]
    (hook,) = bot.webhooks
    assert hook.message_post_format == "string" and hook.report_self_message
    assert hook.token == "sig"


def test_napcat_file_from_toml(tmp_path: Path) -> None:
    (tmp_path / "onebot11.json").write_bytes(orjson.dumps(NAPCAT_FILE))
    toml = tmp_path / "catnest.toml"
    toml.write_text('[[bots]]\nuin = 10001\nnapcat_config = "onebot11.json"\n', encoding="utf-8")
    config = load_config(toml)
    assert config.bots[0].uin == 10001 and len(config.bots[0].webhooks) == 1


def test_public_bind_without_token_refused(tmp_path: Path) -> None:
    data = {
        "network": {
            "websocketServers": [{"enable": True, "host": "0.0.0.0", "port": 3001, "token": ""}]
        }
    }
    path = tmp_path / "onebot11_10001.json"
    path.write_bytes(orjson.dumps(data))
    with pytest.raises(ConfigError, match=r"bots\[0\]\.ws\[0\]\.token: required"):
        load_config(path)


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        (b"{", "not valid JSON"),
        (b"[]", "'network' object"),
        (b'{"network": {"httpServers": {}}}', "expected an array"),
        (
            b'{"network": {"httpServers": [{"enable": true, "port": "x"}]}}',
            "network.httpServers[0]",
        ),
    ],
)
def test_bad_napcat_files(tmp_path: Path, payload: bytes, needle: str) -> None:
    path = tmp_path / "onebot11_10001.json"
    path.write_bytes(payload)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert needle in str(info.value)
