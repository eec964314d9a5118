"""Reactions, essence messages and pokes: what happens around messages.

Merged forwards live in `catnest/world/forwards.py`; `Extras.forwards` is their rules object.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from catnest.onebot.errors import BadParams, NotFound, NotPermitted
from catnest.store import accounts as accounts_sql
from catnest.store import conversations as conv_sql
from catnest.store import extras as extras_sql
from catnest.store import groups as groups_sql
from catnest.store import messages as msg_sql
from catnest.store.engine import Engine, Txn
from catnest.store.extras import EssenceEntry
from catnest.store.records import StoredMessage
from catnest.world.chat import CHAT_GROUP, Chat
from catnest.world.events import EssenceChanged, Poked, ReactionChanged

# Re-exported for callers that import it from here (actions/messages.py).
from catnest.world.forwards import ForwardCard as ForwardCard
from catnest.world.forwards import Forwards
from catnest.world.hub import Hub

# QQ face ids are small numbers and Unicode emoji go by code point: either way, digits.
_MAX_EMOJI_DIGITS = 10


def canonical_emoji_id(emoji_id: str) -> str:
    """An emoji id as stored: decimal digits without leading zeros; 1400 naming `emoji_id`."""
    text = emoji_id.strip()
    if not text.isascii() or not text.isdigit() or len(text) > _MAX_EMOJI_DIGITS:
        raise BadParams(f"emoji_id: expected a face id or emoji code point, got {emoji_id!r}")
    if int(text) == 0:
        raise BadParams("emoji_id: required (0 is not an emoji)")
    return str(int(text))


class Extras:
    """Rules for reactions, essence messages and pokes; merged forwards under `forwards`."""

    def __init__(self, engine: Engine, hub: Hub, clock: Callable[[], float] = time.time) -> None:
        self._engine = engine
        self._hub = hub
        self._clock = clock
        # Chat holds no state of its own: a second instance shares the same store and hub.
        self._chat = Chat(engine, hub, clock)
        self.forwards = Forwards(engine, hub, clock)
        # Kept for callers that still reach forwards through `world.extras` (actions/messages.py).
        self.send_forward = self.forwards.send_forward
        self.carried_forwards = self.forwards.carried_forwards

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
                self._hub.publish_after(txn, event)
            return count

        return await self._engine.write("react", txn_fn)

    async def reactions(self, viewer: int, message_id: int) -> list[tuple[str, int]]:
        """(emoji_id, count) of the reactions on a message `viewer` can see."""

        async def txn_fn(txn: Txn) -> list[tuple[str, int]]:
            await self._visible_txn(txn, viewer, message_id)
            return await extras_sql.reaction_summary_txn(txn, message_id)

        return await self._engine.read(txn_fn)

    async def reactions_on(
        self, viewer: int, messages: Sequence[StoredMessage]
    ) -> dict[int, list[tuple[str, int, bool]]]:
        """(emoji_id, count, mine) per message, for messages `viewer` was just shown (a history
        page or a get_message answer, which checked that they may see them)."""
        ids = [m.message_id for m in messages]
        return await self._engine.read(
            lambda txn: extras_sql.reaction_summaries_txn(txn, ids, viewer)
        )

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
            self._hub.publish_after(txn, event)

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
            self._hub.publish_after(txn, event)

        # Through the writer although nothing is written: the event then takes its place among
        # the conversation's other events.
        await self._engine.write("poke", txn_fn)
