"""Fan-out of committed world events to whoever listens (transports subscribe per account)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from catnest.store.engine import Txn
from catnest.world.events import WorldEvent

log = logging.getLogger(__name__)

Listener = Callable[[WorldEvent], None]


class Hub:
    """Synchronous fan-out: listeners must only enqueue, never block or await."""

    def __init__(self) -> None:
        self._listeners: dict[int, list[Listener]] = {}
        self._global: list[Listener] = []

    def subscribe(self, uin: int | None, listener: Listener) -> Callable[[], None]:
        """Call `listener` with every event whose audience holds `uin` (every event if None).

        Returns the function that unsubscribes it.
        """
        bucket = self._global if uin is None else self._listeners.setdefault(uin, [])
        bucket.append(listener)

        def unsubscribe() -> None:
            if listener in bucket:
                bucket.remove(listener)

        return unsubscribe

    def publish_after(self, txn: Txn, event: WorldEvent) -> None:
        """Publish `event` once `txn` commits (never if it rolls back).

        One process owns its world here, so the commit itself is the only ordering needed;
        `SharedHub` (several processes on one PostgreSQL world) routes it through the store.
        """
        txn.after_commit(lambda: self.publish(event))

    def publish(self, event: WorldEvent) -> None:
        """Hand `event` to its listeners, in subscription order."""
        targets = list(self._global)
        for uin in event.audience:
            targets.extend(self._listeners.get(uin, ()))
        for listener in targets:
            try:
                listener(event)
            except Exception:
                log.exception("event listener failed")
