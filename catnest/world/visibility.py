"""Who may see a message: the one rule every reader of messages goes through.

A message is visible to the members of its conversation (both sides of a private chat, the
current members of a group) until it is recalled. Batch readers (recent contacts, history
pages) get the same answer from the store's queries, which join the same membership rows.
"""

from __future__ import annotations

from catnest.onebot.errors import NotFound
from catnest.store import conversations as conv_sql
from catnest.store import messages as msg_sql
from catnest.store.engine import Txn
from catnest.store.records import StoredMessage


async def sees_txn(txn: Txn, viewer: int, message: StoredMessage) -> bool:
    """Whether `viewer` may see `message` (recalled messages are seen by nobody)."""
    if message.recalled_at is not None:
        return False
    return await conv_sql.is_conv_member_txn(txn, message.conv_id, viewer)


async def member_message_txn(txn: Txn, viewer: int, message_id: int) -> StoredMessage:
    """The message `message_id`, recalled or not, if it is in one of `viewer`'s
    conversations; 1404 otherwise (for the recall itself, which tells the two apart)."""
    message = await msg_sql.get_message_txn(txn, message_id)
    if message is None or not await conv_sql.is_conv_member_txn(txn, message.conv_id, viewer):
        raise NotFound(f"message {message_id} not found")
    return message


async def visible_message_txn(txn: Txn, viewer: int, message_id: int) -> StoredMessage:
    """The message `message_id` if `viewer` may see it; 1404 if unknown, recalled or not in
    one of their conversations."""
    message = await member_message_txn(txn, viewer, message_id)
    if message.recalled_at is not None:
        raise NotFound(f"message {message_id} was recalled")
    return message


async def visible_by_nt_txn(txn: Txn, viewer: int, nt_msg_id: int) -> StoredMessage | None:
    """The message with NT msgId `nt_msg_id` if `viewer` may see it, else None."""
    message = await msg_sql.get_message_by_nt_txn(txn, nt_msg_id)
    if message is None or not await sees_txn(txn, viewer, message):
        return None
    return message
