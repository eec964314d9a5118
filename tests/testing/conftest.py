"""A tiny OneBot bot on a raw WebSocket, to drive the plugin's fixture without a framework."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from catnest.testing import CatnestServer
from tests.scripted_bot import ScriptedBot, connected

WAIT = 10.0


@pytest.fixture
async def raw_bot(catnest_server: CatnestServer) -> AsyncIterator[ScriptedBot]:
    """The bot, connected to the fixture's forward WS."""
    async with connected(catnest_server.ws_url, token=catnest_server.token) as bot:
        await catnest_server.wait_for_bot()
        yield bot
