"""Typed configuration: one TOML file decoded into msgspec Structs.

Errors name the exact key path and what was expected, e.g.
`bots[0].http[1].port: expected an integer >= 1 and <= 65535`.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from catnest.limits import Limits

# 0 asks the OS for a free port (used by tests and the pytest plugin).
Port = Annotated[int, msgspec.Meta(ge=0, le=65535)]
Uin = Annotated[int, msgspec.Meta(ge=10000, le=2**63 - 1)]

# NapCat reports its own version here; NapCat-targeted clients compare it loosely.
NAPCAT_COMPATIBLE_VERSION = "4.17.29"


class ConfigError(ValueError):
    """The configuration cannot be used; the message says which key and why."""


class HttpServerConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """An HTTP API server of one bot (NapCat's `httpServers` entry)."""

    name: str = "http"
    host: str = "127.0.0.1"
    port: Port = 3000
    token: str = ""
    message_post_format: Literal["array", "string"] = "array"
    # Browser origins allowed when no token is set (the server's own are always allowed).
    allow_origins: list[str] = msgspec.field(default_factory=list)


class BotConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A bot account served by Catnest and its adapters."""

    uin: Uin = 10001
    nickname: str = "Catnest Bot"
    http: list[HttpServerConfig] = msgspec.field(default_factory=lambda: [HttpServerConfig()])


class IdentityConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """What get_version_info says (DESIGN.md §2 "identity")."""

    app_name: str = "NapCat.Onebot"
    app_version: str = NAPCAT_COMPATIBLE_VERSION
    protocol_version: str = "v11"


class StoreConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Where the world lives: empty means `catnest.db` in the data folder."""

    url: str = ""
    durability: Literal["normal", "full"] = "normal"


class Config(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The whole configuration."""

    data_dir: str = "catnest-data"
    demo: bool = True
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    store: StoreConfig = msgspec.field(default_factory=StoreConfig)
    identity: IdentityConfig = msgspec.field(default_factory=IdentityConfig)
    limits: Limits = msgspec.field(default_factory=Limits)
    bots: list[BotConfig] = msgspec.field(default_factory=lambda: [BotConfig()])

    def sqlite_path(self) -> Path:
        """The SQLite file this config points at."""
        url = self.store.url
        if not url:
            return Path(self.data_dir) / "catnest.db"
        if url.startswith("sqlite:///"):
            return Path(url[len("sqlite:///") :])
        raise ConfigError(f"store.url: unsupported store {url!r} (expected sqlite:///PATH)")


_PATH = re.compile(r" - at `\$\.?(.*)`$")


def _explain(exc: msgspec.ValidationError) -> str:
    text = str(exc)
    match = _PATH.search(text)
    if match is None:
        if text.startswith("Object contains unknown field"):
            return f"{text.split('`')[1]}: unknown key"
        return text
    path = match.group(1) or "(top level)"
    message = text[: match.start()]
    if message.startswith("Object contains unknown field"):
        field = message.split("`")[1]
        return f"{path + '.' if match.group(1) else ''}{field}: unknown key"
    return f"{path}: {message[0].lower()}{message[1:]}"


def parse_config(data: dict[str, Any]) -> Config:
    """Decode and check a config mapping (already parsed TOML)."""
    try:
        config = msgspec.convert(data, Config)
    except msgspec.ValidationError as exc:
        raise ConfigError(_explain(exc)) from None
    check_config(config)
    return config


def load_config(path: Path | None) -> Config:
    """Load `path`, or the defaults when it is None."""
    if path is None:
        return parse_config({})
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_config(data)


def is_loopback(host: str) -> bool:
    """Whether binding `host` keeps the port on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_config(config: Config) -> None:
    """Rules no type can express: unique uins and ports, tokens on non-loopback binds."""
    if not config.bots:
        raise ConfigError("bots: at least one bot is required")
    seen_uins: set[int] = set()
    seen_ports: dict[tuple[str, int], str] = {}
    for i, bot in enumerate(config.bots):
        if bot.uin in seen_uins:
            raise ConfigError(f"bots[{i}].uin: {bot.uin} is configured twice")
        seen_uins.add(bot.uin)
        for j, http in enumerate(bot.http):
            where = f"bots[{i}].http[{j}]"
            key = (http.host, http.port)
            if key in seen_ports:
                raise ConfigError(f"{where}.port: {http.port} is already used by {seen_ports[key]}")
            seen_ports[key] = where
            # NapCat ships auth off by default and was found exposed on the internet; a port
            # reachable from other machines must demand a token.
            if not http.token and not is_loopback(http.host):
                raise ConfigError(
                    f"{where}.token: required when binding {http.host!r}, which is reachable "
                    "from other machines (set a token or bind 127.0.0.1)"
                )
