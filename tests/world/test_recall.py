"""Recalls: the sender within two minutes, a higher rank at any time; the last message moves."""

from __future__ import annotations

from catnest.world.events import MessageRecalled
from catnest.world.messages import RECALL_WINDOW_SECONDS
from tests.world.conftest import ALICE, BOB, BOT, CAROL, DAVE, GROUP, Cast, refused, text


async def test_the_sender_recalls_within_the_window(cast: Cast) -> None:
    world = cast.world
    sent = await world.messages.send_group(CAROL, GROUP, text("oops"))
    await world.messages.recall(CAROL, sent.message_id)
    (event,) = cast.published(MessageRecalled)
    assert event.operator == CAROL and event.audience == (BOT,)
    await refused(world.messages.recall(CAROL, sent.message_id), 1404, "already recalled")
    late = await world.messages.send_group(CAROL, GROUP, text("too late"))
    cast.clock.advance(RECALL_WINDOW_SECONDS + 1)
    await refused(world.messages.recall(CAROL, late.message_id), 1401, "within")


async def test_ranks_decide_who_recalls_whose_message(cast: Cast) -> None:
    world = cast.world
    member = await world.messages.send_group(CAROL, GROUP, text("member"))
    admin = await world.messages.send_group(BOB, GROUP, text("admin"))
    owner = await world.messages.send_group(ALICE, GROUP, text("owner"))
    cast.clock.advance(3600)  # past the sender's window: only rank matters now
    await world.messages.recall(BOB, member.message_id)  # an admin recalls a member's
    await refused(world.messages.recall(BOB, owner.message_id), 1401, "equal or higher")
    await refused(world.messages.recall(CAROL, admin.message_id), 1401, "only the sender")
    await world.messages.recall(ALICE, admin.message_id)  # the owner recalls an admin's


async def test_outsiders_cannot_even_find_the_message(cast: Cast) -> None:
    sent = await cast.world.messages.send_group(CAROL, GROUP, text("x"))
    await refused(cast.world.messages.recall(DAVE, sent.message_id), 1404, "not found")


async def test_the_conversation_falls_back_to_its_last_visible_message(cast: Cast) -> None:
    world = cast.world
    await world.messages.send_private(ALICE, BOT, text("first"))
    last = await world.messages.send_private(ALICE, BOT, text("second"))
    await world.messages.recall(ALICE, last.message_id)
    (entry,) = await world.conversations.recent_contacts(BOT, 10)
    assert entry.last.raw_message == "first"
