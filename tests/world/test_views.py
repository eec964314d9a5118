"""The recent-contacts cache follows exactly the viewers a committed write names."""

from __future__ import annotations

from catnest.world.events import WorldRewritten
from tests.world.conftest import ALICE, BOB, BOT, CAROL, GROUP, Cast, text


async def test_answers_are_dropped_for_exactly_the_viewers_a_write_touches(cast: Cast) -> None:
    views = cast.world.recent_views
    for viewer in (BOT, ALICE):
        views.put(viewer, "k", b"old", views.generation(viewer))
    # A message in the bot's chat with Alice: the bot (a bot hears of it) loses its answer;
    # Alice's stays, since no bot view of hers is involved (users are never cached).
    await cast.world.messages.send_private(ALICE, BOT, text("new"))
    assert views.get(BOT, "k") is None and views.get(ALICE, "k") == b"old"
    # Reactions and mutes change no recent-contacts list.
    views.put(BOT, "k", b"again", views.generation(BOT))
    sent = await cast.world.messages.send_group(BOB, GROUP, text("x"))
    views.put(BOT, "k", b"after", views.generation(BOT))
    await cast.world.reactions.react(ALICE, sent.message_id, "76", True)
    await cast.world.group_admin.ban(BOB, GROUP, CAROL, 60)
    assert views.get(BOT, "k") == b"after"
    # Read marks and remarks tell the views through ViewChanged.
    conv = await cast.world.conversations.group_conv(BOT, GROUP)
    await cast.world.conversations.mark_read(BOT, conv)
    assert views.get(BOT, "k") is None
    views.put(BOT, "k", b"x", views.generation(BOT))
    await cast.world.friends.set_remark(BOT, ALICE, "Al")
    assert views.get(BOT, "k") is None


async def test_a_read_racing_a_write_is_not_kept(cast: Cast) -> None:
    views = cast.world.recent_views
    before = views.generation(BOT)
    await cast.world.messages.send_private(ALICE, BOT, text("while reading"))
    views.put(BOT, "k", b"read before the write", before)
    assert views.get(BOT, "k") is None


async def test_a_rewritten_world_drops_everything(cast: Cast) -> None:
    views = cast.world.recent_views
    views.put(BOT, "k", b"x", views.generation(BOT))
    cast.world.hub.publish(WorldRewritten())
    assert views.get(BOT, "k") is None
