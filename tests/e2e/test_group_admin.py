"""Group administration over HTTP: kicks, mutes, admins, cards, titles, names, leaving."""

from __future__ import annotations

import time
from typing import Any

import pytest

from catnest.onebot.errors import ActionError
from catnest.world.events import (
    AdminChanged,
    CardChanged,
    GroupRenamed,
    MemberBanned,
    MemberJoined,
    MemberLeft,
    TitleChanged,
    ViewChanged,
)
from tests.conftest import ALICE, BOB, BOT, CAROL, DAVE, LAB, LOUNGE, Running, StartServer, stop
from tests.conftest import content as text

THIRTY_DAYS = 30 * 24 * 3600


def capture(server: Running) -> list[Any]:
    """Every event the hub publishes from now on."""
    events: list[Any] = []
    server.app.world.hub.subscribe(None, events.append)
    return events


async def member_ids(server: Running, group_id: int) -> list[int]:
    return [m["user_id"] for m in await server.ok("get_group_member_list", group_id=group_id)]


async def recent_peers(server: Running, uin: int) -> set[int]:
    return {e.peer_uin for e in await server.app.world.conversations.recent_contacts(uin, 100)}


async def demote_bot_in_lounge(server: Running) -> None:
    """Alice, the lounge's owner, takes the bot's admin role away."""
    await server.app.world.group_admin.set_admin(ALICE, LOUNGE, BOT, False)


# --- kick -------------------------------------------------------------------------------


async def test_kick_removes_member_and_their_recent_contact(server: Running) -> None:
    assert LOUNGE in await recent_peers(server, DAVE)
    events = capture(server)
    assert await server.ok("set_group_kick", group_id=LOUNGE, user_id=str(DAVE)) is None
    assert events == [MemberLeft(LOUNGE, DAVE, BOT, True, (BOT,))]
    assert DAVE not in await member_ids(server, LOUNGE)
    info = await server.ok("get_group_info", group_id=LOUNGE)
    assert info["member_count"] == 4
    assert [g["member_count"] for g in await server.ok("get_group_list")] == [4, 3]
    assert LOUNGE not in await recent_peers(server, DAVE)
    assert LAB in await recent_peers(server, DAVE)
    with pytest.raises(ActionError) as refused:
        await server.app.world.messages.send_group(DAVE, LOUNGE, text("still here?"))
    assert refused.value.retcode == 1401
    # Without reject_add_request the door stays open.
    assert await server.app.world.requests.request_join_group(DAVE, LOUNGE, "sorry")


async def test_kick_with_reject_blocks_join_requests(server: Running) -> None:
    await server.ok("set_group_kick", group_id=LOUNGE, user_id=DAVE, reject_add_request="true")
    with pytest.raises(ActionError) as refused:
        await server.app.world.requests.request_join_group(DAVE, LOUNGE, "let me back")
    assert refused.value.retcode == 1401 and "kicked" in refused.value.message
    # Being let back in by other means ends the block.
    await server.app.world.groups.add_member(LOUNGE, DAVE)
    await server.ok("set_group_kick", group_id=LOUNGE, user_id=DAVE)
    assert await server.app.world.requests.request_join_group(DAVE, LOUNGE, "again")


async def test_kick_refusals(server: Running) -> None:
    assert "owner or another admin" in await server.fails(
        "set_group_kick", 1401, group_id=LOUNGE, user_id=ALICE
    )
    assert "set_group_leave" in await server.fails(
        "set_group_kick", 1400, group_id=LOUNGE, user_id=BOT
    )
    assert "not a member" in await server.fails("set_group_kick", 1404, group_id=LAB, user_id=CAROL)
    assert "not found" in await server.fails("set_group_kick", 1404, group_id=99999, user_id=BOB)
    assert "user_id" in await server.fails("set_group_kick", 1400, group_id=LOUNGE)
    assert "reject_add_request" in await server.fails(
        "set_group_kick", 1400, group_id=LOUNGE, user_id=DAVE, reject_add_request="maybe"
    )
    await server.app.world.groups.create_group(30009, "Private club", ALICE, [(BOB, "member", "")])
    assert "not a member" in await server.fails("set_group_kick", 1401, group_id=30009, user_id=BOB)
    await server.app.world.group_admin.set_admin(ALICE, LOUNGE, BOB, True)
    assert "another admin" in await server.fails(
        "set_group_kick", 1401, group_id=LOUNGE, user_id=BOB
    )
    await demote_bot_in_lounge(server)
    assert "only the owner or an admin" in await server.fails(
        "set_group_kick", 1401, group_id=LOUNGE, user_id=DAVE
    )
    assert DAVE in await member_ids(server, LOUNGE)


async def test_owner_kicks_an_admin(server: Running) -> None:
    events = capture(server)
    await server.ok("set_group_kick", group_id=LAB, user_id=BOB)
    assert events == [MemberLeft(LAB, BOB, BOT, True, (BOT,))]
    assert await member_ids(server, LAB) == [BOT, DAVE]


async def test_kicked_bot_hears_it_and_loses_the_group(server: Running) -> None:
    events = capture(server)
    await server.app.world.group_admin.kick(ALICE, LOUNGE, BOT)
    assert events == [MemberLeft(LOUNGE, BOT, ALICE, True, (BOT,))]
    assert [g["group_id"] for g in await server.ok("get_group_list")] == [LAB]
    assert "30001" not in {c["peerUin"] for c in await server.ok("get_recent_contact", count=50)}
    await server.fails("get_group_msg_history", 1401, group_id=LOUNGE)


# --- mutes ------------------------------------------------------------------------------


async def test_ban_and_lift(server: Running) -> None:
    events = capture(server)
    await server.ok("set_group_ban", group_id=LOUNGE, user_id=BOB, duration="60")
    bob = await server.ok("get_group_member_info", group_id=LOUNGE, user_id=BOB)
    assert abs(bob["shut_up_timestamp"] - (time.time() + 60)) <= 2
    with pytest.raises(ActionError) as muted:
        await server.app.world.messages.send_group(BOB, LOUNGE, text("mmph"))
    assert muted.value.retcode == 1401 and "muted" in muted.value.message
    await server.ok("set_group_ban", group_id=LOUNGE, user_id=BOB, duration=0)
    bob = await server.ok("get_group_member_info", group_id=LOUNGE, user_id=BOB)
    assert bob["shut_up_timestamp"] == 0
    await server.app.world.messages.send_group(BOB, LOUNGE, text("free again"))
    # Lifting a mute nobody has is a silent success.
    await server.ok("set_group_ban", group_id=LOUNGE, user_id=BOB, duration=0)
    assert events[0] == MemberBanned(LOUNGE, BOB, BOT, 60, (BOT,))
    assert events[1] == MemberBanned(LOUNGE, BOB, BOT, 0, (BOT,))
    assert [type(e).__name__ for e in events[2:]] == ["MessageCreated"]


async def test_ban_defaults_to_thirty_minutes_and_caps_at_thirty_days(server: Running) -> None:
    events = capture(server)
    await server.ok("set_group_ban", group_id=LOUNGE, user_id=CAROL)
    carol = await server.ok("get_group_member_info", group_id=LOUNGE, user_id=CAROL)
    assert abs(carol["shut_up_timestamp"] - (time.time() + 1800)) <= 2
    await server.ok("set_group_ban", group_id=LOUNGE, user_id=CAROL, duration=10**12)
    carol = await server.ok("get_group_member_info", group_id=LOUNGE, user_id=CAROL)
    assert abs(carol["shut_up_timestamp"] - (time.time() + THIRTY_DAYS)) <= 2
    assert [e.duration for e in events] == [1800, THIRTY_DAYS]


async def test_ban_refusals(server: Running) -> None:
    assert "duration" in await server.fails(
        "set_group_ban", 1400, group_id=LOUNGE, user_id=BOB, duration=-5
    )
    assert "duration" in await server.fails(
        "set_group_ban", 1400, group_id=LOUNGE, user_id=BOB, duration="soon"
    )
    assert "yourself" in await server.fails("set_group_ban", 1400, group_id=LOUNGE, user_id=BOT)
    assert "owner or another admin" in await server.fails(
        "set_group_ban", 1401, group_id=LOUNGE, user_id=ALICE
    )
    assert "not a member" in await server.fails("set_group_ban", 1404, group_id=LAB, user_id=CAROL)
    assert "not found" in await server.fails("set_group_ban", 1404, group_id=99999, user_id=BOB)
    await demote_bot_in_lounge(server)
    assert "only the owner or an admin" in await server.fails(
        "set_group_ban", 1401, group_id=LOUNGE, user_id=BOB
    )
    # The owner outranks an admin.
    await server.ok("set_group_ban", group_id=LAB, user_id=BOB, duration=60)


async def test_ban_survives_restart(start_server: StartServer) -> None:
    first = await start_server()
    await first.ok("set_group_ban", group_id=LAB, user_id=DAVE, duration=600)
    await first.ok("set_group_whole_ban", group_id=LOUNGE)
    before = await first.ok("get_group_member_info", group_id=LAB, user_id=DAVE)
    await stop(first)
    second = await start_server()
    after = await second.ok("get_group_member_info", group_id=LAB, user_id=DAVE)
    assert after["shut_up_timestamp"] == before["shut_up_timestamp"] > time.time()
    assert (await second.ok("get_group_info", group_id=LOUNGE))["group_all_shut"] == -1
    with pytest.raises(ActionError):
        await second.app.world.messages.send_group(DAVE, LAB, text("hello?"))


async def test_whole_ban(server: Running) -> None:
    events = capture(server)
    await server.ok("set_group_whole_ban", group_id=LAB, enable="true")
    await server.ok("set_group_whole_ban", group_id=LAB, enable=1)  # already on: no event
    assert (await server.ok("get_group_info", group_id=LAB))["group_all_shut"] == -1
    with pytest.raises(ActionError):
        await server.app.world.messages.send_group(DAVE, LAB, text("hush"))
    await server.app.world.messages.send_group(BOB, LAB, text("admins may speak"))
    await server.ok("set_group_whole_ban", group_id=LAB, enable=False)
    assert (await server.ok("get_group_info", group_id=LAB))["group_all_shut"] == 0
    await server.app.world.messages.send_group(DAVE, LAB, text("thanks"))
    bans = [e for e in events if isinstance(e, MemberBanned)]
    assert bans == [MemberBanned(LAB, 0, BOT, -1, (BOT,)), MemberBanned(LAB, 0, BOT, 0, (BOT,))]


async def test_whole_ban_refusals(server: Running) -> None:
    assert "enable" in await server.fails(
        "set_group_whole_ban", 1400, group_id=LAB, enable="sometimes"
    )
    assert "not found" in await server.fails("set_group_whole_ban", 1404, group_id=99999)
    await demote_bot_in_lounge(server)
    assert "only the owner or an admin" in await server.fails(
        "set_group_whole_ban", 1401, group_id=LOUNGE
    )


# --- roles, cards, titles, names ---------------------------------------------------------


async def test_set_and_unset_admin(server: Running) -> None:
    events = capture(server)
    await server.ok("set_group_admin", group_id=LAB, user_id=DAVE)
    assert (await server.ok("get_group_member_info", group_id=LAB, user_id=DAVE))["role"] == "admin"
    await server.ok("set_group_admin", group_id=LAB, user_id=DAVE, enable="false")
    assert (await server.ok("get_group_member_info", group_id=LAB, user_id=DAVE))["role"] == (
        "member"
    )
    await server.ok("set_group_admin", group_id=LAB, user_id=DAVE, enable=False)  # no change
    assert events == [AdminChanged(LAB, DAVE, True, (BOT,)), AdminChanged(LAB, DAVE, False, (BOT,))]


async def test_set_admin_refusals(server: Running) -> None:
    assert "only the owner" in await server.fails(
        "set_group_admin", 1401, group_id=LOUNGE, user_id=BOB
    )
    assert "own role" in await server.fails("set_group_admin", 1400, group_id=LAB, user_id=BOT)
    assert "not a member" in await server.fails(
        "set_group_admin", 1404, group_id=LAB, user_id=CAROL
    )
    assert "enable" in await server.fails(
        "set_group_admin", 1400, group_id=LAB, user_id=DAVE, enable="yes please"
    )


async def test_set_card(server: Running) -> None:
    events = capture(server)
    await server.ok("set_group_card", group_id=LOUNGE, user_id=BOB, card="Bob the Builder")
    await server.ok("set_group_card", group_id=LOUNGE, user_id=BOT, card="Helper")
    await server.ok("set_group_card", group_id=LOUNGE, user_id=BOB)  # default "" clears
    assert events == [
        CardChanged(LOUNGE, BOB, "Bob the Builder", "Bobby", (BOT,)),
        CardChanged(LOUNGE, BOT, "Helper", "Bot", (BOT,)),
        CardChanged(LOUNGE, BOB, "", "Bob the Builder", (BOT,)),
    ]
    assert (await server.ok("get_group_member_info", group_id=LOUNGE, user_id=BOB))["card"] == ""
    sent = await server.ok("send_group_msg", group_id=LOUNGE, message="carded")
    msg = await server.ok("get_msg", message_id=sent["message_id"])
    assert msg["sender"]["card"] == "Helper"


async def test_set_card_refusals(server: Running) -> None:
    assert "owner or another admin" in await server.fails(
        "set_group_card", 1401, group_id=LOUNGE, user_id=ALICE, card="Boss"
    )
    assert "card" in await server.fails(
        "set_group_card", 1400, group_id=LOUNGE, user_id=BOB, card="x" * 129
    )
    assert "not a member" in await server.fails(
        "set_group_card", 1404, group_id=LAB, user_id=CAROL, card="C"
    )
    await demote_bot_in_lounge(server)
    assert "only the owner or an admin" in await server.fails(
        "set_group_card", 1401, group_id=LOUNGE, user_id=BOB, card="B"
    )
    await server.ok("set_group_card", group_id=LOUNGE, user_id=BOT, card="just me")


async def test_special_title(server: Running) -> None:
    events = capture(server)
    await server.ok(
        "set_group_special_title", group_id=LAB, user_id=DAVE, special_title="Tester", duration=-1
    )
    dave = await server.ok("get_group_member_info", group_id=LAB, user_id=DAVE)
    assert dave["title"] == "Tester"
    await server.ok("set_group_special_title", group_id=LAB, user_id=DAVE)  # removes it
    assert (await server.ok("get_group_member_info", group_id=LAB, user_id=DAVE))["title"] == ""
    # Taking a title away is announced to nobody, but views showing it follow.
    assert events == [TitleChanged(LAB, DAVE, "Tester", (BOT,)), ViewChanged((BOT,))]


async def test_special_title_refusals(server: Running) -> None:
    assert "only the owner" in await server.fails(
        "set_group_special_title", 1401, group_id=LOUNGE, user_id=BOB, special_title="VIP"
    )
    assert "special_title" in await server.fails(
        "set_group_special_title", 1400, group_id=LAB, user_id=DAVE, special_title="t" * 129
    )
    assert "not a member" in await server.fails(
        "set_group_special_title", 1404, group_id=LAB, user_id=CAROL, special_title="x"
    )


async def test_set_group_name(server: Running) -> None:
    events = capture(server)
    await server.ok("set_group_name", group_id=LAB, group_name="Robot Lab")
    await server.ok("set_group_name", group_id=LAB, group_name="Robot Lab")  # unchanged
    assert events == [GroupRenamed(LAB, BOT, "Robot Lab", (BOT,))]
    assert (await server.ok("get_group_list"))[1]["group_name"] == "Robot Lab"
    await server.ok("set_group_name", group_id=LOUNGE, group_name="Admin's Lounge")
    assert (await server.ok("get_group_info", group_id=LOUNGE))["group_name"] == "Admin's Lounge"


async def test_set_group_name_refusals(server: Running) -> None:
    assert "group_name" in await server.fails("set_group_name", 1400, group_id=LAB)
    assert "group_name" in await server.fails("set_group_name", 1400, group_id=LAB, group_name="  ")
    assert "group_name" in await server.fails(
        "set_group_name", 1400, group_id=LAB, group_name="n" * 129
    )
    assert "not found" in await server.fails("set_group_name", 1404, group_id=99999, group_name="x")
    await demote_bot_in_lounge(server)
    assert "only the owner or an admin" in await server.fails(
        "set_group_name", 1401, group_id=LOUNGE, group_name="Mine now"
    )


# --- joining and leaving ------------------------------------------------------------------


async def test_leave_drops_group_from_lists_and_recent_contacts(server: Running) -> None:
    assert "30001" in {c["peerUin"] for c in await server.ok("get_recent_contact", count=50)}
    events = capture(server)
    await server.ok("set_group_leave", group_id=LOUNGE, is_dismiss="true")  # not owner: leaves
    assert events == [MemberLeft(LOUNGE, BOT, BOT, False, (BOT,))]
    assert [g["group_id"] for g in await server.ok("get_group_list")] == [LAB]
    assert "30001" not in {c["peerUin"] for c in await server.ok("get_recent_contact", count=50)}
    assert (await server.ok("get_group_info", group_id=LOUNGE))["member_count"] == 4
    await server.fails("get_group_member_list", 1401, group_id=LOUNGE)
    await server.fails("send_group_msg", 1401, group_id=LOUNGE, message="hello?")
    assert "not a member" in await server.fails("set_group_leave", 1401, group_id=LOUNGE)
    assert "not found" in await server.fails("set_group_leave", 1404, group_id=99999)


async def test_owner_must_dismiss(server: Running) -> None:
    message = await server.fails("set_group_leave", 1400, group_id=LAB)
    assert "owner" in message and "is_dismiss" in message
    assert BOT in await member_ids(server, LAB)


async def test_dismiss_empties_the_group_for_good(server: Running) -> None:
    await server.app.world.accounts.create_account(10002, "Second Bot", is_bot=True)
    events = capture(server)
    joined = await server.app.world.groups.add_member(LAB, 10002, operator=BOB)
    assert joined.role == "member" and joined.account.uin == 10002
    await server.ok("set_group_leave", group_id=LAB, is_dismiss=True)
    assert events == [
        MemberJoined(LAB, 10002, BOB, "invite", (BOT, 10002)),
        MemberLeft(LAB, BOT, BOT, False, (BOT,)),
        MemberLeft(LAB, 10002, BOT, True, (10002,)),
    ]
    assert "dismissed" in await server.fails("get_group_info", 1404, group_id=LAB)
    assert [g["group_id"] for g in await server.ok("get_group_list")] == [LOUNGE]
    assert [g.group_id for g in await server.app.world.groups.groups_of(BOB)] == [LOUNGE]
    assert LAB not in await recent_peers(server, BOB)
    assert LAB not in await recent_peers(server, BOT)
    with pytest.raises(ActionError) as reused:
        await server.app.world.groups.create_group(LAB, "New lab", ALICE)
    assert "already exists" in reused.value.message
    with pytest.raises(ActionError) as gone:
        await server.app.world.requests.request_join_group(CAROL, LAB)
    assert gone.value.retcode == 1404


async def test_add_member_tool(server: Running) -> None:
    events = capture(server)
    await server.app.world.groups.add_member(LAB, CAROL, card="Caz")
    assert events == [MemberJoined(LAB, CAROL, 0, "approve", (BOT,))]
    carol = await server.ok("get_group_member_info", group_id=LAB, user_id=CAROL)
    assert carol["card"] == "Caz" and carol["role"] == "member"
    assert (await server.ok("get_group_info", group_id=LAB))["member_count"] == 4
    # The group shows in the newcomer's recent contacts, with what came before already read.
    (entry,) = [
        e
        for e in await server.app.world.conversations.recent_contacts(CAROL, 50)
        if e.peer_uin == LAB
    ]
    assert entry.unread == 0
    for bad, retcode in (
        (lambda: server.app.world.groups.add_member(LAB, CAROL), 1400),
        (lambda: server.app.world.groups.add_member(LAB, BOB, role="owner"), 1400),
        (lambda: server.app.world.groups.add_member(LAB, 99999), 1404),
        (lambda: server.app.world.groups.add_member(99999, CAROL), 1404),
        (lambda: server.app.world.groups.add_member(LAB, ALICE, operator=ALICE), 1401),
    ):
        with pytest.raises(ActionError) as refused:
            await bad()
        assert refused.value.retcode == retcode
