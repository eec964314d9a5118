"""Essence messages (QQ's 精华消息): the owner or an admin marks group messages."""

from __future__ import annotations

from catnest.onebot.errors import BadParams, NotFound, NotPermitted
from catnest.store import conversations as conv_sql
from catnest.store import essence as essence_sql
from catnest.store import groups as groups_sql
from catnest.store.engine import Txn
from catnest.store.essence import EssenceEntry
from catnest.store.records import CHAT_GROUP
from catnest.world.events import EssenceChanged
from catnest.world.groups import acting_member_txn
from catnest.world.part import WorldPart
from catnest.world.roles import is_manager
from catnest.world.visibility import visible_message_txn


class Essence(WorldPart):
    """Setting, removing and listing a group's essence messages."""

    async def set(self, operator: int, message_id: int) -> None:
        """Make a group message essence: the owner or an admin, once."""
        await self._change(operator, message_id, added=True)

    async def delete(self, operator: int, message_id: int) -> None:
        """Remove a message from its group's essence messages: the owner or an admin."""
        await self._change(operator, message_id, added=False)

    async def _change(self, operator: int, message_id: int, *, added: bool) -> None:
        at = self._now()

        async def txn_fn(txn: Txn) -> None:
            message = await visible_message_txn(txn, operator, message_id)
            if message.chat_type != CHAT_GROUP or message.group_id is None:
                raise BadParams(f"message {message_id} is not a group message")
            member = await groups_sql.get_member_txn(txn, message.group_id, operator)
            if member is None or not is_manager(member.role):
                raise NotPermitted("only the group owner or an admin may change essence messages")
            is_essence = await essence_sql.is_essence_txn(txn, message_id)
            if added and is_essence:
                raise BadParams(f"message {message_id} is already essence")
            if not added and not is_essence:
                raise BadParams(f"message {message_id} is not essence")
            if added:
                await essence_sql.insert_essence_txn(
                    txn, message_id, message.group_id, operator, at
                )
            else:
                await essence_sql.delete_essence_txn(txn, message_id)
            audience = await conv_sql.bot_members_txn(txn, message.conv_id)
            event = EssenceChanged(
                message.group_id, message_id, message.sender_uin, operator, added, audience
            )
            self._publish(txn, event)

        await self._engine.write("set_essence" if added else "delete_essence", txn_fn)

    async def list(self, viewer: int, group_id: int) -> list[EssenceEntry]:
        """A group's essence messages, most recently set first; `viewer` must be a member."""

        async def txn_fn(txn: Txn) -> list[EssenceEntry]:
            await acting_member_txn(txn, group_id, viewer)
            return await essence_sql.list_essence_txn(txn, group_id)

        return await self._engine.read(txn_fn)

    async def by_seq(self, viewer: int, group_id: int, seq: int) -> int:
        """The message_id at `seq` in a group `viewer` belongs to (NapCat's msg_seq form)."""

        async def txn_fn(txn: Txn) -> int:
            await acting_member_txn(txn, group_id, viewer)
            found = await essence_sql.message_by_seq_txn(txn, group_id, seq)
            if found is None:
                raise NotFound(f"no message with msg_seq {seq} in group {group_id}")
            return found

        return await self._engine.read(txn_fn)
