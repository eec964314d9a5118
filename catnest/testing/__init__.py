"""Testing bots against a real Catnest: the pytest plugin (`catnest_server` fixture) and the
virtual users a test acts as. See `plugin.py` for the fixture, `server.py` and `users.py` for
what it gives a test.

Names are loaded on first use, so that pytest loading the plugin stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from catnest.testing.server import CatnestOptions, CatnestServer
    from catnest.testing.users import NoReply, Reply, VirtualUser

__all__ = ["CatnestOptions", "CatnestServer", "NoReply", "Reply", "VirtualUser"]

_HOMES = {
    "CatnestOptions": "catnest.testing.server",
    "CatnestServer": "catnest.testing.server",
    "NoReply": "catnest.testing.users",
    "Reply": "catnest.testing.users",
    "VirtualUser": "catnest.testing.users",
}


def __getattr__(name: str) -> Any:
    import importlib

    if name not in _HOMES:
        raise AttributeError(f"module 'catnest.testing' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
