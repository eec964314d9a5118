"""Profile likes, friend remarks and deleting friends over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from catnest.onebot.errors import ActionError
from catnest.world.events import FriendAdded, ProfileLiked
from tests.conftest import ALICE, BOB, BOT, CAROL, DAVE, Running, StartServer, stop


def capture(server: Running) -> list[Any]:
    """Every event the hub publishes from now on."""
    events: list[Any] = []
    server.app.world.hub.subscribe(None, events.append)
    return events


# --- likes --------------------------------------------------------------------------------


async def test_send_like(server: Running) -> None:
    events = capture(server)
    assert await server.ok("send_like", user_id=ALICE, times="3") is None
    await server.ok("send_like", user_id=DAVE)  # strangers may be liked too; times defaults to 1
    await server.app.world.profiles.send_like(ALICE, BOT, 2)
    assert events == [
        ProfileLiked(ALICE, BOT, "Catnest Bot", 3, ()),
        ProfileLiked(DAVE, BOT, "Catnest Bot", 1, ()),
        ProfileLiked(BOT, ALICE, "Alice", 2, (BOT,)),
    ]


async def test_ten_likes_a_day(server: Running) -> None:
    await server.ok("send_like", user_id=BOB, times=7)
    message = await server.fails("send_like", 1400, user_id=BOB, times=4)
    assert "10" in message and "3 left" in message
    await server.ok("send_like", user_id=BOB, times=3)
    assert "0 left" in await server.fails("send_like", 1400, user_id=BOB)
    # The limit is per liker and target: others may still like Bob, and the bot others.
    await server.app.world.profiles.send_like(ALICE, BOB, 10)
    await server.ok("send_like", user_id=CAROL, times=10)


async def test_likes_reset_the_next_utc_day(server: Running) -> None:
    await server.ok("send_like", user_id=BOB, times=10)
    await server.fails("send_like", 1400, user_id=BOB)
    server.app.world.clock.advance(86400)
    await server.ok("send_like", user_id=BOB, times=10)


async def test_like_count_survives_restart(start_server: StartServer) -> None:
    first = await start_server()
    await first.ok("send_like", user_id=BOB, times=10)
    await stop(first)
    second = await start_server()
    assert "0 left" in await second.fails("send_like", 1400, user_id=BOB)


async def test_send_like_refusals(server: Running) -> None:
    assert "times" in await server.fails("send_like", 1400, user_id=BOB, times=0)
    assert "times: must be at most 10" in await server.fails(
        "send_like", 1400, user_id=BOB, times=11
    )
    assert "times" in await server.fails("send_like", 1400, user_id=BOB, times="many")
    assert "your own" in await server.fails("send_like", 1400, user_id=BOT)
    assert "not found" in await server.fails("send_like", 1404, user_id=99999)
    assert "user_id" in await server.fails("send_like", 1400)


# --- remarks ------------------------------------------------------------------------------


async def test_set_friend_remark(server: Running) -> None:
    await server.ok("set_friend_remark", user_id=str(BOB), remark="Bobby B")
    friends = {f["user_id"]: f for f in await server.ok("get_friend_list")}
    assert friends[BOB]["remark"] == "Bobby B"
    assert (await server.ok("get_stranger_info", user_id=BOB))["remark"] == "Bobby B"
    recent = {c["peerUin"]: c for c in await server.ok("get_recent_contact", count=50)}
    assert recent[str(BOB)]["remark"] == "Bobby B"
    # Only the bot's side changes.
    bob_side = await server.app.world.friends.friend(BOB, BOT)
    assert bob_side is not None and bob_side.remark == ""
    await server.ok("set_friend_remark", user_id=BOB)  # clears it: NapCat shows the nickname
    friends = {f["user_id"]: f for f in await server.ok("get_friend_list")}
    assert friends[BOB]["remark"] == "Bob"


async def test_set_friend_remark_refusals(server: Running) -> None:
    assert "not a friend" in await server.fails("set_friend_remark", 1401, user_id=DAVE, remark="D")
    assert "not found" in await server.fails("set_friend_remark", 1404, user_id=99999, remark="?")
    assert "remark" in await server.fails("set_friend_remark", 1400, user_id=BOB, remark="r" * 129)
    assert "user_id" in await server.fails("set_friend_remark", 1400, remark="x")


# --- deleting friends -----------------------------------------------------------------------


async def test_delete_friend_keeps_the_conversation(server: Running) -> None:
    history = await server.ok("get_friend_msg_history", user_id=CAROL)
    assert history["messages"]
    assert await server.ok("delete_friend", user_id=CAROL, temp_block="false") is None
    assert CAROL not in [f["user_id"] for f in await server.ok("get_friend_list")]
    assert await server.app.world.friends.friend(CAROL, BOT) is None
    assert await server.ok("get_friend_msg_history", user_id=CAROL) == history
    assert str(CAROL) in {c["peerUin"] for c in await server.ok("get_recent_contact", count=50)}
    # No longer friends: a private message now needs a shared group (a temp chat).
    await server.fails("send_private_msg", 1401, user_id=CAROL, message="still there?")
    await server.ok("send_private_msg", user_id=CAROL, group_id=30001, message="via the lounge")
    # They can become friends again.
    events = capture(server)
    flag = await server.app.world.requests.request_friend(CAROL, BOT, "friends again?")
    await server.ok("set_friend_add_request", flag=flag, remark="Carol")
    assert events[-1] == FriendAdded(CAROL, BOT, (BOT,))


async def test_delete_friend_by_friend_id(server: Running) -> None:
    await server.ok("delete_friend", friend_id=ALICE, temp_both_del=True)
    assert [f["user_id"] for f in await server.ok("get_friend_list")] == [BOB, CAROL]
    with pytest.raises(ActionError):
        await server.app.world.friends.delete_friend(ALICE, BOT)


async def test_delete_friend_refusals(server: Running) -> None:
    assert "user_id" in await server.fails("delete_friend", 1400)
    assert "not a friend" in await server.fails("delete_friend", 1401, user_id=DAVE)
    assert "not found" in await server.fails("delete_friend", 1404, user_id=99999)
    assert "temp_block" in await server.fails("delete_friend", 1400, user_id=BOB, temp_block="nah")
    assert len(await server.ok("get_friend_list")) == 3
