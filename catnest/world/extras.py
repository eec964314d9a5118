"""Reactions, essence messages, pokes and merged forwards: what happens around messages.

A merged forward is a bundle of nodes stored under an opaque `res_id`, and a message whose only
segment is `forward{id: res_id}` carries it. The bundle's stored body is one JSON object:

    {"nodes": [{"user_id", "nickname", "time", "content", "message_id"?}, ...],
     "depth": 1.., "group_id": destination group or null,
     "source"?, "summary"?, "prompt"?, "news"?}

`content` is a canonical segment list; a nested forward is a `forward` segment pointing at
another bundle, so every bundle is a flat list and nesting is a walk over res_ids.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from catnest.onebot.cqcode import Segment
from catnest.onebot.errors import BadParams, NotFound, NotPermitted
from catnest.onebot.segments import raw_message
from catnest.store import accounts as accounts_sql
from catnest.store import conversations as conv_sql
from catnest.store import extras as extras_sql
from catnest.store import groups as groups_sql
from catnest.store import messages as msg_sql
from catnest.store.engine import Engine, Txn
from catnest.store.extras import EssenceEntry
from catnest.store.ids import MAX_MESSAGE_ID
from catnest.store.records import StoredMessage
from catnest.world.chat import CHAT_GROUP, Chat, Content
from catnest.world.events import EssenceChanged, Poked, ReactionChanged
from catnest.world.hub import Hub

# QQ face ids are small numbers and Unicode emoji go by code point: either way, digits.
_MAX_EMOJI_DIGITS = 10
# NapCat names a custom node's sender this when neither the node nor its parent gives a name.
DEFAULT_NODE_NICKNAME = "QQ用户"


@dataclass(frozen=True, slots=True)
class ForwardCard:
    """The texts of a merged forward's card (NapCat's `source`, `summary`, `prompt`, `news`)."""

    source: str | None = None
    summary: str | None = None
    prompt: str | None = None
    news: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ForwardNode:
    """One node of a bundle, ready to show.

    `nested` holds the nodes of the bundles that `segments` point at through `forward`
    segments, for those that were expanded (expansion stops at the depth and node budgets).
    """

    user_id: int
    nickname: str
    time: int
    message_id: int
    group_id: int | None
    segments: list[Segment]
    raw_message: str
    nested: dict[str, list[ForwardNode]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Forward:
    """A bundle with its nodes expanded for one viewer."""

    res_id: str
    owner: int
    created_at: int
    nodes: list[ForwardNode]


def canonical_emoji_id(emoji_id: str) -> str:
    """An emoji id as stored: decimal digits without leading zeros; 1400 naming `emoji_id`."""
    text = emoji_id.strip()
    if not text.isascii() or not text.isdigit() or len(text) > _MAX_EMOJI_DIGITS:
        raise BadParams(f"emoji_id: expected a face id or emoji code point, got {emoji_id!r}")
    if int(text) == 0:
        raise BadParams("emoji_id: required (0 is not an emoji)")
    return str(int(text))


def new_res_id() -> str:
    """A fresh opaque res_id: 32 base64url characters, never all digits (those are message ids)."""
    while True:
        res_id = secrets.token_urlsafe(24)
        if not res_id.isdigit():
            return res_id


class Extras:
    """Rules for reactions, essence messages, pokes and merged forwards."""

    def __init__(self, engine: Engine, hub: Hub, clock: Callable[[], float] = time.time) -> None:
        self._engine = engine
        self._hub = hub
        self._clock = clock
        # Chat holds no state of its own: a second instance shares the same store and hub.
        self._chat = Chat(engine, hub, clock)

    async def _visible_txn(self, txn: Txn, viewer: int, message_id: int) -> StoredMessage:
        message = await msg_sql.get_message_txn(txn, message_id)
        if message is None or not await conv_sql.is_conv_member_txn(txn, message.conv_id, viewer):
            raise NotFound(f"message {message_id} not found")
        if message.recalled_at is not None:
            raise NotFound(f"message {message_id} was recalled")
        return message

    async def _audience_txn(self, txn: Txn, message: StoredMessage) -> tuple[int, ...]:
        conv = await conv_sql.get_conv_txn(txn, message.conv_id)
        assert conv is not None
        return await self._chat.audience_txn(txn, conv)

    # --- reactions -------------------------------------------------------------------------

    async def react(self, user: int, message_id: int, emoji_id: str, add: bool) -> int:
        """Add or remove `user`'s emoji reaction on a message they can see; the new count.

        Adding twice changes nothing and publishes nothing; removing a reaction that is not
        there is 1400.
        """
        emoji = canonical_emoji_id(emoji_id)
        at = int(self._clock())

        async def txn_fn(txn: Txn) -> int:
            message = await self._visible_txn(txn, user, message_id)
            if add:
                changed = await extras_sql.add_reaction_txn(txn, message_id, emoji, user, at)
            else:
                changed = await extras_sql.remove_reaction_txn(txn, message_id, emoji, user)
                if not changed:
                    raise BadParams(
                        f"no such reaction: {user} has no emoji {emoji} on {message_id}"
                    )
            count = await extras_sql.reaction_count_txn(txn, message_id, emoji)
            if changed:
                audience = await self._audience_txn(txn, message)
                event = ReactionChanged(message, user, emoji, count, add, audience)
                txn.after_commit(lambda: self._hub.publish(event))
            return count

        return await self._engine.write("react", txn_fn)

    async def reactions(self, viewer: int, message_id: int) -> list[tuple[str, int]]:
        """(emoji_id, count) of the reactions on a message `viewer` can see."""

        async def txn_fn(txn: Txn) -> list[tuple[str, int]]:
            await self._visible_txn(txn, viewer, message_id)
            return await extras_sql.reaction_summary_txn(txn, message_id)

        return await self._engine.read(txn_fn)

    async def reaction_users(
        self, viewer: int, message_id: int, emoji_id: str, limit: int | None = None
    ) -> list[tuple[int, str]]:
        """(uin, nickname) of who reacted with `emoji_id`, earliest first."""
        emoji = canonical_emoji_id(emoji_id)

        async def txn_fn(txn: Txn) -> list[tuple[int, str]]:
            await self._visible_txn(txn, viewer, message_id)
            return await extras_sql.reaction_users_txn(txn, message_id, emoji, limit)

        return await self._engine.read(txn_fn)

    # --- essence messages ------------------------------------------------------------------

    async def set_essence(self, operator: int, message_id: int) -> None:
        """Make a group message essence: the owner or an admin, once."""
        await self._change_essence(operator, message_id, added=True)

    async def delete_essence(self, operator: int, message_id: int) -> None:
        """Remove a message from its group's essence messages: the owner or an admin."""
        await self._change_essence(operator, message_id, added=False)

    async def _change_essence(self, operator: int, message_id: int, *, added: bool) -> None:
        at = int(self._clock())

        async def txn_fn(txn: Txn) -> None:
            message = await self._visible_txn(txn, operator, message_id)
            if message.chat_type != CHAT_GROUP or message.group_id is None:
                raise BadParams(f"message {message_id} is not a group message")
            member = await groups_sql.get_member_txn(txn, message.group_id, operator)
            if member is None or member.role not in ("owner", "admin"):
                raise NotPermitted("only the group owner or an admin may change essence messages")
            is_essence = await extras_sql.is_essence_txn(txn, message_id)
            if added and is_essence:
                raise BadParams(f"message {message_id} is already essence")
            if not added and not is_essence:
                raise BadParams(f"message {message_id} is not essence")
            if added:
                await extras_sql.insert_essence_txn(txn, message_id, message.group_id, operator, at)
            else:
                await extras_sql.delete_essence_txn(txn, message_id)
            audience = await self._audience_txn(txn, message)
            event = EssenceChanged(
                message.group_id, message_id, message.sender_uin, operator, added, audience
            )
            txn.after_commit(lambda: self._hub.publish(event))

        await self._engine.write("set_essence" if added else "delete_essence", txn_fn)

    async def essence_list(self, viewer: int, group_id: int) -> list[EssenceEntry]:
        """A group's essence messages, most recently set first; `viewer` must be a member."""

        async def txn_fn(txn: Txn) -> list[EssenceEntry]:
            await self._require_member_txn(txn, group_id, viewer)
            return await extras_sql.list_essence_txn(txn, group_id)

        return await self._engine.read(txn_fn)

    async def essence_by_seq(self, viewer: int, group_id: int, seq: int) -> int:
        """The message_id at `seq` in a group `viewer` belongs to (NapCat's msg_seq form)."""

        async def txn_fn(txn: Txn) -> int:
            await self._require_member_txn(txn, group_id, viewer)
            found = await extras_sql.message_by_seq_txn(txn, group_id, seq)
            if found is None:
                raise NotFound(f"no message with msg_seq {seq} in group {group_id}")
            return found

        return await self._engine.read(txn_fn)

    async def _require_member_txn(self, txn: Txn, group_id: int, uin: int) -> None:
        if await groups_sql.get_group_txn(txn, group_id) is None:
            raise NotFound(f"group {group_id} not found")
        if await groups_sql.get_member_txn(txn, group_id, uin) is None:
            raise NotPermitted(f"{uin} is not a member of group {group_id}")

    # --- pokes -----------------------------------------------------------------------------

    async def poke(self, user: int, target: int, group_id: int | None = None) -> None:
        """`user` pokes `target`: in a group both belong to, or privately between friends or
        members of a common group. Nothing is stored; the bots present hear of it."""

        async def txn_fn(txn: Txn) -> None:
            for uin in (user, target):
                if await accounts_sql.get_account_txn(txn, uin) is None:
                    raise NotFound(f"user {uin} not found")
            if group_id is not None:
                await self._require_member_txn(txn, group_id, user)
                if await groups_sql.get_member_txn(txn, group_id, target) is None:
                    raise NotFound(f"user {target} is not a member of group {group_id}")
                conv = await conv_sql.get_group_conv_txn(txn, group_id)
                assert conv is not None
                audience = await self._chat.audience_txn(txn, conv)
            else:
                if user == target:
                    raise BadParams("target_id: cannot poke yourself in a private chat")
                related = await accounts_sql.get_friend_txn(txn, user, target) is not None
                if not related and not await extras_sql.share_a_group_txn(txn, user, target):
                    raise NotPermitted(f"{user} and {target} are neither friends nor in a group")
                audience = await extras_sql.bots_among_txn(txn, (user, target))
            event = Poked(group_id, user, target, audience)
            txn.after_commit(lambda: self._hub.publish(event))

        # Through the writer although nothing is written: the event then takes its place among
        # the conversation's other events.
        await self._engine.write("poke", txn_fn)

    # --- merged forwards -------------------------------------------------------------------

    async def send_forward(
        self,
        sender: int,
        nodes: Sequence[Segment],
        *,
        group_id: int | None = None,
        user_id: int | None = None,
        via_group: int | None = None,
        card: ForwardCard | None = None,
        max_depth: int = 3,
    ) -> tuple[StoredMessage, str]:
        """Store `nodes` (canonical `node` segments) as a bundle and send the message carrying
        it to `group_id`, else privately to `user_id`; returns the message and the res_id."""
        if (group_id is None) == (user_id is None):
            raise BadParams("group_id or user_id: exactly one is required")
        at = int(self._clock())

        async def txn_fn(txn: Txn) -> tuple[StoredMessage, str]:
            builder = _BundleBuilder(txn, sender, at, group_id, max_depth)
            res_id, _ = await builder.store(nodes, card or ForwardCard(), (sender, None))
            segments: list[Segment] = [{"type": "forward", "data": {"id": res_id}}]
            content = Content(segments, raw_message(segments))
            if group_id is not None:
                message = await self._chat.send_group_txn(txn, sender, group_id, content, at)
            else:
                assert user_id is not None
                message = await self._chat.send_private_txn(
                    txn, sender, user_id, content, at, via_group
                )
            return message, res_id

        return await self._engine.write("send_forward", txn_fn)

    async def forward(self, viewer: int, res_id: str, *, max_depth: int, budget: int) -> Forward:
        """Bundle `res_id` if `viewer` owns it or sees a message carrying it (else 1404).

        Nested bundles are expanded up to `max_depth` levels and `budget` nodes in all.
        """

        async def txn_fn(txn: Txn) -> Forward:
            if not await extras_sql.forward_visible_txn(txn, res_id, viewer):
                raise NotFound(f"forward {res_id} not found")
            forward = await _load_txn(txn, res_id, max_depth, [budget])
            assert forward is not None
            return forward

        return await self._engine.read(txn_fn)

    async def forward_of_message(
        self, viewer: int, message_id: int, *, max_depth: int, budget: int
    ) -> Forward:
        """The bundle carried by a message `viewer` can see; 1400 if it carries none."""

        async def txn_fn(txn: Txn) -> Forward:
            message = await self._visible_txn(txn, viewer, message_id)
            res_ids = _forward_ids(orjson.loads(message.segments_json))
            if not res_ids:
                raise BadParams(f"message {message_id} is not a merged forward")
            forward = await _load_txn(txn, res_ids[0], max_depth, [budget])
            if forward is None:
                raise NotFound(f"forward {res_ids[0]} not found")
            return forward

        return await self._engine.read(txn_fn)

    async def carried_forwards(
        self, viewer: int, message: StoredMessage, *, max_depth: int, budget: int
    ) -> dict[str, list[ForwardNode]]:
        """The nodes of the bundles a message carries (NapCat shows them in `get_msg`)."""
        res_ids = _forward_ids(orjson.loads(message.segments_json))
        if not res_ids:
            return {}

        async def txn_fn(txn: Txn) -> dict[str, list[ForwardNode]]:
            await self._visible_txn(txn, viewer, message.message_id)
            return await _expand_txn(txn, res_ids, max_depth, [budget])

        return await self._engine.read(txn_fn)


class _BundleBuilder:
    """Stores one send's bundles: the outer one and those of nested custom node lists."""

    def __init__(
        self, txn: Txn, sender: int, at: int, group_id: int | None, max_depth: int
    ) -> None:
        self.txn = txn
        self.sender = sender
        self.at = at
        self.group_id = group_id
        self.max_depth = max_depth

    async def store(
        self, nodes: Sequence[Segment], card: ForwardCard, parent: tuple[int, str | None]
    ) -> tuple[str, int]:
        """Store a bundle of `nodes`; its res_id and depth (1 when no node nests another)."""
        stored: list[dict[str, Any]] = []
        depth = 1
        for index, node in enumerate(nodes):
            entry = await self._node(node["data"], index, parent)
            # A copied message's sender could see it, and with it every forward it carries.
            check = "message_id" not in entry
            depth = max(depth, 1 + await self._content_depth(entry["content"], index, check))
            stored.append(entry)
        if depth > self.max_depth:
            raise BadParams(
                f"message: forwards nested deeper than max_forward_depth ({self.max_depth})"
            )
        body: dict[str, Any] = {"nodes": stored, "depth": depth, "group_id": self.group_id}
        for key in ("source", "summary", "prompt"):
            if getattr(card, key) is not None:
                body[key] = getattr(card, key)
        if card.news:
            body["news"] = list(card.news)
        res_id = new_res_id()
        await extras_sql.insert_forward_txn(
            self.txn, res_id, self.sender, orjson.dumps(body).decode(), self.at
        )
        return res_id, depth

    async def _node(
        self, data: dict[str, Any], index: int, parent: tuple[int, str | None]
    ) -> dict[str, Any]:
        if "id" in data:
            return await self._copied_node(str(data["id"]), index)
        # NapCat: a custom node without a sender borrows its parent node's (or the bot's).
        user_id = _whole(data["user_id"]) if "user_id" in data else parent[0]
        if user_id is None or user_id == 0:
            raise BadParams(f"forward node {index}: user_id is not a QQ number")
        nickname = data.get("nickname") or parent[1] or DEFAULT_NODE_NICKNAME
        content: list[Segment] = data["content"]
        if content and content[0]["type"] == "node":
            inner, _ = await self.store(content, ForwardCard(), (user_id, nickname))
            content = [{"type": "forward", "data": {"id": inner}}]
        return {
            "user_id": user_id,
            "nickname": nickname,
            "time": _node_time(data.get("time"), self.at),
            "content": content,
        }

    async def _copied_node(self, ref: str, index: int) -> dict[str, Any]:
        # Like get_msg, a node's id may be the short message_id or the NT msgId.
        value = _whole(ref)
        message = None
        if value is not None and value <= MAX_MESSAGE_ID:
            message = await msg_sql.get_message_txn(self.txn, value)
        elif value is not None:
            message = await msg_sql.get_message_by_nt_txn(self.txn, value)
        if (
            message is None
            or message.recalled_at is not None
            or not await conv_sql.is_conv_member_txn(self.txn, message.conv_id, self.sender)
        ):
            raise NotFound(f"forward node {index}: message {ref} not found")
        return {
            "user_id": message.sender_uin,
            "nickname": message.sender_card or message.sender_nickname,
            "time": message.time,
            "content": orjson.loads(message.segments_json),
            "message_id": message.message_id,
        }

    async def _content_depth(self, content: Sequence[Segment], index: int, check: bool) -> int:
        depth = 0
        for res_id in _forward_ids(content):
            forward = await extras_sql.get_forward_txn(self.txn, res_id)
            # A custom node may only share what its sender could share in a message of their own.
            visible = not check or await extras_sql.forward_visible_txn(
                self.txn, res_id, self.sender
            )
            if forward is None or not visible:
                raise NotFound(f"forward node {index}: forward {res_id} not found")
            depth = max(depth, int(orjson.loads(forward.body_json)["depth"]))
        return depth


def _forward_ids(segments: Sequence[Segment]) -> list[str]:
    return [str(s["data"]["id"]) for s in segments if s["type"] == "forward"]


def _whole(text: str) -> int | None:
    """`text` as a non-negative int64, or None (long digit strings never reach int())."""
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        return None
    value = int(text)
    return value if value < 2**63 else None


def _node_time(value: Any, default: int) -> int:
    # NapCat: `Number(time) || now`; anything that is not a positive whole number means now.
    seconds = _whole(str(value)) if value is not None else None
    return seconds or default


async def _load_txn(txn: Txn, res_id: str, levels: int, budget: list[int]) -> Forward | None:
    stored = await extras_sql.get_forward_txn(txn, res_id)
    if stored is None:
        return None
    body = orjson.loads(stored.body_json)
    raw_nodes: list[dict[str, Any]] = body["nodes"]
    budget[0] -= len(raw_nodes)
    nodes = []
    for raw in raw_nodes:
        segments: list[Segment] = raw["content"]
        nested: dict[str, list[ForwardNode]] = {}
        if levels > 1:
            nested = await _expand_txn(txn, _forward_ids(segments), levels - 1, budget)
        nodes.append(
            ForwardNode(
                user_id=int(raw["user_id"]),
                nickname=str(raw["nickname"]),
                time=int(raw["time"]),
                message_id=int(raw.get("message_id", 0)),
                group_id=body.get("group_id"),
                segments=segments,
                raw_message=raw_message(segments),
                nested=nested,
            )
        )
    return Forward(stored.res_id, stored.owner, stored.created_at, nodes)


async def _expand_txn(
    txn: Txn, res_ids: Sequence[str], levels: int, budget: list[int]
) -> dict[str, list[ForwardNode]]:
    # A bundle may be shared by many nodes, each sharing others: the budget (a one-item list,
    # spent across the whole walk) keeps one fetch from expanding without bound.
    out: dict[str, list[ForwardNode]] = {}
    for res_id in res_ids:
        if budget[0] <= 0 or levels < 1 or res_id in out:
            continue
        forward = await _load_txn(txn, res_id, levels, budget)
        if forward is not None:
            out[res_id] = forward.nodes
    return out
