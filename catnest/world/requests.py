"""Friend requests and group join requests / invitations: asking, and answering by flag.

A flag is an opaque random string stored with its request, so it survives restarts and a bot
can answer a request it heard of before the server went down.
"""

from __future__ import annotations

import secrets

from catnest.onebot.errors import BadParams, NotFound, NotPermitted
from catnest.store import accounts as accounts_sql
from catnest.store import groups as groups_sql
from catnest.store import requests as requests_sql
from catnest.store.engine import Txn
from catnest.store.requests import APPROVED, PENDING, REJECTED, GroupRequest
from catnest.world.events import FriendAdded, FriendRequested, GroupRequested, MemberJoined
from catnest.world.groups import acting_member_txn, admit_member_txn, live_group_txn
from catnest.world.part import WorldPart
from catnest.world.roles import is_manager


def new_flag() -> str:
    """A fresh request flag: 64 random bits, so flags cannot be guessed or collide."""
    return secrets.token_hex(8)


async def _require_account_txn(txn: Txn, uin: int) -> str:
    account = await accounts_sql.get_account_txn(txn, uin)
    if account is None:
        raise NotFound(f"user {uin} not found")
    return account.nickname


def _require_pending(kind: str, flag: str, state: str) -> None:
    if state != PENDING:
        raise BadParams(f"{kind} request {flag} was already handled ({state})")


class Requests(WorldPart):
    """Asking to be friends or to join a group, and answering such requests."""

    async def request_friend(self, requester: int, target: int, comment: str = "") -> str:
        """Ask `target` to be friends; return the request's flag."""
        if requester == target:
            raise BadParams("user_id: cannot send a friend request to yourself")
        flag, now = new_flag(), self._now()

        async def txn_fn(txn: Txn) -> str:
            await _require_account_txn(txn, requester)
            await _require_account_txn(txn, target)
            if await accounts_sql.get_friend_txn(txn, requester, target) is not None:
                raise BadParams(f"{requester} and {target} are already friends")
            pending = await requests_sql.pending_friend_request_txn(txn, requester, target)
            if pending is not None:
                raise BadParams(
                    f"a friend request between {requester} and {target} is already pending"
                    f" (flag {pending.flag})"
                )
            await requests_sql.insert_friend_request_txn(txn, flag, requester, target, comment, now)
            audience = await accounts_sql.bots_among_txn(txn, (target,))
            self._publish(txn, FriendRequested(requester, target, comment, flag, audience))
            return flag

        return await self._engine.write("request_friend", txn_fn)

    async def answer_friend_request(
        self, responder: int, flag: str, approve: bool, remark: str = ""
    ) -> None:
        """Approve or reject a friend request addressed to `responder`.

        On approval `responder` keeps `remark` for the requester, and both sides' bots hear
        of the new friendship.
        """
        now = self._now()

        async def txn_fn(txn: Txn) -> None:
            request = await requests_sql.get_friend_request_txn(txn, flag)
            if request is None:
                raise NotFound(f"friend request {flag} not found")
            if request.target != responder:
                raise NotPermitted(f"friend request {flag} is addressed to {request.target}")
            _require_pending("friend", flag, request.state)
            await requests_sql.set_friend_request_state_txn(
                txn, flag, APPROVED if approve else REJECTED
            )
            a, b = request.requester, request.target
            # They may have become friends another way while the request waited.
            if approve and await accounts_sql.get_friend_txn(txn, b, a) is None:
                await accounts_sql.insert_friendship_txn(txn, b, a, remark, now)
                await accounts_sql.insert_friendship_txn(txn, a, b, "", now)
                audience = await accounts_sql.bots_among_txn(txn, (a, b))
                self._publish(txn, FriendAdded(a, b, audience))

        return await self._engine.write("answer_friend_request", txn_fn)

    async def request_join_group(self, user: int, group_id: int, comment: str = "") -> str:
        """Ask to join `group_id`; its owner and admins answer. Return the flag."""
        flag, now = new_flag(), self._now()

        async def txn_fn(txn: Txn) -> str:
            await live_group_txn(txn, group_id)
            await _require_account_txn(txn, user)
            if await groups_sql.is_blocked_txn(txn, group_id, user):
                raise NotPermitted(f"{user} was kicked from group {group_id} and may not rejoin")
            await self._check_can_join_txn(txn, "add", group_id, user)
            await requests_sql.insert_group_request_txn(
                txn,
                flag=flag,
                kind="add",
                group_id=group_id,
                user_id=user,
                inviter=None,
                comment=comment,
                at=now,
            )
            audience = await groups_sql.bot_managers_txn(txn, group_id)
            self._publish(txn, GroupRequested(group_id, user, 0, "add", comment, flag, audience))
            return flag

        return await self._engine.write("request_join_group", txn_fn)

    async def invite_to_group(self, inviter: int, group_id: int, invitee: int) -> str:
        """Invite `invitee` into a group `inviter` belongs to; the invitee answers."""
        flag, now = new_flag(), self._now()

        async def txn_fn(txn: Txn) -> str:
            await _require_account_txn(txn, invitee)
            await acting_member_txn(txn, group_id, inviter)
            await self._check_can_join_txn(txn, "invite", group_id, invitee)
            await requests_sql.insert_group_request_txn(
                txn,
                flag=flag,
                kind="invite",
                group_id=group_id,
                user_id=invitee,
                inviter=inviter,
                comment="",
                at=now,
            )
            audience = await accounts_sql.bots_among_txn(txn, (invitee,))
            self._publish(
                txn, GroupRequested(group_id, invitee, inviter, "invite", "", flag, audience)
            )
            return flag

        return await self._engine.write("invite_to_group", txn_fn)

    async def _check_can_join_txn(self, txn: Txn, kind: str, group_id: int, uin: int) -> None:
        if await groups_sql.get_member_txn(txn, group_id, uin) is not None:
            raise BadParams(f"{uin} is already a member of group {group_id}")
        pending = await requests_sql.pending_group_request_txn(txn, kind, group_id, uin)
        if pending is not None:
            what = "join request" if kind == "add" else "invitation"
            raise BadParams(
                f"a {what} for {uin} to group {group_id} is already pending (flag {pending.flag})"
            )

    async def answer_group_request(
        self, responder: int, flag: str, approve: bool, reason: str = ""
    ) -> None:
        """Approve or reject a join request (owner / admin) or an invitation (the invitee).

        `reason` is accepted as NapCat does; nobody in the world is shown it.
        """
        now = self._now()

        async def txn_fn(txn: Txn) -> None:
            request = await requests_sql.get_group_request_txn(txn, flag)
            if request is None:
                raise NotFound(f"group request {flag} not found")
            group = await live_group_txn(txn, request.group_id)
            await self._check_may_answer_txn(txn, request, responder)
            _require_pending("group", flag, request.state)
            await requests_sql.set_group_request_state_txn(
                txn, flag, APPROVED if approve else REJECTED
            )
            joined = await groups_sql.get_member_txn(txn, group.group_id, request.user_id)
            if approve and joined is None:
                audience = await admit_member_txn(txn, group, request.user_id, "member", "", now)
                if request.kind == "add":
                    operator, sub_type = responder, "approve"
                else:
                    operator, sub_type = request.inviter or 0, "invite"
                event = MemberJoined(group.group_id, request.user_id, operator, sub_type, audience)
                self._publish(txn, event)

        return await self._engine.write("answer_group_request", txn_fn)

    async def _check_may_answer_txn(self, txn: Txn, request: GroupRequest, responder: int) -> None:
        if request.kind == "invite":
            if responder != request.user_id:
                raise NotPermitted(f"invitation {request.flag} is addressed to {request.user_id}")
            return
        member = await groups_sql.get_member_txn(txn, request.group_id, responder)
        if member is None or not is_manager(member.role):
            raise NotPermitted(
                f"only the owner or an admin of group {request.group_id} may answer join requests"
            )

    async def group_requests(self, viewer: int, count: int) -> list[GroupRequest]:
        """The group requests `viewer` may answer (handled ones too), newest first."""
        return await self._engine.read(
            lambda txn: requests_sql.visible_group_requests_txn(txn, viewer, count)
        )
