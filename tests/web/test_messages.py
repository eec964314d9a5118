"""Sending and reading messages as a user: conversations, history, read marks, recalls,
reactions and pokes."""

from __future__ import annotations

from typing import Any

from tests.conftest import ALICE, BOB, BOT, CAROL, DAVE, LAB, LOUNGE
from tests.scripted_bot import ScriptedBot
from tests.web.conftest import Web


def private(uin: int, peer: int, tail: str = "messages") -> str:
    return f"/api/v1/users/{uin}/private/{peer}/{tail}"


def group(uin: int, group_id: int, tail: str = "messages") -> str:
    return f"/api/v1/users/{uin}/groups/{group_id}/{tail}"


def message(uin: int, message_id: int, tail: str = "") -> str:
    return f"/api/v1/users/{uin}/messages/{message_id}{tail}"


async def send(web: Web, path: str, content: Any, **extra: Any) -> dict[str, Any]:
    sent: dict[str, Any] = await web.ok("POST", path, {"message": content, **extra}, status=201)
    return sent


async def test_conversations_match_get_recent_contact(web: Web) -> None:
    listed = await web.ok("GET", f"/api/v1/users/{BOB}/conversations?count=10")
    assert listed["cursor"]
    items = listed["conversations"]
    assert [i["peerUin"] for i in items] == [str(LOUNGE), str(LAB), str(BOT)]
    chat = {i["peerUin"]: i for i in items}[str(BOT)]
    assert chat["chatType"] == 1 and chat["unreadCnt"] == 1
    assert chat["lastestMsg"]["raw_message"] == "Yes! Try /help"
    assert chat["lastestMsg"]["post_type"] == "message"
    assert {i["peerUin"]: i for i in items}[str(LOUNGE)]["unreadCnt"] == 1
    # The same fields as get_recent_contact, for the same account seen the same way.
    seed_fields = {
        "lastestMsg",
        "peerUin",
        "remark",
        "msgTime",
        "chatType",
        "msgId",
        "sendNickName",
        "sendMemberName",
        "peerName",
    }
    assert seed_fields <= set(chat)
    assert (await web.ok("GET", f"/api/v1/users/{BOB}/conversations?count=1"))["conversations"][0][
        "peerUin"
    ] == str(LOUNGE)
    assert (await web.ok("GET", f"/api/v1/users/{BOB}/conversations?count=0"))[
        "conversations"
    ] == []
    await web.fails("GET", f"/api/v1/users/{BOB}/conversations?count=-1", status=400)
    await web.fails("GET", f"/api/v1/users/{BOB}/conversations?count=99999", status=400)


async def test_send_private_in_every_form(web: Web, echo_bot: ScriptedBot) -> None:
    text = await send(web, private(ALICE, BOT), "hello [CQ:face,id=14]")
    assert text["message"]["message"] == [
        {"type": "text", "data": {"text": "hello "}},
        {"type": "face", "data": {"id": "14"}},
    ]
    assert text["message"]["post_type"] == "message_sent"
    event = await echo_bot.wait_for(lambda e: e.get("message_id") == text["message_id"])
    assert event["user_id"] == ALICE and event["raw_message"] == "hello [CQ:face,id=14]"
    escaped = await send(web, private(ALICE, BOT), "[CQ:face,id=1]", auto_escape=True)
    assert escaped["message"]["message"][0]["type"] == "text"
    segments = await send(
        web,
        private(ALICE, BOT),
        [
            {"type": "reply", "data": {"id": text["message_id"]}},
            {"type": "text", "data": {"text": "again"}},
        ],
    )
    assert segments["message"]["message"][0] == {
        "type": "reply",
        "data": {"id": str(text["message_id"])},
    }
    one = await send(web, private(ALICE, BOT), {"type": "text", "data": {"text": "single"}})
    assert one["message"]["raw_message"] == "single"
    # An @ means nothing in a private chat (NapCat drops it).
    dropped = await send(web, private(ALICE, BOT), f"[CQ:at,qq={BOT}] hi")
    assert dropped["message"]["raw_message"] == "hi"


async def test_send_private_errors(web: Web) -> None:
    await web.fails("POST", private(DAVE, BOT), {"message": "hi"}, status=403, code=1401)
    await web.fails("POST", private(ALICE, 99999), {"message": "hi"}, status=404)
    await web.fails("POST", private(ALICE, BOT), {"message": ""}, status=400)
    await web.fails("POST", private(ALICE, BOT), {}, status=400)
    await web.fails("POST", private(ALICE, BOT), {"message": [{"type": "nope"}]}, status=400)
    await web.fails(
        "POST", private(ALICE, BOT), {"message": "[CQ:image,file=/etc/passwd]"}, status=400
    )
    await web.fails("POST", private(ALICE, BOT), {"message": "[CQ:reply,id=999999]x"}, status=404)
    await web.fails("POST", private(ALICE, ALICE), {"message": "me"}, status=400)
    await web.fails("POST", private(ALICE, BOT), {"message": "x" * 70_000}, status=400)
    # A temp chat needs a shared group.
    temp = await send(web, private(DAVE, CAROL), "psst", via_group=LOUNGE)
    assert temp["message"]["sub_type"] == "group"
    await web.fails("POST", private(DAVE, CAROL), {"message": "x", "via_group": LAB}, status=403)


async def test_send_group_with_at_and_reply(web: Web, echo_bot: ScriptedBot) -> None:
    first = await send(web, group(CAROL, LOUNGE), f"[CQ:at,qq={BOT}] ping")
    event = await echo_bot.wait_for(lambda e: e.get("message_id") == first["message_id"])
    assert event["group_id"] == LOUNGE and event["message"][0]["type"] == "at"
    reply = await send(
        web,
        group(DAVE, LOUNGE),
        [
            {"type": "reply", "data": {"id": str(first["message_id"])}},
            {"type": "text", "data": {"text": "same"}},
        ],
    )
    assert reply["message"]["group_id"] == LOUNGE
    await web.fails("POST", group(CAROL, LAB), {"message": "let me in"}, status=403)
    await web.fails("POST", group(CAROL, 39999), {"message": "hello"}, status=404)
    await web.fails("POST", group(CAROL, LOUNGE), {"message": "[CQ:at,qq=all] all"}, status=403)


async def test_history_pages_with_anchor_and_direction(web: Web) -> None:
    ids = [(await send(web, private(ALICE, BOB), f"m{i}"))["message_id"] for i in range(5)]
    latest = await web.ok("GET", private(ALICE, BOB) + "?count=2")
    assert [m["raw_message"] for m in latest["messages"]] == ["m3", "m4"]
    assert latest["has_more"] is True
    older = await web.ok("GET", private(ALICE, BOB) + f"?count=2&anchor={ids[3]}")
    assert [m["raw_message"] for m in older["messages"]] == ["m1", "m2"]
    oldest = await web.ok("GET", private(ALICE, BOB) + f"?count=5&anchor={ids[1]}")
    assert [m["raw_message"] for m in oldest["messages"]] == ["m0"]
    assert oldest["has_more"] is False
    newer = await web.ok("GET", private(ALICE, BOB) + f"?count=2&anchor={ids[1]}&direction=newer")
    assert [m["raw_message"] for m in newer["messages"]] == ["m2", "m3"]
    assert newer["has_more"] is True
    # Bob sees the same chat from his side.
    bob = await web.ok("GET", private(BOB, ALICE) + "?count=1")
    assert bob["messages"][0]["post_type"] == "message"
    empty = await web.ok("GET", private(CAROL, DAVE))
    assert empty == {"messages": [], "has_more": False}
    lounge = await web.ok("GET", group(BOB, LOUNGE) + "?count=50")
    assert lounge["messages"][0]["raw_message"] == "Welcome to the lounge!"
    await web.fails("GET", group(CAROL, LAB), status=403)
    await web.fails("GET", private(ALICE, BOB) + "?direction=sideways", status=400)
    await web.fails("GET", private(ALICE, BOB) + "?anchor=abc", status=400)
    await web.fails("GET", private(ALICE, BOB) + "?anchor=999999", status=404)
    await web.fails("GET", private(ALICE, BOB) + "?count=0", status=400)
    await web.fails("GET", private(ALICE, 99999), status=404)


async def test_mark_read_clears_unread(web: Web) -> None:
    async def unread(uin: int, peer: int) -> int:
        items = (await web.ok("GET", f"/api/v1/users/{uin}/conversations"))["conversations"]
        counts: dict[str, int] = {i["peerUin"]: i["unreadCnt"] for i in items}
        return counts[str(peer)]

    assert await unread(BOB, BOT) == 1
    await web.ok("POST", private(BOB, BOT, "read"), status=204)
    assert await unread(BOB, BOT) == 0
    assert await unread(BOB, LOUNGE) == 1
    await web.ok("POST", group(BOB, LOUNGE, "read"), status=204)
    assert await unread(BOB, LOUNGE) == 0
    await web.ok("POST", private(CAROL, DAVE, "read"), status=204)  # no chat yet: nothing to do
    await web.fails("POST", group(CAROL, LAB, "read"), status=403)
    await web.fails("POST", private(BOB, 99999, "read"), status=404)


async def test_mark_read_up_to_a_message_leaves_later_ones_unread(web: Web) -> None:
    async def unread(uin: int, peer: int) -> int:
        items = (await web.ok("GET", f"/api/v1/users/{uin}/conversations"))["conversations"]
        counts: dict[str, int] = {i["peerUin"]: i["unreadCnt"] for i in items}
        return counts[str(peer)]

    first = await send(web, group(ALICE, LOUNGE), "one")
    await send(web, group(ALICE, LOUNGE), "two")
    third = await send(web, group(ALICE, LOUNGE), "three")
    await web.ok("POST", group(BOB, LOUNGE, "read"), status=204)
    await send(web, group(ALICE, LOUNGE), "four")
    await send(web, group(ALICE, LOUNGE), "five")
    # Bob's page had shown up to "four" when it sent its mark; "five" arrived meanwhile.
    history = await web.ok("GET", group(BOB, LOUNGE) + "?count=2")
    four = history["messages"][0]["message_id"]
    await web.ok("POST", group(BOB, LOUNGE, "read"), {"message_id": four}, status=204)
    assert await unread(BOB, LOUNGE) == 1
    # Never backwards: an older mark arriving late changes nothing.
    late = {"message_id": third["message_id"]}
    await web.ok("POST", group(BOB, LOUNGE, "read"), late, status=204)
    assert await unread(BOB, LOUNGE) == 1
    await web.ok("POST", group(BOB, LOUNGE, "read"), {"message_id": None}, status=204)
    assert await unread(BOB, LOUNGE) == 0
    # Private chats too; a message of another conversation, or none, is refused.
    elsewhere = {"message_id": first["message_id"]}
    await web.fails("POST", private(BOB, BOT, "read"), elsewhere, status=404)
    await web.fails("POST", private(CAROL, DAVE, "read"), {"message_id": 1}, status=404)
    await web.fails("POST", group(BOB, LOUNGE, "read"), {"message_id": 999999}, status=404)
    await web.fails("POST", group(BOB, LOUNGE, "read"), {"message_id": "x"}, status=400)
    await web.fails("POST", group(BOB, LOUNGE, "read"), {"seq": 1}, status=400)


async def test_get_message_recall_and_reactions(web: Web, echo_bot: ScriptedBot) -> None:
    sent = await send(web, group(DAVE, LOUNGE), "react to me")
    mid = sent["message_id"]
    counted = await web.ok("PUT", message(CAROL, mid, "/reactions/76"))
    assert counted == {"emoji_id": "76", "count": 1}
    assert (await web.ok("PUT", message(BOB, mid, "/reactions/076")))["count"] == 2
    notice = await echo_bot.wait_for(lambda e: e.get("notice_type") == "group_msg_emoji_like")
    assert notice["message_id"] == mid
    shown = await web.ok("GET", message(ALICE, mid))
    assert shown["message"]["raw_message"] == "react to me"
    assert shown["reactions"] == [{"emoji_id": "76", "count": 2, "mine": False}]
    mine = await web.ok("GET", message(BOB, mid))
    assert mine["reactions"] == [{"emoji_id": "76", "count": 2, "mine": True}]
    # History pages carry each message's reactions, seen by their reader.
    await web.ok("PUT", message(ALICE, mid, "/reactions/14"))
    page = await web.ok("GET", group(CAROL, LOUNGE) + "?count=50")
    by_id = {m["message_id"]: m for m in page["messages"]}
    # (Listed first used first, to the second: the two may or may not share one.)
    assert sorted(by_id[mid]["reactions"], key=lambda r: r["emoji_id"]) == [
        {"emoji_id": "14", "count": 1, "mine": False},
        {"emoji_id": "76", "count": 2, "mine": True},
    ]
    assert all(m["reactions"] == [] for m in page["messages"] if m["message_id"] != mid)
    await web.ok("DELETE", message(ALICE, mid, "/reactions/14"))
    assert (await web.ok("DELETE", message(BOB, mid, "/reactions/76")))["count"] == 1
    await web.fails("DELETE", message(BOB, mid, "/reactions/76"), status=400)
    await web.fails("PUT", message(BOB, mid, "/reactions/smile"), status=400)
    await web.fails("PUT", message(BOB, 999999, "/reactions/76"), status=404)
    await web.fails("GET", message(ALICE, 999999), status=404)
    await web.fails("GET", message(ALICE, mid).replace(str(mid), "x1"), status=400)
    # Not in the lab: its messages are not there for Carol.
    lab = await send(web, group(DAVE, LAB), "lab only")
    await web.fails("GET", message(CAROL, lab["message_id"]), status=404)

    # Recall: not someone else's (Carol is a plain member), yes one's own, and an owner may.
    await web.fails("DELETE", message(CAROL, mid), status=403, code=1401)
    await web.ok("DELETE", message(DAVE, mid), status=204)
    recalled = await echo_bot.wait_for(lambda e: e.get("notice_type") == "group_recall")
    assert recalled["message_id"] == mid
    await web.fails("DELETE", message(DAVE, mid), status=404)
    other = await send(web, group(DAVE, LOUNGE), "moderate me")
    await web.ok("DELETE", message(ALICE, other["message_id"]), status=204)
    await web.fails("GET", message(ALICE, other["message_id"]), status=404)
    # History pages keep where recalled messages were (who, who recalled, when), never what
    # they said; paging may start from one.
    page = await web.ok("GET", group(CAROL, LOUNGE) + "?count=3")
    assert [m.get("recalled") is not None for m in page["messages"]] == [False, True, True]
    _, mine, theirs = page["messages"]
    assert mine["message_id"] == mid and mine["user_id"] == DAVE
    assert mine["recalled"]["operator_id"] == DAVE
    assert theirs["message_id"] == other["message_id"]
    assert theirs["recalled"]["operator_id"] == ALICE
    assert set(theirs) == {"message_id", "user_id", "time", "recalled"}
    assert "moderate me" not in str(page)
    older = await web.ok("GET", group(CAROL, LOUNGE) + f"?count=50&anchor={mid}")
    assert older["messages"] and all(m["message_id"] < mid for m in older["messages"])
    # Bots never see them in history.
    lounge = await web.app.world.conversations.group_conv(BOT, LOUNGE)
    bot_view = await web.app.world.conversations.history(
        BOT, lounge, anchor=None, count=50, older=True
    )
    assert mid not in [m.message_id for m in bot_view]


async def test_poke(web: Web, echo_bot: ScriptedBot) -> None:
    await web.ok("POST", f"/api/v1/users/{ALICE}/pokes", {"user_id": BOT}, status=204)
    poked = await echo_bot.wait_for(lambda e: e.get("sub_type") == "poke")
    assert poked["user_id"] == ALICE and poked["target_id"] == BOT
    await web.ok(
        "POST", f"/api/v1/users/{CAROL}/pokes", {"user_id": BOT, "group_id": LOUNGE}, status=204
    )
    in_group = await echo_bot.wait_for(
        lambda e: e.get("sub_type") == "poke" and e.get("group_id") == LOUNGE
    )
    assert in_group["user_id"] == CAROL
    await web.fails("POST", f"/api/v1/users/{ALICE}/pokes", {"user_id": ALICE}, status=400)
    await web.fails(
        "POST", f"/api/v1/users/{CAROL}/pokes", {"user_id": BOT, "group_id": LAB}, status=403
    )
    await web.fails("POST", f"/api/v1/users/{ALICE}/pokes", {"user_id": 99999}, status=404)
    await web.fails("POST", f"/api/v1/users/{ALICE}/pokes", {}, status=400)
