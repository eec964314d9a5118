"""Testing a NoneBot2 bot with Catnest's pytest plugin.

The bot runs as it does in production (here a one-file NoneBot2 bot in a subprocess),
connected over OneBot 11 forward WebSocket to a real Catnest that the `catnest_server`
fixture starts for each test; the test talks to the bot as QQ users would. Besides Catnest
it needs pytest-asyncio, nonebot2[aiohttp] and nonebot-adapter-onebot.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from catnest.testing import CatnestServer

# The bot under test; in your project, your own bot.py.
BOT = """
import nonebot
from nonebot import on_fullmatch
from nonebot.adapters.onebot.v11 import Adapter

nonebot.init()
nonebot.get_driver().register_adapter(Adapter)

ping = on_fullmatch("ping")


@ping.handle()
async def _():
    await ping.finish("pong")


nonebot.run()
"""


@pytest_asyncio.fixture
async def bot(catnest_server: CatnestServer, tmp_path: Path) -> AsyncIterator[None]:
    """Start the bot pointed at Catnest's forward WebSocket; wait until it is connected."""
    (tmp_path / "bot.py").write_text(BOT)
    env = {
        **os.environ,
        "DRIVER": "~aiohttp",  # NoneBot's WebSocket client: it dials Catnest
        "ONEBOT_WS_URLS": json.dumps([catnest_server.ws_url]),
    }
    process = await asyncio.create_subprocess_exec(sys.executable, "bot.py", cwd=tmp_path, env=env)
    try:
        await catnest_server.wait_for_bot(timeout=30)
        yield
    finally:
        process.terminate()
        await process.wait()


@pytest.mark.asyncio
async def test_ping(catnest_server: CatnestServer, bot: None) -> None:
    alice = await catnest_server.user(nickname="Alice")  # a QQ user, friends with the bot
    await alice.say("ping")
    reply = await alice.expect_reply(contains="pong")
    assert reply.text == "pong"


@pytest.mark.asyncio
async def test_ping_in_a_group(catnest_server: CatnestServer, bot: None) -> None:
    alice = await catnest_server.user(nickname="Alice")
    bob = await catnest_server.user(nickname="Bob")
    group_id = await catnest_server.group(alice, bob, name="Bot fans")  # the bot is in it
    await bob.say_in_group(group_id, "ping")
    reply = await bob.expect_reply(contains="pong")
    assert reply.group_id == group_id
