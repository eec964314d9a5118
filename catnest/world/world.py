"""The world as one object: every family of rules, sharing one store, hub and clock."""

from __future__ import annotations

import time
from collections.abc import Callable

from catnest.store.engine import Engine
from catnest.world.accounts import Accounts
from catnest.world.clock import WorldClock
from catnest.world.conversations import Conversations
from catnest.world.essence import Essence
from catnest.world.events import WorldRewritten
from catnest.world.forwards import Forwards
from catnest.world.friends import Friends
from catnest.world.group_admin import GroupAdmin
from catnest.world.groups import Groups
from catnest.world.hub import Hub
from catnest.world.messages import Messages
from catnest.world.pokes import Pokes
from catnest.world.profiles import Profiles
from catnest.world.reactions import Reactions
from catnest.world.requests import Requests
from catnest.world.views import ViewCache


class World:
    """Everything the QQ side knows and does. Built once by the app, shared by every adapter."""

    def __init__(
        self, engine: Engine, hub: Hub, clock: WorldClock | Callable[[], float] | None = None
    ) -> None:
        self.engine = engine
        self.hub = hub
        # A plain function is the clock's source of real time (tests pass fixed times).
        self.clock = clock if isinstance(clock, WorldClock) else WorldClock(clock or time.time)
        parts = (engine, hub, self.clock)
        self.accounts = Accounts(*parts)
        self.friends = Friends(*parts)
        self.profiles = Profiles(*parts)
        self.groups = Groups(*parts)
        self.group_admin = GroupAdmin(*parts)
        self.requests = Requests(*parts)
        self.messages = Messages(*parts)
        self.conversations = Conversations(*parts)
        self.reactions = Reactions(*parts)
        self.essence = Essence(*parts)
        self.pokes = Pokes(*parts)
        self.forwards = Forwards(*parts)
        # Encoded get_recent_contact answers per bot (world/views.py).
        self.recent_views = ViewCache(hub)
        # Another process writing the same SQLite file tells no one what it changed.
        engine.watch_foreign_writes(lambda: hub.publish(WorldRewritten()))
