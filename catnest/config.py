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


Format = Literal["array", "string"]
Interval = Annotated[int, msgspec.Meta(ge=0, le=86_400_000)]


class HttpServerConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """An HTTP API server of one bot (NapCat's `httpServers` / `httpSseServers` entry).

    It also streams events on `GET /_events` (SSE) and, with `enable_websocket`, accepts
    WebSocket upgrades on any path like NapCat's HTTP server does.
    """

    name: str = "http"
    host: str = "127.0.0.1"
    port: Port = 3000
    token: str = ""
    message_post_format: Format = "array"
    report_self_message: bool = False
    enable_websocket: bool = False
    heart_interval: Interval = 30000
    debug: bool = False
    # Browser origins allowed when no token is set (the server's own are always allowed).
    allow_origins: list[str] = msgspec.field(default_factory=list)


class WsServerConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A forward WebSocket server (NapCat's `websocketServers` entry)."""

    name: str = "ws"
    host: str = "127.0.0.1"
    port: Port = 3001
    token: str = ""
    message_post_format: Format = "array"
    report_self_message: bool = False
    heart_interval: Interval = 30000
    debug: bool = False
    allow_origins: list[str] = msgspec.field(default_factory=list)


class WsClientConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A reverse WebSocket client dialling the bot (NapCat's `websocketClients` entry)."""

    name: str = "ws-client"
    url: str = "ws://localhost:8082"
    token: str = ""
    message_post_format: Format = "array"
    report_self_message: bool = False
    heart_interval: Interval = 30000
    reconnect_interval: Annotated[int, msgspec.Meta(ge=100, le=3_600_000)] = 5000
    debug: bool = False


class HttpClientConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """An HTTP webhook posting events to the bot (NapCat's `httpClients` entry).

    `token` is the HMAC-SHA1 secret of `X-Signature`, as in NapCat.
    """

    name: str = "webhook"
    url: str = "http://localhost:8080"
    token: str = ""
    message_post_format: Format = "array"
    report_self_message: bool = False
    timeout: Annotated[int, msgspec.Meta(ge=100, le=600_000)] = 10000
    debug: bool = False


class BotConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A bot account served by Catnest and its adapters."""

    uin: Uin = 10001
    nickname: str = "Catnest Bot"
    http: list[HttpServerConfig] = msgspec.field(default_factory=lambda: [HttpServerConfig()])
    ws: list[WsServerConfig] = msgspec.field(default_factory=lambda: [WsServerConfig()])
    ws_clients: list[WsClientConfig] = msgspec.field(default_factory=list)
    webhooks: list[HttpClientConfig] = msgspec.field(default_factory=list)
    # A NapCat `onebot11_<uin>.json`; its `network` section adds adapters to this bot.
    napcat_config: str = ""


class IdentityConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """What get_version_info says (DESIGN.md §2 "identity")."""

    app_name: str = "NapCat.Onebot"
    app_version: str = NAPCAT_COMPATIBLE_VERSION
    protocol_version: str = "v11"


class WebConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The virtual users' side: chat page and user-side JSON API (NapCat's web UI port)."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: Port = 6099
    token: str = ""
    allow_origins: list[str] = msgspec.field(default_factory=list)


class StoreConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Where the world lives: empty means `catnest.db` in the data folder.

    `url` may also name a PostgreSQL database, `postgresql://user@host:port/db` (query
    parameters such as `?search_path=world1` become session settings); `pool_size` is then the
    number of connections this process keeps to it.
    """

    url: str = ""
    durability: Literal["normal", "full"] = "normal"
    pool_size: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 10


class Config(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The whole configuration."""

    data_dir: str = "catnest-data"
    demo: bool = True
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    store: StoreConfig = msgspec.field(default_factory=StoreConfig)
    identity: IdentityConfig = msgspec.field(default_factory=IdentityConfig)
    limits: Limits = msgspec.field(default_factory=Limits)
    web: WebConfig = msgspec.field(default_factory=WebConfig)
    bots: list[BotConfig] = msgspec.field(default_factory=lambda: [BotConfig()])

    def uses_postgres(self) -> bool:
        """Whether `store.url` names a PostgreSQL database."""
        return self.store.url.startswith(("postgresql://", "postgres://"))

    def sqlite_path(self) -> Path:
        """The SQLite file this config points at."""
        url = self.store.url
        if not url:
            return Path(self.data_dir) / "catnest.db"
        if url.startswith("sqlite:///"):
            return Path(url[len("sqlite:///") :])
        raise ConfigError(
            f"store.url: unsupported store {url!r}"
            " (expected sqlite:///PATH or postgresql://USER@HOST:PORT/DATABASE)"
        )


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


def parse_config(data: dict[str, Any], base: Path | None = None) -> Config:
    """Decode and check a config mapping (already parsed TOML).

    `base` is the folder relative `napcat_config` paths are read from.
    """
    from catnest.config_napcat import load_napcat_file

    try:
        config = msgspec.convert(data, Config)
    except msgspec.ValidationError as exc:
        raise ConfigError(_explain(exc)) from None
    for i, bot in enumerate(config.bots):
        if bot.napcat_config:
            path = (base or Path.cwd()) / bot.napcat_config
            try:
                config.bots[i] = load_napcat_file(path, bot)
            except ConfigError as exc:
                raise ConfigError(f"bots[{i}].napcat_config: {exc}") from None
    check_config(config)
    return config


def load_config(path: Path | None) -> Config:
    """Load `path` (our TOML, or NapCat's onebot11_<uin>.json), or the defaults when None."""
    if path is None:
        return parse_config({})
    if path.suffix == ".json":
        from catnest.config_napcat import uin_from_filename

        uin = uin_from_filename(path)
        bot: dict[str, Any] = {"napcat_config": str(path.resolve())}
        if uin is not None:
            bot["uin"] = uin
        return parse_config({"bots": [bot]})
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_config(data, path.parent)


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
    if config.web.enabled:
        _check_listener("web", config.web, seen_ports)
    for i, bot in enumerate(config.bots):
        if bot.uin in seen_uins:
            raise ConfigError(f"bots[{i}].uin: {bot.uin} is configured twice")
        seen_uins.add(bot.uin)
        listeners: list[tuple[str, HttpServerConfig | WsServerConfig | WebConfig]] = [
            *((f"bots[{i}].http[{j}]", h) for j, h in enumerate(bot.http)),
            *((f"bots[{i}].ws[{j}]", w) for j, w in enumerate(bot.ws)),
        ]
        for where, listener in listeners:
            _check_listener(where, listener, seen_ports)
        for j, client in enumerate(bot.ws_clients):
            if not client.url.startswith(("ws://", "wss://")):
                raise ConfigError(f"bots[{i}].ws_clients[{j}].url: expected a ws:// or wss:// URL")
        for j, hook in enumerate(bot.webhooks):
            if not hook.url.startswith(("http://", "https://")):
                raise ConfigError(
                    f"bots[{i}].webhooks[{j}].url: expected an http:// or https:// URL"
                )


def _check_listener(
    where: str,
    listener: HttpServerConfig | WsServerConfig | WebConfig,
    seen_ports: dict[tuple[str, int], str],
) -> None:
    key = (listener.host, listener.port)
    if listener.port and key in seen_ports:
        raise ConfigError(f"{where}.port: {listener.port} is already used by {seen_ports[key]}")
    seen_ports[key] = where
    # NapCat ships auth off by default and was found exposed on the internet; a port
    # reachable from other machines must demand a token.
    if not listener.token and not is_loopback(listener.host):
        raise ConfigError(
            f"{where}.token: required when binding {listener.host!r}, which is "
            "reachable from other machines (set a token or bind 127.0.0.1)"
        )
