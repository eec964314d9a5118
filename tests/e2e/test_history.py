"""get_friend_msg_history / get_group_msg_history: anchors, direction, pages, errors."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ALICE, BOT, DAVE, LAB, LOUNGE, Running, content


async def _fill(server: Running, n: int) -> list[int]:
    ids = []
    for i in range(n):
        sent = await server.ok("send_group_msg", group_id=LAB, message=f"m{i}")
        ids.append(sent["message_id"])
    return ids


def texts(data: dict[str, Any]) -> list[str]:
    return [m["raw_message"] for m in data["messages"]]


async def test_latest_page_old_to_new(server: Running) -> None:
    await _fill(server, 5)
    data = await server.ok("get_group_msg_history", group_id=LAB, count=3)
    assert texts(data) == ["m2", "m3", "m4"]
    everything = await server.ok("get_group_msg_history", group_id=LAB)
    assert len(everything["messages"]) == 6  # default count 20; one demo message + 5


@pytest.mark.parametrize("anchor", [0, "0", ""])
async def test_zero_or_empty_anchor_means_latest(server: Running, anchor: Any) -> None:
    await _fill(server, 3)
    data = await server.ok("get_group_msg_history", group_id=LAB, message_seq=anchor, count=2)
    assert texts(data) == ["m1", "m2"]


async def test_reverse_order_without_anchor_is_newest_first(server: Running) -> None:
    await _fill(server, 3)
    data = await server.ok("get_group_msg_history", group_id=LAB, count=2, reverse_order=True)
    assert texts(data) == ["m2", "m1"]
    legacy = await server.ok("get_group_msg_history", group_id=LAB, count=2, reverseOrder="true")
    assert texts(legacy) == ["m2", "m1"]


async def test_anchor_walks_newer_or_older_including_anchor(server: Running) -> None:
    ids = await _fill(server, 6)
    newer = await server.ok("get_group_msg_history", group_id=LAB, message_seq=ids[2], count=3)
    assert texts(newer) == ["m2", "m3", "m4"]
    older = await server.ok(
        "get_group_msg_history", group_id=LAB, message_seq=ids[2], count=2, reverse_order=True
    )
    assert texts(older) == ["m1", "m2"]
    by_id = await server.ok("get_group_msg_history", group_id=LAB, message_id=str(ids[5]), count=5)
    assert texts(by_id) == ["m5"]


async def test_paging_backwards_reaches_the_start(server: Running) -> None:
    await _fill(server, 7)
    seen: list[str] = []
    page = await server.ok("get_group_msg_history", group_id=LAB, count=3)
    while page["messages"]:
        seen = texts(page) + seen
        first = page["messages"][0]["message_id"]
        page = await server.ok(
            "get_group_msg_history", group_id=LAB, message_seq=first, count=4, reverse_order=True
        )
        page["messages"] = page["messages"][:-1]  # drop the anchor we already have
    assert seen == [f"testing [CQ:at,qq={BOT}] ping"] + [f"m{i}" for i in range(7)]


async def test_empty_pages_are_empty_lists(server: Running) -> None:
    ids = await _fill(server, 2)
    newer = await server.ok("get_group_msg_history", group_id=LAB, message_seq=ids[-1], count=0)
    assert newer == {"messages": []}
    # The bot never spoke with Dave: an empty list, not an error.
    assert await server.ok("get_friend_msg_history", user_id=DAVE) == {"messages": []}


async def test_friend_history_and_recalls_hidden(server: Running) -> None:
    world = server.app.world
    a = await world.messages.send_private(ALICE, BOT, content("one"))
    await world.messages.send_private(ALICE, BOT, content("two"))
    await world.messages.recall(ALICE, a.message_id)
    data = await server.ok("get_friend_msg_history", user_id=ALICE, count=10)
    assert texts(data) == ["/help", "two"]
    assert data["messages"][0]["message_type"] == "private"


async def test_history_string_format(start_server: Any) -> None:
    running = await start_server(http={"message_post_format": "string"})
    data = await running.ok("get_group_msg_history", group_id=LOUNGE, count=1)
    assert data["messages"][0]["message"] == f"[CQ:at,qq={BOT}] hello bot"


@pytest.mark.parametrize(
    ("action", "params", "retcode"),
    [
        ("get_group_msg_history", {"group_id": 99999}, 1404),
        ("get_group_msg_history", {}, 1400),
        ("get_friend_msg_history", {}, 1400),
        ("get_friend_msg_history", {"user_id": 99999}, 1404),
        ("get_group_msg_history", {"group_id": LAB, "message_seq": 987654}, 1404),
        ("get_group_msg_history", {"group_id": LAB, "count": -1}, 1400),
        ("get_group_msg_history", {"group_id": LAB, "count": 1001}, 1400),
        ("get_group_msg_history", {"group_id": LAB, "reverse_order": "sideways"}, 1400),
        ("get_group_msg_history", {"group_id": LAB, "message_seq": [1]}, 1400),
    ],
)
async def test_history_errors(
    server: Running, action: str, params: dict[str, Any], retcode: int
) -> None:
    await server.fails(action, retcode, **params)


async def test_anchor_from_another_conversation_is_not_found(server: Running) -> None:
    sent = await server.ok("send_group_msg", group_id=LOUNGE, message="here")
    await server.fails("get_group_msg_history", 1404, group_id=LAB, message_seq=sent["message_id"])


async def test_non_member_cannot_read_group_history(server: Running) -> None:
    await server.app.world.groups.create_group(30009, "Private club", ALICE)
    await server.fails("get_group_msg_history", 1401, group_id=30009)


async def test_mark_read_variants(server: Running) -> None:
    def unread(items: list[dict[str, Any]], peer: int) -> int:
        return next(i["unreadCnt"] for i in items if i["peerUin"] == str(peer))

    items = await server.ok("get_recent_contact")
    msg_id = next(i for i in items if i["peerUin"] == str(LOUNGE))["lastestMsg"]["message_id"]
    await server.ok("mark_msg_as_read", message_id=msg_id)
    assert unread(await server.ok("get_recent_contact"), LOUNGE) == 0
    # NapCat's three names are one implementation: a user_id marks the private chat.
    await server.ok("mark_group_msg_as_read", user_id=ALICE)
    assert unread(await server.ok("get_recent_contact"), ALICE) == 0
    await server.fails("mark_msg_as_read", 1400)
    await server.fails("mark_private_msg_as_read", 1404, user_id=99999)
    await server.fails("mark_msg_as_read", 1404, message_id=777777)
    await server.ok("_mark_all_as_read_async")
