"""`catnest world seed`: consistent, repeatable worlds, seen through the real server."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson

from catnest.limits import Limits
from catnest.onebot.segments import normalize_message, raw_message
from tests.conftest import BOT, StartServer, stop
from tests.tools.conftest import NOW, Cli, export, refused, seed


def records(world_file: bytes) -> dict[str, list[dict[str, Any]]]:
    """The records of a world file by type."""
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in world_file.splitlines():
        record = orjson.loads(line)
        found[record["type"]].append(record)
    return found


def test_seed_reports_counts_and_rate(tmp_path: Path) -> None:
    out = seed(tmp_path / "data").stdout
    assert "seeded 600 messages in" in out
    assert "messages/s" in out
    assert "30 users (100000..100029), 4 groups (600000000..600000003), bot 10001" in out
    assert "--seed 3" in out


def test_seeded_world_is_consistent(tmp_path: Path) -> None:
    """Every invariant the world keeps when messages are sent one by one holds after a seed."""
    seed(tmp_path / "data")
    world = records(export(tmp_path / "data"))
    accounts = {a["uin"]: a for a in world["account"]}
    assert len(accounts) == 31 and accounts[BOT]["is_bot"]
    assert len(world["group"]) == 4
    members: dict[int, set[int]] = defaultdict(set)
    for m in world["member"]:
        members[m["group_id"]].add(m["uin"])
    assert all(BOT in uins for uins in members.values())
    assert sum(m["role"] == "owner" for m in world["member"]) == 4
    by_conv: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for message in world["message"]:
        by_conv[message["conv_id"]].append(message)
        # Stored as the world stores a sent message: normalised segments and their CQ string.
        segments = message["segments"]
        assert normalize_message(segments, auto_escape=False, limits=Limits()) == segments
        assert message["raw_message"] == raw_message(segments)
        assert message["nt_msg_id"] == (message["time"] << 32) | message["message_id"]
    assert len(world["message"]) == 600
    kinds = {s["type"] for m in world["message"] for s in m["segments"]}
    assert {"text", "face", "at", "reply"} <= kinds
    convs = {c["conv_id"]: c for c in world["conversation"]}
    for conv_id, messages in by_conv.items():
        conv = convs[conv_id]
        assert [m["seq"] for m in messages] == list(range(1, len(messages) + 1))
        assert conv["last_seq"] == len(messages)
        assert conv["last_msg_id"] == messages[-1]["message_id"]
        assert conv["last_time"] == messages[-1]["time"]
        ids = {m["message_id"] for m in messages}
        for m in messages:
            for s in m["segments"]:
                if s["type"] == "reply":  # quotes an earlier message of the same chat
                    assert int(s["data"]["id"]) in ids and int(s["data"]["id"]) < m["message_id"]
    # Every private chat the seed opened got messages; every group has its conversation.
    assert all(c["conv_id"] in by_conv for c in convs.values() if c["kind"] == 1)
    cursors = {(c["uin"], c["conv_id"]): c["read_seq"] for c in world["conversation_member"]}
    for conv_id, messages in by_conv.items():
        last_own: dict[int, int] = {}
        for m in messages:
            last_own[m["sender_uin"]] = m["seq"]
        for (uin, cid), read in cursors.items():
            if cid != conv_id:
                continue
            if uin == BOT:  # bots read by answering, nothing more
                assert read == last_own.get(BOT, 0)
            else:  # users read up to their own last message, or everything
                assert read in (last_own.get(uin, 0), convs[conv_id]["last_seq"])


async def test_recent_contacts_unread_and_history_over_http(
    tmp_path: Path, start_server: StartServer
) -> None:
    data = tmp_path / "data"
    await asyncio.to_thread(seed, data)
    world = records(await asyncio.to_thread(export, data))
    convs = {c["conv_id"]: c for c in world["conversation"]}
    by_id = {m["message_id"]: m for m in world["message"]}
    bot_convs = {c["conv_id"] for c in world["conversation_member"] if c["uin"] == BOT}
    running = await start_server(data)

    contacts = await running.ok("get_recent_contact", count=1000)
    visible = [c for c in convs.values() if c["conv_id"] in bot_convs and c["last_msg_id"]]
    assert len(contacts) == len(visible)
    times = [(int(c["msgTime"]), int(c["lastestMsg"]["message_id"])) for c in contacts]
    assert times == sorted(times, reverse=True)
    for contact in contacts:
        last = by_id[contact["lastestMsg"]["message_id"]]
        conv = convs[last["conv_id"]]
        assert conv["last_msg_id"] == last["message_id"]
        assert contact["msgId"] == str(last["nt_msg_id"])
        assert contact["lastestMsg"]["raw_message"] == last["raw_message"]
        # Unread: what came after the bot's own last message in that chat.
        after_bot = 0
        for m in sorted(
            (m for m in world["message"] if m["conv_id"] == conv["conv_id"]),
            key=lambda m: m["seq"],
        ):
            after_bot = 0 if m["sender_uin"] == BOT else after_bot + 1
        assert contact["unreadCnt"] == after_bot, contact
        if contact["chatType"] == 2:
            page = await running.ok(
                "get_group_msg_history", group_id=int(contact["peerUin"]), count=5
            )
        else:
            page = await running.ok(
                "get_friend_msg_history", user_id=int(contact["peerUin"]), count=5
            )
        assert page["messages"][-1]["message_id"] == last["message_id"]
    # Reading a chat clears its badge, as for any world.
    group = next(c for c in contacts if c["chatType"] == 2 and c["unreadCnt"])
    await running.ok("mark_group_msg_as_read", group_id=int(group["peerUin"]))
    again = await running.ok("get_recent_contact", count=1000)
    assert next(c for c in again if c["peerUin"] == group["peerUin"])["unreadCnt"] == 0


async def test_seed_into_a_served_world(tmp_path: Path, start_server: StartServer) -> None:
    """A world made by `catnest serve` (the demo) keeps its chats; the seed adds its own."""
    data = tmp_path / "data"
    running = await start_server(data)
    before = await running.ok("get_recent_contact", count=100)
    await stop(running)
    await asyncio.to_thread(seed, data, 10, 2, 200)
    running = await start_server(data)
    after = await running.ok("get_recent_contact", count=100)
    peers = {c["peerUin"] for c in after}
    assert {c["peerUin"] for c in before} <= peers
    assert len(after) > len(before)
    assert await running.ok("get_friend_list") and len(await running.ok("get_group_list")) == 4


async def test_seed_while_the_server_runs(tmp_path: Path, start_server: StartServer) -> None:
    """SQLite WAL: the server keeps serving, and sees the seeded world at once (no caches)."""
    data = tmp_path / "data"
    running = await start_server(data)
    before = await running.ok("get_recent_contact", count=1000)
    seeding = asyncio.create_task(asyncio.to_thread(seed, data, 20, 3, 20_000))
    sent = 0
    while not seeding.done():  # the server answers (and writes) all along
        await running.ok("send_private_msg", user_id=20001, message="still here")
        sent += 1
    await seeding
    assert sent > 0
    after = await running.ok("get_recent_contact", count=1000)
    assert len(after) > len(before)
    assert len(await running.ok("get_group_list")) == 2 + 3


def test_seed_is_repeatable(tmp_path: Path) -> None:
    seed(tmp_path / "a")
    seed(tmp_path / "b")
    assert export(tmp_path / "a") == export(tmp_path / "b")


def test_seed_adds_to_an_existing_world(tmp_path: Path, cli: Cli) -> None:
    data = tmp_path / "data"
    seed(data, 10, 2, 100)
    before = export(data).splitlines()
    out = seed(data, 10, 2, 100).stdout
    assert "10 users (100010..100019), 2 groups (600000002..600000003)" in out
    after = export(data).splitlines()
    # Nothing that was there changed: the seed only opens chats of its own.
    assert set(before) <= set(after)
    world = records(b"\n".join(after))
    assert len(world["account"]) == 21 and len(world["group"]) == 4
    assert len(world["message"]) == 200
    assert [m["message_id"] for m in world["message"]] == list(range(1, 201))


def test_uin_collision_is_refused_and_changes_nothing(tmp_path: Path, cli: Cli) -> None:
    data = tmp_path / "data"
    seed(data, 10, 2, 100)
    before = export(data)
    line = refused(
        cli("world", "seed", "--data-dir", data, "--users", "5", "--groups", "0",
            "--messages", "10", "--first-uin", "100008"),
        "uin collision", "100008, 100009", "--first-uin",
    )  # fmt: skip
    assert "100008..100012" in line
    refused(
        cli("world", "seed", "--data-dir", data, "--users", "0", "--groups", "1",
            "--messages", "0", "--first-group", "600000001"),
        "group id collision", "600000001",
    )  # fmt: skip
    refused(
        cli("world", "seed", "--data-dir", data, "--users", "1", "--groups", "0",
            "--messages", "0", "--bot", "100003"),
        "--bot 100003", "not a bot",
    )  # fmt: skip
    assert export(data) == before


def test_seed_a_different_bot(tmp_path: Path, cli: Cli) -> None:
    data = tmp_path / "data"
    seed(data, 5, 1, 50, "--bot", "10002")
    world = records(export(data))
    bots = [a["uin"] for a in world["account"] if a["is_bot"]]
    assert bots == [10002]
    assert all(
        any(m["uin"] == 10002 for m in world["member"] if m["group_id"] == g["group_id"])
        for g in world["group"]
    )


def test_messages_need_someone_to_send_them(tmp_path: Path, cli: Cli) -> None:
    refused(
        cli("world", "seed", "--data-dir", tmp_path / "data", "--users", "0", "--groups", "0",
            "--messages", "5"),
        "--messages", "nobody",
    )  # fmt: skip
    assert not (tmp_path / "data").exists()
    # With --seed 3, the one user befriends nobody: there is no chat to put messages in.
    refused(
        cli("world", "seed", "--data-dir", tmp_path / "data", "--users", "1", "--groups", "0",
            "--messages", "3", "--seed", "3"),
        "--messages", "no chat",
    )  # fmt: skip
    assert not (tmp_path / "data").exists()


def test_a_hundred_thousand_messages(tmp_path: Path) -> None:
    out = seed(tmp_path / "data", 300, 20, 100_000).stdout
    assert "seeded 100,000 messages" in out
    world = records(export(tmp_path / "data"))
    assert len(world["message"]) == 100_000
    assert world["message"][-1]["time"] == max(m["time"] for m in world["message"]) <= NOW
