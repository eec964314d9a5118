"""Conversations as their members read them: finding one, history pages, read marks and the
recent-contacts list (with the per-viewer cache of its rendered answers)."""

from __future__ import annotations

from catnest.onebot.errors import NotFound, NotPermitted
from catnest.store import accounts as accounts_sql
from catnest.store import conversations as conv_sql
from catnest.store import messages as msg_sql
from catnest.store.engine import Txn
from catnest.store.records import Conversation, RecentEntry, StoredMessage
from catnest.world.events import ViewChanged
from catnest.world.part import WorldPart


class Conversations(WorldPart):
    """Reads of conversations, and the read cursors each member keeps in them."""

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

    async def conv_of(self, message: StoredMessage) -> Conversation:
        """The conversation a message belongs to."""
        conv = await self._engine.read(lambda txn: conv_sql.get_conv_txn(txn, message.conv_id))
        assert conv is not None
        return conv

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

        async def txn_fn(txn: Txn) -> list[StoredMessage]:
            anchor_seq: int | None = None
            if anchor is not None:
                target = await msg_sql.get_message_txn(txn, anchor)
                if target is None or target.conv_id != conv.conv_id:
                    raise NotFound(f"message {anchor} not found in this conversation")
                anchor_seq = target.seq
            return await msg_sql.history_txn(
                txn,
                conv.conv_id,
                anchor_seq=anchor_seq,
                count=count,
                older=older,
                with_recalled=with_recalled,
            )

        return await self._engine.read(txn_fn)

    async def recent_contacts(self, viewer: int, count: int) -> list[RecentEntry]:
        """`viewer`'s conversations with a visible message, most recent first."""
        if count <= 0:
            return []
        return await self._engine.read(lambda txn: conv_sql.recent_contacts_txn(txn, viewer, count))

    async def mark_read(self, viewer: int, conv: Conversation, up_to: int | None = None) -> None:
        """Mark `conv` read for `viewer`: all of it, or up to and including message `up_to`.

        A reader that names the newest message it has shown never marks read one that arrived
        while its mark was on the way (the cursor only moves forward either way).
        """

        async def txn_fn(txn: Txn) -> None:
            if up_to is None:
                await conv_sql.mark_conv_read_txn(txn, viewer, conv.conv_id)
            else:
                message = await msg_sql.get_message_txn(txn, up_to)
                if message is None or message.conv_id != conv.conv_id:
                    raise NotFound(f"message {up_to} not found in this conversation")
                await conv_sql.set_read_txn(txn, viewer, conv.conv_id, message.seq)
            self._publish(txn, ViewChanged((viewer,)))

        await self._engine.write("mark_read", txn_fn)

    async def mark_all_read(self, viewer: int) -> None:
        """Mark every conversation of `viewer` read."""

        async def txn_fn(txn: Txn) -> None:
            await conv_sql.mark_all_read_txn(txn, viewer)
            self._publish(txn, ViewChanged((viewer,)))

        await self._engine.write("mark_all_read", txn_fn)
