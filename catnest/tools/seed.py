"""`catnest world seed`: users, groups, friendships and messages at a chosen scale.

A seed is planned first (`seed_plan.py`), from one `random.Random` (so `--seed` repeats it
exactly), then written through the store's bulk loaders: the people, groups and conversations in one
transaction, the messages in transactions of `CHUNK_MESSAGES` (so a server using the same
database keeps getting its turn), and finally the users' read marks. Seeded messages go only
into conversations the seed opens, so an existing world keeps every conversation it had.
"""

from __future__ import annotations

import functools
import itertools
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass

from catnest.store import accounts as accounts_sql
from catnest.store import bulk
from catnest.store.bulk import BulkMessage
from catnest.store.engine import Engine, Txn
from catnest.store.ids import MAX_MESSAGE_ID
from catnest.store.records import Account
from catnest.tools import ToolError
from catnest.tools.chatter import Chatter
from catnest.tools.progress import Meter, NoMeter
from catnest.tools.seed_plan import Conv, Plan, SeedRequest, make_plan, private_share, span
from catnest.world.accounts import MAX_UIN, MIN_UIN
from catnest.world.shared_hub import announce_rewrite_txn

# The plan (everything but the messages) is built in memory first: about 2.5 KB a user with
# their friendships and chats, so these caps keep a seed under about half a gigabyte.
MAX_USERS = 200_000
MAX_GROUPS = 20_000
# Messages per write transaction: big enough to amortise the commit and each conversation's
# update, small enough that a server sharing the database waits a few seconds at most.
CHUNK_MESSAGES = 50_000
# Where new uins and group ids start by default (after anything already there).
USER_FLOOR, GROUP_FLOOR = 100_000, 600_000_000


@dataclass(frozen=True, slots=True)
class SeedReport:
    """What a seed added and how long it took."""

    users: range
    groups: range
    friendships: int
    memberships: int
    conversations: int
    messages: int
    social_seconds: float
    message_seconds: float

    @property
    def rate(self) -> float:
        """Messages stored per second."""
        return self.messages / self.message_seconds if self.message_seconds > 0 else 0.0


def check_request(request: SeedRequest) -> None:
    """Refuse counts and ids out of range, naming the option."""
    for option, value, most in (
        ("--users", request.users, MAX_USERS),
        ("--groups", request.groups, MAX_GROUPS),
        ("--messages", request.messages, MAX_MESSAGE_ID),
    ):
        if not 0 <= value <= most:
            raise ToolError(f"{option}: {value} is not between 0 and {most:,}")
    for option, first, count in (
        ("--first-uin", request.first_uin, request.users),
        ("--first-group", request.first_group, request.groups),
    ):
        if first is not None and not (first >= MIN_UIN and first + count - 1 <= MAX_UIN):
            raise ToolError(f"{option}: {first} is not a QQ number (5 digits or more)")
    if not MIN_UIN <= request.bot <= MAX_UIN:
        raise ToolError(f"--bot: {request.bot} is not a QQ number (5 digits or more)")
    if request.messages and not request.users and not request.groups:
        raise ToolError("--messages: nobody to send them: seed some --users or --groups too")


async def seed_world(
    engine: Engine, request: SeedRequest, meter: Meter | None = None
) -> SeedReport:
    """Add the requested users, groups and messages to the world in `engine`."""
    check_request(request)
    meter = meter or NoMeter()
    began = time.perf_counter()
    first_uin, first_group = await engine.read(lambda txn: _id_ranges_txn(txn, request))
    rng = random.Random(request.seed)
    chatter = Chatter(rng)
    plan = make_plan(request, first_uin, first_group, rng, chatter)
    if request.messages and not (plan.private_convs or plan.group_convs):
        raise ToolError(
            "--messages: the new users have no chat to send them in (none befriended the"
            " bot or each other): add --groups, or more --users"
        )
    meter.stage("people and groups", plan.rows, "rows")
    await engine.write("seed_social", lambda txn: _social_txn(txn, request, plan, meter))
    social_seconds = time.perf_counter() - began

    began = time.perf_counter()
    meter.stage("messages", request.messages, "messages")
    talk = _Talk(request, plan, rng, chatter, meter)
    left = request.messages
    while left:
        chunk = min(left, CHUNK_MESSAGES)
        await engine.write("seed_messages", functools.partial(talk.load_txn, count=chunk))
        left -= chunk
    marks = _read_marks(request, plan, rng)
    await engine.write("seed_read_marks", lambda txn: bulk.bulk_mark_read_txn(txn, marks))
    # A server may be following this world: what it derived from it is stale now.
    await engine.write("seed_announce", announce_rewrite_txn)
    return SeedReport(
        users=range(first_uin, first_uin + request.users),
        groups=range(first_group, first_group + request.groups),
        friendships=len(plan.friendships) // 2,
        memberships=len(plan.members),
        conversations=len(plan.group_convs) + len(plan.private_convs),
        messages=request.messages,
        social_seconds=social_seconds,
        message_seconds=time.perf_counter() - began,
    )


# --- ids -------------------------------------------------------------------------------------


async def _id_ranges_txn(txn: Txn, request: SeedRequest) -> tuple[int, int]:
    """The first new uin and group id, checked against what exists."""
    largest_uin, largest_group, largest_message = await bulk.largest_ids_txn(txn)
    first_uin = request.first_uin
    if first_uin is None:
        first_uin = max(USER_FLOOR, largest_uin + 1)
        if first_uin <= request.bot < first_uin + request.users:
            first_uin = request.bot + 1
    first_group = request.first_group
    if first_group is None:
        first_group = max(GROUP_FLOOR, largest_group + 1)
    await _check_free_txn(txn, request, first_uin, first_group)
    if request.messages > MAX_MESSAGE_ID - largest_message:
        raise ToolError(
            f"--messages: only {MAX_MESSAGE_ID - largest_message:,} message ids are left"
            " in this world"
        )
    return first_uin, first_group


async def _check_free_txn(txn: Txn, request: SeedRequest, first_uin: int, first_group: int) -> None:
    last_uin, last_group = first_uin + request.users - 1, first_group + request.groups - 1
    if last_uin > MAX_UIN or last_group > MAX_UIN:
        raise ToolError("--first-uin / --first-group: the ids would pass the largest QQ number")
    if request.users and first_uin <= request.bot <= last_uin:
        raise ToolError(
            f"--bot {request.bot} falls among the new users' uins {first_uin}..{last_uin}"
        )
    taken = await bulk.accounts_between_txn(txn, first_uin, last_uin, 4)
    if request.users and taken:
        raise ToolError(
            f"uin collision: the new users would be {first_uin}..{last_uin}, but"
            f" {_listed(taken)} already exist: pick another --first-uin (or leave it out)"
        )
    groups = await bulk.groups_between_txn(txn, first_group, last_group, 4)
    if request.groups and groups:
        raise ToolError(
            f"group id collision: the new groups would be {first_group}..{last_group}, but"
            f" {_listed(groups)} already exist: pick another --first-group (or leave it out)"
        )
    bot = await accounts_sql.get_account_txn(txn, request.bot)
    if bot is not None and not bot.is_bot:
        raise ToolError(f"--bot {request.bot}: that account exists and is not a bot")


def _listed(ids: list[int]) -> str:
    shown = ", ".join(str(i) for i in ids[:3])
    return f"{shown} and more" if len(ids) > 3 else shown


# --- writing ---------------------------------------------------------------------------------


async def _social_txn(txn: Txn, request: SeedRequest, plan: Plan, meter: Meter) -> None:
    first_uin = plan.accounts[0].uin if plan.accounts else USER_FLOOR
    first_group = plan.groups[0].group_id if plan.groups else GROUP_FLOOR
    # Again inside the write: a server may have created something since the plan was made.
    await _check_free_txn(txn, request, first_uin, first_group)
    accounts = list(plan.accounts)
    if await accounts_sql.get_account_txn(txn, request.bot) is None:
        born = request.now - span(request.messages) - 400 * 86400
        accounts.append(Account(request.bot, request.bot_nickname, True, "unknown", 0, "", born))
    await bulk.bulk_accounts_txn(txn, accounts)
    meter.advance(len(plan.accounts))
    await bulk.bulk_friendships_txn(txn, plan.friendships)
    meter.advance(len(plan.friendships))
    conv_ids = await bulk.bulk_groups_txn(txn, plan.groups)
    for group, conv in zip(plan.groups, plan.group_convs, strict=True):
        conv.conv_id = conv_ids[group.group_id]
    meter.advance(len(plan.groups))
    await bulk.bulk_members_txn(txn, plan.members)
    meter.advance(len(plan.members))
    private_ids = await bulk.bulk_private_convs_txn(txn, plan.private)
    for conv_id, conv in zip(private_ids, plan.private_convs, strict=True):
        conv.conv_id = conv_id
    meter.advance(len(plan.private))


class _Talk:
    """The messages of a seed, in time order, produced a chunk at a time."""

    def __init__(
        self, request: SeedRequest, plan: Plan, rng: random.Random, chatter: Chatter, meter: Meter
    ) -> None:
        self.request, self.rng, self.chatter, self.meter = request, rng, chatter, meter
        self.total = request.messages
        self.span = span(request.messages)
        self.start = request.now - self.span
        self.done = 0
        # One weighted draw over every conversation: private chats share `share` of the
        # messages, groups the rest.
        share = private_share(plan, len(plan.private_convs))
        self.convs = [*plan.private_convs, *plan.group_convs]
        weights = [
            *_scaled([c.weight for c in plan.private_convs], share),
            *_scaled([c.weight for c in plan.group_convs], 1 - share),
        ]
        self.cum_weights = list(itertools.accumulate(weights))
        # Each private chat's first message, at a random point of the history.
        starts = rng.sample(range(self.total), len(plan.private_convs)) if self.total else []
        self.firsts = sorted(zip(starts, plan.private_convs, strict=True), key=lambda f: f[0])
        self.next_first = 0

    async def load_txn(self, txn: Txn, count: int) -> None:
        """Store the next `count` messages in one transaction."""
        first_id = await bulk.peek_message_id_txn(txn)
        summary = await bulk.bulk_messages_txn(txn, self._take(count, first_id))
        if summary.first_message_id not in (first_id, None):
            # Replies quote ids computed from first_id; raising rolls this chunk back.
            raise ToolError(
                f"another writer took message ids {first_id}.. while the seed stored them:"
                " seed again when it is done"
            )

    def _picks(self, count: int) -> list[Conv]:
        picks = self.rng.choices(self.convs, cum_weights=self.cum_weights, k=count)
        end = self.done + count
        while self.next_first < len(self.firsts) and self.firsts[self.next_first][0] < end:
            index, conv = self.firsts[self.next_first]
            picks[index - self.done] = conv
            self.next_first += 1
        return picks

    def _take(self, count: int, first_id: int) -> Iterator[BulkMessage]:
        random_, bot, message = self.rng.random, self.request.bot, self.chatter.message
        start, span, total = self.start, self.span, self.total
        step = 4096
        for k, conv in enumerate(self._picks(count)):
            speakers = conv.speakers
            if not conv.group:
                sender = speakers[random_() < 0.5]
            elif random_() < 0.08:
                sender = bot
            else:
                sender = speakers[int(random_() * len(speakers))]
            segments, raw = message(sender, speakers, group=conv.group, bot=bot, recent=conv.recent)
            yield BulkMessage(
                conv.conv_id, sender, start + ((self.done + k) * span) // total, segments, raw
            )
            conv.recent.append(first_id + k)
            if k % step == step - 1:
                self.meter.advance(step)
        self.meter.advance(count % step)
        self.done += count


def _scaled(weights: list[float], share: float) -> list[float]:
    total = sum(weights)
    return [w * share / total for w in weights] if total else []


def _read_marks(request: SeedRequest, plan: Plan, rng: random.Random) -> list[tuple[int, int]]:
    """Users have read 4 in 5 of their chats to the end; bots only what they answered."""
    random_ = rng.random
    return [
        (uin, conv.conv_id)
        for conv in (*plan.private_convs, *plan.group_convs)
        for uin in conv.speakers
        if uin != request.bot and random_() < 0.8
    ]
