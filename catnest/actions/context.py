"""What an action knows about its caller: which bot it speaks for and in which dialect."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from catnest.limits import Limits
from catnest.world.world import World

MessageFormat = Literal["array", "string"]


@dataclass(frozen=True, slots=True)
class Identity:
    """What `get_version_info` answers (DESIGN.md §2 "identity")."""

    app_name: str
    app_version: str
    protocol_version: str


class TrafficRecorder(Protocol):
    """Where a bot's OneBot traffic is recorded for the web page's second pane."""

    def record_action(
        self,
        bot_id: int,
        action: Any,
        params: Any,
        response: Mapping[str, Any],
        elapsed_ms: float | None = None,
    ) -> None:
        """Record one action call and its envelope."""
        ...

    def record_event(self, bot_id: int, event: bytes) -> None:
        """Record one encoded event pushed to the bot."""
        ...


class ActionCaches:
    """Encoded answers shared by every adapter of one App, keyed by what they depend on."""

    # Enough for every bot × a few counts × two formats; cleared whole when full.
    MAX_ENTRIES = 4096

    def __init__(self) -> None:
        self.recent_contacts: dict[tuple[int, int, str], tuple[object, bytes]] = {}
        # Per bot: the lock `_rate_limited` calls queue on and when the last one started.
        self.spacing: dict[int, tuple[asyncio.Lock, list[float]]] = {}

    def remember(self, key: tuple[int, int, str], token: object, encoded: bytes) -> None:
        """Keep `encoded` for `key` while the store's change token stays `token`."""
        if len(self.recent_contacts) >= self.MAX_ENTRIES:
            self.recent_contacts.clear()
        self.recent_contacts[key] = (token, encoded)


@dataclass(frozen=True, slots=True)
class ActionContext:
    """Per-adapter context: the bot account, the adapter's message format, shared settings."""

    self_id: int
    world: World
    message_format: MessageFormat
    identity: Identity
    limits: Limits
    caches: ActionCaches = field(default_factory=ActionCaches)
    traffic: TrafficRecorder | None = None

    @property
    def inline_safe(self) -> bool:
        """Whether an action may start outside any task (transport/eager.py): true on SQLite,
        whose calls finish on the loop; asyncpg times its connects with `asyncio.timeout`,
        which needs, and would cancel, the task it runs in."""
        return self.world.engine.dialect == "sqlite"
