"""`catnest world export` / `import`: exact round trips, and refusals that change nothing."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

from catnest.tools import importer
from tests.conftest import ALICE, BOB, BOT, CAROL, DAVE, LAB, LOUNGE, Running, StartServer, stop
from tests.tools.conftest import Cli, export, ok, refused, run_cli, seed


async def _every_kind_of_record(running: Running) -> None:
    """Reactions, essence, a forward, a recall, requests, likes, a mute and a blocklist entry."""
    sent = await running.ok("send_group_msg", group_id=LOUNGE, message="essence material")
    await running.ok("set_msg_emoji_like", message_id=sent["message_id"], emoji_id="76")
    await running.ok("set_essence_msg", message_id=sent["message_id"])
    node = {"type": "node", "data": {"user_id": str(BOB), "nickname": "Bob", "content": "hi"}}
    await running.ok("send_group_forward_msg", group_id=LAB, messages=[node])
    oops = await running.ok("send_private_msg", user_id=ALICE, message="oops")
    await running.ok("delete_msg", message_id=oops["message_id"])
    await running.ok("send_like", user_id=ALICE, times=2)
    await running.ok("set_group_ban", group_id=LOUNGE, user_id=DAVE, duration=600)
    await running.ok("set_group_kick", group_id=LAB, user_id=DAVE, reject_add_request=True)
    await running.app.world.requests.request_friend(DAVE, BOT, "hello?")
    await running.app.world.requests.request_join_group(CAROL, LAB, "let me in")


async def _views(running: Running) -> list[Any]:
    """What a bot sees of the world: equal views, equal worlds."""
    return [
        await running.ok("get_recent_contact", count=1000),
        await running.ok("get_essence_msg_list", group_id=LOUNGE),
        await running.ok("get_group_msg_history", group_id=LAB, count=20),
        await running.ok("get_group_member_list", group_id=LOUNGE),
        await running.ok("get_friend_list"),
        await running.ok("get_group_system_msg"),
    ]


async def test_round_trip_is_exact(tmp_path: Path, start_server: StartServer) -> None:
    source, copy = tmp_path / "source", tmp_path / "copy"
    running = await start_server(source)
    await _every_kind_of_record(running)
    await stop(running)
    await asyncio.to_thread(seed, source, 20, 3, 500)
    running = await start_server(source)
    views = await _views(running)
    await stop(running)

    first = await asyncio.to_thread(export, source)
    (tmp_path / "world.jsonl").write_bytes(first)
    result = await asyncio.to_thread(
        run_cli, "world", "import", "--data-dir", copy, tmp_path / "world.jsonl"
    )
    assert "imported" in ok(result).stderr
    second = await asyncio.to_thread(export, copy)
    assert second == first
    types = {line.split(b'"type":"')[1].split(b'"')[0] for line in first.splitlines()}
    assert types >= {
        b"header", b"account", b"category", b"friendship", b"group", b"member", b"conversation",
        b"conversation_member", b"message", b"reaction", b"essence", b"forward",
        b"friend_request", b"group_request", b"like", b"blocklist",
    }  # fmt: skip
    # Same ids, same answers: a bot cannot tell the copy from the original.
    running = await start_server(copy)
    assert await _views(running) == views
    # And the copy goes on where the original left off.
    sent = await running.ok("send_private_msg", user_id=ALICE, message="after import")
    assert (
        sent["message_id"]
        == max(
            int(line.split(b'"message_id":')[1].split(b",")[0])
            for line in first.splitlines()
            if line.startswith(b'{"type":"message"')
        )
        + 1
    )


def test_standard_streams(tmp_path: Path, cli: Cli) -> None:
    seed(tmp_path / "a", 5, 1, 50)
    world = ok(cli("world", "export", "--data-dir", tmp_path / "a", "-o", "-")).stdout_bytes
    assert world.startswith(b'{"type":"header","format":"catnest-world","version":1,"schema":')
    ok(cli("world", "import", "--data-dir", tmp_path / "b", "-", input=world))
    assert export(tmp_path / "b") == world


def test_export_to_a_file(tmp_path: Path, cli: Cli) -> None:
    seed(tmp_path / "a", 5, 1, 50)
    target = tmp_path / "out" / "world.jsonl"
    target.parent.mkdir()
    result = ok(cli("world", "export", "--data-dir", tmp_path / "a", "-o", target))
    assert "exported" in result.stderr and result.stdout == ""
    assert target.read_bytes() == export(tmp_path / "a")
    assert [p.name for p in target.parent.iterdir()] == ["world.jsonl"]


def test_export_of_no_world(tmp_path: Path, cli: Cli) -> None:
    target = tmp_path / "world.jsonl"
    refused(cli("world", "export", "--data-dir", tmp_path / "none", "-o", target), "no world at")
    assert not target.exists() and not (tmp_path / "none").exists()
    assert list(tmp_path.iterdir()) == []


def test_import_refuses_a_world_that_is_there(tmp_path: Path, cli: Cli) -> None:
    seed(tmp_path / "a", 5, 1, 50)
    world = export(tmp_path / "a")
    refused(
        cli("world", "import", "--data-dir", tmp_path / "a", "-", input=world),
        "already holds a world (6 accounts)", "empty",
    )  # fmt: skip
    assert export(tmp_path / "a") == world


@pytest.fixture(scope="module")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    """The lines of a small world file: header, 6 accounts, ..., 40 messages."""
    data = tmp_path_factory.mktemp("small") / "data"
    seed(data, 5, 1, 40)
    return export(data).splitlines()


def _index(lines: list[bytes], kind: str, nth: int = 0) -> int:
    found = [i for i, line in enumerate(lines) if line.startswith(b'{"type":"%s"' % kind.encode())]
    return found[nth]


def _set(lines: list[bytes], i: int, name: str, value: bytes) -> list[bytes]:
    """Line `i` with field `name` (a number, null or string) set to the JSON `value`."""
    pattern = rb'"%s":(-?\d+|null|"[^"]*")' % name.encode()
    edited, count = re.subn(pattern, b'"%s":%s' % (name.encode(), value), lines[i], count=1)
    assert count == 1, (name, lines[i])
    return [*lines[:i], edited, *lines[i + 1 :]]


def _bad_inputs(lines: list[bytes]) -> dict[str, tuple[bytes, list[str]]]:
    """name -> (file, fragments of the error)."""
    msg = _index(lines, "message", 1)
    first_nt = re.search(rb'"nt_msg_id":(\d+)', lines[_index(lines, "message")])
    assert first_nt is not None
    conv = _index(lines, "conversation")
    category = _index(lines, "category")
    account = lines[1]
    at = f"line {msg + 1}: message"
    bad_segments = lines[msg].replace(b'"segments":[', b'"segments":[7,')
    cases: dict[str, tuple[list[bytes], list[str]]] = {
        "no header": (lines[1:], ["line 1: expected the header line first"]),
        "bad json": ([*lines[:3], b'{"type": "account",', *lines[4:]], ["line 4: not valid JSON"]),
        "blank line": ([*lines[:3], b"", *lines[3:]], ["line 4: empty line"]),
        "unknown type": (
            _set(lines, 1, "type", b'"frobnicate"'),
            ["line 2: type: unknown record type 'frobnicate'"],
        ),
        "wrong type": (
            _set(lines, 1, "uin", b'"10001"'), ["line 2: account: uin: expected `int`, got `str`"]
        ),
        "too small": (
            _set(lines, 1, "uin", b"5"), ["line 2: account: uin: expected `int` >= 10000"]
        ),
        "unknown field": (
            [*lines[:1], account.replace(b"{", b'{"colour":"red",', 1), *lines[2:]],
            ["line 2: account: colour: unknown field"],
        ),
        "missing field": (
            [*lines[:1], account.replace(b'"is_bot":true,', b""), *lines[2:]],
            ["line 2: account: is_bot: missing"],
        ),
        "types out of order": (
            [*lines[:category], *lines[category + 1 :], lines[category]],
            [f"line {len(lines)}: a 'category' record after 'message' records", "this order"],
        ),
        "repeated key": (
            [*lines[:2], account, *lines[2:]],
            ["line 3: account 10001 is repeated: account records must be sorted by uin"],
        ),
        "dangling reference": (
            _set(lines, msg, "sender_uin", b"99999"),
            [f"{at}: sender_uin 99999 is not an account defined earlier in the file"],
        ),
        "segment shape": (
            [*lines[:msg], bad_segments, *lines[msg + 1 :]],
            [f"{at}: segments[0]: expected `object`, got `int`"],
        ),
        "seq past the conversation": (
            _set(lines, msg, "seq", b"9999"), [at, "seq 9999 is past its conversation's last_seq"]
        ),
        # Only the database knows nt_msg_id is unique: its refusal names the line too.
        "refused by the database": (
            _set(lines, msg, "nt_msg_id", first_nt.group(1)),
            [f"{at}: the database refused it", "UNIQUE", "nt_msg_id"],
        ),
        "last message missing": (
            _set(lines, conv, "last_msg_id", b"99999"),
            [f"line {conv + 1}: conversation", "last_msg_id 99999 is not a message of the file"],
        ),
        "other format": (
            _set(lines, 0, "format", b'"other"'), ["line 1: format 'other' is not 'catnest-world'"]
        ),
        "future version": (
            _set(lines, 0, "version", b"2"), ["line 1: world file version 2 is not supported"]
        ),
        "future schema": (
            _set(lines, 0, "schema", b"99"),
            ["line 1: the file follows schema version 99, newer than"],
        ),
        "second header": ([*lines[:3], lines[0], *lines[3:]], ["line 4: a second header line"]),
        "empty": ([], ["empty input"]),
    }  # fmt: skip
    return {
        name: (b"\n".join(body) + (b"\n" if body else b""), fragments)
        for name, (body, fragments) in cases.items()
    }


BAD_CASES = [
    "no header", "bad json", "blank line", "unknown type", "wrong type", "too small",
    "unknown field", "missing field", "types out of order", "repeated key",
    "dangling reference", "segment shape", "seq past the conversation",
    "refused by the database", "last message missing", "other format", "future version",
    "future schema", "second header", "empty",
]  # fmt: skip


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_names_the_line_and_creates_nothing(
    tmp_path: Path, cli: Cli, small_world: list[bytes], case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small batches: the bad line comes after rows already inserted, which must roll back too.
    monkeypatch.setattr(importer, "BATCH_ROWS", 3)
    body, fragments = _bad_inputs(small_world)[case]
    (tmp_path / "bad.jsonl").write_bytes(body)
    target = tmp_path / "target"
    refused(cli("world", "import", "--data-dir", target, tmp_path / "bad.jsonl"), *fragments)
    assert not target.exists()


def test_bad_input_leaves_an_existing_database_as_it_was(
    tmp_path: Path, cli: Cli, small_world: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "BATCH_ROWS", 3)
    target = tmp_path / "target"
    ok(cli("world", "import", "--data-dir", target, "-", input=small_world[0] + b"\n"))
    empty = export(target)
    assert empty == small_world[0] + b"\n"
    body, fragments = _bad_inputs(small_world)["refused by the database"]
    refused(cli("world", "import", "--data-dir", target, "-", input=body), *fragments)
    assert export(target) == empty
    ok(cli("world", "import", "--data-dir", target, "-", input=b"\n".join(small_world) + b"\n"))
    assert export(target) == b"\n".join(small_world) + b"\n"


def test_missing_file(tmp_path: Path, cli: Cli) -> None:
    refused(
        cli("world", "import", "--data-dir", tmp_path / "t", tmp_path / "nope.jsonl"),
        "nope.jsonl", "does not exist",
    )  # fmt: skip
    assert not (tmp_path / "t").exists()
