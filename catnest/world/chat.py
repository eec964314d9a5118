"""Messages and conversations: send, recall, history, read marks and recent contacts."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from catnest.onebot.errors import BadParams, NotFound, NotPermitted
from catnest.store import accounts as accounts_sql
from catnest.store import conversations as conv_sql
from catnest.store import extras as extras_sql
from catnest.store import groups as groups_sql
from catnest.store import messages as msg_sql
from catnest.store.conversations import KIND_GROUP, KIND_PRIVATE
from catnest.store.engine import Engine, Txn
from catnest.store.ids import next_id_txn
from catnest.store.records import Conversation, RecentEntry, StoredMessage
from catnest.world.events import MessageCreated, MessageRecalled
from catnest.world.hub import Hub

# NT chat types (napcat-api.md §1.3): the three that OneBot can show.
CHAT_FRIEND, CHAT_GROUP, CHAT_TEMP = 1, 2, 100
# Recalls by the sender are allowed for two minutes, as in QQ; admins may recall any time.
RECALL_WINDOW_SECONDS = 120


@dataclass(frozen=True, slots=True)
class Content:
    """A message ready to store: canonical segments and their CQ-string form."""

    segments: Sequence[dict[str, Any]]
    raw_message: str


def nt_msg_id(at: int, message_id: int) -> int:
    """An NT-style 64-bit msgId: send time in the high half, the unique message id below."""
    return (at << 32) | message_id


class Chat:
    """Message rules. Every change commits before its result is returned."""

    def __init__(self, engine: Engine, hub: Hub, clock: Callable[[], float] = time.time) -> None:
        self._engine = engine
        self._hub = hub
        self._clock = clock

    # --- sending -------------------------------------------------------------------------

    async def send_private(
        self,
        sender: int,
        target: int,
        content: Content,
        *,
        via_group: int | None = None,
        key: str | None = None,
    ) -> StoredMessage:
        """Send a private message: to a friend, or a temp chat through a shared group.

        With an idempotency `key`, a repeat of an earlier send by `sender` returns that
        message instead of posting again.
        """
        at = int(self._clock())
        return await self._engine.write(
            "send_private",
            lambda txn: self._once_txn(
                txn, sender, key, at,
                lambda: self.send_private_txn(txn, sender, target, content, at, via_group),
            ),
        )  # fmt: skip

    async def send_private_txn(
        self,
        txn: Txn,
        sender: int,
        target: int,
        content: Content,
        at: int,
        via_group: int | None = None,
    ) -> StoredMessage:
        """`send_private` inside a caller's transaction: a forward stores its nodes first."""
        if sender == target:
            raise BadParams("user_id: cannot send a private message to yourself")
        if await accounts_sql.get_account_txn(txn, target) is None:
            raise NotFound(f"user {target} not found")
        conv = await conv_sql.get_private_conv_txn(txn, sender, target)
        chat_type, temp_group = await self._private_route_txn(txn, sender, target, via_group, conv)
        if conv is None:
            conv = await conv_sql.create_private_conv_txn(
                txn, sender, target, chat_type, temp_group
            )
        return await self._store_txn(txn, conv, sender, content, at, chat_type, temp_group)

    async def _private_route_txn(
        self, txn: Txn, sender: int, target: int, via_group: int | None, conv: Conversation | None
    ) -> tuple[int, int | None]:
        # A friend always gets a friend chat; NapCat ignores group_id then (§6.2).
        if await accounts_sql.get_friend_txn(txn, sender, target) is not None:
            return CHAT_FRIEND, None
        if via_group is not None:
            if await groups_sql.get_group_txn(txn, via_group) is None:
                raise NotFound(f"group {via_group} not found")
            if not await groups_sql.shared_group_txn(txn, via_group, sender, target):
                raise NotPermitted(f"{sender} and {target} are not both in group {via_group}")
            return CHAT_TEMP, via_group
        # NapCat reuses the temp-chat source it last saw for this peer; so do we, if both are
        # still in that group.
        if (
            conv is not None
            and conv.temp_group_id is not None
            and await groups_sql.shared_group_txn(txn, conv.temp_group_id, sender, target)
        ):
            return CHAT_TEMP, conv.temp_group_id
        raise NotPermitted(
            f"{target} is not a friend of {sender}: pass group_id of a shared group for a temp chat"
        )

    async def send_group(
        self, sender: int, group_id: int, content: Content, *, key: str | None = None
    ) -> StoredMessage:
        """Send a message to a group the sender belongs to and is not muted in.

        `key` makes the send idempotent, as for `send_private`.
        """
        at = int(self._clock())
        return await self._engine.write(
            "send_group",
            lambda txn: self._once_txn(
                txn, sender, key, at,
                lambda: self.send_group_txn(txn, sender, group_id, content, at),
            ),
        )  # fmt: skip

    async def _once_txn(
        self,
        txn: Txn,
        sender: int,
        key: str | None,
        at: int,
        send: Callable[[], Awaitable[StoredMessage]],
    ) -> StoredMessage:
        if key is None:
            return await send()
        earlier = await msg_sql.keyed_message_txn(txn, sender, key)
        if earlier is not None:
            found = await msg_sql.get_message_txn(txn, earlier)
            assert found is not None
            return found
        message = await send()
        await msg_sql.remember_key_txn(txn, sender, key, message.message_id, at)
        return message

    async def send_group_txn(
        self, txn: Txn, sender: int, group_id: int, content: Content, at: int
    ) -> StoredMessage:
        """`send_group` inside a caller's transaction."""
        group = await groups_sql.get_group_txn(txn, group_id)
        if group is None:
            raise NotFound(f"group {group_id} not found")
        member = await groups_sql.get_member_txn(txn, group_id, sender)
        if member is None:
            raise NotPermitted(f"{sender} is not a member of group {group_id}")
        privileged = member.role in ("owner", "admin")
        if not privileged and (group.whole_ban or member.shut_up_until > at):
            raise NotPermitted(f"{sender} is muted in group {group_id}")
        if not privileged and _mentions_all(content):
            raise NotPermitted("only the owner or an admin may @all")
        conv = await conv_sql.get_group_conv_txn(txn, group_id)
        assert conv is not None, "every group has a conversation"
        await groups_sql.touch_member_sent_txn(txn, group_id, sender, at)
        return await self._store_txn(txn, conv, sender, content, at, CHAT_GROUP, None)

    async def _store_txn(
        self,
        txn: Txn,
        conv: Conversation,
        sender: int,
        content: Content,
        at: int,
        chat_type: int,
        temp_group: int | None,
    ) -> StoredMessage:
        await self._check_replies_txn(txn, conv.conv_id, content)
        carried = await _check_forwards_txn(txn, sender, content)
        message_id = await next_id_txn(txn, "message")
        seq = conv.last_seq + 1
        await msg_sql.insert_message_txn(
            txn,
            message_id=message_id,
            nt_msg_id=nt_msg_id(at, message_id),
            conv_id=conv.conv_id,
            seq=seq,
            sender_uin=sender,
            chat_type=chat_type,
            temp_group_id=temp_group,
            time=at,
            segments_json=orjson.dumps(list(content.segments)).decode(),
            raw_message=content.raw_message,
        )
        if carried:
            # Who may open a bundle is read from its carriers (store/extras.py).
            await extras_sql.insert_forward_carriers_txn(txn, message_id, carried)
        await conv_sql.advance_conv_txn(
            txn,
            conv.conv_id,
            seq=seq,
            message_id=message_id,
            at=at,
            chat_type=chat_type,
            temp_group_id=temp_group,
        )
        # Sending means having read the conversation up to one's own message.
        await conv_sql.set_read_txn(txn, sender, conv.conv_id, seq)
        stored = await msg_sql.get_message_txn(txn, message_id)
        assert stored is not None
        audience = await self.audience_txn(txn, conv)
        self._hub.publish_after(txn, MessageCreated(stored, audience))
        return stored

    async def _check_replies_txn(self, txn: Txn, conv_id: int, content: Content) -> None:
        for segment in content.segments:
            if segment["type"] != "reply" or "id" not in segment["data"]:
                continue
            ref = str(segment["data"]["id"])
            target = await msg_sql.get_message_txn(txn, int(ref)) if ref.isdigit() else None
            if target is None or target.conv_id != conv_id or target.recalled_at is not None:
                raise NotFound(f"reply target message {ref} not found in this conversation")

    async def audience_txn(self, txn: Txn, conv: Conversation) -> tuple[int, ...]:
        """The bot accounts taking part in `conv`: who hears of what happens in it."""
        rows = await txn.fetchall(
            "SELECT m.uin FROM conversation_members m JOIN accounts a ON a.uin = m.uin"
            " WHERE m.conv_id = ? AND a.is_bot = 1",
            (conv.conv_id,),
        )
        return tuple(int(r[0]) for r in rows)

    # --- reading -------------------------------------------------------------------------

    async def get_message(self, viewer: int, message_id: int) -> StoredMessage:
        """A message `viewer` can see; 1404 if unknown, recalled or not in their chats."""

        async def txn_fn(txn: Txn) -> StoredMessage:
            message = await msg_sql.get_message_txn(txn, message_id)
            if message is None or not await conv_sql.is_conv_member_txn(
                txn, message.conv_id, viewer
            ):
                raise NotFound(f"message {message_id} not found")
            if message.recalled_at is not None:
                raise NotFound(f"message {message_id} was recalled")
            return message

        return await self._engine.read(txn_fn)

    async def find_by_nt_msg_id(self, viewer: int, nt_id: int) -> StoredMessage | None:
        """The message with NT msgId `nt_id` if `viewer` can see it."""

        async def txn_fn(txn: Txn) -> StoredMessage | None:
            message = await msg_sql.get_message_by_nt_txn(txn, nt_id)
            if message is None or not await conv_sql.is_conv_member_txn(
                txn, message.conv_id, viewer
            ):
                return None
            return message

        return await self._engine.read(txn_fn)

    async def private_conv(self, viewer: int, peer: int) -> Conversation | None:
        """The private conversation between `viewer` and `peer`; 1404 for an unknown peer."""

        async def txn_fn(txn: Txn) -> Conversation | None:
            if await accounts_sql.get_account_txn(txn, peer) is None:
                raise NotFound(f"user {peer} not found")
            return await conv_sql.get_private_conv_txn(txn, viewer, peer)

        return await self._engine.read(txn_fn)

    async def group_conv(self, viewer: int, group_id: int) -> Conversation:
        """A group's conversation; 1404 for an unknown group, 1401 for a non-member."""

        async def txn_fn(txn: Txn) -> Conversation:
            conv = await conv_sql.get_group_conv_txn(txn, group_id)
            if conv is None:
                raise NotFound(f"group {group_id} not found")
            if not await conv_sql.is_conv_member_txn(txn, conv.conv_id, viewer):
                raise NotPermitted(f"{viewer} is not a member of group {group_id}")
            return conv

        return await self._engine.read(txn_fn)

    async def history(
        self,
        viewer: int,
        conv: Conversation | None,
        *,
        anchor: int | None,
        count: int,
        older: bool,
        with_recalled: bool = False,
    ) -> list[StoredMessage]:
        """A page of `conv`, oldest first; `anchor` is a message_id included in the page.

        Recalled messages are left out, as bots see history; `with_recalled` keeps them (a
        user's page shows where one was, never what it said: callers must not show content).
        """
        if conv is None:
            return []
        anchor_seq: int | None = None
        if anchor is not None:
            target = await self._engine.read(lambda txn: msg_sql.get_message_txn(txn, anchor))
            if target is None or target.conv_id != conv.conv_id:
                raise NotFound(f"message {anchor} not found in this conversation")
            anchor_seq = target.seq
        return await self._engine.read(
            lambda txn: msg_sql.history_txn(
                txn,
                conv.conv_id,
                anchor_seq=anchor_seq,
                count=count,
                older=older,
                with_recalled=with_recalled,
            )
        )

    async def conv_of(self, message: StoredMessage) -> Conversation:
        """The conversation a message belongs to."""
        conv = await self._engine.read(lambda txn: conv_sql.get_conv_txn(txn, message.conv_id))
        assert conv is not None
        return conv

    async def recent_contacts(self, viewer: int, count: int) -> list[RecentEntry]:
        """`viewer`'s conversations with a visible message, most recent first."""
        if count <= 0:
            return []
        return await self._engine.read(lambda txn: conv_sql.recent_contacts_txn(txn, viewer, count))

    # --- changing ------------------------------------------------------------------------

    async def recall(self, operator: int, message_id: int) -> StoredMessage:
        """Recall a message: its sender within the window, or a group admin over a member."""
        at = int(self._clock())

        async def txn_fn(txn: Txn) -> StoredMessage:
            message = await msg_sql.get_message_txn(txn, message_id)
            if message is None or not await conv_sql.is_conv_member_txn(
                txn, message.conv_id, operator
            ):
                raise NotFound(f"message {message_id} not found")
            if message.recalled_at is not None:
                raise NotFound(f"message {message_id} was already recalled")
            await self._check_recall_right_txn(txn, operator, message, at)
            await msg_sql.mark_recalled_txn(txn, message_id, operator, at)
            conv = await conv_sql.get_conv_txn(txn, message.conv_id)
            assert conv is not None
            if conv.last_msg_id == message_id:
                latest = await msg_sql.latest_visible_txn(txn, conv.conv_id)
                await conv_sql.set_last_visible_txn(
                    txn, conv.conv_id, *(latest if latest else (None, None))
                )
            audience = await self.audience_txn(txn, conv)
            self._hub.publish_after(txn, MessageRecalled(message, operator, audience))
            return message

        return await self._engine.write("recall", txn_fn)

    async def _check_recall_right_txn(
        self, txn: Txn, operator: int, message: StoredMessage, at: int
    ) -> None:
        if message.conv_kind == KIND_GROUP and message.group_id is not None:
            op = await groups_sql.get_member_txn(txn, message.group_id, operator)
            if op is not None and op.role in ("owner", "admin") and operator != message.sender_uin:
                sender = await groups_sql.get_member_txn(txn, message.group_id, message.sender_uin)
                rank = {"owner": 2, "admin": 1, "member": 0}
                if sender is None or rank[op.role] > rank[sender.role]:
                    return
                raise NotPermitted("an admin cannot recall a message of an equal or higher role")
        if operator != message.sender_uin:
            raise NotPermitted("only the sender or a group admin may recall this message")
        if at - message.time > RECALL_WINDOW_SECONDS:
            raise NotPermitted(
                f"messages can only be recalled within {RECALL_WINDOW_SECONDS} seconds"
            )

    async def mark_read(self, viewer: int, conv: Conversation, up_to: int | None = None) -> None:
        """Mark `conv` read for `viewer`: all of it, or up to and including message `up_to`.

        A reader that names the newest message it has shown never marks read one that arrived
        while its mark was on the way (the cursor only moves forward either way).
        """

        async def txn_fn(txn: Txn) -> None:
            if up_to is None:
                await conv_sql.mark_conv_read_txn(txn, viewer, conv.conv_id)
                return
            message = await msg_sql.get_message_txn(txn, up_to)
            if message is None or message.conv_id != conv.conv_id:
                raise NotFound(f"message {up_to} not found in this conversation")
            await conv_sql.set_read_txn(txn, viewer, conv.conv_id, message.seq)

        await self._engine.write("mark_read", txn_fn)

    async def mark_all_read(self, viewer: int) -> None:
        """Mark every conversation of `viewer` read."""
        await self._engine.write(
            "mark_all_read", lambda txn: conv_sql.mark_all_read_txn(txn, viewer)
        )


async def _check_forwards_txn(txn: Txn, sender: int, content: Content) -> list[str]:
    # A forward segment shares a stored bundle: only one its sender may see, or the bundle
    # would leak to whoever learns (or is told) its res_id. Returns the res_ids carried.
    carried: list[str] = []
    for segment in content.segments:
        if segment["type"] == "forward":
            res_id = str(segment["data"]["id"])
            if not await extras_sql.forward_visible_txn(txn, res_id, sender):
                raise NotFound(f"forward {res_id} not found")
            carried.append(res_id)
    return carried


def _mentions_all(content: Content) -> bool:
    return any(s["type"] == "at" and str(s["data"].get("qq")) == "all" for s in content.segments)


__all__ = [
    "CHAT_FRIEND",
    "CHAT_GROUP",
    "CHAT_TEMP",
    "KIND_GROUP",
    "KIND_PRIVATE",
    "Chat",
    "Content",
]
