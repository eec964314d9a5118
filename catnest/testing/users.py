"""Virtual users a test acts as, and what they expect of the bot.

A user speaks through the world directly (the server runs in the test's process), so each
helper returns once its effect is committed and the bot's events are on their way. Waiting is
on the bot's messages as the world stores them: whatever library or language the bot is
written in, what it sends is what a user would see.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from catnest.limits import Limits
from catnest.onebot.content import Content
from catnest.onebot.segments import normalize_message, plain_text, raw_message
from catnest.store.records import CHAT_GROUP, Account, StoredMessage

if TYPE_CHECKING:
    from catnest.testing.server import CatnestServer

Expectation = str | re.Pattern[str] | Callable[["Reply"], object] | None
Where = tuple[str, int]  # ("private", user uin) or ("group", group id)


@dataclass(frozen=True, slots=True)
class Reply:
    """A message the bot sent, as users see it."""

    message_id: int
    text: str  # the text segments, joined
    raw_message: str  # the CQ-code form
    segments: list[dict[str, Any]]
    group_id: int | None  # None for a private message
    user_id: int | None  # the user a private message went to
    time: int

    @classmethod
    def of(cls, message: StoredMessage, bot_id: int) -> Reply:
        """The reply form of a stored message."""
        segments = orjson.loads(message.segments_json)
        peer = None
        if message.chat_type != CHAT_GROUP and message.pair is not None:
            a, b = message.pair
            peer = b if a == bot_id else a
        group_id = message.group_id if message.chat_type == CHAT_GROUP else None
        return cls(
            message.message_id,
            plain_text(segments),
            message.raw_message,
            segments,
            group_id,
            peer,
            message.time,
        )

    @property
    def where(self) -> Where:
        """The conversation it went to."""
        if self.group_id is not None:
            return ("group", self.group_id)
        return ("private", self.user_id or 0)

    def matches(self, expected: Expectation) -> bool:
        """Whether this reply is what `expected` describes (text in `text` or `raw_message`,
        a regex searched in either, or a predicate on the reply)."""
        if expected is None:
            return True
        if isinstance(expected, str):
            return expected in self.text or expected in self.raw_message
        if isinstance(expected, re.Pattern):
            return bool(expected.search(self.text) or expected.search(self.raw_message))
        return bool(expected(self))

    def __str__(self) -> str:
        return self.raw_message


class NoReply(AssertionError):
    """The bot did not send what a test expected in time; the message says what it did."""


def content(
    message: str | list[dict[str, Any]] | dict[str, Any],
    *,
    auto_escape: bool = False,
    private: bool = False,
    limits: Limits | None = None,
) -> Content:
    """World content from a CQ string, one segment or a segment list, checked as a bot's
    message would be (an @ is dropped in a private chat, as NapCat does)."""
    segments = normalize_message(message, auto_escape=auto_escape, limits=limits or Limits())
    if private:
        segments = [s for s in segments if s["type"] != "at"] or segments
    return Content(segments, raw_message(segments))


def describe(where: Where, names: dict[int, str] | None = None) -> str:
    """A conversation for people: `the private chat with Alice (20001)` or `group 30001`."""
    kind, ident = where
    if kind == "group":
        return f"group {ident}"
    name = (names or {}).get(ident)
    return f"the private chat with {name} ({ident})" if name else f"the private chat with {ident}"


def _wanted(expected: Expectation) -> str:
    if expected is None:
        return "any message"
    if isinstance(expected, re.Pattern):
        return f"a message matching /{expected.pattern}/"
    if isinstance(expected, str):
        return f"a message containing {expected!r}"
    return f"a message satisfying {getattr(expected, '__name__', repr(expected))}"


def _uin(who: int | VirtualUser) -> int:
    return who.uin if isinstance(who, VirtualUser) else int(who)


class VirtualUser:
    """A virtual user in the test's world. Create one with `await server.user(...)`."""

    def __init__(self, server: CatnestServer, account: Account) -> None:
        self.server = server
        self.uin = account.uin
        self.nickname = account.nickname
        self._world = server.world
        self._limits = server.app.config.limits
        self._where: Where = ("private", self.uin)
        # Index into the server's list of bot messages: what this user has been shown, per
        # conversation, and where its latest action happened (for failure messages).
        self._read: dict[Where, int] = {}
        self._start = server.sent_count
        self._last_action = self._start

    def __repr__(self) -> str:
        return f"<VirtualUser {self.nickname} ({self.uin})>"

    def _acted(self, where: Where | None = None) -> None:
        if where is not None:
            self._where = where
        self._last_action = self.server.sent_count

    # --- acting ------------------------------------------------------------------------------

    async def say(
        self,
        message: str | list[dict[str, Any]] | dict[str, Any],
        *,
        to: int | VirtualUser | None = None,
        auto_escape: bool = False,
    ) -> int:
        """Send a private message (to the bot unless `to` names someone); its message_id."""
        target = self.server.bot_id if to is None else _uin(to)
        said = content(message, auto_escape=auto_escape, private=True, limits=self._limits)
        sent = await self._world.messages.send_private(self.uin, target, said)
        self._acted(("private", self.uin))
        return sent.message_id

    async def say_in_group(
        self,
        group_id: int,
        message: str | list[dict[str, Any]] | dict[str, Any],
        *,
        auto_escape: bool = False,
    ) -> int:
        """Send a message into a group this user belongs to; its message_id."""
        sent = await self._world.messages.send_group(
            self.uin, group_id, content(message, auto_escape=auto_escape, limits=self._limits)
        )
        self._acted(("group", group_id))
        return sent.message_id

    async def recall(self, message_id: int) -> None:
        """Recall a message (one's own within two minutes, or as a group admin)."""
        await self._world.messages.recall(self.uin, message_id)
        self._acted()

    async def poke(
        self, target: int | VirtualUser | None = None, *, group_id: int | None = None
    ) -> None:
        """Poke the bot (or `target`), privately or in `group_id`."""
        target_id = self.server.bot_id if target is None else _uin(target)
        await self._world.pokes.poke(self.uin, target_id, group_id)
        self._acted()

    async def react(self, message_id: int, emoji_id: str | int = 76, *, add: bool = True) -> int:
        """React to a message with a face id (76, a thumbs-up, by default); the new count."""
        count = await self._world.reactions.react(self.uin, message_id, str(emoji_id), add)
        self._acted()
        return count

    async def add_friend(
        self, other: int | VirtualUser | None = None, *, request: bool = False, comment: str = ""
    ) -> str | None:
        """Befriend the bot (or `other`) at once; with `request`, send a friend request
        instead (the bot hears `request.friend`) and return its flag."""
        target = self.server.bot_id if other is None else _uin(other)
        self._acted()
        if request:
            return await self._world.requests.request_friend(self.uin, target, comment)
        await self._world.friends.make_friends(self.uin, target)
        return None

    async def join_group(
        self, group_id: int, *, request: bool = False, comment: str = ""
    ) -> str | None:
        """Join a group at once; with `request`, ask to join (its owner and admins, bots
        among them, hear `request.group`) and return the request's flag."""
        self._acted()
        if request:
            return await self._world.requests.request_join_group(self.uin, group_id, comment)
        await self._world.groups.add_member(group_id, self.uin)
        return None

    async def leave_group(self, group_id: int) -> None:
        """Leave a group."""
        await self._world.groups.leave(self.uin, group_id)
        self._acted()

    # --- expecting ---------------------------------------------------------------------------

    def _where_for(self, group_id: int | None, private: bool) -> Where:
        if group_id is not None:
            return ("group", group_id)
        if private:
            return ("private", self.uin)
        return self._where

    async def expect_reply(
        self,
        contains: Expectation = None,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - a test states how long it will wait
        group_id: int | None = None,
        private: bool = False,
    ) -> Reply:
        """Wait for the bot's next message to this user (or in `group_id`; by default where
        this user last spoke) that matches `contains`: text, a compiled regex or a predicate.

        Messages of that conversation that do not match are passed over. On timeout, fails
        with what the bot did send meanwhile and its recent OneBot traffic.
        """
        __tracebackhide__ = True
        where = self._where_for(group_id, private)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = self._scan(where, contains)
            if found is not None:
                return found
            remaining = deadline - loop.time()
            if remaining <= 0 or not await self.server.wait_for_sent(self._read[where], remaining):
                raise NoReply(self._failure(where, contains, timeout))

    async def expect_no_reply(
        self,
        *,
        timeout: float = 1.0,  # noqa: ASYNC109 - see expect_reply
        group_id: int | None = None,
        private: bool = False,
    ) -> None:
        """Fail if the bot sends anything to this user (or in the group) within `timeout`."""
        __tracebackhide__ = True
        try:
            reply = await self.expect_reply(timeout=timeout, group_id=group_id, private=private)
        except NoReply:
            return
        raise AssertionError(f"expected no reply in {describe(reply.where)}, got {reply}")

    def _scan(self, where: Where, expected: Expectation) -> Reply | None:
        sent = self.server.sent
        start = self._read.get(where, self._start)
        for index in range(start, len(sent)):
            reply = sent[index]
            if reply.where != where:
                continue
            self._read[where] = index + 1
            if reply.matches(expected):
                return reply
        self._read[where] = len(sent)
        return None

    def _failure(self, where: Where, expected: Expectation, timeout: float) -> str:
        server = self.server
        names = {**server.names, self.uin: self.nickname}
        lines = [
            f"bot {server.bot_id} sent no reply in {describe(where, names)} ({_wanted(expected)})"
            f" within {timeout:g} s.",
            server.connection_summary(),
            f"What the bot sent since {self.nickname}'s last action:",
        ]
        since = server.sent[self._last_action :]
        lines += [f"  in {describe(r.where, names)}: {r.raw_message!r}" for r in since] or [
            "  (nothing)"
        ]
        lines += server.traffic_summary()
        return "\n".join(lines)
