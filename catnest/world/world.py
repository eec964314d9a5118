"""The world as one object: its social graph and its chats over one store and one hub."""

from __future__ import annotations

import time
from collections.abc import Callable

from catnest.store.engine import Engine
from catnest.world.chat import Chat
from catnest.world.hub import Hub
from catnest.world.social import Social


class World:
    """Everything the QQ side knows and does. Built once by the app, shared by every adapter."""

    def __init__(self, engine: Engine, hub: Hub, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.hub = hub
        self.social = Social(engine, clock)
        self.chat = Chat(engine, hub, clock)
