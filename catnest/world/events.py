"""What happened in the world, handed to the hub after the transaction that did it commits."""

from __future__ import annotations

from dataclasses import dataclass

from catnest.store.records import StoredMessage


@dataclass(frozen=True, slots=True)
class MessageCreated:
    """A message was stored. `audience` are the bot accounts that can see it."""

    message: StoredMessage
    audience: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class MessageRecalled:
    """A message was recalled by `operator`."""

    message: StoredMessage
    operator: int
    audience: tuple[int, ...]


WorldEvent = MessageCreated | MessageRecalled
