"""The bulk loader leaves the world as consistent as sending each message would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest

from catnest.onebot.content import Content
from catnest.store import conversations as conv_sql
from catnest.store import groups as groups_sql
from catnest.store import messages as msg_sql
from catnest.store.bulk import BulkMessage, BulkSummary, bulk_messages_txn
from catnest.store.engine import Txn
from catnest.store.records import CHAT_FRIEND, CHAT_GROUP
from catnest.store.sqlite import SQLiteEngine
from catnest.world.hub import Hub
from catnest.world.messages import nt_msg_id
from catnest.world.world import World

BOT, ALICE, BOB, GROUP = 10001, 20001, 20002, 30001
T0 = 1_700_000_000


def _text(text: str) -> Content:
    return Content([{"type": "text", "data": {"text": text}}], text)


def _bulk(conv_id: int, sender: int, at: int, text: str) -> BulkMessage:
    segments = orjson.dumps([{"type": "text", "data": {"text": text}}]).decode()
    return BulkMessage(conv_id, sender, at, segments, text)


class Clock:
    """The world's clock, set by hand."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def world(tmp_path: Path, clock: Clock) -> AsyncIterator[World]:
    """A bot, two friends and a group, with one normal message in each conversation."""
    engine = SQLiteEngine(tmp_path / "world.db")
    await engine.start()
    w = World(engine, Hub(), clock=clock)
    await w.accounts.create_account(BOT, "Bot", is_bot=True)
    await w.accounts.create_account(ALICE, "Alice")
    await w.accounts.create_account(BOB, "Bob")
    await w.friends.make_friends(BOT, ALICE, remark_a="Ally")
    await w.groups.create_group(GROUP, "Lab", ALICE, [(BOT, "admin", ""), (BOB, "member", "B")])
    await w.messages.send_private(ALICE, BOT, _text("hi bot"))
    await w.messages.send_group(BOB, GROUP, _text("hello group"))
    yield w
    await engine.close()


async def _conv_ids(w: World) -> tuple[int, int]:
    private = await w.conversations.private_conv(BOT, ALICE)
    group = await w.conversations.group_conv(BOT, GROUP)
    assert private is not None
    return private.conv_id, group.conv_id


def _script(private: int, group: int) -> list[BulkMessage]:
    """25 messages (ids 3..27): the bot and Alice take turns in private (Alice speaks last,
    at 22), the group talks, the bot says something there at 12, and the group ends at 24."""
    rows: list[BulkMessage] = []
    for i in range(25):
        at = T0 + 10 + i
        if i % 3 == 1:
            sender = BOT if i % 2 else ALICE
            rows.append(_bulk(private, sender, at, f"private {i}"))
        else:
            sender = BOT if i == 12 else (BOB if i % 2 else ALICE)
            rows.append(_bulk(group, sender, at, f"group {i}"))
    return rows


async def _load(w: World, rows: list[BulkMessage], batch_size: int = 4) -> BulkSummary:
    return await w.engine.write(
        "bulk", lambda txn: bulk_messages_txn(txn, rows, batch_size=batch_size)
    )


def _expected_unread(rows: list[BulkMessage], conv_id: int, viewer: int, unread_before: int) -> int:
    """Messages after the viewer's own last one (sending marks read), else all plus before."""
    unread = unread_before
    for row in rows:
        if row.conv_id != conv_id:
            continue
        unread = 0 if row.sender_uin == viewer else unread + 1
    return unread


async def test_recent_contacts_history_and_unread_follow_the_bulk_load(world: World) -> None:
    private, group = await _conv_ids(world)
    rows = _script(private, group)
    summary = await _load(world, rows)

    assert summary.count == 25
    assert summary.first_message_id == 3  # two messages were sent normally first
    assert summary.last_message_id == 27
    newest_group, newest_private = summary.newest_by_conv[group], summary.newest_by_conv[private]
    assert newest_group == 27
    assert newest_private == 25  # script message 22

    async def read(txn: Txn) -> None:
        recent = await conv_sql.recent_contacts_txn(txn, BOT, 10)
        assert [e.conv_id for e in recent] == [group, private]
        top = recent[0].last
        assert top.message_id == newest_group
        assert top.raw_message == "group 24"
        assert orjson.loads(top.segments_json) == [{"type": "text", "data": {"text": "group 24"}}]
        assert top.nt_msg_id == nt_msg_id(T0 + 10 + 24, newest_group)
        assert top.chat_type == CHAT_GROUP
        assert top.seq == 1 + sum(1 for r in rows if r.conv_id == group)
        assert recent[1].last.raw_message == "private 22"
        assert recent[1].chat_type == CHAT_FRIEND
        assert recent[1].remark == "Ally"
        # The bot read the group up to its own message 12 (8 group messages follow); in private
        # it read up to its own message 19, then Alice wrote 22.
        assert recent[0].unread == _expected_unread(rows, group, BOT, 1) == 8
        assert recent[1].unread == _expected_unread(rows, private, BOT, 1) == 1
        alice = await conv_sql.recent_contacts_txn(txn, ALICE, 10)
        assert next(e for e in alice if e.conv_id == private).unread == 0

        page = await msg_sql.history_txn(txn, group, anchor_seq=None, count=5, older=True)
        group_rows = [r for r in rows if r.conv_id == group]
        assert [m.raw_message for m in page] == [r.raw_message for r in group_rows[-5:]]
        assert [m.seq for m in page] == list(range(top.seq - 4, top.seq + 1))
        first = await msg_sql.history_txn(txn, group, anchor_seq=None, count=2, older=False)
        assert [m.raw_message for m in first] == ["hello group", group_rows[0].raw_message]
        older = await msg_sql.history_txn(txn, group, anchor_seq=page[0].seq, count=3, older=True)
        assert [m.seq for m in older] == [page[0].seq - 2, page[0].seq - 1, page[0].seq]

        bob = await groups_sql.get_member_txn(txn, GROUP, BOB)
        assert bob is not None
        assert bob.last_sent_time == max(r.time for r in group_rows if r.sender_uin == BOB)

    await world.engine.read(read)


async def test_normal_sends_continue_after_a_bulk_load(world: World, clock: Clock) -> None:
    private, group = await _conv_ids(world)
    rows = _script(private, group)
    summary = await _load(world, rows, batch_size=1000)
    assert summary.last_message_id is not None

    clock.now = T0 + 50
    sent = await world.messages.send_group(BOB, GROUP, _text("after"))
    assert sent.message_id == summary.last_message_id + 1
    assert sent.seq == 2 + sum(1 for r in rows if r.conv_id == group)
    recent = await world.conversations.recent_contacts(BOT, 1)
    assert recent[0].last.message_id == sent.message_id

    again = await _load(world, [_bulk(private, ALICE, T0 + 100, "later")])
    assert again.first_message_id == sent.message_id + 1
    recent = await world.conversations.recent_contacts(BOT, 2)
    assert [e.last.raw_message for e in recent] == ["later", "after"]


async def test_a_failed_load_leaves_nothing_behind(world: World) -> None:
    private, group = await _conv_ids(world)
    before = await world.conversations.recent_contacts(BOT, 10)

    backwards = [_bulk(group, BOB, T0 + 5, "ok"), _bulk(group, BOB, T0 + 4, "earlier")]
    with pytest.raises(ValueError, match="time order"):
        await _load(world, backwards, batch_size=1)
    with pytest.raises(LookupError, match="999"):
        await _load(world, [_bulk(private, ALICE, T0 + 5, "x"), _bulk(999, ALICE, T0 + 5, "y")])

    assert await world.conversations.recent_contacts(BOT, 10) == before
    empty = await _load(world, [])
    assert empty == BulkSummary(0, None, None)
