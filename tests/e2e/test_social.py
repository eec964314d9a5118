"""Friends, groups, members, the bot's account and credentials."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ALICE, BOB, BOT, CAROL, DAVE, LAB, LOUNGE, Running


async def test_friend_list(server: Running) -> None:
    friends = await server.ok("get_friend_list")
    assert [f["user_id"] for f in friends] == [ALICE, BOB, CAROL]
    alice = friends[0]
    assert alice["remark"] == "Alice (tester)" and alice["nickname"] == "Alice"
    assert friends[1]["remark"] == "Bob"  # no remark: NapCat falls back to the nickname
    for key in ("sex", "age", "level", "category_id", "birthday_year", "phone_num", "email"):
        assert key in alice


async def test_friends_with_category(server: Running) -> None:
    (category,) = await server.ok("get_friends_with_category")
    assert category["categoryId"] == 0 and category["categoryName"] == "我的好友"
    assert category["categoryMbCount"] == 3
    assert [b["user_id"] for b in category["buddyList"]] == [ALICE, BOB, CAROL]
    assert "categorySortId" in category


async def test_stranger_info(server: Running) -> None:
    alice = await server.ok("get_stranger_info", user_id=ALICE)
    assert alice["user_id"] == ALICE and alice["nickname"] == "Alice"
    assert alice["remark"] == "Alice (tester)"
    dave = await server.ok("get_stranger_info", user_id=str(DAVE))
    assert dave["remark"] == ""
    await server.fails("get_stranger_info", 1404, user_id=99999)
    await server.fails("get_stranger_info", 1400)


async def test_group_list_and_info(server: Running) -> None:
    groups = await server.ok("get_group_list")
    assert [(g["group_id"], g["group_name"], g["member_count"]) for g in groups] == [
        (LOUNGE, "Catnest Lounge", 5),
        (LAB, "Bot Lab", 3),
    ]
    info = await server.ok("get_group_info", group_id=LAB)
    assert info == groups[1]
    assert info["group_all_shut"] == 0 and info["max_member_count"] == 200
    await server.fails("get_group_info", 1404, group_id=99999)


async def test_member_list_and_info(server: Running) -> None:
    members = await server.ok("get_group_member_list", group_id=LOUNGE)
    assert [(m["user_id"], m["role"]) for m in members] == [
        (ALICE, "owner"),
        (BOT, "admin"),
        (BOB, "member"),
        (CAROL, "member"),
        (DAVE, "member"),
    ]
    bob = await server.ok("get_group_member_info", group_id=LOUNGE, user_id=BOB)
    assert bob["card"] == "Bobby" and bob["nickname"] == "Bob" and bob["group_id"] == LOUNGE
    assert bob["is_robot"] is False
    me = await server.ok("get_group_member_info", group_id=LOUNGE, user_id=BOT)
    assert me["is_robot"] is True
    await server.fails("get_group_member_info", 1404, group_id=LAB, user_id=CAROL)
    await server.fails("get_group_member_list", 1404, group_id=99999)


async def test_member_list_of_a_group_the_bot_left_is_refused(server: Running) -> None:
    await server.app.world.groups.create_group(30009, "Private club", ALICE)
    await server.fails("get_group_member_list", 1401, group_id=30009)


async def test_login_and_version(server: Running) -> None:
    assert await server.ok("get_login_info") == {"user_id": BOT, "nickname": "Catnest Bot"}
    version = await server.ok("get_version_info")
    assert version["app_name"] == "NapCat.Onebot" and version["protocol_version"] == "v11"
    assert version["app_version"].startswith("4.")
    assert version["catnest_name"] == "Catnest"
    assert await server.ok("get_status") == {"online": True, "good": True, "stat": {}}
    assert await server.ok("can_send_image") == {"yes": True}
    assert await server.ok("can_send_record") == {"yes": True}


async def test_identity_is_configurable(start_server: Any) -> None:
    running = await start_server(identity={"app_name": "Catnest", "app_version": "0.1.0"})
    version = await running.ok("get_version_info")
    assert version["app_name"] == "Catnest" and version["app_version"] == "0.1.0"


async def test_credentials_are_consistent(server: Running) -> None:
    cookies = await server.ok("get_cookies", domain="qun.qq.com")
    csrf = await server.ok("get_csrf_token")
    creds = await server.ok("get_credentials", domain="qun.qq.com")
    assert f"uin=o{BOT}" in cookies["cookies"] and "skey=@" in cookies["cookies"]
    assert cookies["bkn"] == str(csrf["token"]) and creds["token"] == csrf["token"]
    assert creds["cookies"] == cookies["cookies"]
    skey = cookies["cookies"].split("skey=")[1].split(";")[0]
    value = 5381
    for ch in skey:
        value += (value << 5) + ord(ch)
    assert csrf["token"] == value & 0x7FFFFFFF
    # Stable across calls and restarts: derived from the account only.
    assert await server.ok("get_csrf_token") == csrf


@pytest.mark.parametrize("action", ["get_friend_list", "get_group_list"])
async def test_no_cache_is_accepted(server: Running, action: str) -> None:
    await server.ok(action, no_cache="true")
