"""Merged forwards: sending node lists, fetching them back, who may see them, nesting."""

from __future__ import annotations

from typing import Any

import pytest

from catnest.limits import Limits
from catnest.onebot.errors import ActionError
from catnest.onebot.segments import normalize_message
from catnest.world.events import MessageCreated
from tests.conftest import (
    ALICE,
    BOB,
    BOT,
    CAROL,
    DAVE,
    LAB,
    LOUNGE,
    Running,
    StartServer,
    content,
    stop,
)

EXPANSION = {"max_depth": 3, "budget": 600}


def custom(
    text: Any, user_id: int | str | None = ALICE, nickname: str | None = "Alice A", **extra: Any
) -> dict[str, Any]:
    """A custom node as clients write it."""
    data: dict[str, Any] = {"content": text, **extra}
    if user_id is not None:
        data["user_id"] = user_id
    if nickname is not None:
        data["nickname"] = nickname
    return {"type": "node", "data": data}


def normalized(text: str) -> dict[str, Any]:
    """A canonical custom node, as the world takes them."""
    (node,) = normalize_message([custom(text)], auto_escape=False, limits=Limits())
    return node


def by_id(message_id: int | str) -> dict[str, Any]:
    """A node forwarding a stored message."""
    return {"type": "node", "data": {"id": str(message_id)}}


async def test_send_group_forward_and_get_it_back(server: Running) -> None:
    bob = await server.app.world.chat.send_group(BOB, LOUNGE, content("[CQ:face,id=14] quote me"))
    sent = await server.ok(
        "send_group_forward_msg",
        group_id=LOUNGE,
        messages=[custom("hi [CQ:face,id=1]", time=1700000000), by_id(bob.message_id)],
    )
    res_id = sent["res_id"]
    assert set(sent) == {"message_id", "res_id", "forward_id"} and sent["forward_id"] == res_id
    assert isinstance(res_id, str) and len(res_id) == 32 and not res_id.isdigit()
    carrier = await server.ok("get_msg", message_id=sent["message_id"])
    assert carrier["raw_message"] == f"[CQ:forward,id={res_id}]"
    data = await server.ok("get_forward_msg", id=res_id)
    assert data == await server.ok("get_forward_msg", message_id=sent["message_id"])
    first, second = data["messages"]
    first_segments = [
        {"type": "text", "data": {"text": "hi "}},
        {"type": "face", "data": {"id": "1"}},
    ]
    assert first == {
        "self_id": BOT,
        "user_id": ALICE,
        "time": 1700000000,
        "message_id": 0,
        "message_seq": 0,
        "real_id": 0,
        "real_seq": "0",
        "message_type": "group",
        "sender": {"user_id": ALICE, "nickname": "Alice A", "card": ""},
        "raw_message": "hi [CQ:face,id=1]",
        "font": 14,
        "sub_type": "normal",
        "message": first_segments,
        "message_format": "array",
        "post_type": "message",
        "content": first_segments,
        "group_id": LOUNGE,
    }
    # A forwarded message keeps its sender (by group card), time, content and id.
    assert (second["user_id"], second["sender"]["nickname"]) == (BOB, "Bobby")
    assert (second["time"], second["message_id"]) == (bob.time, bob.message_id)
    assert second["raw_message"] == "[CQ:face,id=14] quote me"
    # get_msg shows the carried forward with its nodes, as NapCat's get_msg does.
    assert carrier["message"] == [
        {"type": "forward", "data": {"id": res_id, "content": data["messages"]}}
    ]


async def test_forward_publishes_one_message(server: Running) -> None:
    events: list[Any] = []
    server.app.world.hub.subscribe(None, events.append)
    sent = await server.ok("send_forward_msg", group_id=LAB, messages=[custom("x")])
    (event,) = events
    assert isinstance(event, MessageCreated) and event.audience == (BOT,)
    assert event.message.message_id == sent["message_id"]
    assert event.message.raw_message == f"[CQ:forward,id={sent['res_id']}]"


async def test_every_send_action_takes_nodes(server: Running) -> None:
    nodes = [custom("one"), custom("two", user_id=BOB, nickname="B")]
    results = [
        await server.ok("send_msg", group_id=LOUNGE, message=nodes),
        await server.ok("send_msg", message_type="private", user_id=ALICE, message=nodes),
        await server.ok("send_group_msg", group_id=LAB, message=nodes),
        await server.ok("send_private_msg", user_id=BOB, message=nodes),
        await server.ok("send_forward_msg", user_id=CAROL, message=nodes),
        await server.ok("send_private_forward_msg", user_id=DAVE, group_id=LAB, messages=nodes),
    ]
    for sent in results:
        assert sent["res_id"] == sent["forward_id"]
        got = await server.ok("get_forward_msg", message_id=sent["message_id"])
        assert [m["raw_message"] for m in got["messages"]] == ["one", "two"]
    private = await server.ok("get_forward_msg", id=results[1]["res_id"])
    assert private["messages"][0]["message_type"] == "private"
    assert "group_id" not in private["messages"][0]
    temp = await server.ok("get_msg", message_id=results[5]["message_id"])
    assert temp["sub_type"] == "group" and temp["group_id"] == LAB
    # A CQ string of nodes is a forward too; a plain message to a forward action is just sent.
    cq = await server.ok("send_forward_msg", group_id=LOUNGE, messages="[CQ:node,id=1]")
    assert "res_id" in cq
    plain = await server.ok("send_group_forward_msg", group_id=LOUNGE, messages="plain")
    assert set(plain) == {"message_id"}


async def test_custom_node_defaults(server: Running) -> None:
    nodes = [
        custom("top", user_id=None, nickname=None),
        custom([custom("inner", user_id=None, nickname=None)], user_id=CAROL, nickname="C"),
    ]
    sent = await server.ok("send_forward_msg", group_id=LOUNGE, messages=nodes)
    first, second = (await server.ok("get_forward_msg", id=sent["res_id"]))["messages"]
    # NapCat: no sender means the bot's number and "QQ用户"; a nested node borrows its parent's.
    assert (first["user_id"], first["sender"]["nickname"]) == (BOT, "QQ用户")
    assert first["post_type"] == "message_sent" and first["message_sent_type"] == "self"
    (nested,) = second["message"]
    assert nested["type"] == "forward"
    (inner,) = nested["data"]["content"]
    assert (inner["user_id"], inner["sender"]["nickname"], inner["raw_message"]) == (
        CAROL,
        "C",
        "inner",
    )


@pytest.mark.parametrize(
    ("action", "params", "retcode", "needle"),
    [
        ("send_forward_msg", {"group_id": LOUNGE}, 1400, "messages"),
        ("send_forward_msg", {"messages": [{"type": "node", "data": {}}]}, 1400, "group_id"),
        (
            "send_forward_msg",
            {"group_id": LOUNGE, "messages": [{"type": "node", "data": {}}]},
            1400,
            "content",
        ),
        (
            "send_msg",
            {"group_id": LOUNGE, "message": [custom("x"), {"type": "text", "data": {"text": "y"}}]},
            1400,
            "mixed",
        ),
        ("send_group_forward_msg", {"user_id": ALICE, "messages": [custom("x")]}, 1400, "group_id"),
        ("send_private_forward_msg", {"group_id": LAB, "messages": [custom("x")]}, 1400, "user_id"),
        ("send_forward_msg", {"group_id": LOUNGE, "messages": [by_id(424242)]}, 1404, "424242"),
        ("send_forward_msg", {"group_id": LOUNGE, "messages": [by_id("abc")]}, 1404, "abc"),
        ("send_forward_msg", {"group_id": 99999, "messages": [custom("x")]}, 1404, "99999"),
        ("send_forward_msg", {"user_id": 99999, "messages": [custom("x")]}, 1404, "99999"),
        (
            "send_forward_msg",
            {"group_id": LOUNGE, "messages": [custom("x")], "news": "big"},
            1400,
            "news",
        ),
        (
            "send_forward_msg",
            {"group_id": LOUNGE, "messages": [custom("x")], "summary": 5},
            1400,
            "summary",
        ),
        (
            "send_forward_msg",
            {"group_id": LOUNGE, "messages": [custom("x", user_id="9" * 30)]},
            1400,
            "user_id",
        ),
        ("send_group_msg", {"group_id": LOUNGE, "message": "[CQ:forward,id=nope]"}, 1404, "nope"),
    ],
)
async def test_send_forward_refusals(
    server: Running, action: str, params: dict[str, Any], retcode: int, needle: str
) -> None:
    before = await server.ok("get_recent_contact", count=1)
    assert needle in await server.fails(action, retcode, **params)
    # Nothing half-done: no carrier message was stored.
    assert await server.ok("get_recent_contact", count=1) == before


async def test_nodes_forward_only_what_the_sender_sees(server: Running) -> None:
    world = server.app.world
    secret = await world.chat.send_private(ALICE, BOB, content("between us"))
    assert "not found" in await server.fails(
        "send_forward_msg", 1404, group_id=LOUNGE, messages=[by_id(secret.message_id)]
    )
    gone = await world.chat.send_group(CAROL, LOUNGE, content("oops"))
    await world.chat.recall(CAROL, gone.message_id)
    await server.fails("send_forward_msg", 1404, group_id=LOUNGE, messages=[by_id(gone.message_id)])
    # A node may also name a message by its NT msgId.
    bob = await world.chat.send_group(BOB, LOUNGE, content("by nt"))
    sent = await server.ok("send_forward_msg", group_id=LAB, messages=[by_id(bob.nt_msg_id)])
    (node,) = (await server.ok("get_forward_msg", id=sent["res_id"]))["messages"]
    assert node["message_id"] == bob.message_id and node["raw_message"] == "by nt"


async def test_who_may_fetch_a_forward(server: Running) -> None:
    world = server.app.world
    extras = world.extras
    sent = await server.ok("send_private_forward_msg", user_id=ALICE, messages=[custom("psst")])
    res_id = sent["res_id"]
    # The recipient sees the carrier; Bob sees neither it nor the bundle.
    alice_view = await extras.forward(ALICE, res_id, **EXPANSION)
    assert [n.raw_message for n in alice_view.nodes] == ["psst"]
    with pytest.raises(ActionError) as caught:
        await extras.forward(BOB, res_id, **EXPANSION)
    assert caught.value.retcode == 1404
    with pytest.raises(ActionError):
        await world.chat.send_group(BOB, LOUNGE, content(f"[CQ:forward,id={res_id}]"))
    with pytest.raises(ActionError, match=res_id):
        await extras.send_forward(BOB, [normalized(f"[CQ:forward,id={res_id}]")], group_id=LOUNGE)
    # Alice shares it in the lounge: now Bob sees a carrier, and may open and share it too.
    shared = await world.chat.send_group(ALICE, LOUNGE, content(f"[CQ:forward,id={res_id}]"))
    assert [n.raw_message for n in (await extras.forward(BOB, res_id, **EXPANSION)).nodes] == [
        "psst"
    ]
    # Once the only carrier Bob could see is recalled, the bundle is closed to him again.
    await world.chat.recall(ALICE, shared.message_id)
    with pytest.raises(ActionError):
        await extras.forward(BOB, res_id, **EXPANSION)
    # The bot owns the bundle: it may always open it.
    await server.ok("delete_msg", message_id=sent["message_id"])
    assert (await server.ok("get_forward_msg", id=res_id))["messages"][0]["raw_message"] == "psst"
    assert "recalled" in await server.fails("get_forward_msg", 1404, message_id=sent["message_id"])


async def test_bot_fetches_a_forward_it_received(server: Running) -> None:
    world = server.app.world
    stored, res_id = await world.extras.send_forward(ALICE, [normalized("from alice")], user_id=BOB)
    # The bot is not in Alice and Bob's chat: it cannot open the bundle.
    await server.fails("get_forward_msg", 1404, id=res_id)
    await server.fails("get_forward_msg", 1404, message_id=stored.message_id)
    shared = await world.chat.send_group(ALICE, LOUNGE, content(f"[CQ:forward,id={res_id}]"))
    got = await server.ok("get_forward_msg", message_id=shared.message_id)
    assert [m["raw_message"] for m in got["messages"]] == ["from alice"]


async def test_get_forward_msg_refusals(server: Running) -> None:
    plain = await server.ok("send_group_msg", group_id=LOUNGE, message="no forward here")
    assert "not a merged forward" in await server.fails(
        "get_forward_msg", 1400, message_id=plain["message_id"]
    )
    assert "nope" in await server.fails("get_forward_msg", 1404, id="nope")
    await server.fails("get_forward_msg", 1404, message_id=424242)
    assert "id" in await server.fails("get_forward_msg", 1400)
    assert "id" in await server.fails("get_forward_msg", 1400, message_id="", id=[1])


async def test_nesting_depth(server: Running) -> None:
    def nest(levels: int) -> list[dict[str, Any]]:
        nodes = [custom("leaf")]
        for _ in range(levels - 1):
            nodes = [custom(nodes)]
        return nodes

    three = await server.ok("send_forward_msg", group_id=LOUNGE, messages=nest(3))
    assert "max_forward_depth" in await server.fails(
        "send_forward_msg", 1400, group_id=LOUNGE, messages=nest(4)
    )
    # Forwarding the message that carries a three-deep forward would make it four deep.
    assert "max_forward_depth" in await server.fails(
        "send_forward_msg", 1400, group_id=LOUNGE, messages=[by_id(three["message_id"])]
    )
    assert "max_forward_depth" in await server.fails(
        "send_forward_msg",
        1400,
        group_id=LOUNGE,
        messages=[custom(f"[CQ:forward,id={three['res_id']}]")],
    )
    two = await server.ok("send_forward_msg", group_id=LOUNGE, messages=nest(2))
    outer = await server.ok(
        "send_forward_msg", group_id=LAB, messages=[by_id(two["message_id"]), custom("after")]
    )
    got = await server.ok("get_forward_msg", id=outer["res_id"])
    (carried,) = got["messages"][0]["message"]
    assert carried["data"]["id"] == two["res_id"]
    (level2,) = carried["data"]["content"]
    (level3_segment,) = level2["message"]
    (leaf,) = level3_segment["data"]["content"]
    assert leaf["raw_message"] == "leaf" and leaf["message"] == leaf["content"]


async def test_nested_expansion_stops_at_the_depth_limit(start_server: StartServer) -> None:
    running = await start_server(limits={"max_forward_depth": 2})
    inner = await running.ok("send_forward_msg", group_id=LOUNGE, messages=[custom([custom("x")])])
    got = await running.ok("get_msg", message_id=inner["message_id"])
    (segment,) = got["message"]
    (node,) = segment["data"]["content"]
    (nested,) = node["message"]
    # Two levels shown (the carried bundle and the one in it); a third would not be.
    assert [n["raw_message"] for n in nested["data"]["content"]] == ["x"]


async def test_forward_in_string_format(start_server: StartServer) -> None:
    running = await start_server(http={"message_post_format": "string"})
    sent = await running.ok(
        "send_forward_msg",
        group_id=LOUNGE,
        messages=[custom("a [CQ:face,id=1]"), custom([custom("b")])],
    )
    first, second = (await running.ok("get_forward_msg", id=sent["res_id"]))["messages"]
    assert first["message"] == first["content"] == "a [CQ:face,id=1]"
    assert first["message_format"] == "string"
    assert second["message"].startswith("[CQ:forward,id=") and second["message"].endswith("]")
    carrier = await running.ok("get_msg", message_id=sent["message_id"])
    assert carrier["message"] == carrier["raw_message"] == f"[CQ:forward,id={sent['res_id']}]"


async def test_forwards_survive_restart(start_server: StartServer) -> None:
    first = await start_server()
    sent = await first.ok(
        "send_forward_msg",
        group_id=LOUNGE,
        messages=[custom("kept")],
        summary="s",
        news=[{"text": "n"}],
    )
    before = await first.ok("get_forward_msg", id=sent["res_id"])
    await stop(first)
    second = await start_server()
    assert await second.ok("get_forward_msg", id=sent["res_id"]) == before
    assert await second.ok("get_forward_msg", message_id=sent["message_id"]) == before
    # The stored bundle can still be shared after the restart.
    again = await second.ok(
        "send_group_msg", group_id=LAB, message=f"[CQ:forward,id={sent['res_id']}]"
    )
    assert await second.ok("get_forward_msg", message_id=again["message_id"]) == before
