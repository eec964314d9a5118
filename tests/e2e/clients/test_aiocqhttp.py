"""aiocqhttp against Catnest: reverse WS (Catnest dials `/ws/`) and HTTP API + signed webhook.

The bot (aiocqhttp_bot.py) answers "ping" with `bot.send()` and "quick" by returning
`{"reply": ...}` from its handler: the webhook's HTTP answer in HTTP mode, a
`.handle_quick_operation_async` call over the socket in reverse WS mode. Both first call
`get_recent_contact` (count=5) through `bot.call_action`.
"""

from __future__ import annotations

from tests.conftest import LOUNGE, StartServer
from tests.e2e.clients.conftest import Spawn, ask_and_check, free_port

TOKEN = "cq-token"
SECRET = "cq-secret"


async def test_reverse_websocket(spawn_bot: Spawn, start_server: StartServer) -> None:
    port = free_port()
    bot = spawn_bot("aiocqhttp_bot.py", {"port": port, "access_token": TOKEN})
    await bot.wait_listening(port)
    running = await start_server(
        bot={
            "ws_clients": [
                {"url": f"ws://127.0.0.1:{port}/ws/", "token": TOKEN, "reconnect_interval": 200}
            ]
        }
    )
    await bot.wait_ready()
    await ask_and_check(running, bot, "ping", "pong", count=5)
    await ask_and_check(running, bot, "quick", "quick", count=5)
    await ask_and_check(running, bot, "ping", "pong", group=LOUNGE, count=5)
    await ask_and_check(running, bot, "quick", "quick", group=LOUNGE, count=5)


async def test_http_api_and_signed_webhook(spawn_bot: Spawn, start_server: StartServer) -> None:
    port, api_port = free_port(), free_port()
    bot = spawn_bot(
        "aiocqhttp_bot.py",
        {
            "port": port,
            "api_root": f"http://127.0.0.1:{api_port}/",
            "access_token": TOKEN,
            "secret": SECRET,
        },
    )
    await bot.wait_listening(port)
    running = await start_server(
        token=TOKEN,
        http={"port": api_port},
        bot={"webhooks": [{"url": f"http://127.0.0.1:{port}/", "token": SECRET}]},
    )
    # aiocqhttp answers 401/403 to a missing or wrong X-Signature, and only handled events
    # print READY, so READY proves the signature.
    await bot.wait_ready()
    await ask_and_check(running, bot, "ping", "pong", count=5)
    await ask_and_check(running, bot, "quick", "quick", count=5)
    await ask_and_check(running, bot, "ping", "pong", group=LOUNGE, count=5)
    await ask_and_check(running, bot, "quick", "quick", group=LOUNGE, count=5)
