"""NoneBot2 + nonebot-adapter-onebot (v11) against Catnest: forward WS, reverse WS, HTTP.

The bot (nonebot_bot.py + nonebot_ping.py) answers "ping" through `matcher.finish`, after
calling `get_recent_contact` through `bot.call_api`.
"""

from __future__ import annotations

from tests.conftest import LOUNGE, StartServer
from tests.e2e.clients.conftest import Spawn, ask_and_check, free_port

TOKEN = "nb-token"
SECRET = "nb-secret"


async def test_forward_websocket(spawn_bot: Spawn, start_server: StartServer) -> None:
    running = await start_server(bot={"ws": [{"port": 0, "token": TOKEN}]})
    ws_port = running.app.ws_servers[0].port
    bot = spawn_bot(
        "nonebot_bot.py",
        {
            "driver": "~aiohttp",
            "onebot_ws_urls": [f"ws://127.0.0.1:{ws_port}/"],
            "onebot_access_token": TOKEN,
        },
    )
    await bot.wait_ready()
    await ask_and_check(running, bot, "ping", "pong")
    await ask_and_check(running, bot, "ping", "pong", group=LOUNGE)


async def test_reverse_websocket(spawn_bot: Spawn, start_server: StartServer) -> None:
    port = free_port()
    bot = spawn_bot(
        "nonebot_bot.py",
        {
            "driver": "~fastapi",
            "host": "127.0.0.1",
            "port": port,
            "onebot_access_token": TOKEN,
        },
    )
    await bot.wait_listening(port)
    running = await start_server(
        bot={
            "ws_clients": [
                {
                    "url": f"ws://127.0.0.1:{port}/onebot/v11/ws",
                    "token": TOKEN,
                    "reconnect_interval": 200,
                }
            ]
        }
    )
    await bot.wait_ready()
    await ask_and_check(running, bot, "ping", "pong")
    await ask_and_check(running, bot, "ping", "pong", group=LOUNGE)


async def test_http_api_and_signed_webhook(spawn_bot: Spawn, start_server: StartServer) -> None:
    port, api_port = free_port(), free_port()
    bot = spawn_bot(
        "nonebot_bot.py",
        {
            "driver": "~fastapi+~aiohttp",
            "host": "127.0.0.1",
            "port": port,
            "onebot_access_token": TOKEN,
            "onebot_secret": SECRET,
            "onebot_api_roots": {"10001": f"http://127.0.0.1:{api_port}/"},
        },
    )
    await bot.wait_listening(port)
    running = await start_server(
        token=TOKEN,
        http={"port": api_port},
        bot={"webhooks": [{"url": f"http://127.0.0.1:{port}/onebot/v11/http", "token": SECRET}]},
    )
    # NoneBot rejects an unsigned or badly signed post with 401/403, so READY (the bot is
    # created by the first accepted event, the lifecycle) proves X-Signature is right.
    await bot.wait_ready()
    await ask_and_check(running, bot, "ping", "pong")
    await ask_and_check(running, bot, "ping", "pong", group=LOUNGE)
