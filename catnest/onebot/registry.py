"""The action registry: names, typed params and handlers, with NapCat's suffix aliases."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec

from catnest.onebot.params import NoParams

Ctx = TypeVar("Ctx")
P = TypeVar("P", bound=msgspec.Struct)
Handler = Callable[[Ctx, Any], Awaitable[Any]]

# NapCat answers every action under these suffixes too, synchronously (napcat-api.md §2).
ALIAS_SUFFIXES = ("_async", "_rate_limited")


@dataclass(frozen=True, slots=True)
class ActionSpec(Generic[Ctx]):
    """One registered action."""

    name: str
    params: type[msgspec.Struct]
    handler: Handler[Ctx]


class Registry(Generic[Ctx]):
    """Actions by name. Handlers get the caller's context and their converted params."""

    def __init__(self) -> None:
        self._actions: dict[str, ActionSpec[Ctx]] = {}

    def action(
        self, name: str, params: type[P] | None = None
    ) -> Callable[[Callable[[Ctx, P], Awaitable[Any]]], Callable[[Ctx, P], Awaitable[Any]]]:
        """Register the decorated coroutine function as action `name`."""

        def decorate(
            handler: Callable[[Ctx, P], Awaitable[Any]],
        ) -> Callable[[Ctx, P], Awaitable[Any]]:
            if name in self._actions:
                raise ValueError(f"action {name} registered twice")
            self._actions[name] = ActionSpec(name, params or NoParams, handler)
            return handler

        return decorate

    def names(self) -> list[str]:
        """Every registered name, sorted (without suffix aliases)."""
        return sorted(self._actions)

    def resolve(self, name: str) -> ActionSpec[Ctx] | None:
        """The action for `name`, accepting `_async` / `_rate_limited` suffixes."""
        spec = self._actions.get(name)
        if spec is not None:
            return spec
        for suffix in ALIAS_SUFFIXES:
            if name.endswith(suffix):
                return self._actions.get(name[: -len(suffix)])
        return None
