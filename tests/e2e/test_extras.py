"""Emoji reactions, essence messages and pokes over HTTP, with the events they publish."""

from __future__ import annotations

from typing import Any

import pytest

from catnest.onebot.errors import ActionError
from catnest.world.events import EssenceChanged, Poked, ReactionChanged
from tests.conftest import (
    ALICE,
    BOB,
    BOT,
    CAROL,
    DAVE,
    LAB,
    LOUNGE,
    Running,
    StartServer,
    content,
    stop,
)


def capture(server: Running) -> list[Any]:
    """Every event the hub publishes from now on."""
    events: list[Any] = []
    server.app.world.hub.subscribe(None, events.append)
    return events


def ticking(server: Running) -> None:
    """Give reactions and essence one second each, so their order in time is the call order:
    the world's clock stands still and moves one second on after each event."""
    clock = server.app.world.clock
    clock.freeze()
    server.app.world.hub.subscribe(None, lambda _event: clock.advance(1))


async def lounge_message(server: Running, sender: int = ALICE, text: str = "hello") -> int:
    """A fresh message in the lounge, sent by a virtual user."""
    sent = await server.app.world.messages.send_group(sender, LOUNGE, content(text))
    return sent.message_id


# --- reactions -----------------------------------------------------------------------------


async def test_reactions_show_in_get_msg_and_publish_events(server: Running) -> None:
    mid = await lounge_message(server)
    message = await server.app.world.messages.get_message(BOT, mid)
    ticking(server)
    events = capture(server)
    assert await server.app.world.reactions.react(ALICE, mid, "76", True) == 1
    result = await server.ok("set_msg_emoji_like", message_id=mid, emoji_id=76)
    assert result == {"result": 0, "errMsg": ""}
    await server.app.world.reactions.react(BOB, mid, "128077", True)
    assert events == [
        ReactionChanged(message, ALICE, "76", 1, True, (BOT,)),
        ReactionChanged(message, BOT, "76", 2, True, (BOT,)),
        ReactionChanged(message, BOB, "128077", 1, True, (BOT,)),
    ]
    got = await server.ok("get_msg", message_id=mid)
    assert got["emoji_likes_list"] == [
        {"emoji_id": "76", "emoji_type": "1", "likes_cnt": "2"},
        {"emoji_id": "128077", "emoji_type": "2", "likes_cnt": "1"},
    ]


async def test_adding_twice_changes_nothing(server: Running) -> None:
    mid = await lounge_message(server)
    await server.ok("set_msg_emoji_like", message_id=mid, emoji_id="14")
    events = capture(server)
    await server.ok("set_msg_emoji_like", message_id=str(mid), emoji_id="014", set=True)
    assert events == []
    got = await server.ok("get_msg", message_id=mid)
    assert got["emoji_likes_list"] == [{"emoji_id": "14", "emoji_type": "1", "likes_cnt": "1"}]


@pytest.mark.parametrize("unset", [False, "false", "True", "1", 0])
async def test_removing_a_reaction(server: Running, unset: Any) -> None:
    # NapCat: a string sets only when it is exactly "true"; other values by JS truthiness.
    mid = await lounge_message(server)
    await server.ok("set_msg_emoji_like", message_id=mid, emoji_id=76, set="true")
    await server.app.world.reactions.react(CAROL, mid, "76", True)
    message = await server.app.world.messages.get_message(BOT, mid)
    events = capture(server)
    await server.ok("set_msg_emoji_like", message_id=mid, emoji_id=76, set=unset)
    assert events == [ReactionChanged(message, BOT, "76", 1, False, (BOT,))]
    got = await server.ok("get_msg", message_id=mid)
    assert got["emoji_likes_list"] == [{"emoji_id": "76", "emoji_type": "1", "likes_cnt": "1"}]
    failure = await server.fails("set_msg_emoji_like", 1400, message_id=mid, emoji_id=76, set=unset)
    assert "no such reaction" in failure
    assert events == [ReactionChanged(message, BOT, "76", 1, False, (BOT,))]


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"emoji_id": 0}, "emoji_id"),
        ({"emoji_id": ""}, "emoji_id"),
        ({}, "emoji_id"),
        ({"emoji_id": "abc"}, "emoji_id"),
        ({"emoji_id": "1" * 11}, "emoji_id"),
        ({"emoji_id": True}, "emoji_id"),
        ({"emoji_id": 76, "set": [1]}, "set"),
    ],
)
async def test_reaction_bad_params(server: Running, params: dict[str, Any], needle: str) -> None:
    mid = await lounge_message(server)
    assert needle in await server.fails("set_msg_emoji_like", 1400, message_id=mid, **params)


async def test_reactions_need_a_visible_message(server: Running) -> None:
    world = server.app.world
    secret = await world.messages.send_private(ALICE, BOB, content("secret"))
    assert "not found" in await server.fails(
        "set_msg_emoji_like", 1404, message_id=secret.message_id, emoji_id=76
    )
    await server.fails("set_msg_emoji_like", 1404, message_id=424242, emoji_id=76)
    mid = await lounge_message(server, sender=CAROL)
    await server.ok("delete_msg", message_id=mid)
    assert "recalled" in await server.fails("set_msg_emoji_like", 1404, message_id=mid, emoji_id=76)
    # The virtual side follows the same rules: Carol is not in the lab.
    lab = await world.messages.send_group(DAVE, LAB, content("lab only"))
    with pytest.raises(ActionError) as caught:
        await world.reactions.react(CAROL, lab.message_id, "76", True)
    assert caught.value.retcode == 1404


async def test_get_emoji_likes(server: Running) -> None:
    ticking(server)
    mid = await lounge_message(server)
    for uin in (CAROL, ALICE, BOB):
        await server.app.world.reactions.react(uin, mid, "76", True)
    await server.app.world.reactions.react(DAVE, mid, "128077", True)
    every = await server.ok("get_emoji_likes", message_id=mid, emoji_id="76")
    assert every == {
        "emoji_like_list": [
            {"user_id": str(CAROL), "nick_name": "Carol"},
            {"user_id": str(ALICE), "nick_name": "Alice"},
            {"user_id": str(BOB), "nick_name": "Bob"},
        ]
    }
    two = await server.ok("get_emoji_likes", message_id=str(mid), emoji_id=76, count="2")
    assert [u["user_id"] for u in two["emoji_like_list"]] == [str(CAROL), str(ALICE)]
    assert (await server.ok("get_emoji_likes", message_id=mid, emoji_id="76", count=0)) == every
    unicode = await server.ok("get_emoji_likes", message_id=mid, emoji_id="128077")
    assert unicode == {"emoji_like_list": [{"user_id": str(DAVE), "nick_name": "Dave"}]}
    wrong_type = await server.ok("get_emoji_likes", message_id=mid, emoji_id=76, emoji_type="2")
    assert wrong_type == {"emoji_like_list": []}
    assert "emoji_id" in await server.fails("get_emoji_likes", 1400, message_id=mid)
    assert "count" in await server.fails(
        "get_emoji_likes", 1400, message_id=mid, emoji_id=76, count=-1
    )
    assert "emoji_type" in await server.fails(
        "get_emoji_likes", 1400, message_id=mid, emoji_id=76, emoji_type="3"
    )
    await server.fails("get_emoji_likes", 1404, message_id=424242, emoji_id=76)


async def test_reactions_survive_restart(start_server: StartServer) -> None:
    first = await start_server()
    mid = await lounge_message(first)
    await first.ok("set_msg_emoji_like", message_id=mid, emoji_id=76)
    await stop(first)
    second = await start_server()
    got = await second.ok("get_msg", message_id=mid)
    assert got["emoji_likes_list"] == [{"emoji_id": "76", "emoji_type": "1", "likes_cnt": "1"}]
    # The stored reaction is the same one: removing it works, a second removal does not.
    await second.ok("set_msg_emoji_like", message_id=mid, emoji_id=76, set=False)
    await second.fails("set_msg_emoji_like", 1400, message_id=mid, emoji_id=76, set=False)


# --- essence messages ----------------------------------------------------------------------


async def test_set_and_list_essence(server: Running) -> None:
    mid = await lounge_message(server, sender=BOB, text="[CQ:face,id=14] wise words")
    message = await server.app.world.messages.get_message(BOT, mid)
    events = capture(server)
    assert await server.ok("set_essence_msg", message_id=mid) is None
    assert events == [EssenceChanged(LOUNGE, mid, BOB, BOT, True, (BOT,))]
    (entry,) = await server.ok("get_essence_msg_list", group_id=LOUNGE)
    operator_time = entry.pop("operator_time")
    assert isinstance(operator_time, int) and operator_time >= message.time
    assert entry == {
        "msg_seq": message.seq,
        "msg_random": mid,
        "sender_id": BOB,
        "sender_nick": "Bobby",  # the group card, as QQ shows it
        "sender_time": message.time,
        "operator_id": BOT,
        "operator_nick": "Bot",
        "message_id": mid,
        "content": [
            {"type": "face", "data": {"id": "14"}},
            {"type": "text", "data": {"text": " wise words"}},
        ],
    }
    assert "already essence" in await server.fails("set_essence_msg", 1400, message_id=mid)


async def test_essence_list_in_string_format(start_server: StartServer) -> None:
    running = await start_server(http={"message_post_format": "string"})
    mid = await lounge_message(running, text="[CQ:face,id=14] wise")
    await running.ok("set_essence_msg", message_id=mid)
    (entry,) = await running.ok("get_essence_msg_list", group_id=str(LOUNGE))
    assert entry["content"] == "[CQ:face,id=14] wise"
    assert entry["sender_nick"] == "Alice"  # no card: the nickname


async def test_essence_list_is_newest_first_and_skips_recalled(server: Running) -> None:
    first = await lounge_message(server, sender=CAROL, text="first")
    second = await lounge_message(server, text="second")
    ticking(server)
    await server.ok("set_essence_msg", message_id=first)
    await server.app.world.essence.set(ALICE, second)
    listed = await server.ok("get_essence_msg_list", group_id=LOUNGE)
    assert [(e["message_id"], e["operator_id"], e["operator_nick"]) for e in listed] == [
        (second, ALICE, "Alice"),
        (first, BOT, "Bot"),
    ]
    await server.ok("delete_msg", message_id=first)
    listed = await server.ok("get_essence_msg_list", group_id=LOUNGE)
    assert [e["message_id"] for e in listed] == [second]


async def test_delete_essence(server: Running) -> None:
    mid = await lounge_message(server, sender=DAVE)
    await server.ok("set_essence_msg", message_id=mid)
    events = capture(server)
    assert await server.ok("delete_essence_msg", message_id=mid) is None
    assert events == [EssenceChanged(LOUNGE, mid, DAVE, BOT, False, (BOT,))]
    assert await server.ok("get_essence_msg_list", group_id=LOUNGE) == []
    assert "not essence" in await server.fails("delete_essence_msg", 1400, message_id=mid)
    # NapCat's other form names the message by the group and its msg_seq.
    await server.ok("set_essence_msg", message_id=mid)
    seq = (await server.app.world.messages.get_message(BOT, mid)).seq
    await server.ok("delete_essence_msg", group_id=LOUNGE, msg_seq=str(seq), msg_random="1")
    assert await server.ok("get_essence_msg_list", group_id=LOUNGE) == []
    assert "msg_seq" in await server.fails(
        "delete_essence_msg", 1404, group_id=LOUNGE, msg_seq=99999
    )
    assert "message_id" in await server.fails("delete_essence_msg", 1400)


async def test_essence_refusals(server: Running) -> None:
    world = server.app.world
    private = await server.ok("send_private_msg", user_id=ALICE, message="not a group")
    assert "group message" in await server.fails(
        "set_essence_msg", 1400, message_id=private["message_id"]
    )
    await server.fails("set_essence_msg", 1404, message_id=424242)
    await server.fails("set_essence_msg", 1400, message_id="abc")
    recalled = await lounge_message(server, sender=CAROL)
    await server.ok("delete_msg", message_id=recalled)
    assert "recalled" in await server.fails("set_essence_msg", 1404, message_id=recalled)
    # A plain member may not: Bob in the lounge, and the bot where it is only a member.
    mid = await lounge_message(server)
    with pytest.raises(ActionError) as caught:
        await world.essence.set(BOB, mid)
    assert caught.value.retcode == 1401
    await world.groups.create_group(30007, "Members Only", ALICE, [(BOT, "member", "")])
    there = await world.messages.send_group(ALICE, 30007, content("hi"))
    assert "admin" in await server.fails("set_essence_msg", 1401, message_id=there.message_id)
    await world.essence.set(ALICE, there.message_id)
    assert "admin" in await server.fails("delete_essence_msg", 1401, message_id=there.message_id)
    # Listing needs membership of a group that exists.
    await world.groups.create_group(30008, "No Bots", ALICE)
    assert "member" in await server.fails("get_essence_msg_list", 1401, group_id=30008)
    assert "99999" in await server.fails("get_essence_msg_list", 1404, group_id=99999)


async def test_essence_survives_restart(start_server: StartServer) -> None:
    first = await start_server()
    mid = await lounge_message(first)
    await first.ok("set_essence_msg", message_id=mid)
    await stop(first)
    second = await start_server(http={"message_post_format": "string"})
    (entry,) = await second.ok("get_essence_msg_list", group_id=LOUNGE)
    assert entry["message_id"] == mid and entry["content"] == "hello"
    await second.fails("set_essence_msg", 1400, message_id=mid)


# --- pokes ---------------------------------------------------------------------------------


async def test_pokes_publish_events(server: Running) -> None:
    events = capture(server)
    assert await server.ok("send_poke", user_id=ALICE) is None
    assert await server.ok("friend_poke", user_id=str(BOB), target_id=BOB) is None
    assert await server.ok("group_poke", group_id=LOUNGE, user_id=CAROL) is None
    await server.ok("send_poke", group_id=LAB, user_id=BOB, target_id=DAVE)
    await server.ok("send_poke", group_id=LAB, user_id=BOT)  # poking oneself in a group
    # Dave is no friend, but shares the lounge with the bot.
    await server.ok("friend_poke", user_id=DAVE)
    assert events == [
        Poked(None, BOT, ALICE, (BOT,)),
        Poked(None, BOT, BOB, (BOT,)),
        Poked(LOUNGE, BOT, CAROL, (BOT,)),
        Poked(LAB, BOT, DAVE, (BOT,)),
        Poked(LAB, BOT, BOT, (BOT,)),
        Poked(None, BOT, DAVE, (BOT,)),
    ]


async def test_virtual_users_poke(server: Running) -> None:
    events = capture(server)
    await server.app.world.pokes.poke(ALICE, BOT)
    await server.app.world.pokes.poke(ALICE, BOB)  # no bot takes part: nobody hears of it
    await server.app.world.pokes.poke(CAROL, DAVE, LOUNGE)
    await server.app.world.pokes.poke(BOB, DAVE, LAB)
    assert events == [
        Poked(None, ALICE, BOT, (BOT,)),
        Poked(None, ALICE, BOB, ()),
        Poked(LOUNGE, CAROL, DAVE, (BOT,)),
        Poked(LAB, BOB, DAVE, (BOT,)),
    ]


@pytest.mark.parametrize(
    ("action", "params", "retcode", "needle"),
    [
        ("send_poke", {"user_id": 99999}, 1404, "99999"),
        ("send_poke", {"user_id": 20009}, 1401, "neither friends"),
        ("group_poke", {"group_id": 99999, "user_id": ALICE}, 1404, "99999"),
        ("group_poke", {"group_id": 30008, "user_id": ALICE}, 1401, "member"),
        ("group_poke", {"group_id": LAB, "user_id": CAROL}, 1404, "not a member"),
        ("friend_poke", {"user_id": ALICE, "target_id": BOB}, 1400, "target_id"),
        ("friend_poke", {"user_id": BOT}, 1400, "yourself"),
        ("send_poke", {}, 1400, "user_id"),
        ("send_poke", {"user_id": "x"}, 1400, "user_id"),
    ],
)
async def test_poke_refusals(
    server: Running, action: str, params: dict[str, Any], retcode: int, needle: str
) -> None:
    await server.app.world.accounts.create_account(20009, "Eve")
    await server.app.world.groups.create_group(30008, "No Bots", ALICE)
    events = capture(server)
    assert needle in await server.fails(action, retcode, **params)
    assert events == []
