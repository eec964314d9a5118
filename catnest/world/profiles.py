"""Profiles: likes (QQ's 点赞) now; nicknames, signatures and statuses join them here."""

from __future__ import annotations

from catnest.onebot.errors import BadParams, NotFound
from catnest.store import accounts as accounts_sql
from catnest.store.engine import Txn
from catnest.world.events import ProfileLiked
from catnest.world.part import WorldPart

# QQ lets one account like another's profile 10 times a day (non-VIP).
MAX_LIKES_PER_DAY = 10


class Profiles(WorldPart):
    """What accounts show of themselves, and what others do to it."""

    async def send_like(self, liker: int, target: int, times: int = 1) -> None:
        """Like `target`'s profile `times` times; at most MAX_LIKES_PER_DAY a UTC day.

        NapCat lets bots like strangers too, so any existing account may be liked.
        """
        if times < 1:
            raise BadParams(f"times: must be at least 1, got {times}")
        if liker == target:
            raise BadParams("user_id: cannot like your own profile")
        now = self._now()
        day = now // 86400

        async def txn_fn(txn: Txn) -> None:
            if await accounts_sql.get_account_txn(txn, target) is None:
                raise NotFound(f"user {target} not found")
            account = await accounts_sql.get_account_txn(txn, liker)
            if account is None:
                raise NotFound(f"user {liker} not found")
            used = await accounts_sql.likes_on_day_txn(txn, target, liker, day)
            if used + times > MAX_LIKES_PER_DAY:
                raise BadParams(
                    f"times: at most {MAX_LIKES_PER_DAY} likes per profile per day;"
                    f" {MAX_LIKES_PER_DAY - used} left today for {target}"
                )
            await accounts_sql.add_likes_txn(txn, target, liker, day, times)
            audience = await accounts_sql.bots_among_txn(txn, (target,))
            self._publish(txn, ProfileLiked(target, liker, account.nickname, times, audience))

        await self._engine.write("send_like", txn_fn)
