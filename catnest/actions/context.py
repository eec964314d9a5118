"""What an action knows about its caller: which bot it speaks for and in which dialect."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from catnest.limits import Limits
from catnest.onebot.shapes import MessageFormat
from catnest.world.world import World

__all__ = ["ActionContext", "Identity", "MessageFormat", "Spacing", "TrafficRecorder"]


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


class Spacing:
    """Per bot, the lock `_rate_limited` calls queue on and when the last one started.

    One per App, shared by every adapter: a bot's spacing holds across its transports.
    """

    def __init__(self) -> None:
        self._bots: dict[int, tuple[asyncio.Lock, list[float]]] = {}

    def of(self, bot_id: int) -> tuple[asyncio.Lock, list[float]]:
        """The lock and last start time (a one-item list) of `bot_id`."""
        return self._bots.setdefault(bot_id, (asyncio.Lock(), [0.0]))


@dataclass(frozen=True, slots=True)
class ActionContext:
    """Per-adapter context: the bot account, the adapter's message format, shared settings."""

    self_id: int
    world: World
    message_format: MessageFormat
    identity: Identity
    limits: Limits
    spacing: Spacing = field(default_factory=Spacing)
    traffic: TrafficRecorder | None = None
