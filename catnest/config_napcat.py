"""NapCat's own `onebot11_<uin>.json`, accepted as is (napcat-api.md §4.1).

Only the `network` section matters to Catnest; disabled entries are skipped, and fields NapCat
defines but ignores (`enableCors`, `enableForcePushEvent`) are ignored here too.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import msgspec
import orjson

from catnest.config import (
    BotConfig,
    ConfigError,
    HttpClientConfig,
    HttpServerConfig,
    WsClientConfig,
    WsServerConfig,
)

_UIN_IN_NAME = re.compile(r"onebot11_(\d+)\.json$")

# NapCat key → our key, per adapter kind.
_COMMON = {
    "name": "name",
    "token": "token",
    "messagePostFormat": "message_post_format",
    "reportSelfMessage": "report_self_message",
    "debug": "debug",
}
_KINDS: dict[str, tuple[str, type[msgspec.Struct], dict[str, str]]] = {
    "httpServers": (
        "http",
        HttpServerConfig,
        {"host": "host", "port": "port", "enableWebsocket": "enable_websocket"},
    ),
    "httpSseServers": ("http", HttpServerConfig, {"host": "host", "port": "port"}),
    "websocketServers": (
        "ws",
        WsServerConfig,
        {"host": "host", "port": "port", "heartInterval": "heart_interval"},
    ),
    "websocketClients": (
        "ws_clients",
        WsClientConfig,
        {
            "url": "url",
            "heartInterval": "heart_interval",
            "reconnectInterval": "reconnect_interval",
        },
    ),
    "httpClients": ("webhooks", HttpClientConfig, {"url": "url"}),
}


def uin_from_filename(path: Path) -> int | None:
    """The bot uin in a NapCat config file name, if it has one."""
    match = _UIN_IN_NAME.search(path.name)
    return int(match.group(1)) if match else None


def _adapter(kind: str, index: int, entry: Any) -> msgspec.Struct | None:
    where = f"network.{kind}[{index}]"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected an object")
    if not entry.get("enable", False):
        return None
    _, struct, specific = _KINDS[kind]
    mapping = {**_COMMON, **specific}
    values = {ours: entry[theirs] for theirs, ours in mapping.items() if theirs in entry}
    if values.get("message_post_format") not in (None, "array", "string"):
        values["message_post_format"] = "array"  # NapCat treats anything else as array
    try:
        return msgspec.convert(values, struct)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def apply_napcat_network(bot: BotConfig, data: Any, source: str) -> BotConfig:
    """Add the enabled adapters of a NapCat config to `bot` (replacing its defaults)."""
    if not isinstance(data, dict) or not isinstance(data.get("network"), dict):
        raise ConfigError(f"{source}: expected a NapCat OneBot config with a 'network' object")
    network = data["network"]
    lists: dict[str, list[Any]] = {"http": [], "ws": [], "ws_clients": [], "webhooks": []}
    for kind, (field, _, _) in _KINDS.items():
        entries = network.get(kind, [])
        if not isinstance(entries, list):
            raise ConfigError(f"{source}: network.{kind}: expected an array")
        for index, entry in enumerate(entries):
            adapter = _adapter(kind, index, entry)
            if adapter is not None:
                lists[field].append(adapter)
    return msgspec.structs.replace(bot, **lists)


def load_napcat_file(path: Path, bot: BotConfig) -> BotConfig:
    """Read `path` (JSON) and apply its network section to `bot`."""
    try:
        data = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except orjson.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON: {exc}") from None
    return apply_napcat_network(bot, data, str(path))
