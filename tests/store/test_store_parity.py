"""SQLite and PostgreSQL give identical answers to every read action on the same world.

The world is built twice, once per store, by the same script through the world API and the
HTTP API, under a clock set by hand and with request flags and forward ids made deterministic;
then every read action is called over HTTP on both servers and the envelopes compared.

A world built once on SQLite and moved to PostgreSQL with `catnest world export` / `import`
must answer the same way too, and go on from where the original left off.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import pytest

import catnest.world.forwards
import catnest.world.requests
from catnest.app import App
from catnest.store.postgres import PostgresEngine
from catnest.world.world import World
from tests.conftest import (
    ALICE,
    BOB,
    BOT,
    CAROL,
    DAVE,
    LAB,
    LOUNGE,
    PostgresSchemas,
    Running,
    content,
    make_config,
)
from tests.tools.conftest import ok, run_cli

T0 = 1_700_000_000
EVE = 20005


class Clock:
    """The world's clock, moved by hand."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now

    def tick(self, seconds: int = 7) -> None:
        self.now += seconds


def _counters(monkeypatch: pytest.MonkeyPatch) -> None:
    """Request flags and forward res_ids from counters, restarted for each world built."""
    flags, res_ids = itertools.count(1), itertools.count(1)
    monkeypatch.setattr(catnest.world.requests, "new_flag", lambda: f"{next(flags):016x}")
    monkeypatch.setattr(catnest.world.forwards, "new_res_id", lambda: f"res{next(res_ids):029d}")


async def _serve(config_dir: Path, store: dict[str, Any], clock: Clock) -> App:
    """Start a Catnest on `store` (the demo world if it is empty) whose world runs on `clock`."""
    app = App(make_config(config_dir, store=store))
    app.world = World(app.engine, app.world.hub, clock=clock)
    await app.start()
    return app


async def _build(
    config_dir: Path, store: dict[str, Any], monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> App:
    """Start a Catnest with the demo world on `store` and run the script against it."""
    _counters(monkeypatch)
    app = await _serve(config_dir, store, clock)
    async with aiohttp.ClientSession() as session:
        await _script(app.world, _running(app, session), clock)
    return app


def _running(app: App, session: aiohttp.ClientSession) -> Running:
    return Running(app, session, f"http://127.0.0.1:{app.http_servers[0].port}", {})


async def _script(world: World, bot: Running, clock: Clock) -> None:
    clock.tick()
    await world.accounts.create_account(EVE, "Eve", sex="female", age=30)
    for text in ("morning", "anyone here?", "[CQ:face,id=14] coffee"):
        clock.tick()
        await world.messages.send_group(BOB, LOUNGE, content(text))
    clock.tick()
    hello = await bot.ok(
        "send_private_msg", user_id=ALICE, message="hello Alice", idempotency_key="hello-1"
    )
    clock.tick()
    await world.messages.send_private(
        ALICE, BOT, content(f"[CQ:reply,id={hello['message_id']}]hi back")
    )
    clock.tick()
    group = await bot.ok("send_group_msg", group_id=LAB, message="lab notes [CQ:at,qq=20002]")
    clock.tick()
    oops = await world.messages.send_group(DAVE, LAB, content("oops, wrong group"))
    clock.tick(3)
    await world.messages.recall(DAVE, oops.message_id)
    clock.tick()
    await bot.ok("set_friend_remark", user_id=BOB, remark="Bobby B")
    await bot.ok("set_group_card", group_id=LAB, user_id=DAVE, card="Dave (lab)")
    await bot.ok("set_group_admin", group_id=LAB, user_id=DAVE, enable=True)
    await bot.ok("set_group_special_title", group_id=LAB, user_id=BOB, special_title="elder")
    await bot.ok("set_group_ban", group_id=LOUNGE, user_id=CAROL, duration=600)
    clock.tick()
    await bot.ok("set_msg_emoji_like", message_id=group["message_id"], emoji_id="76")
    await world.reactions.react(BOB, group["message_id"], "76", True)
    await world.reactions.react(DAVE, group["message_id"], "128512", True)
    clock.tick()
    await bot.ok("set_essence_msg", message_id=group["message_id"])
    clock.tick()
    await bot.ok("send_like", user_id=ALICE, times=3)
    await world.profiles.send_like(ALICE, BOT, 2)
    clock.tick()
    await world.requests.request_friend(EVE, BOT, "let's be friends")
    await world.requests.request_join_group(EVE, LAB, "let me in")
    clock.tick()
    await bot.ok(
        "send_group_forward_msg",
        group_id=LAB,
        messages=[
            {"type": "node", "data": {"user_id": ALICE, "nickname": "A", "content": "first"}},
            {"type": "node", "data": {"user_id": BOB, "nickname": "B", "content": "second"}},
        ],
    )
    clock.tick()
    await world.messages.send_private(CAROL, BOT, content("are you still there?"))
    await world.messages.send_private(DAVE, BOT, content("temp chat via the lab"), via_group=LAB)
    clock.tick()
    await bot.ok("mark_private_msg_as_read", user_id=ALICE)
    clock.tick()
    await bot.ok("set_group_kick", group_id=LAB, user_id=DAVE)


async def _reads(bot: Running) -> dict[str, Any]:
    """Every read action's envelope (errors included), keyed by the call."""
    calls: list[tuple[str, dict[str, Any]]] = [
        ("get_login_info", {}),
        ("get_friend_list", {}),
        ("get_friends_with_category", {}),
        ("get_group_list", {}),
        ("get_group_system_msg", {}),
        ("get_recent_contact", {"count": 100}),
        ("get_recent_contact", {"count": 2}),
    ]
    for uin in (BOT, ALICE, BOB, CAROL, DAVE, EVE, 29999):
        calls.append(("get_stranger_info", {"user_id": uin}))
    for uin in (ALICE, BOB, CAROL, DAVE, EVE):
        calls.append(("get_friend_msg_history", {"user_id": uin, "count": 50}))
        calls.append(("get_friend_msg_history", {"user_id": uin, "count": 2, "message_seq": 0}))
    for group_id in (LOUNGE, LAB, 39999):
        calls.append(("get_group_info", {"group_id": group_id}))
        calls.append(("get_group_member_list", {"group_id": group_id}))
        calls.append(("get_group_msg_history", {"group_id": group_id, "count": 50}))
        calls.append(("get_essence_msg_list", {"group_id": group_id}))
        for uin in (BOT, ALICE, BOB, DAVE):
            calls.append(("get_group_member_info", {"group_id": group_id, "user_id": uin}))
    for message_id in range(1, 22):  # the script stores 18 messages
        calls.append(("get_msg", {"message_id": message_id}))
        calls.append(("get_emoji_likes", {"message_id": message_id, "emoji_id": "76"}))
        calls.append(("get_forward_msg", {"message_id": message_id}))
    answers: dict[str, Any] = {}
    for action, params in calls:
        body = await bot.call(action, **params)
        answers[f"{action} {sorted(params.items())}"] = body
    return answers


@pytest.fixture
async def both(
    tmp_path: Path, postgres: PostgresSchemas, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Running, Running]]:
    apps = [
        await _build(tmp_path / "sqlite", {}, monkeypatch, Clock()),
        await _build(
            tmp_path / "postgres", {"url": await postgres.world_url()}, monkeypatch, Clock()
        ),
    ]
    running = [_running(app, aiohttp.ClientSession()) for app in apps]
    yield running[0], running[1]
    for r in running:
        await r.session.close()
        await r.app.stop()


async def test_every_read_action_answers_the_same_on_both_stores(
    both: tuple[Running, Running],
) -> None:
    on_sqlite, on_postgres = both
    assert on_sqlite.app.engine.dialect == "sqlite"
    assert on_postgres.app.engine.dialect == "postgres"
    sqlite_answers = await _reads(on_sqlite)
    postgres_answers = await _reads(on_postgres)
    # The world is not trivial: the script's messages, reactions and requests are all there.
    recent = sqlite_answers[f"get_recent_contact {[('count', 100)]}"]["data"]
    assert len(recent) >= 6
    succeeded = [k for k, v in sqlite_answers.items() if v["retcode"] == 0]
    assert len(succeeded) > 60
    assert any(k.startswith("get_forward_msg") for k in succeeded)
    assert sqlite_answers[f"get_group_system_msg {[]}"]["data"]["join_requests"]
    for key, answer in sqlite_answers.items():
        assert postgres_answers[key] == answer, key


# --- a world moved from SQLite to PostgreSQL by the world tools --------------------------------


@dataclass
class Moved:
    """One world, built on SQLite and imported into PostgreSQL, served from both."""

    original: Running
    copy: Running
    clock: Clock
    world_file: bytes

    def records(self, kind: str) -> list[dict[str, Any]]:
        """The world file's records of type `kind`."""
        found: list[dict[str, Any]] = []
        for line in self.world_file.splitlines():
            record = msgspec.json.decode(line)
            if record["type"] == kind:
                found.append(record)
        return found


@pytest.fixture
async def moved(
    tmp_path: Path, postgres: PostgresSchemas, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Moved]:
    clock = Clock()
    source = tmp_path / "sqlite"
    app = await _build(source, {}, monkeypatch, clock)
    await app.stop()
    url = await postgres.new_url()
    config = tmp_path / "postgres.toml"
    config.write_text(f'[store]\nurl = "{url}"\n')

    def move() -> bytes:
        world_file = ok(run_cli("world", "export", "--data-dir", source)).stdout_bytes
        ok(run_cli("world", "import", "--config", config, "-", input=world_file))
        return world_file

    # The CLI runs an event loop of its own: not on this one.
    world_file = await asyncio.to_thread(move)
    # Both served as they are now, on one clock: only the store differs.
    apps = [
        await _serve(source, {}, clock),
        await _serve(tmp_path / "postgres", {"url": url}, clock),
    ]
    running = [_running(app, aiohttp.ClientSession()) for app in apps]
    yield Moved(running[0], running[1], clock, world_file)
    for r in running:
        await r.session.close()
        await r.app.stop()


async def _on_both(moved: Moved, action: str, **params: Any) -> dict[str, Any]:
    """Call `action` on the original and on the copy; both envelopes must be the same."""
    answers = [await r.call(action, **params) for r in (moved.original, moved.copy)]
    assert answers[0] == answers[1], (action, params)
    assert answers[0]["retcode"] == 0, answers[0]
    return answers[0]


async def test_a_world_moved_to_postgres_answers_as_the_original(moved: Moved) -> None:
    original, copy = moved.original, moved.copy
    assert original.app.engine.dialect == "sqlite"
    assert copy.app.engine.dialect == "postgres"
    sqlite_answers = await _reads(original)
    postgres_answers = await _reads(copy)
    # The world came across whole, not as an empty one failing alike on both sides.
    succeeded = [k for k, v in sqlite_answers.items() if v["retcode"] == 0]
    assert len(succeeded) > 60
    assert sqlite_answers[f"get_group_system_msg {[]}"]["data"]["join_requests"]
    for key, answer in sqlite_answers.items():
        assert postgres_answers[key] == answer, key

    # Writing goes on where the original left off: the same ids and seqs on both, message ids
    # past the imported ones, and a new conversation past the imported conv_ids (a sequence on
    # PostgreSQL, which the import must have moved).
    conv_ids = [c["conv_id"] for c in moved.records("conversation")]
    assert not any(c["user_b"] == EVE for c in moved.records("conversation"))
    moved.clock.tick()
    sent = await _on_both(moved, "send_group_msg", group_id=LAB, message="after the move")
    assert sent["data"]["message_id"] == max(m["message_id"] for m in moved.records("message")) + 1
    # A send the original already took is answered with its message, not sent again.
    (send_key,) = moved.records("send_key")
    again = await _on_both(
        moved, "send_private_msg", user_id=ALICE, message="hello Alice", idempotency_key="hello-1"
    )
    assert again["data"]["message_id"] == send_key["message_id"]
    moved.clock.tick()
    (request,) = [r for r in moved.records("friend_request") if r["requester"] == EVE]
    await _on_both(moved, "set_friend_add_request", flag=request["flag"], approve=True)
    moved.clock.tick()
    first = await _on_both(moved, "send_private_msg", user_id=EVE, message="welcome, Eve")
    assert first["data"]["message_id"] == sent["data"]["message_id"] + 1
    for running in (original, copy):
        thanks = await running.app.world.messages.send_private(EVE, BOT, content("thanks!"))
        assert (thanks.conv_id, thanks.seq) == (max(conv_ids) + 1, 2)
    # A sequence left behind would still end in the same ids, the engine retrying each
    # duplicate key with the next value: only the retries give it away.
    assert isinstance(copy.app.engine, PostgresEngine)
    assert copy.app.engine.retries == 0
    moved.clock.tick()
    sqlite_answers = await _reads(original)
    postgres_answers = await _reads(copy)
    got = sqlite_answers[f"get_msg {[('message_id', first['data']['message_id'])]}"]["data"]
    assert got["real_seq"] == "1" and got["message_seq"] == first["data"]["message_id"], got
    for key, answer in sqlite_answers.items():
        assert postgres_answers[key] == answer, key
