"""The world's rules with plain calls: a real SQLite file, a hub that records, no server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from catnest.limits import Limits
from catnest.onebot.content import Content, build_content
from catnest.onebot.errors import ActionError
from catnest.store.sqlite import SQLiteEngine
from catnest.world.clock import WorldClock
from catnest.world.events import WorldEvent
from catnest.world.hub import Hub
from catnest.world.world import World

BOT, ALICE, BOB, CAROL, DAVE = 10001, 20001, 20002, 20003, 20004
GROUP = 30001
T0 = 1_700_000_000


def text(cq: str, *, private: bool = False) -> Content:
    """Content as a user would type it (CQ codes allowed)."""
    return build_content(cq, False, limits=Limits(), private=private)


@dataclass
class Cast:
    """A world with a bot, four people and one group: Alice owns it, Bob is an admin, Carol
    and the bot are members; Dave is in no group. The bot is friends with Alice and Bob."""

    world: World
    events: list[WorldEvent] = field(default_factory=list)

    @property
    def clock(self) -> WorldClock:
        return self.world.clock

    def published(self, kind: type[Any]) -> list[Any]:
        """The events of `kind` published so far."""
        return [e for e in self.events if isinstance(e, kind)]


async def refused(coro: Any, retcode: int, fragment: str = "") -> str:
    """Await `coro`, which must fail with `retcode` (and `fragment` in its message)."""
    with pytest.raises(ActionError) as caught:
        await coro
    assert caught.value.retcode == retcode, caught.value.message
    assert fragment in caught.value.message, caught.value.message
    return caught.value.message


@pytest.fixture
async def cast(tmp_path: Path) -> AsyncIterator[Cast]:
    engine = SQLiteEngine(tmp_path / "world.db")
    await engine.start()
    clock = WorldClock()
    clock.freeze(T0)
    world = World(engine, Hub(), clock)
    made = Cast(world)
    accounts = world.accounts
    await accounts.create_account(BOT, "Bot", is_bot=True)
    for uin, name in ((ALICE, "Alice"), (BOB, "Bob"), (CAROL, "Carol"), (DAVE, "Dave")):
        await accounts.create_account(uin, name)
    await world.friends.make_friends(BOT, ALICE, remark_a="Ally")
    await world.friends.make_friends(BOT, BOB)
    await world.groups.create_group(
        GROUP, "Lounge", ALICE, [(BOB, "admin", ""), (CAROL, "member", "C"), (BOT, "member", "")]
    )
    world.hub.subscribe(None, made.events.append)
    try:
        yield made
    finally:
        await engine.close()
