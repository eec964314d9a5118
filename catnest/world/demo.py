"""The demo world created on first start: a bot, a few people, two groups, a short history."""

from __future__ import annotations

from catnest.limits import Limits
from catnest.onebot.content import Content, build_content
from catnest.world.world import World

USERS = [
    (20001, "Alice"),
    (20002, "Bob"),
    (20003, "Carol"),
    (20004, "Dave"),
]
LOUNGE, LAB = 30001, 30002


def _content(cq: str) -> Content:
    return build_content(cq, False, limits=Limits(), private=False)


async def seed_demo(world: World, bot_uin: int, bot_name: str) -> None:
    """Create the demo accounts, friendships, groups and messages through the world's rules."""
    if await world.accounts.find_account(bot_uin) is None:
        await world.accounts.create_account(bot_uin, bot_name, is_bot=True)
    for uin, name in USERS:
        await world.accounts.create_account(uin, name)
    await world.friends.make_friends(bot_uin, 20001, remark_a="Alice (tester)")
    await world.friends.make_friends(bot_uin, 20002)
    await world.friends.make_friends(bot_uin, 20003, remark_a="Carol")
    await world.friends.make_friends(20001, 20002)
    await world.groups.create_group(
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
    await world.groups.create_group(
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
            await world.messages.send_group(sender, target, _content(text))
        else:
            await world.messages.send_private(sender, target, _content(text))
