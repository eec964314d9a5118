"""Who sees which message: members of its conversation, until it is recalled (one rule,
world/visibility.py, behind every reader)."""

from __future__ import annotations

from catnest.store.records import StoredMessage
from tests.world.conftest import ALICE, BOB, BOT, CAROL, DAVE, GROUP, Cast, refused, text


async def _secret(cast: Cast) -> StoredMessage:
    await cast.world.friends.make_friends(ALICE, DAVE)
    return await cast.world.messages.send_private(ALICE, DAVE, text("secret"))


async def test_only_the_conversation_sees_a_message(cast: Cast) -> None:
    world = cast.world
    secret = await _secret(cast)
    assert (await world.messages.get_message(DAVE, secret.message_id)).raw_message == "secret"
    await refused(world.messages.get_message(BOT, secret.message_id), 1404, "not found")
    assert await world.messages.find_by_nt_msg_id(BOT, secret.nt_msg_id) is None
    assert await world.messages.find_by_nt_msg_id(DAVE, secret.nt_msg_id) == secret
    # Every reader follows the same rule: reactions, essence, forwards.
    await refused(world.reactions.react(BOT, secret.message_id, "76", True), 1404)
    await refused(world.forwards.forward_of_message(BOT, secret.message_id, max_depth=3,
                                                    budget=100), 1404)  # fmt: skip


async def test_nobody_sees_a_recalled_message(cast: Cast) -> None:
    world = cast.world
    sent = await world.messages.send_group(CAROL, GROUP, text("gone soon"))
    await world.messages.recall(CAROL, sent.message_id)
    for viewer in (CAROL, BOB, BOT):
        await refused(world.messages.get_message(viewer, sent.message_id), 1404, "recalled")
    conv = await world.conversations.group_conv(BOT, GROUP)
    page = await world.conversations.history(BOT, conv, anchor=None, count=10, older=True)
    assert sent.message_id not in [m.message_id for m in page]
    # A user's own history keeps where it was (the page shows the placeholder).
    kept = await world.conversations.history(
        CAROL, conv, anchor=None, count=10, older=True, with_recalled=True
    )
    assert sent.message_id in [m.message_id for m in kept]


async def test_a_member_who_left_no_longer_sees_the_group(cast: Cast) -> None:
    world = cast.world
    sent = await world.messages.send_group(BOB, GROUP, text("before you go"))
    await world.groups.leave(CAROL, GROUP)
    await refused(world.messages.get_message(CAROL, sent.message_id), 1404)
    await refused(world.conversations.group_conv(CAROL, GROUP), 1401, "not a member")
    assert ALICE  # the owner stays
