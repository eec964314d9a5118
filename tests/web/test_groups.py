"""Groups and membership through the user API (demo world: Alice owns the lounge, the bot is
its admin; the bot owns the lab, Bob is its admin)."""

from __future__ import annotations

from tests.conftest import ALICE, BOB, BOT, CAROL, DAVE, LAB, LOUNGE
from tests.scripted_bot import ScriptedBot
from tests.web.conftest import Web

G = "/api/v1/users/{uin}/groups"


def members_path(uin: int, group: int, target: int | None = None) -> str:
    base = f"/api/v1/users/{uin}/groups/{group}/members"
    return base if target is None else f"{base}/{target}"


async def test_list_and_get_groups_with_role(web: Web) -> None:
    groups = (await web.ok("GET", G.format(uin=BOB)))["groups"]
    roles = {g["group_id"]: g["role"] for g in groups}
    assert roles == {LOUNGE: "member", LAB: "admin"}
    lounge = await web.ok("GET", f"/api/v1/users/{ALICE}/groups/{LOUNGE}")
    assert lounge["name"] == "Catnest Lounge" and lounge["owner"] == ALICE
    assert lounge["role"] == "owner" and lounge["member_count"] == 5
    assert lounge["mute_all"] is False
    await web.fails("GET", f"/api/v1/users/{CAROL}/groups/{LAB}", status=403, code=1401)
    await web.fails("GET", f"/api/v1/users/{CAROL}/groups/39999", status=404, code=1404)
    await web.fails("GET", f"/api/v1/users/{CAROL}/groups/x", status=400)


async def test_create_group_with_members(web: Web, echo_bot: ScriptedBot) -> None:
    made = await web.ok(
        "POST",
        G.format(uin=CAROL),
        {"name": "Carol's club", "members": [BOT, DAVE, CAROL, DAVE]},
        status=201,
    )
    assert made["group_id"] == 30003 and made["role"] == "owner"
    assert made["member_count"] == 3 and made["owner"] == CAROL
    members = (await web.ok("GET", members_path(DAVE, 30003)))["members"]
    assert {m["uin"]: m["role"] for m in members} == {CAROL: "owner", BOT: "member", DAVE: "member"}
    assert {m["uin"]: m["is_bot"] for m in members}[BOT] is True
    chosen = await web.ok(
        "POST", G.format(uin=CAROL), {"name": "Chosen", "group_id": 555555}, status=201
    )
    assert chosen["group_id"] == 555555
    await web.fails("POST", G.format(uin=CAROL), {"name": "Again", "group_id": 555555}, status=409)
    await web.fails("POST", G.format(uin=CAROL), {"name": ""}, status=400)
    await web.fails("POST", G.format(uin=CAROL), {"name": "x" * 200}, status=400)
    await web.fails("POST", G.format(uin=CAROL), {"name": "Ghosts", "members": [99999]}, status=404)
    await web.fails("POST", G.format(uin=CAROL), {"group_id": 7, "name": "Small"}, status=400)
    await web.fails("POST", G.format(uin=CAROL), {"members": "all", "name": "x"}, status=400)


async def test_rename_and_mute_all(web: Web, echo_bot: ScriptedBot) -> None:
    path = f"/api/v1/users/{ALICE}/groups/{LOUNGE}"
    changed = await web.ok("PATCH", path, {"name": "The Lounge", "mute_all": True})
    assert changed["name"] == "The Lounge" and changed["mute_all"] is True
    renamed = await echo_bot.wait_for(lambda e: e.get("sub_type") == "group_name")
    assert renamed["name_new"] == "The Lounge"
    await echo_bot.wait_for(lambda e: e.get("notice_type") == "group_ban" and e["user_id"] == 0)
    # A muted member cannot speak.
    await web.fails(
        "POST",
        f"/api/v1/users/{CAROL}/groups/{LOUNGE}/messages",
        {"message": "hello?"},
        status=403,
        code=1401,
    )
    assert (await web.ok("PATCH", path, {"mute_all": False}))["mute_all"] is False
    await web.fails("PATCH", path, {}, status=400)
    await web.fails(
        "PATCH", f"/api/v1/users/{CAROL}/groups/{LOUNGE}", {"name": "Mine"}, status=403, code=1401
    )
    await web.fails("PATCH", path, {"mute_all": "maybe"}, status=400)


async def test_add_kick_and_invite_members(web: Web, echo_bot: ScriptedBot) -> None:
    added = await web.ok(
        "POST", members_path(BOB, LAB), {"user_id": CAROL, "card": "C"}, status=201
    )
    assert added["uin"] == CAROL and added["card"] == "C" and added["role"] == "member"
    joined = await echo_bot.wait_for(lambda e: e.get("notice_type") == "group_increase")
    assert joined["user_id"] == CAROL and joined["sub_type"] == "invite"
    await web.fails("POST", members_path(BOB, LAB), {"user_id": CAROL}, status=409)
    await web.fails("POST", members_path(CAROL, LOUNGE), {"user_id": 99999}, status=404)
    await web.fails("POST", members_path(ALICE, LAB), {"user_id": CAROL}, status=403)
    # Bob (admin of the lab) kicks Carol; Dave (member) cannot kick Bob.
    await web.ok("DELETE", members_path(BOB, LAB, CAROL) + "?block=true", status=204)
    left = await echo_bot.wait_for(lambda e: e.get("notice_type") == "group_decrease")
    assert left["user_id"] == CAROL and left["operator_id"] == BOB
    await web.fails("DELETE", members_path(DAVE, LAB, BOB), status=403, code=1401)
    await web.fails("DELETE", members_path(BOB, LAB, CAROL), status=404)
    await web.fails("DELETE", members_path(BOB, LAB, BOB), status=400)
    await web.fails("DELETE", members_path(BOB, LAB, CAROL) + "?block=perhaps", status=400)
    # Blocked after a kick: a join request is refused.
    await web.fails("POST", f"/api/v1/users/{CAROL}/group-requests", {"group_id": LAB}, status=403)
    # An invitation is answered by the invitee: the bot hears a request.
    new = await web.ok("POST", G.format(uin=CAROL), {"name": "Invites"}, status=201)
    invite = await web.ok(
        "POST", members_path(CAROL, new["group_id"]), {"user_id": BOT, "invite": True}, status=202
    )
    request = await echo_bot.wait_for(lambda e: e.get("request_type") == "group")
    assert request["sub_type"] == "invite" and request["flag"] == invite["flag"]


async def test_join_request_reaches_the_bot_as_owner(web: Web, echo_bot: ScriptedBot) -> None:
    answer = await web.ok(
        "POST",
        f"/api/v1/users/{ALICE}/group-requests",
        {"group_id": LAB, "comment": "let me in"},
        status=202,
    )
    event = await echo_bot.wait_for(lambda e: e.get("request_type") == "group")
    assert event["sub_type"] == "add" and event["flag"] == answer["flag"]
    assert event["comment"] == "let me in"
    await web.fails("POST", f"/api/v1/users/{BOB}/group-requests", {"group_id": LAB}, status=400)
    await web.fails(
        "POST", f"/api/v1/users/{ALICE}/group-requests", {"group_id": 39999}, status=404
    )


async def test_admin_card_and_mute(web: Web, echo_bot: ScriptedBot) -> None:
    admin = await web.ok("PUT", members_path(ALICE, LOUNGE, CAROL) + "/admin")
    assert admin["role"] == "admin"
    event = await echo_bot.wait_for(lambda e: e.get("notice_type") == "group_admin")
    assert event["user_id"] == CAROL and event["sub_type"] == "set"
    assert (await web.ok("DELETE", members_path(ALICE, LOUNGE, CAROL) + "/admin"))["role"] == (
        "member"
    )
    await web.fails("PUT", members_path(BOB, LOUNGE, CAROL) + "/admin", status=403)
    await web.fails("PUT", members_path(ALICE, LOUNGE, 99999) + "/admin", status=404)

    card = await web.ok("PUT", members_path(CAROL, LOUNGE, CAROL) + "/card", {"card": "Caz"})
    assert card["card"] == "Caz"
    await web.fails("PUT", members_path(CAROL, LOUNGE, BOB) + "/card", {"card": "B"}, status=403)
    await web.fails("PUT", members_path(CAROL, LOUNGE, CAROL) + "/card", {}, status=400)
    await web.fails(
        "PUT", members_path(CAROL, LOUNGE, CAROL) + "/card", {"card": "x" * 200}, status=400
    )

    muted = await web.ok("PUT", members_path(ALICE, LOUNGE, DAVE) + "/mute", {"duration": 60})
    assert muted["duration"] == 60 and muted["member"]["muted_until"] > 0
    ban = await echo_bot.wait_for(
        lambda e: e.get("notice_type") == "group_ban" and e["user_id"] == DAVE
    )
    assert ban["duration"] == 60 and ban["sub_type"] == "ban"
    await web.fails(
        "POST", f"/api/v1/users/{DAVE}/groups/{LOUNGE}/messages", {"message": "mmph"}, status=403
    )
    capped = await web.ok("PUT", members_path(ALICE, LOUNGE, DAVE) + "/mute", {"duration": 10**9})
    assert capped["duration"] == 30 * 24 * 3600
    await web.ok("DELETE", members_path(ALICE, LOUNGE, DAVE) + "/mute", status=204)
    await web.ok(
        "POST", f"/api/v1/users/{DAVE}/groups/{LOUNGE}/messages", {"message": "free"}, status=201
    )
    await web.fails("PUT", members_path(ALICE, LOUNGE, DAVE) + "/mute", {"duration": 0}, status=400)
    await web.fails("PUT", members_path(DAVE, LOUNGE, CAROL) + "/mute", {"duration": 5}, status=403)


async def test_leave_and_dismiss(web: Web, echo_bot: ScriptedBot) -> None:
    await web.ok("DELETE", f"/api/v1/users/{DAVE}/groups/{LOUNGE}", status=204)
    left = await echo_bot.wait_for(lambda e: e.get("notice_type") == "group_decrease")
    assert left["user_id"] == DAVE and left["sub_type"] == "leave"
    await web.fails("DELETE", f"/api/v1/users/{DAVE}/groups/{LOUNGE}", status=403)
    assert "dismiss" in await web.fails(
        "DELETE", f"/api/v1/users/{ALICE}/groups/{LOUNGE}", status=400
    )
    await web.ok("DELETE", f"/api/v1/users/{ALICE}/groups/{LOUNGE}?dismiss=true", status=204)
    await web.fails("GET", f"/api/v1/users/{ALICE}/groups/{LOUNGE}", status=404)
    groups = (await web.ok("GET", G.format(uin=ALICE)))["groups"]
    assert LOUNGE not in {g["group_id"] for g in groups}
