"""Merged forwards: storing bundles of nodes, sending the messages that carry them, and
showing them to whoever may see them.

A merged forward is a bundle of nodes stored under an opaque `res_id`, and a message whose only
segment is `forward{id: res_id}` carries it. The bundle's stored body is one JSON object:

    {"nodes": [{"user_id", "nickname", "time", "content", "message_id"?}, ...],
     "depth": 1.., "group_id": destination group or null,
     "source"?, "summary"?, "prompt"?, "news"?}

`content` is a canonical segment list; a nested forward is a `forward` segment pointing at
another bundle, so every bundle is a flat list and nesting is a walk over res_ids.

Any message may carry a bundle again (a re-share, by anyone who may open it): the store records
every carrier in `forward_carriers` as the message is stored, and may open a bundle whoever
owns it or sees a carrier that is not recalled (`store/extras.py: forward_visible_txn`).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import orjson

from catnest.onebot.content import carries_forward, forward_ids
from catnest.onebot.cqcode import Segment
from catnest.onebot.errors import BadParams, NotFound
from catnest.store import forwards as forwards_sql
from catnest.store import messages as msg_sql
from catnest.store.engine import Txn
from catnest.store.ids import MAX_MESSAGE_ID
from catnest.store.records import StoredMessage
from catnest.world.part import WorldPart
from catnest.world.visibility import sees_txn, visible_message_txn

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
    nested: dict[str, list[ForwardNode]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Forward:
    """A bundle with its nodes expanded for one viewer."""

    res_id: str
    owner: int
    created_at: int
    nodes: list[ForwardNode]


# The expanded bundles one message carries, by res_id.
Carried: TypeAlias = dict[str, list[ForwardNode]]


def new_res_id() -> str:
    """A fresh opaque res_id: 32 base64url characters, never all digits (those are message ids)."""
    while True:
        res_id = secrets.token_urlsafe(24)
        if not res_id.isdigit():
            return res_id


async def store_bundle_txn(
    txn: Txn,
    sender: int,
    nodes: Sequence[Segment],
    *,
    at: int,
    group_id: int | None,
    card: ForwardCard,
    max_depth: int,
) -> str:
    """Store `nodes` (canonical `node` segments) as a bundle `sender` owns, bound for
    `group_id` (None: a private chat); its res_id. The caller sends the carrying message."""
    builder = _BundleBuilder(txn, sender, at, group_id, max_depth)
    res_id, _ = await builder.store(nodes, card, (sender, None))
    return res_id


class Forwards(WorldPart):
    """Rules for opening merged forwards: whoever owns a bundle or sees a message carrying it."""

    async def forward(self, viewer: int, res_id: str, *, max_depth: int, budget: int) -> Forward:
        """Bundle `res_id` if `viewer` owns it or sees a message carrying it (else 1404).

        Nested bundles are expanded up to `max_depth` levels and `budget` nodes in all.
        """

        async def txn_fn(txn: Txn) -> Forward:
            if not await forwards_sql.forward_visible_txn(txn, res_id, viewer):
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
            message = await visible_message_txn(txn, viewer, message_id)
            res_ids = forward_ids(orjson.loads(message.segments_json))
            if not res_ids:
                raise BadParams(f"message {message_id} is not a merged forward")
            forward = await _load_txn(txn, res_ids[0], max_depth, [budget])
            if forward is None:
                raise NotFound(f"forward {res_ids[0]} not found")
            return forward

        return await self._engine.read(txn_fn)

    async def carried_forwards(
        self, viewer: int, message: StoredMessage, *, max_depth: int, budget: int
    ) -> Carried:
        """The nodes of the bundles a message carries (NapCat shows them in `get_msg`); 1404
        if `viewer` cannot see the message."""
        if not carries_forward(message.segments_json):
            return {}
        res_ids = forward_ids(orjson.loads(message.segments_json))

        async def txn_fn(txn: Txn) -> Carried:
            await visible_message_txn(txn, viewer, message.message_id)
            return await _expand_txn(txn, res_ids, max_depth, [budget])

        return await self._engine.read(txn_fn)

    async def carried_by(
        self, viewer: int, messages: Sequence[StoredMessage], *, max_depth: int, budget: int
    ) -> dict[int, Carried]:
        """By message_id, the expanded bundles of those `messages` that carry forwards, as
        NapCat shows them in history and recent contacts (napcat-api.md §5.2).

        Each message is expanded as `carried_forwards` would, with its own node `budget`; one
        that `viewer` does not see (recalled since, or not theirs) is left out. When no message
        carries a forward this returns at once, without a query.
        """
        carriers: dict[int, list[str]] = {}
        for message in messages:
            if carries_forward(message.segments_json):
                carriers[message.message_id] = forward_ids(orjson.loads(message.segments_json))
        if not carriers:
            return {}

        async def txn_fn(txn: Txn) -> dict[int, Carried]:
            seen = await forwards_sql.seen_messages_txn(txn, viewer, list(carriers))
            # A bundle shared many times in one page is expanded once.
            expanded: dict[tuple[str, ...], Carried] = {}
            out: dict[int, Carried] = {}
            for message_id, res_ids in carriers.items():
                if message_id not in seen:
                    continue
                key = tuple(res_ids)
                if key not in expanded:
                    expanded[key] = await _expand_txn(txn, res_ids, max_depth, [budget])
                out[message_id] = expanded[key]
            return out

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
        await forwards_sql.insert_forward_txn(
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
        if message is None or not await sees_txn(self.txn, self.sender, message):
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
        for res_id in forward_ids(content):
            forward = await forwards_sql.get_forward_txn(self.txn, res_id)
            # A custom node may only share what its sender could share in a message of their own.
            visible = not check or await forwards_sql.forward_visible_txn(
                self.txn, res_id, self.sender
            )
            if forward is None or not visible:
                raise NotFound(f"forward node {index}: forward {res_id} not found")
            depth = max(depth, int(orjson.loads(forward.body_json)["depth"]))
        return depth


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
    stored = await forwards_sql.get_forward_txn(txn, res_id)
    if stored is None:
        return None
    body = orjson.loads(stored.body_json)
    raw_nodes: list[dict[str, Any]] = body["nodes"]
    budget[0] -= len(raw_nodes)
    nodes = []
    for raw in raw_nodes:
        segments: list[Segment] = raw["content"]
        nested: Carried = {}
        if levels > 1:
            nested = await _expand_txn(txn, forward_ids(segments), levels - 1, budget)
        nodes.append(
            ForwardNode(
                user_id=int(raw["user_id"]),
                nickname=str(raw["nickname"]),
                time=int(raw["time"]),
                message_id=int(raw.get("message_id", 0)),
                group_id=body.get("group_id"),
                segments=segments,
                nested=nested,
            )
        )
    return Forward(stored.res_id, stored.owner, stored.created_at, nodes)


async def _expand_txn(txn: Txn, res_ids: Sequence[str], levels: int, budget: list[int]) -> Carried:
    # A bundle may be shared by many nodes, each sharing others: the budget (a one-item list,
    # spent across the whole walk) keeps one fetch from expanding without bound.
    out: Carried = {}
    for res_id in res_ids:
        if budget[0] <= 0 or levels < 1 or res_id in out:
            continue
        forward = await _load_txn(txn, res_id, levels, budget)
        if forward is not None:
            out[res_id] = forward.nodes
    return out
