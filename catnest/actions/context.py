"""What an action knows about its caller: which bot it speaks for and in which dialect."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from catnest.limits import Limits
from catnest.world.world import World

MessageFormat = Literal["array", "string"]


@dataclass(frozen=True, slots=True)
class Identity:
    """What `get_version_info` answers (DESIGN.md §2 "identity")."""

    app_name: str
    app_version: str
    protocol_version: str


@dataclass(frozen=True, slots=True)
class ActionContext:
    """Per-adapter context: the bot account, the adapter's message format, shared settings."""

    self_id: int
    world: World
    message_format: MessageFormat
    identity: Identity
    limits: Limits
