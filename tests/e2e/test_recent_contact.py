"""get_recent_contact over HTTP against the demo world: shape, order, unread, count rules."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ALICE, BOB, BOT, CAROL, LAB, LOUNGE, Running, StartServer, content
from tests.waiting import wait_until

SEED_FIELDS = {
    "lastestMsg": dict,
    "peerUin": str,
    "remark": str,
    "msgTime": str,
    "chatType": int,
    "msgId": str,
    "sendNickName": str,
    "sendMemberName": str,
    "peerName": str,
}


async def test_demo_world_contacts_most_recent_first(server: Running) -> None:
    data = await server.ok("get_recent_contact", count=10)
    assert [item["peerUin"] for item in data] == [
        str(ALICE),
        str(LOUNGE),
        str(CAROL),
        str(LAB),
        str(BOB),
    ]
    assert [item["chatType"] for item in data] == [1, 2, 1, 2, 1]
    for item in data:
        for field, kind in SEED_FIELDS.items():
            assert isinstance(item[field], kind), (field, item)
        assert item["msgTime"].isdigit() and item["msgId"].isdigit()
        assert int(item["msgId"]) > 2**32  # NT-style 64-bit id, not the short id
        assert item["msgTime"] == str(item["lastestMsg"]["time"])
    times = [(int(i["msgTime"]), i["lastestMsg"]["message_id"]) for i in data]
    assert times == sorted(times, reverse=True)


async def test_item_fields_match_the_world(server: Running) -> None:
    alice, lounge, carol, lab, bob = await server.ok("get_recent_contact")
    assert alice["remark"] == "Alice (tester)" and alice["peerName"] == "Alice"
    assert alice["sendNickName"] == "Alice" and alice["sendMemberName"] == ""
    assert carol["remark"] == "Carol"
    assert lounge["peerName"] == "Catnest Lounge" and lounge["remark"] == ""
    assert lounge["sendNickName"] == "Carol" and lounge["peerUid"] == str(LOUNGE)
    assert lab["sendNickName"] == "Dave"
    assert bob["sendNickName"] == "Catnest Bot"  # the bot answered Bob last
    assert [i["unreadCnt"] for i in (alice, lounge, carol, lab, bob)] == [1, 3, 1, 1, 0]
    assert alice["peerUid"] == f"u_{ALICE}"


async def test_lastest_msg_is_a_full_message_object(server: Running) -> None:
    alice, lounge, *_rest, bob = await server.ok("get_recent_contact")
    msg = alice["lastestMsg"]
    for key in ("message_id", "message_seq", "real_id", "real_seq"):
        assert key in msg
    assert msg["message_seq"] == msg["real_id"] == msg["message_id"]
    assert isinstance(msg["real_seq"], str)
    assert msg["self_id"] == BOT and msg["user_id"] == ALICE
    assert msg["message_type"] == "private" and msg["sub_type"] == "friend"
    assert msg["message"] == [{"type": "text", "data": {"text": "/help"}}]
    assert msg["raw_message"] == "/help" and msg["post_type"] == "message"
    group = lounge["lastestMsg"]
    assert group["message_type"] == "group" and group["group_id"] == LOUNGE
    assert group["group_name"] == "Catnest Lounge"
    assert group["sender"]["role"] == "member"
    assert group["message"][0] == {"type": "at", "data": {"qq": str(BOT)}}
    own = bob["lastestMsg"]
    assert own["post_type"] == "message_sent" and own["message_sent_type"] == "self"
    # The same message through get_msg is the same object (plus emoji_likes_list).
    fetched = await server.ok("get_msg", message_id=msg["message_id"])
    fetched.pop("emoji_likes_list")
    assert fetched == msg


async def test_string_format_adapter(start_server: StartServer) -> None:
    running = await start_server(http={"message_post_format": "string"})
    _alice, lounge, *_ = await running.ok("get_recent_contact")
    msg = lounge["lastestMsg"]
    assert msg["message"] == f"[CQ:at,qq={BOT}] hello bot" == msg["raw_message"]
    assert msg["message_format"] == "string"


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (None, 5),
        (0, 0),
        (1, 1),
        (3, 3),
        ("2", 2),
        (" 4 ", 4),
        ("\t1\n", 1),
        (2.0, 2),
        (5000, 5),
        ("0", 0),
    ],
)
async def test_count_accepted(server: Running, count: Any, expected: int) -> None:
    params = {} if count is None else {"count": count}
    data = await server.ok("get_recent_contact", **params)
    assert len(data) == expected


@pytest.mark.parametrize(
    "count",
    [
        -1,
        1.5,
        "",
        "1e2",
        "abc",
        "-3",
        "0x10",
        True,
        False,
        None,
        {},
        [],
        [1],
        "5001",
        5001,
        10**30,
        "1" * 40,
        float("1e300"),
    ],
)
async def test_count_refused(server: Running, count: Any) -> None:
    message = await server.fails("get_recent_contact", 1400, count=count)
    assert "count" in message


async def test_count_above_maximum_names_the_maximum(server: Running) -> None:
    message = await server.fails("get_recent_contact", 1400, count=5001)
    assert "5000" in message


async def test_configured_maximum(start_server: StartServer) -> None:
    running = await start_server(limits={"max_recent_contacts": 3})
    assert len(await running.ok("get_recent_contact", count=3)) == 3
    assert "3" in await running.fails("get_recent_contact", 1400, count=4)


async def test_count_from_query_and_form(server: Running) -> None:
    async with server.session.get(f"{server.url}/get_recent_contact?count=2") as resp:
        assert len((await resp.json())["data"]) == 2
    async with server.session.post(f"{server.url}/get_recent_contact", data={"count": "3"}) as r:
        assert len((await r.json())["data"]) == 3


async def test_sending_updates_both_sides(server: Running) -> None:
    world = server.app.world
    sent = await server.ok("send_private_msg", user_id=CAROL, message="hello Carol")
    first = (await server.ok("get_recent_contact", count=1))[0]
    assert first["peerUin"] == str(CAROL) and first["unreadCnt"] == 0
    assert first["lastestMsg"]["message_id"] == sent["message_id"]
    assert first["lastestMsg"]["post_type"] == "message_sent"
    carol_view = await world.conversations.recent_contacts(CAROL, 1)
    assert carol_view[0].peer_uin == BOT and carol_view[0].unread == 1
    await world.messages.send_group(ALICE, LOUNGE, content("news"))
    top = (await server.ok("get_recent_contact", count=1))[0]
    assert top["peerUin"] == str(LOUNGE) and top["unreadCnt"] == 4


async def test_read_marks_clear_unread(server: Running) -> None:
    await server.ok("mark_group_msg_as_read", group_id=LOUNGE)
    await server.ok("mark_private_msg_as_read", user_id=ALICE)
    unread = {i["peerUin"]: i["unreadCnt"] for i in await server.ok("get_recent_contact")}
    assert unread[str(LOUNGE)] == 0 and unread[str(ALICE)] == 0 and unread[str(CAROL)] == 1
    await server.ok("_mark_all_as_read")
    assert all(i["unreadCnt"] == 0 for i in await server.ok("get_recent_contact"))


async def test_recall_of_last_message_moves_contact_to_previous(server: Running) -> None:
    sent = await server.ok("send_group_msg", group_id=LAB, message="oops")
    top = (await server.ok("get_recent_contact", count=1))[0]
    assert top["lastestMsg"]["message_id"] == sent["message_id"]
    await server.ok("delete_msg", message_id=sent["message_id"])
    items = await server.ok("get_recent_contact")
    lab = next(i for i in items if i["peerUin"] == str(LAB))
    assert lab["lastestMsg"]["raw_message"] == f"testing [CQ:at,qq={BOT}] ping"


async def test_answers_follow_writes_from_other_processes(server: Running) -> None:
    import sqlite3

    first = await server.ok("get_recent_contact")
    assert await server.ok("get_recent_contact") == first  # repeat answers are identical
    engine = server.app.engine
    if engine.dialect != "sqlite":
        return
    # Another process (here: a plain connection) renames Alice behind the server's back.
    other = sqlite3.connect(engine.location)
    other.execute("UPDATE accounts SET nickname = 'Alicia' WHERE uin = ?", (ALICE,))
    other.commit()
    other.close()

    async def renamed() -> bool:
        return bool((await server.ok("get_recent_contact"))[0]["peerName"] == "Alicia")

    # The engine notices another process's commits within a fraction of a second.
    await wait_until(renamed, what="the rename by another process in the answer")
