"""A journal of recent world events that users' long-polls and streams read from.

The hub's `audience` names bots only, so the web side subscribes to every event once and
keeps the recent ones in commit order, numbered; each user's poll or stream walks the journal
from its cursor and keeps what that user can see (`user_events.py`). One shared, bounded
journal rather than a queue per connection: a slow or idle reader costs nothing, and a reader
that falls behind the journal's tail is told to reload (`reset`) instead of holding memory.

Cursors are opaque strings, `<journal id>-<seq>`: a cursor from before a restart names another
journal and also gets `reset`.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import deque
from collections.abc import Callable

from catnest.world.events import WorldEvent
from catnest.world.hub import Hub

# Events kept: minutes of a busy world, far more than a page or test falls behind by.
DEFAULT_CAPACITY = 10_000
# Messages in kept events, in bytes of segment JSON: a count alone would let 10,000 messages
# of 16 MiB each stay in memory.
DEFAULT_MAX_BYTES = 64 * 1024 * 1024


def _weight(event: WorldEvent) -> int:
    message = getattr(event, "message", None)
    return 256 + (len(message.segments_json) if message is not None else 0)


class UserFeed:
    """Numbered recent world events, with a way to wait for the next one."""

    def __init__(
        self,
        hub: Hub,
        capacity: int = DEFAULT_CAPACITY,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self._hub = hub
        self._capacity = capacity
        self._max_bytes = max_bytes
        self._events: deque[tuple[int, WorldEvent, int]] = deque()
        self._bytes = 0
        self._changed = asyncio.Event()
        self._unsubscribe: Callable[[], None] | None = None
        self.journal_id = secrets.token_hex(4)
        self.last_seq = 0
        self.closed = False

    def start(self) -> None:
        """Start journaling every event the hub publishes."""
        self._unsubscribe = self._hub.subscribe(None, self._on_event)

    def close(self) -> None:
        """Stop journaling and wake every waiter so polls and streams can end."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.closed = True
        self._wake()

    def _on_event(self, event: WorldEvent) -> None:
        self.last_seq += 1
        weight = _weight(event)
        self._events.append((self.last_seq, event, weight))
        self._bytes += weight
        while len(self._events) > self._capacity or (
            self._bytes > self._max_bytes and len(self._events) > 1
        ):
            _, _, dropped = self._events.popleft()
            self._bytes -= dropped
        self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # --- cursors ---------------------------------------------------------------------------

    def cursor(self, seq: int | None = None) -> str:
        """The cursor of `seq` (the latest event when None)."""
        return f"{self.journal_id}-{self.last_seq if seq is None else seq}"

    def position(self, cursor: str | None) -> int | None:
        """The seq a cursor points at (the latest when `cursor` is None); None when events
        after it are no longer kept, or it belongs to another journal: the reader must reload.
        """
        if cursor is None or cursor == "":
            return self.last_seq
        journal, _, seq_text = cursor.partition("-")
        if journal != self.journal_id or not seq_text.isascii() or not seq_text.isdigit():
            return None
        seq = int(seq_text)
        if seq > self.last_seq or seq < self.first_seq - 1:
            return None
        return seq

    @property
    def first_seq(self) -> int:
        """The seq of the oldest kept event (last_seq + 1 when none is kept)."""
        return self._events[0][0] if self._events else self.last_seq + 1

    # --- reading ---------------------------------------------------------------------------

    def after(self, seq: int, limit: int) -> list[tuple[int, WorldEvent]]:
        """Up to `limit` kept events with seq > `seq`, oldest first."""
        if seq >= self.last_seq:
            return []
        skip = max(0, seq - self.first_seq + 1)
        out: list[tuple[int, WorldEvent]] = []
        for index in range(skip, len(self._events)):
            number, event, _ = self._events[index]
            out.append((number, event))
            if len(out) >= limit:
                break
        return out

    async def wait(self, seq: int, seconds: float) -> bool:
        """Wait up to `seconds` until an event after `seq` exists; False on timeout or when
        closed."""
        if self.last_seq > seq:
            return True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while self.last_seq <= seq and not self.closed:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                return False
        return self.last_seq > seq
