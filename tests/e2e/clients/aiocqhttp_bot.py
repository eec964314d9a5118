"""An aiocqhttp bot run as a subprocess by test_aiocqhttp.py (not collected by pytest).

Configured by CATNEST_AIOCQHTTP_CONFIG (JSON: port, api_root, access_token, secret).
"ping" is answered with bot.send(); "quick" by returning a quick-operation dict, which
aiocqhttp hands back as the webhook's HTTP answer (HTTP mode) or sends as
`.handle_quick_operation_async` (reverse WS).
"""

from __future__ import annotations

import json
import os
from typing import Any

from aiocqhttp import CQHttp, Event

READY = "CATNEST-CLIENT connected"

config = json.loads(os.environ["CATNEST_AIOCQHTTP_CONFIG"])
bot = CQHttp(
    api_root=config.get("api_root"),
    access_token=config.get("access_token"),
    secret=config.get("secret"),
    api_timeout_sec=15,
)


@bot.on_meta_event("lifecycle")
async def _lifecycle(event: Event) -> None:
    print(f"{READY} {event.self_id} {event.sub_type}", flush=True)


async def _summary() -> str:
    contacts = await bot.call_action("get_recent_contact", count=5)
    first = contacts[0]["peerUin"] if contacts else None
    return f"recent={len(contacts)} first={first!r}"


@bot.on_message
async def _message(event: Event) -> dict[str, Any] | None:
    if event.raw_message == "ping":
        await bot.send(event, f"pong {await _summary()}")
    elif event.raw_message == "quick":
        return {"reply": f"quick {await _summary()}", "at_sender": False}
    return None


if __name__ == "__main__":
    bot.run(host="127.0.0.1", port=int(config["port"]))
