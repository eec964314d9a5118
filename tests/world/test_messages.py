"""Sending: who may send where, temp chats, mutes, @all, replies, idempotent sends, events."""

from __future__ import annotations

from catnest.store.records import CHAT_FRIEND, CHAT_GROUP, CHAT_TEMP
from catnest.world.events import MessageCreated
from tests.world.conftest import ALICE, BOB, BOT, CAROL, DAVE, GROUP, T0, Cast, refused, text


async def test_a_friend_chat_and_its_event(cast: Cast) -> None:
    sent = await cast.world.messages.send_private(ALICE, BOT, text("hi"))
    assert sent.chat_type == CHAT_FRIEND and sent.seq == 1 and sent.time == T0
    assert sent.raw_message == "hi" and sent.sender_nickname == "Alice"
    # Only bots hear of messages, and the bot in the chat does.
    (event,) = cast.published(MessageCreated)
    assert event.message == sent and event.audience == (BOT,)
    again = await cast.world.messages.send_private(BOT, ALICE, text("hello"))
    assert again.conv_id == sent.conv_id and again.seq == 2
    assert again.message_id > sent.message_id


async def test_strangers_need_a_shared_group_for_a_temp_chat(cast: Cast) -> None:
    await refused(cast.world.messages.send_private(BOT, CAROL, text("hi")), 1401, "not a friend")
    temp = await cast.world.messages.send_private(BOT, CAROL, text("hi"), via_group=GROUP)
    assert temp.chat_type == CHAT_TEMP and temp.temp_group_id == GROUP
    # The temp-chat source is remembered, as NapCat does.
    later = await cast.world.messages.send_private(BOT, CAROL, text("again"))
    assert later.chat_type == CHAT_TEMP
    await refused(
        cast.world.messages.send_private(BOT, DAVE, text("x"), via_group=GROUP), 1401, "not both"
    )
    await refused(cast.world.messages.send_private(BOT, 99999, text("x")), 1404, "99999")
    await refused(cast.world.messages.send_private(BOT, BOT, text("x")), 1400, "yourself")


async def test_group_sends_follow_membership_and_mutes(cast: Cast) -> None:
    world = cast.world
    sent = await world.messages.send_group(CAROL, GROUP, text("hello all"))
    assert sent.chat_type == CHAT_GROUP and sent.group_name == "Lounge" and sent.sender_card == "C"
    await refused(world.messages.send_group(DAVE, GROUP, text("x")), 1401, "not a member")
    await refused(world.messages.send_group(CAROL, 39999, text("x")), 1404, "39999")
    # A mute holds until the world's clock passes it; the owner and admins are never muted.
    await world.group_admin.ban(BOB, GROUP, CAROL, 60)
    await refused(world.messages.send_group(CAROL, GROUP, text("x")), 1401, "muted")
    cast.clock.advance(61)
    await world.messages.send_group(CAROL, GROUP, text("free again"))
    await world.group_admin.whole_ban(ALICE, GROUP, True)
    await refused(world.messages.send_group(CAROL, GROUP, text("x")), 1401, "muted")
    await world.messages.send_group(BOB, GROUP, text("admins may"))


async def test_only_managers_may_mention_everyone(cast: Cast) -> None:
    await refused(
        cast.world.messages.send_group(CAROL, GROUP, text("[CQ:at,qq=all] hey")), 1401, "@all"
    )
    sent = await cast.world.messages.send_group(BOB, GROUP, text("[CQ:at,qq=all] hey"))
    assert sent.raw_message == "[CQ:at,qq=all] hey"


async def test_replies_point_into_the_same_conversation(cast: Cast) -> None:
    world = cast.world
    first = await world.messages.send_group(CAROL, GROUP, text("question"))
    answer = await world.messages.send_group(
        BOB, GROUP, text(f"[CQ:reply,id={first.message_id}]yes")
    )
    assert answer.raw_message.startswith(f"[CQ:reply,id={first.message_id}]")
    private = await world.messages.send_private(ALICE, BOT, text("elsewhere"))
    await refused(
        world.messages.send_group(BOB, GROUP, text(f"[CQ:reply,id={private.message_id}]x")),
        1404,
        "reply target",
    )


async def test_an_idempotent_send_answers_the_first_message(cast: Cast) -> None:
    world = cast.world
    first = await world.messages.send_private(BOT, ALICE, text("once"), key="k1")
    again = await world.messages.send_private(BOT, ALICE, text("once"), key="k1")
    assert again.message_id == first.message_id
    assert len(cast.published(MessageCreated)) == 1
    # Keys are per sender.
    other = await world.messages.send_private(ALICE, BOT, text("once"), key="k1")
    assert other.message_id != first.message_id


async def test_a_refused_send_publishes_nothing(cast: Cast) -> None:
    await refused(cast.world.messages.send_group(DAVE, GROUP, text("x")), 1401)
    assert cast.events == []
