"""The pytest plugin's fixture and helpers, driven by a raw WebSocket bot."""

from __future__ import annotations

import re

import aiohttp
import pytest

from catnest.onebot.errors import ActionError
from catnest.testing import CatnestServer, NoReply, Reply
from tests.scripted_bot import ScriptedBot


async def test_say_and_expect_reply(catnest_server: CatnestServer, raw_bot: ScriptedBot) -> None:
    alice = await catnest_server.user(nickname="Alice")
    assert alice.nickname == "Alice" and alice.uin >= 20001
    message_id = await alice.say("ping")
    event = await raw_bot.wait_for(lambda e: e.get("message_id") == message_id)
    assert event["user_id"] == alice.uin and event["sender"]["nickname"] == "Alice"
    reply = await alice.expect_reply(contains="pong")
    assert isinstance(reply, Reply)
    assert reply.text == "pong" and reply.raw_message == "pong" and str(reply) == "pong"
    assert reply.user_id == alice.uin and reply.group_id is None
    assert reply.segments == [{"type": "text", "data": {"text": "pong"}}]
    assert catnest_server.sent == [reply]


async def test_expectations_pass_over_what_does_not_match(
    catnest_server: CatnestServer, raw_bot: ScriptedBot
) -> None:
    user = await catnest_server.user()
    assert user.nickname == f"User {user.uin}"
    for word in ("one", "two", "three", "four"):
        await user.say(f"echo {word}")
    assert (await user.expect_reply(contains="two")).text == "two"
    assert (await user.expect_reply(contains=re.compile(r"^th"))).text == "three"
    assert (await user.expect_reply(contains=lambda r: r.text.endswith("r"))).text == "four"
    await user.expect_no_reply(timeout=0.2)
    await user.say([{"type": "text", "data": {"text": "echo [segments]"}}])
    assert (await user.expect_reply()).text == "[segments]"
    await user.say("echo [CQ:face,id=1]", auto_escape=True)
    assert (await user.expect_reply()).text == "[CQ:face,id=1]"


async def test_groups(catnest_server: CatnestServer, raw_bot: ScriptedBot) -> None:
    alice = await catnest_server.user("Alice")
    bob = await catnest_server.user("Bob", friend=False)
    group_id = await catnest_server.group(alice, bob, name="Lab")
    members = await catnest_server.world.groups.members(group_id, alice.uin)
    assert {m.account.uin: m.role for m in members} == {
        alice.uin: "owner",
        bob.uin: "member",
        catnest_server.bot_id: "member",
    }
    await bob.say_in_group(group_id, "ping")
    reply = await bob.expect_reply(contains="pong")
    assert reply.group_id == group_id and reply.user_id is None
    # Each user has their own view: Alice sees the same reply in the group.
    assert (await alice.expect_reply(group_id=group_id)).message_id == reply.message_id
    # Bob's private chat with the bot is another conversation.
    with pytest.raises(NoReply):
        await bob.expect_reply(private=True, timeout=0.1)
    owned = await catnest_server.group(alice, name="Bot's", bot_role="owner")
    owner = await catnest_server.world.groups.group(owned)
    assert owner.owner_uin == catnest_server.bot_id
    admin_group = await catnest_server.group(alice, bob, owner=bob, bot_role="admin")
    bot_member = await catnest_server.world.groups.member(admin_group, catnest_server.bot_id)
    assert bot_member is not None and bot_member.role == "admin"
    without = await catnest_server.group(alice, bot_role=None)
    assert await catnest_server.world.groups.member(without, catnest_server.bot_id) is None


async def test_recall_poke_and_react_reach_the_bot(
    catnest_server: CatnestServer, raw_bot: ScriptedBot
) -> None:
    user = await catnest_server.user()
    message_id = await user.say("take this back")
    await user.recall(message_id)
    recall = await raw_bot.wait_for(lambda e: e.get("notice_type") == "friend_recall")
    assert recall["message_id"] == message_id
    await user.poke()
    poke = await raw_bot.wait_for(lambda e: e.get("sub_type") == "poke")
    assert poke["user_id"] == user.uin and poke["target_id"] == catnest_server.bot_id
    group_id = await catnest_server.group(user)
    said = await user.say_in_group(group_id, "like me")
    assert await user.react(said) == 1
    assert await user.react(said, add=False) == 0
    await user.poke(group_id=group_id)
    in_group = await raw_bot.wait_for(
        lambda e: e.get("sub_type") == "poke" and e.get("group_id") == group_id
    )
    assert in_group["user_id"] == user.uin


async def test_friends_and_joining(catnest_server: CatnestServer, raw_bot: ScriptedBot) -> None:
    stranger = await catnest_server.user("Stranger", friend=False)
    with pytest.raises(ActionError, match="not a friend"):
        await stranger.say("hello?")
    await stranger.add_friend()
    await stranger.say("ping")
    assert (await stranger.expect_reply()).text == "pong"
    shy = await catnest_server.user("Shy", friend=False)
    flag = await shy.add_friend(request=True, comment="hi bot")
    request = await raw_bot.wait_for(lambda e: e.get("request_type") == "friend")
    assert request["flag"] == flag and request["comment"] == "hi bot"
    await shy.add_friend(stranger)
    assert await catnest_server.world.friends.friend(shy.uin, stranger.uin) is not None

    group_id = await catnest_server.group(bot_role="owner")
    await shy.join_group(group_id)
    joined = await raw_bot.wait_for(lambda e: e.get("notice_type") == "group_increase")
    assert joined["user_id"] == shy.uin
    flag = await stranger.join_group(group_id, request=True, comment="me too")
    asked = await raw_bot.wait_for(lambda e: e.get("request_type") == "group")
    assert asked["flag"] == flag and asked["user_id"] == stranger.uin
    await shy.leave_group(group_id)
    left = await raw_bot.wait_for(lambda e: e.get("notice_type") == "group_decrease")
    assert left["user_id"] == shy.uin


async def test_a_missing_reply_says_what_the_bot_did(
    catnest_server: CatnestServer, raw_bot: ScriptedBot
) -> None:
    alice = await catnest_server.user("Alice")
    bob = await catnest_server.user("Bob")
    await alice.say("hello?")  # the bot does not answer this
    await bob.say("echo answered Bob instead")
    await bob.expect_reply()
    with pytest.raises(NoReply) as failure:
        await alice.expect_reply(contains="hello back", timeout=0.2)
    text = str(failure.value)
    assert f"bot {catnest_server.bot_id} sent no reply" in text
    assert f"the private chat with Alice ({alice.uin})" in text
    assert "a message containing 'hello back'" in text and "0.2 s" in text
    assert "1 OneBot connection(s) open" in text
    assert f"in the private chat with Bob ({bob.uin}): 'answered Bob instead'" in text
    assert "OneBot traffic" in text
    with pytest.raises(NoReply, match=re.escape("matching /x+/")):
        await alice.expect_reply(contains=re.compile("x+"), timeout=0.05)
    with pytest.raises(AssertionError, match="expected no reply"):
        await bob.say("ping")
        await bob.expect_no_reply(timeout=5)


async def test_a_missing_bot_is_named(catnest_server: CatnestServer) -> None:
    user = await catnest_server.user()
    await user.say("anyone?")
    with pytest.raises(NoReply) as failure:
        await user.expect_reply(timeout=0.05)
    text = str(failure.value)
    assert "NO OneBot connection open" in text and catnest_server.ws_url in text
    assert "(nothing)" in text
    with pytest.raises(AssertionError, match="did not connect"):
        await catnest_server.wait_for_bot(timeout=0.05)


@pytest.mark.catnest(bot_id=12345, bot_nickname="Tokened", token="s3cret")
async def test_marker_options(catnest_server: CatnestServer, raw_bot: ScriptedBot) -> None:
    assert catnest_server.bot_id == 12345
    user = await catnest_server.user()
    await user.say("ping")
    assert (await user.expect_reply()).text == "pong"
    async with aiohttp.ClientSession() as session:
        url = f"{catnest_server.http_url}/get_login_info"
        async with session.post(url, json={}) as resp:
            assert resp.status == 401
        async with session.post(url, json={}, headers={"Authorization": "Bearer s3cret"}) as resp:
            body = await resp.json()
        assert body["data"] == {"user_id": 12345, "nickname": "Tokened"}
        async with session.get(
            f"{catnest_server.web_url}/api/v1/info", params={"access_token": "s3cret"}
        ) as resp:
            assert (await resp.json())["bots"][0]["uin"] == 12345


@pytest.mark.catnest(message_format="string", demo=True, http=False, web=False)
async def test_more_marker_options(catnest_server: CatnestServer, raw_bot: ScriptedBot) -> None:
    user = await catnest_server.user()
    assert user.uin == 20005  # after the demo's users
    await user.say("ping")
    event = await raw_bot.wait_for(lambda e: e.get("user_id") == user.uin)
    assert event["message"] == "ping"
    with pytest.raises(RuntimeError, match="http=True"):
        _ = catnest_server.http_url
    with pytest.raises(RuntimeError, match="web=True"):
        _ = catnest_server.web_url
    assert catnest_server.traffic() == []


async def test_traffic_is_shown_when_recorded(catnest_server: CatnestServer) -> None:
    from catnest.onebot import envelope

    log = catnest_server.app.traffic
    assert log is not None
    log.record_action(
        catnest_server.bot_id,
        "send_private_msg",
        {"user_id": 1, "message": "x"},
        envelope.failed(1401, "not a friend"),
    )
    log.record_event(
        catnest_server.bot_id,
        {"post_type": "message", "message_type": "private", "raw_message": "ping"},
    )
    assert [e["kind"] for e in catnest_server.traffic()] == ["action", "event"]
    user = await catnest_server.user()
    with pytest.raises(NoReply) as failure:
        await user.expect_reply(timeout=0.01)
    text = str(failure.value)
    assert "bot called send_private_msg" in text and "failed 1401: not a friend" in text
    assert "bot was sent private event 'ping'" in text
