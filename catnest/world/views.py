"""Rendered answers kept per viewer, dropped when a write that changes what that viewer sees
commits (Synapse's per-key cache invalidation, DESIGN.md §3 "caches live in the world").

Bots poll `get_recent_contact`; between two polls usually nothing they see has changed, so the
encoded answer is kept and served again. Every world event names its audience, and the events
that change a recent-contacts list (a message, a recall, a rename, a join or leave, a read mark
or remark through `ViewChanged`) drop the cached answers of exactly that audience once their
transaction commits. On PostgreSQL the events of other processes arrive through the shared
event log, so their writes reach this cache the same way, a moment later.

A read that raced a write must not store what it read before the write: each viewer has a
generation, moved by every invalidation, and `put` keeps a value only if the generation it was
read under is still current.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

from catnest.world import events as ev
from catnest.world.hub import Hub

# The kinds of event after which a viewer's recent contacts may read differently: the last
# message, its sender's name, card, role or title, the peer's name or remark, membership, read
# cursors. Reactions, mutes, pokes, likes and requests change none of these.
CHANGES_VIEWS: tuple[type, ...] = (
    ev.MessageCreated,
    ev.MessageRecalled,
    ev.FriendAdded,
    ev.MemberJoined,
    ev.MemberLeft,
    ev.AdminChanged,
    ev.CardChanged,
    ev.TitleChanged,
    ev.GroupRenamed,
    ev.ViewChanged,
)

# Viewers kept at most; past it the least recently filled viewer is forgotten. Values are
# small encoded answers, and the accounts served (bots) are few.
MAX_VIEWERS = 4096
# Answers kept per viewer (one per count and format asked for).
MAX_PER_VIEWER = 16


class ViewCache:
    """Encoded answers by viewer and key, invalidated per viewer by world events."""

    def __init__(self, hub: Hub) -> None:
        self._values: dict[int, dict[Hashable, bytes]] = {}
        self._generations: dict[int, int] = {}
        self._unsubscribe = hub.subscribe(None, self._on_event)

    def get(self, viewer: int, key: Hashable) -> bytes | None:
        """The answer kept for `viewer` under `key`, or None."""
        values = self._values.get(viewer)
        return None if values is None else values.get(key)

    def generation(self, viewer: int) -> int:
        """Take this before reading what `put` will store (it makes `viewer` one whose
        invalidations are counted: only viewers that read are, so the count stays small)."""
        return self._generations.setdefault(viewer, 0)

    def put(self, viewer: int, key: Hashable, value: bytes, generation: int) -> None:
        """Keep `value`, read under `generation`, unless a write invalidated it since."""
        if self._generations.get(viewer, 0) != generation:
            return
        values = self._values.pop(viewer, None)
        if values is None:
            if len(self._values) >= MAX_VIEWERS:
                del self._values[next(iter(self._values))]
            values = {}
        elif len(values) >= MAX_PER_VIEWER:
            values.clear()
        values[key] = value
        self._values[viewer] = values  # newest last: eviction takes the oldest first

    def invalidate(self, viewers: Iterable[int]) -> None:
        """Drop what is kept for `viewers` and refuse values read before now."""
        generations = self._generations
        for viewer in viewers:
            if viewer in generations:
                self._values.pop(viewer, None)
                generations[viewer] += 1

    def clear(self) -> None:
        """Drop everything (the world was changed by something that told no one who saw it)."""
        self.invalidate(list(self._generations))

    def close(self) -> None:
        """Stop following the hub."""
        self._unsubscribe()

    def _on_event(self, event: ev.WorldEvent) -> None:
        if isinstance(event, ev.WorldRewritten):
            self.clear()
        elif isinstance(event, CHANGES_VIEWS):
            self.invalidate(event.audience)
