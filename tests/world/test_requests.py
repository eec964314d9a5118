"""Friend requests and group join requests / invitations, answered by flag."""

from __future__ import annotations

from catnest.world.events import FriendAdded, FriendRequested, GroupRequested, MemberJoined
from tests.world.conftest import ALICE, BOT, CAROL, DAVE, GROUP, Cast, refused


async def test_a_friend_request_reaches_its_target_and_is_answered_once(cast: Cast) -> None:
    world = cast.world
    flag = await world.requests.request_friend(DAVE, BOT, "hi")
    (asked,) = cast.published(FriendRequested)
    assert asked.flag == flag and asked.audience == (BOT,)
    await refused(world.requests.request_friend(DAVE, BOT), 1400, "already pending")
    await refused(world.requests.answer_friend_request(ALICE, flag, True), 1401, "addressed")
    await world.requests.answer_friend_request(BOT, flag, True, "Dave!")
    (added,) = cast.published(FriendAdded)
    assert {added.user_id, added.friend_id} == {DAVE, BOT}
    friend = await world.friends.friend(BOT, DAVE)
    assert friend is not None and friend.remark == "Dave!"
    await refused(world.requests.answer_friend_request(BOT, flag, True), 1400, "already handled")
    await refused(world.requests.answer_friend_request(BOT, "nope", True), 1404)


async def test_join_requests_go_to_managers_and_invitations_to_the_invitee(cast: Cast) -> None:
    world = cast.world
    flag = await world.requests.request_join_group(DAVE, GROUP, "let me in")
    (asked,) = cast.published(GroupRequested)
    assert asked.sub_type == "add" and asked.audience == ()  # the bot is no manager there
    await refused(world.requests.answer_group_request(CAROL, flag, True), 1401, "owner or an admin")
    await world.requests.answer_group_request(ALICE, flag, True)
    (joined,) = cast.published(MemberJoined)
    assert joined.user_id == DAVE and joined.sub_type == "approve"
    await world.groups.leave(DAVE, GROUP)
    invite = await world.requests.invite_to_group(CAROL, GROUP, DAVE)
    await refused(world.requests.answer_group_request(ALICE, invite, True), 1401, "addressed")
    await world.requests.answer_group_request(DAVE, invite, False)
    assert await world.groups.member(GROUP, DAVE) is None
