"""OneBot actions, one module per family, all registered in one registry."""

from __future__ import annotations

from catnest.actions.context import ActionContext
from catnest.onebot.registry import Registry

registry: Registry[ActionContext] = Registry()


def load_all() -> Registry[ActionContext]:
    """Import every action family so its actions register, and return the registry."""
    from catnest.actions import (  # noqa: F401
        account,
        contacts,
        essence,
        forwards,
        friends,
        groups,
        history,
        messages,
        pokes,
        quick,
        reactions,
        requests,
    )

    return registry
