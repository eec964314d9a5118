"""Sending, fetching and recalling messages through the HTTP API."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ALICE, BOB, BOT, CAROL, DAVE, LAB, LOUNGE, Running, content


async def test_send_private_and_get_msg(server: Running) -> None:
    sent = await server.ok("send_private_msg", user_id=ALICE, message="hi [CQ:face,id=14]")
    msg = await server.ok("get_msg", message_id=sent["message_id"])
    assert msg["message"] == [
        {"type": "text", "data": {"text": "hi "}},
        {"type": "face", "data": {"id": "14"}},
    ]
    assert msg["raw_message"] == "hi [CQ:face,id=14]"
    assert msg["user_id"] == BOT and msg["target_id"] == ALICE
    assert msg["post_type"] == "message_sent" and msg["emoji_likes_list"] == []


async def test_ids_are_int32_and_increasing(server: Running) -> None:
    ids = [
        (await server.ok("send_private_msg", user_id=BOB, message=str(i)))["message_id"]
        for i in range(3)
    ]
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert all(isinstance(i, int) and 0 <= i < 2**31 for i in ids)


async def test_real_seq_is_per_conversation(server: Running) -> None:
    a = await server.ok("send_private_msg", user_id=ALICE, message="a")
    b = await server.ok("send_group_msg", group_id=LAB, message="b")
    msg_a = await server.ok("get_msg", message_id=a["message_id"])
    msg_b = await server.ok("get_msg", message_id=b["message_id"])
    assert msg_a["real_seq"] == "2"  # Alice's chat had one message before
    assert msg_b["real_seq"] == "2"  # and so had the Lab group


async def test_auto_escape_sends_cq_text_verbatim(server: Running) -> None:
    sent = await server.ok(
        "send_private_msg", user_id=ALICE, message="[CQ:face,id=1]", auto_escape=True
    )
    msg = await server.ok("get_msg", message_id=sent["message_id"])
    assert msg["message"] == [{"type": "text", "data": {"text": "[CQ:face,id=1]"}}]
    assert msg["raw_message"] == "&#91;CQ:face,id=1&#93;"


@pytest.mark.parametrize("escape", ["true", "1", 1, True])
async def test_auto_escape_as_string(server: Running, escape: Any) -> None:
    sent = await server.ok("send_private_msg", user_id=ALICE, message="[x]", auto_escape=escape)
    msg = await server.ok("get_msg", message_id=sent["message_id"])
    assert msg["raw_message"] == "&#91;x&#93;"


async def test_segment_array_and_single_segment(server: Running) -> None:
    one = await server.ok(
        "send_group_msg", group_id=LOUNGE, message={"type": "text", "data": {"text": "single"}}
    )
    arr = await server.ok(
        "send_group_msg",
        group_id=LOUNGE,
        message=[{"type": "at", "data": {"qq": ALICE}}, {"type": "text", "data": {"text": " hey"}}],
    )
    assert (await server.ok("get_msg", message_id=one["message_id"]))["raw_message"] == "single"
    msg = await server.ok("get_msg", message_id=arr["message_id"])
    assert msg["raw_message"] == f"[CQ:at,qq={ALICE}] hey"
    assert msg["sender"] == {
        "user_id": BOT,
        "nickname": "Catnest Bot",
        "card": "Bot",
        "role": "admin",
    }


async def test_reply_segment_must_point_into_the_conversation(server: Running) -> None:
    recent = await server.ok("get_recent_contact")
    lounge_msg = next(i for i in recent if i["peerUin"] == str(LOUNGE))["lastestMsg"]
    ok = await server.ok(
        "send_group_msg", group_id=LOUNGE, message=f"[CQ:reply,id={lounge_msg['message_id']}]sure"
    )
    assert ok["message_id"]
    msg = await server.fails(
        "send_group_msg", 1404, group_id=LAB, message=f"[CQ:reply,id={lounge_msg['message_id']}]no"
    )
    assert "reply" in msg
    await server.fails("send_group_msg", 1404, group_id=LAB, message="[CQ:reply,id=99999]x")


async def test_send_msg_routes_by_type_and_ids(server: Running) -> None:
    g = await server.ok("send_msg", group_id=LOUNGE, message="to group")
    p = await server.ok("send_msg", user_id=ALICE, message="to alice")
    t = await server.ok(
        "send_msg", message_type="private", user_id=BOB, group_id=LOUNGE, message="typed"
    )
    assert (await server.ok("get_msg", message_id=g["message_id"]))["message_type"] == "group"
    assert (await server.ok("get_msg", message_id=p["message_id"]))["message_type"] == "private"
    assert (await server.ok("get_msg", message_id=t["message_id"]))["sub_type"] == "friend"
    await server.fails("send_msg", 1400, message="nowhere")
    await server.fails("send_msg", 1400, message_type="channel", user_id=ALICE, message="x")
    await server.fails("send_msg", 1400, message_type="group", user_id=ALICE, message="x")


async def test_temp_chat_through_a_shared_group(server: Running) -> None:
    await server.fails("send_private_msg", 1401, user_id=DAVE, message="hi")
    sent = await server.ok("send_private_msg", user_id=DAVE, group_id=LAB, message="hi Dave")
    msg = await server.ok("get_msg", message_id=sent["message_id"])
    assert msg["sub_type"] == "group" and msg["group_id"] == LAB and msg["temp_source"] == 0
    contact = (await server.ok("get_recent_contact", count=1))[0]
    assert contact["chatType"] == 100 and contact["peerUin"] == str(DAVE)
    # Later messages reuse the temp chat's source group, as NapCat does.
    again = await server.ok("send_private_msg", user_id=DAVE, message="again")
    assert (await server.ok("get_msg", message_id=again["message_id"]))["group_id"] == LAB
    # A group Dave is not in cannot carry a temp chat.
    await server.app.world.accounts.create_account(20009, "Eve")
    await server.fails("send_private_msg", 1401, user_id=20009, group_id=LAB, message="x")


@pytest.mark.parametrize(
    ("action", "params", "retcode", "needle"),
    [
        ("send_private_msg", {"user_id": 99999, "message": "x"}, 1404, "99999"),
        ("send_group_msg", {"group_id": 99999, "message": "x"}, 1404, "99999"),
        ("send_private_msg", {"user_id": BOT, "message": "x"}, 1400, "yourself"),
        ("send_private_msg", {"message": "x"}, 1400, "user_id"),
        ("send_private_msg", {"user_id": ALICE}, 1400, "message"),
        ("send_private_msg", {"user_id": "abc", "message": "x"}, 1400, "user_id"),
        ("send_private_msg", {"user_id": -5, "message": "x"}, 1400, "user_id"),
        ("send_private_msg", {"user_id": ALICE, "message": ""}, 1400, "empty"),
        ("send_private_msg", {"user_id": ALICE, "message": []}, 1400, "empty"),
        ("send_private_msg", {"user_id": ALICE, "message": 5}, 1400, "message"),
        (
            "send_private_msg",
            {"user_id": ALICE, "message": [{"type": "nope", "data": {}}]},
            1400,
            "nope",
        ),
        (
            "send_private_msg",
            {"user_id": ALICE, "message": "x", "auto_escape": "maybe"},
            1400,
            "auto_escape",
        ),
        (
            "send_group_msg",
            {"group_id": LOUNGE, "message": "[CQ:image,file=file:///etc/passwd]"},
            1400,
            "file",
        ),
        ("get_msg", {"message_id": 424242}, 1404, "424242"),
        ("get_msg", {"message_id": "abc"}, 1400, "message_id"),
        ("get_msg", {}, 1400, "message_id"),
        ("delete_msg", {"message_id": 424242}, 1404, "424242"),
    ],
)
async def test_send_and_fetch_errors(
    server: Running, action: str, params: dict[str, Any], retcode: int, needle: str
) -> None:
    message = await server.fails(action, retcode, **params)
    assert needle in message


async def test_group_rules(server: Running) -> None:
    world = server.app.world
    await world.groups.create_group(30009, "Elsewhere", ALICE)
    assert "member" in await server.fails("send_group_msg", 1401, group_id=30009, message="x")
    # A member (not admin) may not @all; the bot is admin in the lounge and owner of the lab.
    ok = await server.ok("send_group_msg", group_id=LOUNGE, message="[CQ:at,qq=all] hi")
    assert ok["message_id"]
    with pytest.raises(Exception, match="@all"):
        await world.messages.send_group(CAROL, LOUNGE, content("[CQ:at,qq=all] spam"))


async def test_get_msg_accepts_the_nt_msg_id(server: Running) -> None:
    top = (await server.ok("get_recent_contact", count=1))[0]
    by_nt = await server.ok("get_msg", message_id=top["msgId"])
    assert by_nt["message_id"] == top["lastestMsg"]["message_id"]


async def test_messages_of_other_conversations_are_invisible(server: Running) -> None:
    world = server.app.world
    private = await world.messages.send_private(ALICE, BOB, content("secret"))
    await server.fails("get_msg", 1404, message_id=private.message_id)
    await server.fails("delete_msg", 1404, message_id=private.message_id)


async def test_recall(server: Running) -> None:
    sent = await server.ok("send_private_msg", user_id=ALICE, message="oops")
    assert await server.ok("delete_msg", message_id=sent["message_id"]) is None
    message = await server.fails("get_msg", 1404, message_id=sent["message_id"])
    assert "recalled" in message
    await server.fails("delete_msg", 1404, message_id=sent["message_id"])


async def test_recall_rights(server: Running) -> None:
    world = server.app.world
    alice_pm = await world.messages.send_private(ALICE, BOT, content("mine"))
    assert "sender" in await server.fails("delete_msg", 1401, message_id=alice_pm.message_id)
    # Bot owns the lab: it may recall a member's message there.
    dave = await world.messages.send_group(DAVE, LAB, content("spam"))
    await server.ok("delete_msg", message_id=dave.message_id)
    # In the lounge the bot is admin; Alice is owner: an admin cannot recall the owner.
    alice = await world.messages.send_group(ALICE, LOUNGE, content("owner speaks"))
    await server.fails("delete_msg", 1401, message_id=alice.message_id)
    carol = await world.messages.send_group(CAROL, LOUNGE, content("member speaks"))
    await server.ok("delete_msg", message_id=carol.message_id)


async def test_message_size_limits(start_server: Any) -> None:
    running = await start_server(limits={"max_segments": 3, "max_message_text_chars": 10})
    await running.fails("send_private_msg", 1400, user_id=ALICE, message="x" * 11)
    await running.fails("send_private_msg", 1400, user_id=ALICE, message="[CQ:face,id=1]" * 4)
    await running.ok("send_private_msg", user_id=ALICE, message="x" * 10)


async def test_idempotent_sends(start_server: Any) -> None:
    running = await start_server()
    first = await running.ok(
        "send_group_msg", group_id=LAB, message="once", idempotency_key="req-1"
    )
    again = await running.ok(
        "send_group_msg", group_id=LAB, message="once", idempotency_key="req-1"
    )
    assert again == first
    other = await running.ok(
        "send_private_msg", user_id=ALICE, message="hi", idempotency_key="req-2"
    )
    assert other["message_id"] != first["message_id"]
    history = await running.ok("get_group_msg_history", group_id=LAB, count=5)
    assert [m["raw_message"] for m in history["messages"]].count("once") == 1
    # The key survives a restart.
    from tests.conftest import stop

    await stop(running)
    again = await start_server()
    repeat = await again.ok("send_msg", group_id=LAB, message="once", idempotency_key="req-1")
    assert repeat == first
    await again.fails("send_group_msg", 1400, group_id=LAB, message="x", idempotency_key="")
    await again.fails("send_group_msg", 1400, group_id=LAB, message="x", idempotency_key="k" * 129)
    await again.fails("send_group_msg", 1400, group_id=LAB, message="x", idempotency_key=5)
