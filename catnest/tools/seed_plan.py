"""The cast of a seed: who the new users are, who befriends whom, which groups exist with which
members, and which chats the messages will go to, all drawn from the seed's random generator
before anything is written."""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field

from catnest.store.bulk import BulkFriendship, BulkMember, BulkPrivateConv
from catnest.store.records import CHAT_FRIEND, CHAT_TEMP, Account, Group
from catnest.tools.chatter import Chatter

# QQ's default group size cap (groups.max_member_count); the bot takes one seat.
GROUP_CAPACITY = 200
# Spread of the seeded history: about one message every few seconds, at most 30 days.
SECONDS_PER_MESSAGE, MAX_SPAN, MIN_SPAN = 3, 30 * 86400, 3600
# How many earlier messages of a conversation a reply may quote.
REPLY_WINDOW = 8


@dataclass(frozen=True, slots=True)
class SeedRequest:
    """What to seed. None for `first_uin` / `first_group`: right after the ids in use."""

    users: int
    groups: int
    messages: int
    bot: int
    bot_nickname: str
    seed: int
    now: int
    first_uin: int | None = None
    first_group: int | None = None


@dataclass(slots=True)
class Conv:
    """A conversation messages are spread over."""

    speakers: tuple[int, ...]
    group: bool
    weight: float
    conv_id: int = 0
    # Ids of its latest messages: what a reply may quote.
    recent: deque[int] = field(default_factory=lambda: deque(maxlen=REPLY_WINDOW))


@dataclass(slots=True)
class Plan:
    """The whole seed but its messages, decided before anything is written."""

    accounts: list[Account] = field(default_factory=list)
    friendships: list[BulkFriendship] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    members: list[BulkMember] = field(default_factory=list)
    group_convs: list[Conv] = field(default_factory=list)
    private: list[BulkPrivateConv] = field(default_factory=list)
    private_convs: list[Conv] = field(default_factory=list)

    @property
    def rows(self) -> int:
        """Rows the plan writes before the messages (for the progress bar)."""
        return (
            len(self.accounts)
            + len(self.friendships)
            + len(self.groups)
            + len(self.members)
            + len(self.private)
        )


def span(messages: int) -> int:
    """Seconds between the first and the last seeded message."""
    return max(MIN_SPAN, min(MAX_SPAN, messages * SECONDS_PER_MESSAGE))


def make_plan(
    request: SeedRequest, first_uin: int, first_group: int, rng: random.Random, chatter: Chatter
) -> Plan:
    """Draw the seed's users, friendships, groups and chats, uins and group ids counting up from
    `first_uin` and `first_group`."""
    plan = Plan()
    start = request.now - span(request.messages)  # the first seeded message
    random_ = rng.random
    users = list(range(first_uin, first_uin + request.users))
    nicknames: dict[int, str] = {}
    for uin in users:
        nicknames[uin] = nick = chatter.nickname()
        born = start - 86400 * (30 + int(random_() * 300))
        plan.accounts.append(
            Account(uin, nick, False, chatter.sex(), chatter.age(), chatter.sign(), born)
        )
    nicknames[request.bot] = request.bot_nickname
    bot_friends = _friendships(request, plan, users, nicknames, start, rng, chatter)
    in_groups = _groups(request, plan, users, first_group, nicknames, start, rng, chatter)
    _private_convs(request, plan, users, bot_friends, in_groups, rng)
    return plan


def _friendships(
    request: SeedRequest,
    plan: Plan,
    users: list[int],
    nicknames: dict[int, str],
    start: int,
    rng: random.Random,
    chatter: Chatter,
) -> set[int]:
    """The bot befriends 9 users in 10; users befriend up to 3 others each."""
    random_, bot = rng.random, request.bot
    pairs: list[tuple[int, int]] = []
    bot_friends = {uin for uin in users if random_() < 0.9}
    pairs += [(bot, uin) for uin in users if uin in bot_friends]
    seen: set[tuple[int, int]] = set()
    for uin in users:
        for _ in range(int(random_() * 4)):
            other = users[int(random_() * len(users))]
            pair = (uin, other) if uin < other else (other, uin)
            if other != uin and pair not in seen:
                seen.add(pair)
                pairs.append(pair)
    for a, b in pairs:
        at = start - int(random_() * 30 * 86400)
        plan.friendships.append(BulkFriendship(a, b, chatter.remark(nicknames[b]), at))
        plan.friendships.append(BulkFriendship(b, a, chatter.remark(nicknames[a]), at))
    return bot_friends


def _groups(
    request: SeedRequest,
    plan: Plan,
    users: list[int],
    first_group: int,
    nicknames: dict[int, str],
    start: int,
    rng: random.Random,
    chatter: Chatter,
) -> dict[int, int]:
    """Groups of the bot and a heavy-tailed number of users; returns a group of each user."""
    random_, bot = rng.random, request.bot
    in_groups: dict[int, int] = {}
    for n in range(request.groups):
        group_id = first_group + n
        size = min(len(users), GROUP_CAPACITY - 1, int(rng.paretovariate(1.3) * 6))
        chosen = rng.sample(users, size)
        owner = bot if not chosen or random_() < 0.3 else chosen[0]
        created = start - 86400 * (1 + int(random_() * 60))
        plan.groups.append(Group(group_id, chatter.group_name(n + 1), owner, 200, False, created))
        bot_role = "owner" if owner == bot else ("admin" if random_() < 0.5 else "member")
        speakers = [bot]
        plan.members.append(BulkMember(group_id, bot, bot_role, "", "", created))
        for uin in chosen:
            role = "owner" if uin == owner else ("admin" if random_() < 0.08 else "member")
            joined = created + int(random_() * (start - created))
            card, title = chatter.card(nicknames[uin]), chatter.title()
            plan.members.append(BulkMember(group_id, uin, role, card, title, joined))
            speakers.append(uin)
            in_groups.setdefault(uin, group_id)
        weight = rng.paretovariate(1.2) * (len(speakers) ** 0.5)
        plan.group_convs.append(Conv(tuple(speakers), True, weight))
    return in_groups


def _private_convs(
    request: SeedRequest,
    plan: Plan,
    users: list[int],
    bot_friends: set[int],
    in_groups: dict[int, int],
    rng: random.Random,
) -> None:
    """Private chats that will get messages: the bot's first, then between users."""
    random_, bot = rng.random, request.bot
    with_bot: list[BulkPrivateConv] = []
    for uin in users:
        if uin in bot_friends:
            with_bot.append(BulkPrivateConv(bot, uin, CHAT_FRIEND))
        elif uin in in_groups and random_() < 0.3:
            # A stranger from a group writes to the bot: a temp chat (NT chatType 100).
            with_bot.append(BulkPrivateConv(bot, uin, CHAT_TEMP, in_groups[uin]))
    between = [
        BulkPrivateConv(f.owner_uin, f.friend_uin, CHAT_FRIEND)
        for f in plan.friendships
        if bot not in (f.owner_uin, f.friend_uin) and f.owner_uin < f.friend_uin
    ]
    rng.shuffle(with_bot)
    rng.shuffle(between)
    budget = _private_budget(request, plan, len(with_bot) + len(between))
    plan.private = (with_bot + between)[:budget]
    plan.private_convs = [Conv((c.a, c.b), False, rng.paretovariate(1.5)) for c in plan.private]


def _private_budget(request: SeedRequest, plan: Plan, candidates: int) -> int:
    # Every opened private chat gets at least one message, so open no more than the private
    # share of the messages.
    return min(candidates, round(request.messages * private_share(plan, candidates)))


def private_share(plan: Plan, private: int) -> float:
    """The share of the messages that go to private chats (`private` of them open)."""
    if not private:
        return 0.0
    return 0.4 if plan.group_convs else 1.0
