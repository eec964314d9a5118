"""The demo world created on first start: a bot, a few people, two groups, a short history."""

from __future__ import annotations

from catnest.limits import Limits
from catnest.onebot.segments import normalize_message, raw_message
from catnest.world.chat import Content
from catnest.world.world import World

USERS = [
    (20001, "Alice"),
    (20002, "Bob"),
    (20003, "Carol"),
    (20004, "Dave"),
]
LOUNGE, LAB = 30001, 30002


def _content(cq: str) -> Content:
    segments = normalize_message(cq, auto_escape=False, limits=Limits())
    return Content(segments, raw_message(segments))


async def seed_demo(world: World, bot_uin: int, bot_name: str) -> None:
    """Create the demo accounts, friendships, groups and messages through the world's rules."""
    social, chat = world.social, world.chat
    if await social.find_account(bot_uin) is None:
        await social.create_account(bot_uin, bot_name, is_bot=True)
    for uin, name in USERS:
        await social.create_account(uin, name)
    await social.make_friends(bot_uin, 20001, remark_a="Alice (tester)")
    await social.make_friends(bot_uin, 20002)
    await social.make_friends(bot_uin, 20003, remark_a="Carol")
    await social.make_friends(20001, 20002)
    await social.create_group(
        LOUNGE,
        "Catnest Lounge",
        20001,
        [
            (bot_uin, "admin", "Bot"),
            (20002, "member", "Bobby"),
            (20003, "member", ""),
            (20004, "member", ""),
        ],
    )
    await social.create_group(
        LAB, "Bot Lab", bot_uin, [(20002, "admin", ""), (20004, "member", "")]
    )
    script: list[tuple[str, int, int, str]] = [
        ("group", 20001, LOUNGE, "Welcome to the lounge!"),
        ("group", 20002, LOUNGE, "[CQ:face,id=14] hi all"),
        ("private", 20002, bot_uin, "hey bot, are you there?"),
        ("private", bot_uin, 20002, "Yes! Try /help"),
        ("group", 20004, LAB, f"testing [CQ:at,qq={bot_uin}] ping"),
        ("private", 20003, bot_uin, "what can you do?"),
        ("group", 20003, LOUNGE, f"[CQ:at,qq={bot_uin}] hello bot"),
        ("private", 20001, bot_uin, "/help"),
    ]
    for kind, sender, target, text in script:
        if kind == "group":
            await chat.send_group(sender, target, _content(text))
        else:
            await chat.send_private(sender, target, _content(text))
