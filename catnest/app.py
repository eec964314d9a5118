"""Builds the object graph once: store, hub, world, registry and every adapter of every bot.

`catnest serve` and the tests build the same App.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from catnest.actions import load_all
from catnest.actions.context import ActionContext, Identity
from catnest.config import Config
from catnest.store.engine import Engine
from catnest.store.sqlite import SQLiteEngine
from catnest.transport.http import HttpApiServer
from catnest.world.demo import seed_demo
from catnest.world.hub import Hub
from catnest.world.world import World

log = logging.getLogger(__name__)


def open_engine(config: Config) -> Engine:
    """The store engine the config names (SQLite is the embedded default)."""
    return SQLiteEngine(config.sqlite_path(), durability=config.store.durability)


@dataclass
class App:
    """A running Catnest: start() opens the store and every adapter, stop() closes them."""

    config: Config
    engine: Engine = field(init=False)
    world: World = field(init=False)
    http_servers: list[HttpApiServer] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self.engine = open_engine(self.config)
        self.world = World(self.engine, Hub())
        self.registry = load_all()
        self.identity = Identity(
            app_name=self.config.identity.app_name,
            app_version=self.config.identity.app_version,
            protocol_version=self.config.identity.protocol_version,
        )

    async def start(self) -> None:
        """Open the store, make sure every bot exists (seeding the demo once), then listen."""
        await self.engine.start()
        try:
            await self._ensure_bots()
            for bot in self.config.bots:
                for http in bot.http:
                    ctx = ActionContext(
                        self_id=bot.uin,
                        world=self.world,
                        message_format=http.message_post_format,
                        identity=self.identity,
                        limits=self.config.limits,
                    )
                    server = HttpApiServer(http, ctx, self.registry, self.config.limits)
                    await server.start()
                    self.http_servers.append(server)
        except BaseException:
            await self.stop()
            raise

    async def _ensure_bots(self) -> None:
        social = self.world.social
        fresh = not await social.accounts()
        first = self.config.bots[0]
        if fresh and self.config.demo:
            await seed_demo(self.world, first.uin, first.nickname)
        for bot in self.config.bots:
            if await social.find_account(bot.uin) is None:
                await social.create_account(bot.uin, bot.nickname, is_bot=True)

    async def stop(self) -> None:
        """Close adapters first, then the store (queued writes finish before it closes)."""
        for server in self.http_servers:
            await server.stop()
        self.http_servers.clear()
        await self.engine.close()
