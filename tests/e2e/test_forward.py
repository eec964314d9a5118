"""Merged forwards: sending node lists, fetching them back, who may see them, nesting."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import pytest

import catnest.app
import catnest.store.postgres
import catnest.store.sqlite
from catnest.limits import Limits
from catnest.onebot.content import Content, content_of
from catnest.onebot.errors import ActionError
from catnest.onebot.segments import normalize_message, raw_message
from catnest.store import conversations as conv_sql
from catnest.store import forwards as forwards_sql
from catnest.store import messages as msg_sql
from catnest.store import migrate
from catnest.store.engine import Engine, Txn, TxnFn
from catnest.store.ids import next_id_txn
from catnest.store.records import StoredMessage
from catnest.world.events import MessageCreated
from catnest.world.forwards import new_res_id
from catnest.world.hub import Hub
from catnest.world.messages import nt_msg_id
from catnest.world.world import World
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


async def send_forward(
    world: World, sender: int, nodes: list[dict[str, Any]], **to: int
) -> tuple[StoredMessage, str]:
    """A merged forward sent by a virtual user: the carrying message and the bundle's res_id."""
    sent = await world.messages.send(sender, content_of(nodes), **to)
    assert sent.res_id is not None
    return sent.message, sent.res_id


def by_id(message_id: int | str) -> dict[str, Any]:
    """A node forwarding a stored message."""
    return {"type": "node", "data": {"id": str(message_id)}}


async def test_send_group_forward_and_get_it_back(server: Running) -> None:
    bob = await server.app.world.messages.send_group(
        BOB, LOUNGE, content("[CQ:face,id=14] quote me")
    )
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
    secret = await world.messages.send_private(ALICE, BOB, content("between us"))
    assert "not found" in await server.fails(
        "send_forward_msg", 1404, group_id=LOUNGE, messages=[by_id(secret.message_id)]
    )
    gone = await world.messages.send_group(CAROL, LOUNGE, content("oops"))
    await world.messages.recall(CAROL, gone.message_id)
    await server.fails("send_forward_msg", 1404, group_id=LOUNGE, messages=[by_id(gone.message_id)])
    # A node may also name a message by its NT msgId.
    bob = await world.messages.send_group(BOB, LOUNGE, content("by nt"))
    sent = await server.ok("send_forward_msg", group_id=LAB, messages=[by_id(bob.nt_msg_id)])
    (node,) = (await server.ok("get_forward_msg", id=sent["res_id"]))["messages"]
    assert node["message_id"] == bob.message_id and node["raw_message"] == "by nt"


async def test_who_may_fetch_a_forward(server: Running) -> None:
    world = server.app.world
    extras = world.forwards
    sent = await server.ok("send_private_forward_msg", user_id=ALICE, messages=[custom("psst")])
    res_id = sent["res_id"]
    # The recipient sees the carrier; Bob sees neither it nor the bundle.
    alice_view = await extras.forward(ALICE, res_id, **EXPANSION)
    assert [raw_message(n.segments) for n in alice_view.nodes] == ["psst"]
    with pytest.raises(ActionError) as caught:
        await extras.forward(BOB, res_id, **EXPANSION)
    assert caught.value.retcode == 1404
    with pytest.raises(ActionError):
        await world.messages.send_group(BOB, LOUNGE, content(f"[CQ:forward,id={res_id}]"))
    with pytest.raises(ActionError, match=res_id):
        await send_forward(world, BOB, [normalized(f"[CQ:forward,id={res_id}]")], group_id=LOUNGE)
    # Alice shares it in the lounge: now Bob sees a carrier, and may open and share it too.
    shared = await world.messages.send_group(ALICE, LOUNGE, content(f"[CQ:forward,id={res_id}]"))
    assert [
        raw_message(n.segments) for n in (await extras.forward(BOB, res_id, **EXPANSION)).nodes
    ] == ["psst"]
    # Once the only carrier Bob could see is recalled, the bundle is closed to him again.
    await world.messages.recall(ALICE, shared.message_id)
    with pytest.raises(ActionError):
        await extras.forward(BOB, res_id, **EXPANSION)
    # The bot owns the bundle: it may always open it.
    await server.ok("delete_msg", message_id=sent["message_id"])
    assert (await server.ok("get_forward_msg", id=res_id))["messages"][0]["raw_message"] == "psst"
    assert "recalled" in await server.fails("get_forward_msg", 1404, message_id=sent["message_id"])


async def test_bot_fetches_a_forward_it_received(server: Running) -> None:
    world = server.app.world
    stored, res_id = await send_forward(world, ALICE, [normalized("from alice")], user_id=BOB)
    # The bot is not in Alice and Bob's chat: it cannot open the bundle.
    await server.fails("get_forward_msg", 1404, id=res_id)
    await server.fails("get_forward_msg", 1404, message_id=stored.message_id)
    shared = await world.messages.send_group(ALICE, LOUNGE, content(f"[CQ:forward,id={res_id}]"))
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
    # History and recent contacts show the string form too: no nodes in a CQ string.
    (shown,) = (await running.ok("get_group_msg_history", group_id=LOUNGE, count=1))["messages"]
    (item,) = await running.ok("get_recent_contact", count=1)
    assert shown["message"] == item["lastestMsg"]["message"] == carrier["raw_message"]


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


# --- who carries a bundle ----------------------------------------------------------------------


async def carriers(running: Running) -> set[tuple[str, int]]:
    """Every (res_id, message_id) row of forward_carriers."""
    rows = await running.app.engine.read(
        lambda txn: txn.fetchall("SELECT res_id, message_id FROM forward_carriers")
    )
    return {(str(r[0]), int(r[1])) for r in rows}


async def test_a_reshared_forward_opens_for_whoever_sees_a_carrier(server: Running) -> None:
    world = server.app.world
    forwards = world.forwards
    first, res_id = await send_forward(world, ALICE, [normalized("from alice")], user_id=BOB)
    assert await carriers(server) == {(res_id, first.message_id)}
    await server.fails("get_forward_msg", 1404, id=res_id)
    # Bob, who does not own the bundle, shares it (twice over) in the lounge, where the bot is.
    shared = await world.messages.send_group(
        BOB, LOUNGE, content(f"look [CQ:forward,id={res_id}] and [CQ:forward,id={res_id}]")
    )
    assert await carriers(server) == {(res_id, first.message_id), (res_id, shared.message_id)}
    got = await server.ok("get_forward_msg", id=res_id)
    assert [m["raw_message"] for m in got["messages"]] == ["from alice"]
    # Recalling the only carrier the bot could see closes the bundle to it again; the row stays,
    # and Bob (who sees the first carrier) and Alice (the owner) may still open it.
    await world.messages.recall(BOB, shared.message_id)
    assert "not found" in await server.fails("get_forward_msg", 1404, id=res_id)
    assert len(await carriers(server)) == 2
    assert (await forwards.forward(BOB, res_id, **EXPANSION)).owner == ALICE
    await world.messages.recall(ALICE, first.message_id)
    with pytest.raises(ActionError):
        await forwards.forward(BOB, res_id, **EXPANSION)
    assert (await forwards.forward(ALICE, res_id, **EXPANSION)).owner == ALICE


async def test_a_refused_send_records_no_carrier(server: Running) -> None:
    _, res_id = await send_forward(server.app.world, ALICE, [normalized("x")], user_id=BOB)
    before = await carriers(server)
    await server.fails("send_group_msg", 1404, group_id=LOUNGE, message=f"[CQ:forward,id={res_id}]")
    assert await carriers(server) == before


# --- forwards shown with their nodes (parseMultMsg) --------------------------------------------


def with_nodes(res_id: str, nodes: list[dict[str, Any]]) -> dict[str, Any]:
    """A forward segment as NapCat's array form shows it in get_msg, history and lastestMsg."""
    return {"type": "forward", "data": {"id": res_id, "content": nodes}}


async def test_history_shows_forwards_with_their_nodes(server: Running) -> None:
    plain = await server.ok("send_group_msg", group_id=LOUNGE, message="before")
    sent = await server.ok(
        "send_group_forward_msg", group_id=LOUNGE, messages=[custom("in"), custom([custom("deep")])]
    )
    res_id = sent["res_id"]
    nodes = (await server.ok("get_forward_msg", id=res_id))["messages"]
    shared = await server.app.world.messages.send_group(
        BOB, LOUNGE, content(f"see [CQ:forward,id={res_id}]!")
    )
    page = (await server.ok("get_group_msg_history", group_id=LOUNGE, count=3))["messages"]
    assert [m["message_id"] for m in page] == [
        plain["message_id"],
        sent["message_id"],
        shared.message_id,
    ]
    assert page[0]["message"] == [{"type": "text", "data": {"text": "before"}}]
    assert page[1]["message"] == [with_nodes(res_id, nodes)]
    assert page[2]["message"] == [
        {"type": "text", "data": {"text": "see "}},
        with_nodes(res_id, nodes),
        {"type": "text", "data": {"text": "!"}},
    ]
    # Each message shows as get_msg shows it.
    for message in page:
        shown = await server.ok("get_msg", message_id=message["message_id"])
        assert message["message"] == shown["message"]
    private = await server.ok("send_private_forward_msg", user_id=ALICE, messages=[custom("p")])
    (last,) = (await server.ok("get_friend_msg_history", user_id=ALICE, count=1))["messages"]
    private_nodes = (await server.ok("get_forward_msg", id=private["res_id"]))["messages"]
    assert last["message"] == [with_nodes(private["res_id"], private_nodes)]


async def test_recent_contact_shows_forwards_with_their_nodes(server: Running) -> None:
    sent = await server.ok("send_private_forward_msg", user_id=ALICE, messages=[custom("hi")])
    nodes = (await server.ok("get_forward_msg", id=sent["res_id"]))["messages"]
    items = await server.ok("get_recent_contact", count=10)
    assert items[0]["peerUin"] == str(ALICE)
    assert items[0]["lastestMsg"]["message"] == [with_nodes(sent["res_id"], nodes)]
    assert all(
        "content" not in seg["data"] for i in items[1:] for seg in i["lastestMsg"]["message"]
    )


async def test_recent_contact_looks_forwards_up_only_when_one_is_shown(
    server: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = server.app.engine
    real_read: Callable[[TxnFn[Any]], Awaitable[Any]] = engine.read
    reads: list[object] = []

    async def counting_read(fn: TxnFn[Any]) -> Any:
        # The shared hub's follower (PostgreSQL) reads the event log on its own schedule.
        if "SharedHub" not in getattr(fn, "__qualname__", ""):
            reads.append(fn)
        return await real_read(fn)

    monkeypatch.setattr(engine, "read", counting_read)
    await server.ok("get_recent_contact", count=10)
    plain = len(reads)
    await server.ok("send_group_forward_msg", group_id=LAB, messages=[custom("x")])
    await server.ok("send_group_msg", group_id=LOUNGE, message="plain again")
    reads.clear()
    await server.ok("get_recent_contact", count=10)
    assert len(reads) == plain + 1  # the one carrier among the items: one more read
    reads.clear()
    await server.ok("get_recent_contact", count=1)  # the lounge only: no carrier, no lookup
    assert len(reads) == plain


# --- migrating a world from schema version 2 ---------------------------------------------------


async def schema_version(running: Running) -> int:
    """The highest migration applied to a running server's store."""
    row = await running.app.engine.read(
        lambda txn: txn.fetchone("SELECT MAX(version) FROM schema_migrations")
    )
    assert row is not None
    return int(row[0])


async def v2_bundle(engine: Engine, owner: int, text: str) -> str:
    """Store a one-node bundle as Catnest at schema version 2 did."""
    res_id, at = new_res_id(), int(time.time())
    node = {"user_id": owner, "nickname": "Old", "time": at, "content": [text_segment(text)]}
    body = orjson.dumps({"nodes": [node], "depth": 1, "group_id": None}).decode()
    await engine.write(
        "v2 bundle", lambda txn: forwards_sql.insert_forward_txn(txn, res_id, owner, body, at)
    )
    return res_id


def text_segment(text: str) -> dict[str, Any]:
    """A canonical text segment."""
    return {"type": "text", "data": {"text": text}}


async def v2_message(engine: Engine, conv_id: int, sender: int, message: Content) -> int:
    """Store a message as Catnest at schema version 2 did: with no forward_carriers row."""
    at = int(time.time())

    async def txn_fn(txn: Txn) -> int:
        conv = await conv_sql.get_conv_txn(txn, conv_id)
        assert conv is not None
        message_id = await next_id_txn(txn, "message")
        seq = conv.last_seq + 1
        await msg_sql.insert_message_txn(
            txn,
            message_id=message_id,
            nt_msg_id=nt_msg_id(at, message_id),
            conv_id=conv_id,
            seq=seq,
            sender_uin=sender,
            chat_type=conv.chat_type,
            temp_group_id=None,
            time=at,
            segments_json=orjson.dumps(list(message.segments)).decode(),
            raw_message=message.raw_message,
        )
        await conv_sql.advance_conv_txn(
            txn,
            conv_id,
            seq=seq,
            message_id=message_id,
            at=at,
            chat_type=conv.chat_type,
            temp_group_id=None,
        )
        return message_id

    return await engine.write("v2 message", txn_fn)


class _LocalHub(Hub):
    """A process-local hub standing in for SharedHub in a world older than the event log."""

    def __init__(self, engine: object) -> None:
        super().__init__()

    async def start(self) -> None:
        """Nothing to follow."""

    async def stop(self) -> None:
        """Nothing to stop."""


async def test_migration_0003_backfills_the_carriers_of_a_version_2_world(
    start_server: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A world built by a Catnest that knew migrations 0001 and 0002 only.
    for engine_module in (catnest.store.sqlite, catnest.store.postgres):
        monkeypatch.setattr(
            engine_module, "load_migrations", lambda dialect: migrate.load_migrations(dialect)[:2]
        )
    # A version-2 world has no shared event log (migration 0005): that Catnest's hub was local;
    # nor a write-lock row (0006): that Catnest's PostgreSQL writes took none.
    monkeypatch.setattr(catnest.app, "SharedHub", _LocalHub)
    monkeypatch.setattr(catnest.store.postgres, "_TAKE_WRITE_LOCK", "SELECT 1")
    old = await start_server()
    assert await schema_version(old) == 2
    world, engine = old.app.world, old.app.engine
    await world.messages.send_private(ALICE, BOB, content("hi"))
    pair = await world.conversations.private_conv(ALICE, BOB)
    lounge = await world.conversations.group_conv(BOT, LOUNGE)
    assert pair is not None
    shared = await v2_bundle(engine, ALICE, "shared")
    secret = await v2_bundle(engine, ALICE, "secret")
    other = await v2_bundle(engine, BOB, "other")
    first = await v2_message(engine, pair.conv_id, ALICE, content(f"[CQ:forward,id={shared}]"))
    reshared = await v2_message(
        engine,
        lounge.conv_id,
        BOB,
        content(f"see [CQ:forward,id={shared}] and [CQ:forward,id={shared}]!"),
    )
    hidden = await v2_message(engine, pair.conv_id, ALICE, content(f"[CQ:forward,id={secret}]"))
    both = await v2_message(
        engine, lounge.conv_id, BOB, content(f"[CQ:forward,id={other}][CQ:forward,id={shared}]")
    )
    # The secret's CQ code typed as text (so escaped) in the lounge carries nothing.
    typed = [text_segment(f"[CQ:forward,id={secret}]")]
    await v2_message(engine, lounge.conv_id, BOB, Content(typed, raw_message(typed)))
    await stop(old)
    monkeypatch.undo()

    new = await start_server()
    assert await schema_version(new) == len(migrate.load_migrations("sqlite"))
    assert await carriers(new) == {
        (shared, first),
        (shared, reshared),
        (secret, hidden),
        (other, both),
        (shared, both),
    }
    # The bot owns none of them: it opens what the lounge carries, and not the secret.
    for res_id, text in ((shared, "shared"), (other, "other")):
        got = await new.ok("get_forward_msg", id=res_id)
        assert [m["raw_message"] for m in got["messages"]] == [text]
    await new.fails("get_forward_msg", 1404, id=secret)
    page = (await new.ok("get_group_msg_history", group_id=LOUNGE, count=3))["messages"]
    assert [m["message_id"] for m in page[:2]] == [reshared, both]
    assert page[0]["message"][1]["data"]["content"][0]["raw_message"] == "shared"
    # New carriers are recorded as they are sent.
    again = await new.ok("send_group_msg", group_id=LAB, message=f"[CQ:forward,id={other}]")
    assert (other, again["message_id"]) in await carriers(new)
