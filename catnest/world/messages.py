"""Sending and recalling messages, and finding one a viewer may see.

Every change commits before its result is returned; its event reaches the hub after the
commit. A message to a group needs membership and no mute; a private message needs a
friendship or a shared group (a temp chat, QQ's 临时会话).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from catnest.onebot.content import Content, forward_carrier, forward_ids
from catnest.onebot.errors import BadParams, NotFound, NotPermitted
from catnest.store import accounts as accounts_sql
from catnest.store import conversations as conv_sql
from catnest.store import forwards as forwards_sql
from catnest.store import groups as groups_sql
from catnest.store import messages as msg_sql
from catnest.store.conversations import KIND_GROUP
from catnest.store.engine import Txn
from catnest.store.ids import next_id_txn
from catnest.store.records import CHAT_FRIEND, CHAT_GROUP, CHAT_TEMP, Conversation, StoredMessage
from catnest.world.events import MessageCreated, MessageRecalled
from catnest.world.forwards import ForwardCard, store_bundle_txn
from catnest.world.part import WorldPart
from catnest.world.roles import is_manager, outranks
from catnest.world.visibility import member_message_txn, visible_by_nt_txn, visible_message_txn

# Recalls by the sender are allowed for two minutes, as in QQ; admins may recall any time.
RECALL_WINDOW_SECONDS = 120


def nt_msg_id(at: int, message_id: int) -> int:
    """An NT-style 64-bit msgId: send time in the high half, the unique message id below."""
    return (at << 32) | message_id


@dataclass(frozen=True, slots=True)
class Sent:
    """A stored message, and the res_id of the merged forward it carries when it is one."""

    message: StoredMessage
    res_id: str | None = None


class Messages(WorldPart):
    """Message rules: who may send where, replies, idempotent sends, recalls."""

    async def send(
        self,
        sender: int,
        content: Content,
        *,
        group_id: int | None = None,
        user_id: int | None = None,
        via_group: int | None = None,
        card: ForwardCard | None = None,
        key: str | None = None,
        max_forward_depth: int = 3,
    ) -> Sent:
        """Send `content` to `group_id`, else privately to `user_id` (a temp chat through
        `via_group` for a non-friend).

        Content made of forward nodes is a merged forward, whichever way it is sent (NapCat's
        rule, napcat-api.md §6.2): its bundle is stored and a message carrying it is sent.
        With an idempotency `key`, a repeat of an earlier send by `sender` returns that
        message instead of posting again (not for merged forwards).
        """
        if (group_id is None) == (user_id is None):
            raise BadParams("group_id or user_id: exactly one is required")
        if content.is_forward and key is not None:
            raise BadParams("idempotency_key: not supported for merged forwards")
        at = self._now()

        async def txn_fn(txn: Txn) -> Sent:
            res_id = None
            body = content
            if content.is_forward:
                res_id = await store_bundle_txn(
                    txn, sender, content.segments, at=at, group_id=group_id,
                    card=card or ForwardCard(), max_depth=max_forward_depth,
                )  # fmt: skip
                body = forward_carrier(res_id)

            async def deliver() -> StoredMessage:
                if group_id is not None:
                    return await self.send_group_txn(txn, sender, group_id, body, at)
                assert user_id is not None
                return await self.send_private_txn(txn, sender, user_id, body, at, via_group)

            message = await self._once_txn(txn, sender, key, at, deliver)
            return Sent(message, res_id)

        return await self._engine.write("send", txn_fn)

    async def send_private(
        self,
        sender: int,
        target: int,
        content: Content,
        *,
        via_group: int | None = None,
        key: str | None = None,
    ) -> StoredMessage:
        """Send a private message (see `send`)."""
        sent = await self.send(sender, content, user_id=target, via_group=via_group, key=key)
        return sent.message

    async def send_group(
        self, sender: int, group_id: int, content: Content, *, key: str | None = None
    ) -> StoredMessage:
        """Send a message to a group the sender belongs to and is not muted in (see `send`)."""
        return (await self.send(sender, content, group_id=group_id, key=key)).message

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

    async def send_private_txn(
        self,
        txn: Txn,
        sender: int,
        target: int,
        content: Content,
        at: int,
        via_group: int | None = None,
    ) -> StoredMessage:
        """A private message inside a caller's transaction."""
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

    async def send_group_txn(
        self, txn: Txn, sender: int, group_id: int, content: Content, at: int
    ) -> StoredMessage:
        """A group message inside a caller's transaction."""
        group = await groups_sql.get_group_txn(txn, group_id)
        if group is None:
            raise NotFound(f"group {group_id} not found")
        member = await groups_sql.get_member_txn(txn, group_id, sender)
        if member is None:
            raise NotPermitted(f"{sender} is not a member of group {group_id}")
        privileged = is_manager(member.role)
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
        await _check_replies_txn(txn, conv.conv_id, content)
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
            segments_json=content.segments_json(),
            raw_message=content.raw_message,
        )
        if carried:
            # Who may open a bundle is read from its carriers (store/forwards.py).
            await forwards_sql.insert_forward_carriers_txn(txn, message_id, carried)
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
        audience = await conv_sql.bot_members_txn(txn, conv.conv_id)
        self._publish(txn, MessageCreated(stored, audience))
        return stored

    # --- finding -----------------------------------------------------------------------------

    async def get_message(self, viewer: int, message_id: int) -> StoredMessage:
        """A message `viewer` can see; 1404 if unknown, recalled or not in their chats."""
        return await self._engine.read(lambda txn: visible_message_txn(txn, viewer, message_id))

    async def find_by_nt_msg_id(self, viewer: int, nt_id: int) -> StoredMessage | None:
        """The message with NT msgId `nt_id` if `viewer` can see it."""
        return await self._engine.read(lambda txn: visible_by_nt_txn(txn, viewer, nt_id))

    # --- recalling ---------------------------------------------------------------------------

    async def recall(self, operator: int, message_id: int) -> StoredMessage:
        """Recall a message: the sender within the window, or a group admin of higher rank."""
        at = self._now()

        async def txn_fn(txn: Txn) -> StoredMessage:
            message = await member_message_txn(txn, operator, message_id)
            if message.recalled_at is not None:
                raise NotFound(f"message {message_id} was already recalled")
            await _check_recall_right_txn(txn, operator, message, at)
            await msg_sql.mark_recalled_txn(txn, message_id, operator, at)
            conv = await conv_sql.get_conv_txn(txn, message.conv_id)
            assert conv is not None
            if conv.last_msg_id == message_id:
                latest = await msg_sql.latest_visible_txn(txn, conv.conv_id)
                await conv_sql.set_last_visible_txn(
                    txn, conv.conv_id, *(latest if latest else (None, None))
                )
            audience = await conv_sql.bot_members_txn(txn, conv.conv_id)
            self._publish(txn, MessageRecalled(message, operator, audience))
            return message

        return await self._engine.write("recall", txn_fn)


async def _check_recall_right_txn(txn: Txn, operator: int, message: StoredMessage, at: int) -> None:
    if message.conv_kind == KIND_GROUP and message.group_id is not None:
        op = await groups_sql.get_member_txn(txn, message.group_id, operator)
        if op is not None and is_manager(op.role) and operator != message.sender_uin:
            sender = await groups_sql.get_member_txn(txn, message.group_id, message.sender_uin)
            if sender is None or outranks(op.role, sender.role):
                return
            raise NotPermitted("an admin cannot recall a message of an equal or higher role")
    if operator != message.sender_uin:
        raise NotPermitted("only the sender or a group admin may recall this message")
    if at - message.time > RECALL_WINDOW_SECONDS:
        raise NotPermitted(f"messages can only be recalled within {RECALL_WINDOW_SECONDS} seconds")


async def _check_replies_txn(txn: Txn, conv_id: int, content: Content) -> None:
    for segment in content.segments:
        if segment["type"] != "reply" or "id" not in segment["data"]:
            continue
        ref = str(segment["data"]["id"])
        target = await msg_sql.get_message_txn(txn, int(ref)) if ref.isdigit() else None
        if target is None or target.conv_id != conv_id or target.recalled_at is not None:
            raise NotFound(f"reply target message {ref} not found in this conversation")


async def _check_forwards_txn(txn: Txn, sender: int, content: Content) -> list[str]:
    # A forward segment shares a stored bundle: only one its sender may see, or the bundle
    # would leak to whoever learns (or is told) its res_id. Returns the res_ids carried.
    carried = forward_ids(content.segments)
    for res_id in carried:
        if not await forwards_sql.forward_visible_txn(txn, res_id, sender):
            raise NotFound(f"forward {res_id} not found")
    return carried


def _mentions_all(content: Content) -> bool:
    return any(s["type"] == "at" and str(s["data"].get("qq")) == "all" for s in content.segments)
