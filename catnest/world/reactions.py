"""Emoji reactions on messages (QQ's 表情回应): who may react, and what the counts are."""

from __future__ import annotations

from collections.abc import Sequence

from catnest.onebot.errors import BadParams
from catnest.store import conversations as conv_sql
from catnest.store import reactions as reactions_sql
from catnest.store.engine import Txn
from catnest.store.records import StoredMessage
from catnest.world.events import ReactionChanged
from catnest.world.part import WorldPart
from catnest.world.visibility import visible_message_txn

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


class Reactions(WorldPart):
    """Reactions on messages their reactor can see."""

    async def react(self, user: int, message_id: int, emoji_id: str, add: bool) -> int:
        """Add or remove `user`'s emoji reaction on a message they can see; the new count.

        Adding twice changes nothing and publishes nothing; removing a reaction that is not
        there is 1400.
        """
        emoji = canonical_emoji_id(emoji_id)
        at = self._now()

        async def txn_fn(txn: Txn) -> int:
            message = await visible_message_txn(txn, user, message_id)
            if add:
                changed = await reactions_sql.add_reaction_txn(txn, message_id, emoji, user, at)
            else:
                changed = await reactions_sql.remove_reaction_txn(txn, message_id, emoji, user)
                if not changed:
                    raise BadParams(
                        f"no such reaction: {user} has no emoji {emoji} on {message_id}"
                    )
            count = await reactions_sql.reaction_count_txn(txn, message_id, emoji)
            if changed:
                audience = await conv_sql.bot_members_txn(txn, message.conv_id)
                self._publish(txn, ReactionChanged(message, user, emoji, count, add, audience))
            return count

        return await self._engine.write("react", txn_fn)

    async def summary(self, viewer: int, message_id: int) -> list[tuple[str, int]]:
        """(emoji_id, count) of the reactions on a message `viewer` can see."""

        async def txn_fn(txn: Txn) -> list[tuple[str, int]]:
            await visible_message_txn(txn, viewer, message_id)
            return await reactions_sql.reaction_summary_txn(txn, message_id)

        return await self._engine.read(txn_fn)

    async def on_messages(
        self, viewer: int, messages: Sequence[StoredMessage]
    ) -> dict[int, list[tuple[str, int, bool]]]:
        """(emoji_id, count, mine) per message, for messages `viewer` was just shown (a history
        page or a get_message answer, which checked that they may see them)."""
        ids = [m.message_id for m in messages]
        return await self._engine.read(
            lambda txn: reactions_sql.reaction_summaries_txn(txn, ids, viewer)
        )

    async def users(
        self, viewer: int, message_id: int, emoji_id: str, limit: int | None = None
    ) -> list[tuple[int, str]]:
        """(uin, nickname) of who reacted with `emoji_id`, earliest first."""
        emoji = canonical_emoji_id(emoji_id)

        async def txn_fn(txn: Txn) -> list[tuple[int, str]]:
            await visible_message_txn(txn, viewer, message_id)
            return await reactions_sql.reaction_users_txn(txn, message_id, emoji, limit)

        return await self._engine.read(txn_fn)
