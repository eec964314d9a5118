"""Builds the object graph once: store, hub, world, registry and every adapter of every bot.

`catnest serve` and the tests build the same App.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

from catnest.actions import load_all
from catnest.actions.context import ActionContext, Identity, MessageFormat, Spacing
from catnest.config import BotConfig, Config
from catnest.serving.listener import Connections
from catnest.store.engine import Engine
from catnest.store.sqlite import SQLiteEngine
from catnest.transport.events import BotEvents
from catnest.transport.http import HttpApiServer
from catnest.transport.ratelimit import RateLimiter
from catnest.transport.webhook import Webhook
from catnest.transport.ws_client import WsReverseClient
from catnest.transport.ws_server import WsApiServer
from catnest.web.server import WebServer
from catnest.web.traffic import TrafficLog
from catnest.world.demo import seed_demo
from catnest.world.hub import Hub
from catnest.world.shared_hub import SharedHub
from catnest.world.world import World

log = logging.getLogger(__name__)


def open_engine(config: Config) -> Engine:
    """The store engine the config names (SQLite is the embedded default)."""
    if config.uses_postgres():
        # Imported here: asyncpg loads only when a world lives in PostgreSQL.
        from catnest.store.postgres import PostgresEngine

        # `durability` needs nothing on PostgreSQL: its default commit already survives power loss.
        return PostgresEngine(config.store.url, pool_size=config.store.pool_size)
    return SQLiteEngine(config.sqlite_path(), durability=config.store.durability)


class Adapter(Protocol):
    """Something that serves a bot: started after the store, stopped before it."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass
class App:
    """A running Catnest: start() opens the store and every adapter, stop() closes them."""

    config: Config
    engine: Engine = field(init=False)
    world: World = field(init=False)
    http_servers: list[HttpApiServer] = field(default_factory=list, init=False)
    ws_servers: list[WsApiServer] = field(default_factory=list, init=False)
    ws_clients: list[WsReverseClient] = field(default_factory=list, init=False)
    webhooks: list[Webhook] = field(default_factory=list, init=False)
    bot_events: dict[int, BotEvents] = field(default_factory=dict, init=False)
    # The user side (chat page and user API) and the bots' traffic it shows, when enabled.
    web: WebServer | None = field(default=None, init=False)
    traffic: TrafficLog | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.engine = open_engine(self.config)
        # Several processes may share a PostgreSQL world: events then go through its log.
        self.hub: Hub = SharedHub(self.engine) if self.engine.dialect == "postgres" else Hub()
        self.world = World(self.engine, self.hub)
        self.registry = load_all()
        self.spacing = Spacing()
        # One limiter for every listener: a client's budget is shared across transports.
        self.limiter = RateLimiter(self.config.limits)
        # One cap on open connections for every port of the process (serving/listener.py).
        self.connections = Connections.for_process(self.config.limits)
        self.identity = Identity(
            app_name=self.config.identity.app_name,
            app_version=self.config.identity.app_version,
            protocol_version=self.config.identity.protocol_version,
        )
        if self.config.web.enabled:
            self.traffic = TrafficLog()

    @property
    def adapters(self) -> list[Adapter]:
        """Every adapter, listeners first."""
        return [*self.http_servers, *self.ws_servers, *self.ws_clients, *self.webhooks]

    async def start(self) -> None:
        """Open the store, make sure every bot exists (seeding the demo once), then listen."""
        await self.engine.start()
        try:
            await self._ensure_bots()
            # Follow shared events from here: what seeding wrote had no listener yet.
            if isinstance(self.hub, SharedHub):
                await self.hub.start()
            for index, bot in enumerate(self.config.bots):
                self._build_adapters(index, bot)
            for adapter in self.adapters:
                await adapter.start()
            if self.config.web.enabled:
                self.web = WebServer(self.config, self.world, self.traffic, self.connections)
                await self.web.start()
        except BaseException:
            await self.stop()
            raise

    def _context(self, bot: BotConfig, fmt: MessageFormat) -> ActionContext:
        return ActionContext(
            self_id=bot.uin,
            world=self.world,
            message_format=fmt,
            identity=self.identity,
            limits=self.config.limits,
            spacing=self.spacing,
            traffic=self.traffic,
        )

    def _build_adapters(self, index: int, bot: BotConfig) -> None:
        events = self.bot_events.get(bot.uin)
        if events is None:
            events = self.bot_events[bot.uin] = BotEvents(self.world.hub, bot.uin, self.traffic)
        limits, registry = self.config.limits, self.registry
        shared = (limits, events, self.limiter, self.connections)
        for j, http in enumerate(bot.http):
            ctx = self._context(bot, http.message_post_format)
            where = f"bots[{index}].http[{j}]"
            self.http_servers.append(HttpApiServer(http, ctx, registry, *shared, where=where))
        for j, ws in enumerate(bot.ws):
            ctx = self._context(bot, ws.message_post_format)
            where = f"bots[{index}].ws[{j}]"
            self.ws_servers.append(WsApiServer(ws, ctx, registry, *shared, where=where))
        for client in bot.ws_clients:
            ctx = self._context(bot, client.message_post_format)
            self.ws_clients.append(WsReverseClient(client, ctx, registry, limits, events))
        for hook in bot.webhooks:
            ctx = self._context(bot, hook.message_post_format)
            self.webhooks.append(Webhook(hook, ctx, registry, limits, events))

    async def _ensure_bots(self) -> None:
        fresh = not await self.world.accounts.accounts()
        first = self.config.bots[0]
        if fresh and self.config.demo:
            await seed_demo(self.world, first.uin, first.nickname)
        for bot in self.config.bots:
            if await self.world.accounts.find_account(bot.uin) is None:
                await self.world.accounts.create_account(bot.uin, bot.nickname, is_bot=True)

    async def stop(self) -> None:
        """Close adapters first, then the store (queued writes finish before it closes)."""
        if self.web is not None:
            await self.web.stop()
            self.web = None
        for adapter in reversed(self.adapters):
            await adapter.stop()
        self.http_servers.clear()
        self.ws_servers.clear()
        self.ws_clients.clear()
        self.webhooks.clear()
        if isinstance(self.hub, SharedHub):
            await self.hub.stop()
        await self.engine.close()
