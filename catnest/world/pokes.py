"""Pokes (QQ's 戳一戳): nothing is stored; the bots present hear of each one."""

from __future__ import annotations

from catnest.onebot.errors import BadParams, NotFound, NotPermitted
from catnest.store import accounts as accounts_sql
from catnest.store import conversations as conv_sql
from catnest.store import groups as groups_sql
from catnest.store.engine import Txn
from catnest.world.events import Poked
from catnest.world.groups import acting_member_txn
from catnest.world.part import WorldPart


class Pokes(WorldPart):
    """Who may poke whom."""

    async def poke(self, user: int, target: int, group_id: int | None = None) -> None:
        """`user` pokes `target`: in a group both belong to, or privately between friends or
        members of a common group."""

        async def txn_fn(txn: Txn) -> None:
            for uin in (user, target):
                if await accounts_sql.get_account_txn(txn, uin) is None:
                    raise NotFound(f"user {uin} not found")
            if group_id is not None:
                await acting_member_txn(txn, group_id, user)
                if await groups_sql.get_member_txn(txn, group_id, target) is None:
                    raise NotFound(f"user {target} is not a member of group {group_id}")
                conv = await conv_sql.get_group_conv_txn(txn, group_id)
                assert conv is not None
                audience = await conv_sql.bot_members_txn(txn, conv.conv_id)
            else:
                if user == target:
                    raise BadParams("target_id: cannot poke yourself in a private chat")
                related = await accounts_sql.get_friend_txn(txn, user, target) is not None
                if not related and not await groups_sql.share_a_group_txn(txn, user, target):
                    raise NotPermitted(f"{user} and {target} are neither friends nor in a group")
                audience = await accounts_sql.bots_among_txn(txn, (user, target))
            self._publish(txn, Poked(group_id, user, target, audience))

        # Through the writer although nothing is written: the event then takes its place among
        # the conversation's other events.
        await self._engine.write("poke", txn_fn)
