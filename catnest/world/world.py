"""The world as one object: social graph, chats and what happens around messages."""

from __future__ import annotations

import time
from collections.abc import Callable

from catnest.store.engine import Engine
from catnest.world.chat import Chat
from catnest.world.extras import Extras
from catnest.world.hub import Hub
from catnest.world.social import Social


class World:
    """Everything the QQ side knows and does. Built once by the app, shared by every adapter."""

    def __init__(self, engine: Engine, hub: Hub, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.hub = hub
        self.social = Social(engine, hub, clock)
        self.chat = Chat(engine, hub, clock)
        self.extras = Extras(engine, hub, clock)
        self.forwards = self.extras.forwards
