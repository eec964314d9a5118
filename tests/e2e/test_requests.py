"""Friend requests, join requests and invitations: asked in the world, answered over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from catnest.onebot.errors import ActionError
from catnest.world.events import FriendAdded, FriendRequested, GroupRequested, MemberJoined
from tests.conftest import ALICE, BOB, BOT, CAROL, DAVE, LAB, LOUNGE, Running, StartServer, stop

CLUB = 30009  # a group the bot is not in: Alice owns it, Bob is a member
ERIN = 20005  # a newcomer, in no group and nobody's friend


def capture(server: Running) -> list[Any]:
    """Every event the hub publishes from now on."""
    events: list[Any] = []
    server.app.world.hub.subscribe(None, events.append)
    return events


async def refused(call: Any, retcode: int) -> str:
    """Await a world call that must fail with `retcode`; return its message."""
    with pytest.raises(ActionError) as failure:
        await call
    assert failure.value.retcode == retcode, failure.value.message
    return failure.value.message


@pytest.fixture
async def club(server: Running) -> Running:
    await server.app.world.groups.create_group(CLUB, "Alice's Club", ALICE, [(BOB, "member", "")])
    await server.app.world.accounts.create_account(ERIN, "Erin")
    return server


# --- friend requests ----------------------------------------------------------------------


async def test_bot_approves_a_friend_request(server: Running) -> None:
    events = capture(server)
    flag = await server.app.world.requests.request_friend(DAVE, BOT, "hi, it's Dave")
    assert isinstance(flag, str) and flag
    assert events == [FriendRequested(DAVE, BOT, "hi, it's Dave", flag, (BOT,))]
    await server.ok("set_friend_add_request", flag=flag, approve="true", remark="Dave!")
    assert events[1:] == [FriendAdded(DAVE, BOT, (BOT,))]
    friends = await server.ok("get_friend_list")
    assert [(f["user_id"], f["remark"]) for f in friends][-1] == (DAVE, "Dave!")
    mine = await server.app.world.friends.friend(DAVE, BOT)
    assert mine is not None and mine.remark == ""
    assert "already handled" in await server.fails("set_friend_add_request", 1400, flag=flag)
    assert "already friends" in await refused(
        server.app.world.requests.request_friend(DAVE, BOT), 1400
    )


async def test_bot_rejects_a_friend_request(server: Running) -> None:
    flag = await server.app.world.requests.request_friend(DAVE, BOT)
    events = capture(server)
    await server.ok("set_friend_add_request", flag=flag, approve=0)
    assert events == []
    assert DAVE not in [f["user_id"] for f in await server.ok("get_friend_list")]
    assert "already handled" in await server.fails(
        "set_friend_add_request", 1400, flag=flag, approve=True
    )
    # Once answered, Dave may ask again: a new flag.
    assert await server.app.world.requests.request_friend(DAVE, BOT, "please?") != flag


async def test_friend_request_refusals(server: Running) -> None:
    assert "not found" in await server.fails("set_friend_add_request", 1404, flag="nope")
    assert "flag" in await server.fails("set_friend_add_request", 1400)
    assert "flag" in await server.fails("set_friend_add_request", 1400, flag=["x"])
    flag = await server.app.world.requests.request_friend(DAVE, BOT)
    assert "approve" in await server.fails(
        "set_friend_add_request", 1400, flag=flag, approve="perhaps"
    )
    assert "remark" in await server.fails(
        "set_friend_add_request", 1400, flag=flag, remark="r" * 129
    )
    assert "already pending" in await refused(
        server.app.world.requests.request_friend(DAVE, BOT), 1400
    )
    assert "already pending" in await refused(
        server.app.world.requests.request_friend(BOT, DAVE), 1400
    )
    assert "already friends" in await refused(
        server.app.world.requests.request_friend(ALICE, BOT), 1400
    )
    assert "yourself" in await refused(server.app.world.requests.request_friend(DAVE, DAVE), 1400)
    assert "not found" in await refused(server.app.world.requests.request_friend(99999, BOT), 1404)
    # Only the addressee answers.
    other = await server.app.world.requests.request_friend(DAVE, CAROL)
    assert "addressed to" in await server.fails("set_friend_add_request", 1401, flag=other)
    assert "addressed to" in await refused(
        server.app.world.requests.answer_friend_request(BOB, flag, True), 1401
    )


async def test_virtual_user_answers_the_bots_request(server: Running) -> None:
    events = capture(server)
    flag = await server.app.world.requests.request_friend(BOT, DAVE, "hello from the bot")
    assert events == [FriendRequested(BOT, DAVE, "hello from the bot", flag, ())]
    await server.app.world.requests.answer_friend_request(DAVE, flag, True, "Botty")
    assert events[1:] == [FriendAdded(BOT, DAVE, (BOT,))]
    dave = await server.app.world.friends.friend(DAVE, BOT)
    assert dave is not None and dave.remark == "Botty"


async def test_friend_request_survives_restart(start_server: StartServer) -> None:
    first = await start_server()
    flag = await first.app.world.requests.request_friend(DAVE, BOT, "before restart")
    await stop(first)
    second = await start_server()
    await second.ok("set_friend_add_request", flag=flag, remark="Dave")
    assert DAVE in [f["user_id"] for f in await second.ok("get_friend_list")]
    await stop(second)
    third = await start_server()
    assert "already handled" in await third.fails("set_friend_add_request", 1400, flag=flag)


# --- join requests ------------------------------------------------------------------------


async def test_bot_approves_a_join_request(server: Running) -> None:
    events = capture(server)
    flag = await server.app.world.requests.request_join_group(CAROL, LAB, "let me in")
    assert events == [GroupRequested(LAB, CAROL, 0, "add", "let me in", flag, (BOT,))]
    box = await server.ok("get_group_system_msg")
    assert box["invited_requests"] == box["InvitedRequest"] == []
    (notice,) = box["join_requests"]
    assert notice["request_id"] == flag and notice["checked"] is False
    assert notice["requester_uin"] == CAROL and notice["requester_nick"] == "Carol"
    assert notice["invitor_uin"] == CAROL and notice["group_name"] == "Bot Lab"
    assert notice["message"] == "let me in" and notice["group_id"] == LAB
    await server.ok("set_group_add_request", flag=flag, approve=True, sub_type="add")
    assert events[1:] == [MemberJoined(LAB, CAROL, BOT, "approve", (BOT,))]
    members = await server.ok("get_group_member_list", group_id=LAB)
    assert CAROL in [m["user_id"] for m in members]
    assert (await server.ok("get_group_system_msg"))["join_requests"][0]["checked"] is True
    assert "already handled" in await server.fails("set_group_add_request", 1400, flag=flag)


async def test_bot_rejects_a_join_request(server: Running) -> None:
    flag = await server.app.world.requests.request_join_group(CAROL, LAB)
    events = capture(server)
    await server.ok("set_group_add_request", flag=flag, approve="false", reason="full up")
    assert events == []
    assert CAROL not in [
        m["user_id"] for m in await server.ok("get_group_member_list", group_id=LAB)
    ]


async def test_admin_bot_hears_lounge_requests(club: Running) -> None:
    events = capture(club)
    lounge_flag = await club.app.world.requests.request_join_group(ERIN, LOUNGE)
    club_flag = await club.app.world.requests.request_join_group(ERIN, CLUB)
    assert [e.audience for e in events] == [(BOT,), ()]
    box = await club.ok("get_group_system_msg")
    assert [n["request_id"] for n in box["join_requests"]] == [lounge_flag]
    assert "owner or an admin" in await club.fails("set_group_add_request", 1401, flag=club_flag)
    # The club's owner answers her own requests.
    await club.app.world.requests.answer_group_request(ALICE, club_flag, True)
    assert events[2:] == [MemberJoined(CLUB, ERIN, ALICE, "approve", ())]
    await club.ok("set_group_add_request", flag=lounge_flag)
    assert events[3:] == [MemberJoined(LOUNGE, ERIN, BOT, "approve", (BOT,))]


async def test_join_request_refusals(server: Running) -> None:
    assert "already a member" in await refused(
        server.app.world.requests.request_join_group(BOB, LAB), 1400
    )
    assert "not found" in await refused(
        server.app.world.requests.request_join_group(CAROL, 99999), 1404
    )
    assert "not found" in await refused(
        server.app.world.requests.request_join_group(99999, LAB), 1404
    )
    flag = await server.app.world.requests.request_join_group(CAROL, LAB)
    assert "already pending" in await refused(
        server.app.world.requests.request_join_group(CAROL, LAB), 1400
    )
    assert "not found" in await server.fails("set_group_add_request", 1404, flag="missing")
    assert "flag" in await server.fails("set_group_add_request", 1400, flag="")
    assert "approve" in await server.fails(
        "set_group_add_request", 1400, flag=flag, approve="eventually"
    )
    await server.ok("set_group_kick", group_id=LAB, user_id=DAVE, reject_add_request=True)
    assert "kicked" in await refused(server.app.world.requests.request_join_group(DAVE, LAB), 1401)
    # A pending request for a dismissed group can no longer be answered.
    await server.ok("set_group_leave", group_id=LAB, is_dismiss=True)
    assert "dismissed" in await server.fails("set_group_add_request", 1404, flag=flag)


# --- invitations --------------------------------------------------------------------------


async def test_bot_accepts_an_invitation(club: Running) -> None:
    events = capture(club)
    flag = await club.app.world.requests.invite_to_group(ALICE, CLUB, BOT)
    assert events == [GroupRequested(CLUB, BOT, ALICE, "invite", "", flag, (BOT,))]
    box = await club.ok("get_group_system_msg", count="10")
    assert box["invited_requests"] == box["InvitedRequest"]
    (notice,) = box["invited_requests"]
    assert notice["request_id"] == flag and notice["checked"] is False and notice["actor"] == 0
    assert notice["invitor_uin"] == ALICE and notice["invitor_nick"] == "Alice"
    assert notice["group_name"] == "Alice's Club" and notice["requester_uin"] == BOT
    await club.ok("set_group_add_request", flag=flag, sub_type="invite")
    assert events[1:] == [MemberJoined(CLUB, BOT, ALICE, "invite", (BOT,))]
    assert CLUB in [g["group_id"] for g in await club.ok("get_group_list")]
    (notice,) = (await club.ok("get_group_system_msg"))["InvitedRequest"]
    assert notice["checked"] is True and notice["actor"] == BOT


async def test_bot_declines_an_invitation(club: Running) -> None:
    flag = await club.app.world.requests.invite_to_group(BOB, CLUB, BOT)
    await club.ok("set_group_add_request", flag=flag, approve=False, reason="busy")
    assert CLUB not in [g["group_id"] for g in await club.ok("get_group_list")]
    assert "already handled" in await club.fails("set_group_add_request", 1400, flag=flag)


async def test_invitation_of_a_virtual_user(club: Running) -> None:
    events = capture(club)
    flag = await club.app.world.requests.invite_to_group(BOB, LAB, ERIN)
    assert events == [GroupRequested(LAB, ERIN, BOB, "invite", "", flag, ())]
    assert "addressed to" in await club.fails("set_group_add_request", 1401, flag=flag)
    await club.app.world.requests.answer_group_request(ERIN, flag, True)
    assert events[1:] == [MemberJoined(LAB, ERIN, BOB, "invite", (BOT,))]


async def test_invitation_refusals(club: Running) -> None:
    assert "not a member" in await refused(
        club.app.world.requests.invite_to_group(CAROL, LAB, ERIN), 1401
    )
    assert "already a member" in await refused(
        club.app.world.requests.invite_to_group(BOT, LAB, BOB), 1400
    )
    assert "not found" in await refused(
        club.app.world.requests.invite_to_group(BOT, LAB, 99999), 1404
    )
    assert "not found" in await refused(
        club.app.world.requests.invite_to_group(BOT, 99999, ERIN), 1404
    )
    await club.app.world.requests.invite_to_group(BOT, LAB, ERIN)
    assert "already pending" in await refused(
        club.app.world.requests.invite_to_group(BOB, LAB, ERIN), 1400
    )


async def test_group_requests_survive_restart(start_server: StartServer) -> None:
    first = await start_server()
    flag = await first.app.world.requests.request_join_group(CAROL, LAB, "hello")
    box_before = await first.ok("get_group_system_msg")
    await stop(first)
    second = await start_server()
    assert await second.ok("get_group_system_msg") == box_before
    await second.ok("set_group_add_request", flag=flag)
    assert CAROL in [m["user_id"] for m in await second.ok("get_group_member_list", group_id=LAB)]


async def test_system_msg_count(server: Running) -> None:
    await server.app.world.requests.request_join_group(CAROL, LAB)
    await server.app.world.accounts.create_account(ERIN, "Erin")
    await server.app.world.requests.request_join_group(ERIN, LAB)
    assert len((await server.ok("get_group_system_msg"))["join_requests"]) == 2
    assert len((await server.ok("get_group_system_msg", count=1))["join_requests"]) == 1
    assert (await server.ok("get_group_system_msg", count=0))["join_requests"] == []
    assert "count" in await server.fails("get_group_system_msg", 1400, count=-1)
    assert "count" in await server.fails("get_group_system_msg", 1400, count=10**6)
