"""Accounts and friendships through the user API."""

from __future__ import annotations

from tests.conftest import ALICE, BOB, BOT, DAVE
from tests.scripted_bot import ScriptedBot
from tests.web.conftest import Web


async def test_info_names_the_bots_and_limits(web: Web) -> None:
    info = await web.ok("GET", "/api/v1/info")
    assert info["app_name"] == "Catnest"
    assert [b["uin"] for b in info["bots"]] == [BOT]
    assert info["bots"][0]["is_bot"] is True
    assert info["limits"]["max_upload_bytes"] == web.app.config.limits.max_body_bytes
    assert info["limits"]["max_recent_contacts"] == web.app.config.limits.max_recent_contacts


async def test_list_users_includes_bots_and_filters(web: Web) -> None:
    users = (await web.ok("GET", "/api/v1/users"))["users"]
    by_uin = {u["uin"]: u for u in users}
    assert by_uin[BOT]["is_bot"] is True and by_uin[ALICE]["is_bot"] is False
    assert by_uin[ALICE]["nickname"] == "Alice"
    bots = (await web.ok("GET", "/api/v1/users?kind=bot"))["users"]
    assert [u["uin"] for u in bots] == [BOT]
    people = (await web.ok("GET", "/api/v1/users?kind=user"))["users"]
    assert BOT not in {u["uin"] for u in people} and ALICE in {u["uin"] for u in people}
    await web.fails("GET", "/api/v1/users?kind=robots", status=400, code=1400)


async def test_create_user_allocates_the_next_number(web: Web) -> None:
    first = await web.ok("POST", "/api/v1/users", {"nickname": "Erin"}, status=201)
    assert first["uin"] == 20005 and first["nickname"] == "Erin" and first["is_bot"] is False
    second = await web.ok(
        "POST", "/api/v1/users", {"nickname": "Frank", "sex": "male", "age": 30}, status=201
    )
    assert second["uin"] == 20006 and second["sex"] == "male" and second["age"] == 30
    got = await web.ok("GET", "/api/v1/users/20006")
    assert got == second


async def test_create_user_with_a_chosen_number(web: Web) -> None:
    made = await web.ok("POST", "/api/v1/users", {"uin": 123456, "nickname": "Grace"}, status=201)
    assert made["uin"] == 123456
    message = await web.fails(
        "POST", "/api/v1/users", {"uin": 123456, "nickname": "Again"}, status=409, code=1400
    )
    assert "123456" in message
    # A number in string form is accepted, as JS clients send big numbers.
    await web.ok("POST", "/api/v1/users", {"uin": "123457", "nickname": "Heidi"}, status=201)


async def test_create_user_refuses_bad_bodies(web: Web) -> None:
    assert "nickname" in await web.fails("POST", "/api/v1/users", {}, status=400, code=1400)
    assert "nickname" in await web.fails("POST", "/api/v1/users", {"nickname": "  "}, status=400)
    assert "nickname" in await web.fails(
        "POST", "/api/v1/users", {"nickname": "x" * 129}, status=400
    )
    assert "colour" in await web.fails(
        "POST", "/api/v1/users", {"nickname": "Ivan", "colour": "red"}, status=400
    )
    assert "uin" in await web.fails(
        "POST", "/api/v1/users", {"nickname": "Ivan", "uin": 42}, status=400
    )
    assert "age" in await web.fails(
        "POST", "/api/v1/users", {"nickname": "Ivan", "age": -1}, status=400
    )
    assert "sex" in await web.fails(
        "POST", "/api/v1/users", {"nickname": "Ivan", "sex": "robot"}, status=400
    )
    status, body = await web.call(
        "POST",
        "/api/v1/users",
        data=b'{"nickname": "a", "nickname": "b"}',
        headers={"Content-Type": "application/json"},
    )
    assert status == 400 and "duplicate" in body["error"]["message"]
    status, body = await web.call(
        "POST", "/api/v1/users", data=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert status == 400 and body["error"]["code"] == 1400
    status, body = await web.call(
        "POST", "/api/v1/users", data=b"[1]", headers={"Content-Type": "application/json"}
    )
    assert status == 400
    # Form posts are what a cross-site HTML form can send: never read as JSON.
    status, body = await web.call(
        "POST",
        "/api/v1/users",
        data=b"nickname=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 415
    status, body = await web.call(
        "POST", "/api/v1/users", data=b'{"nickname": "x"}', headers={"Content-Type": "text/plain"}
    )
    assert status == 415 and body["error"]["code"] == 1400


async def test_get_user_errors(web: Web) -> None:
    assert (await web.ok("GET", f"/api/v1/users/{BOT}"))["is_bot"] is True
    await web.fails("GET", "/api/v1/users/99999", status=404, code=1404)
    await web.fails("GET", "/api/v1/users/abc", status=400, code=1400)
    await web.fails("GET", "/api/v1/users/42", status=400, code=1400)


async def test_unknown_endpoint_and_method(web: Web) -> None:
    await web.fails("GET", "/api/v1/nothing-here", status=404, code=1404)
    status, body = await web.call("PATCH", "/api/v1/users")
    assert status == 405 and "GET" in body["error"]["message"]


async def test_friends_list_add_and_delete(web: Web) -> None:
    friends = (await web.ok("GET", f"/api/v1/users/{ALICE}/friends"))["friends"]
    assert {f["uin"] for f in friends} == {BOT, BOB}
    assert {f["uin"]: f["remark"] for f in friends}[BOT] == ""
    made = await web.ok(
        "POST", f"/api/v1/users/{DAVE}/friends", {"user_id": ALICE, "remark": "Al"}, status=201
    )
    assert made["uin"] == ALICE and made["remark"] == "Al"
    alice_side = (await web.ok("GET", f"/api/v1/users/{ALICE}/friends"))["friends"]
    assert DAVE in {f["uin"] for f in alice_side}
    await web.fails("POST", f"/api/v1/users/{DAVE}/friends", {"user_id": ALICE}, status=409)
    await web.fails("POST", f"/api/v1/users/{DAVE}/friends", {"user_id": 99999}, status=404)
    await web.fails("POST", f"/api/v1/users/{DAVE}/friends", {"user_id": DAVE}, status=400)
    await web.ok("DELETE", f"/api/v1/users/{DAVE}/friends/{ALICE}", status=204)
    await web.fails("DELETE", f"/api/v1/users/{DAVE}/friends/{ALICE}", status=403, code=1401)
    await web.fails("DELETE", f"/api/v1/users/{DAVE}/friends/99999", status=404)


async def test_acting_as_a_bot_or_nobody_is_refused(web: Web) -> None:
    message = await web.fails("GET", f"/api/v1/users/{BOT}/friends", status=403, code=1401)
    assert "bot" in message
    await web.fails("GET", "/api/v1/users/99999/friends", status=404, code=1404)
    await web.fails(
        "POST", f"/api/v1/users/{BOT}/private/{ALICE}/messages", {"message": "hi"}, status=403
    )


async def test_friend_request_reaches_the_bot(web: Web, echo_bot: ScriptedBot) -> None:
    answer = await web.ok(
        "POST",
        f"/api/v1/users/{DAVE}/friend-requests",
        {"user_id": BOT, "comment": "let's talk"},
        status=202,
    )
    event = await echo_bot.wait_for(lambda e: e.get("request_type") == "friend")
    assert event["user_id"] == DAVE and event["comment"] == "let's talk"
    assert event["flag"] == answer["flag"]
    await web.fails("POST", f"/api/v1/users/{DAVE}/friend-requests", {"user_id": BOT}, status=400)
    await web.fails("POST", f"/api/v1/users/{ALICE}/friend-requests", {"user_id": BOT}, status=409)
    await web.fails(
        "POST", f"/api/v1/users/{ALICE}/friend-requests", {"user_id": 99999}, status=404
    )
