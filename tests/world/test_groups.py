"""Group roles and moderation: the owner outranks admins, admins outrank members, and nobody
acts on an equal or higher rank; mutes follow the world's clock."""

from __future__ import annotations

from catnest.world.events import AdminChanged, MemberBanned, MemberLeft
from catnest.world.group_admin import MAX_BAN_SECONDS
from tests.world.conftest import ALICE, BOB, BOT, CAROL, DAVE, GROUP, T0, Cast, refused, text


async def test_kicks_follow_rank(cast: Cast) -> None:
    admin = cast.world.group_admin
    await refused(admin.kick(CAROL, GROUP, BOT), 1401, "only the owner or an admin")
    await refused(admin.kick(BOB, GROUP, ALICE), 1401, "owner or another admin")
    await refused(admin.kick(BOB, GROUP, BOB), 1400, "yourself")
    await refused(admin.kick(BOB, GROUP, DAVE), 1404, "not a member")
    await admin.kick(BOB, GROUP, CAROL, reject_add_request=True)
    (left,) = cast.published(MemberLeft)
    assert left.kicked and left.operator_id == BOB and left.audience == (BOT,)
    # Kicked with reject_add_request: asking to come back is refused.
    await refused(cast.world.requests.request_join_group(CAROL, GROUP), 1401, "may not rejoin")


async def test_mutes_follow_rank_and_the_clock(cast: Cast) -> None:
    world = cast.world
    applied = await world.group_admin.ban(BOB, GROUP, CAROL, 10**9)
    assert applied == MAX_BAN_SECONDS  # cut to QQ's 30 days, as QQ does
    member = await world.groups.member(GROUP, CAROL)
    assert member is not None and member.shut_up_until == T0 + MAX_BAN_SECONDS
    await refused(world.group_admin.ban(CAROL, GROUP, BOT, 60), 1401)
    await world.group_admin.ban(BOB, GROUP, CAROL, 0)  # lifted
    bans = cast.published(MemberBanned)
    assert [b.duration for b in bans] == [MAX_BAN_SECONDS, 0]
    # Lifting a mute that already ran out announces nothing.
    await world.group_admin.ban(BOB, GROUP, CAROL, 5)
    cast.clock.advance(6)
    await world.group_admin.ban(BOB, GROUP, CAROL, 0)
    assert len(cast.published(MemberBanned)) == 3
    await world.messages.send_group(CAROL, GROUP, text("the mute ran out"))


async def test_only_the_owner_appoints_admins_and_titles(cast: Cast) -> None:
    admin = cast.world.group_admin
    await refused(admin.set_admin(BOB, GROUP, CAROL, True), 1401, "only the owner")
    await admin.set_admin(ALICE, GROUP, CAROL, True)
    await admin.set_admin(ALICE, GROUP, CAROL, True)  # no change, no event
    assert [e.user_id for e in cast.published(AdminChanged)] == [CAROL]
    await refused(admin.set_title(BOB, GROUP, CAROL, "VIP"), 1401, "only the owner")
    await admin.set_title(ALICE, GROUP, CAROL, "VIP")
    member = await cast.world.groups.member(GROUP, CAROL)
    assert member is not None and member.title == "VIP"


async def test_cards_are_ones_own_or_a_lower_ranks(cast: Cast) -> None:
    admin = cast.world.group_admin
    await admin.set_card(CAROL, GROUP, CAROL, "me")
    await admin.set_card(BOB, GROUP, CAROL, "by the admin")
    await refused(admin.set_card(CAROL, GROUP, BOB, "no"), 1401)
    await refused(admin.set_card(BOB, GROUP, ALICE, "no"), 1401)


async def test_the_owner_dismisses_and_everyone_leaves(cast: Cast) -> None:
    world = cast.world
    await refused(world.groups.leave(ALICE, GROUP), 1400, "dismiss it")
    await world.groups.leave(ALICE, GROUP, dismiss=True)
    (left,) = cast.published(MemberLeft)
    assert left.user_id == BOT and left.kicked and left.audience == (BOT,)
    await refused(world.groups.group(GROUP), 1404, "dismissed")
    assert await world.groups.groups_of(BOT) == []
