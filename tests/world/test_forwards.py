"""Merged forwards: storing bundles and who may open them."""

from __future__ import annotations

from typing import Any

from catnest.onebot.content import content_of
from catnest.onebot.segments import raw_message
from tests.world.conftest import ALICE, BOB, BOT, CAROL, DAVE, GROUP, Cast, refused, text

EXPANSION = {"max_depth": 3, "budget": 600}


def node(content: str, user_id: int = ALICE) -> dict[str, Any]:
    segments = list(text(content).segments)
    return {"type": "node", "data": {"user_id": str(user_id), "content": segments}}


async def test_a_bundle_opens_for_its_owner_and_whoever_sees_a_carrier(cast: Cast) -> None:
    world = cast.world
    await world.friends.make_friends(ALICE, DAVE)
    sent = await world.messages.send(ALICE, content_of([node("psst")]), user_id=DAVE)
    assert sent.res_id is not None
    res_id = sent.res_id
    opened = await world.forwards.forward(DAVE, res_id, **EXPANSION)
    assert [raw_message(n.segments) for n in opened.nodes] == ["psst"]
    await refused(world.forwards.forward(BOT, res_id, **EXPANSION), 1404)
    # Sharing it needs seeing it: Carol cannot; Alice (the owner) shares it in the group.
    await refused(world.messages.send_group(CAROL, GROUP, text(f"[CQ:forward,id={res_id}]")), 1404)
    shared = await world.messages.send_group(ALICE, GROUP, text(f"[CQ:forward,id={res_id}]"))
    assert (await world.forwards.forward(BOT, res_id, **EXPANSION)).owner == ALICE
    await world.messages.recall(ALICE, shared.message_id)
    await refused(world.forwards.forward(BOT, res_id, **EXPANSION), 1404)


async def test_nesting_and_copied_nodes(cast: Cast) -> None:
    world = cast.world
    original = await world.messages.send_group(BOB, GROUP, text("said in the group"))
    copied = {"type": "node", "data": {"id": str(original.message_id)}}
    inner = {"type": "node", "data": {"user_id": str(ALICE), "content": [node("deep")]}}
    sent = await world.messages.send(BOT, content_of([copied, inner]), group_id=GROUP)
    assert sent.res_id is not None
    shown = await world.forwards.forward_of_message(BOT, sent.message.message_id, **EXPANSION)
    first, second = shown.nodes
    assert first.message_id == original.message_id and first.user_id == BOB
    (nested,) = second.nested.values()
    assert [raw_message(n.segments) for n in nested] == ["deep"]
    # A node may copy only what its sender sees.
    await world.friends.make_friends(ALICE, DAVE)
    secret = await world.messages.send_private(ALICE, DAVE, text("secret"))
    leak = {"type": "node", "data": {"id": str(secret.message_id)}}
    await refused(world.messages.send(BOT, content_of([leak]), group_id=GROUP), 1404)
    await refused(world.messages.send(BOT, content_of([node("x")]), group_id=GROUP, key="k"), 1400)
