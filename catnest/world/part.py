"""What every part of the world shares: the store, the hub and the clock."""

from __future__ import annotations

import time
from collections.abc import Callable

from catnest.store.engine import Engine, Txn
from catnest.world.events import WorldEvent
from catnest.world.hub import Hub


class WorldPart:
    """A family of world rules (messages, groups, reactions...), built once per world.

    Parts hold no state of their own beyond these three, so one part may build another (or
    call its `*_txn` functions) without the two drifting apart.
    """

    def __init__(self, engine: Engine, hub: Hub, clock: Callable[[], float] = time.time) -> None:
        self._engine = engine
        self._hub = hub
        self._clock = clock

    def _now(self) -> int:
        return int(self._clock())

    def _publish(self, txn: Txn, event: WorldEvent) -> None:
        """Hand `event` to the hub once `txn` commits (never if it rolls back)."""
        self._hub.publish_after(txn, event)
