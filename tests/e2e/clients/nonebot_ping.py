"""The NoneBot plugin of nonebot_bot.py: answers "ping" after asking for recent contacts."""

from __future__ import annotations

from nonebot import get_driver, on_fullmatch
from nonebot.adapters.onebot.v11 import Bot, MessageEvent

# Printed (and flushed) so the test knows the library has registered the bot.
READY = "CATNEST-CLIENT connected"

ping = on_fullmatch("ping")


@get_driver().on_bot_connect
async def _connected(bot: Bot) -> None:
    print(f"{READY} {bot.self_id}", flush=True)


@ping.handle()
async def _pong(bot: Bot, event: MessageEvent) -> None:
    contacts = await bot.call_api("get_recent_contact", count=10)
    first = contacts[0]["peerUin"] if contacts else None
    await ping.finish(f"pong recent={len(contacts)} first={first!r}")
