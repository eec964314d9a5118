"""Friend and group requests: approving or rejecting them, and the group notification box."""

from __future__ import annotations

from typing import Any

import msgspec

from catnest.actions import registry
from catnest.actions.context import ActionContext
from catnest.actions.friends import bounded_text
from catnest.onebot.errors import BadParams
from catnest.onebot.params import HistoryCount, parse_bool
from catnest.store.requests import PENDING, GroupRequest

# NapCat reads the 50 newest group notifications (GetGroupSystemMsg.ts).
DEFAULT_SYSTEM_MSG_COUNT = 50


class FriendAnswerParams(msgspec.Struct):
    flag: Any = msgspec.UNSET
    approve: Any = msgspec.UNSET
    remark: str | None = ""


class GroupAnswerParams(msgspec.Struct):
    flag: Any = msgspec.UNSET
    approve: Any = msgspec.UNSET
    reason: str | None = ""
    # Accepted and ignored: the flag alone names the request (`type` is OB11's old name for
    # sub_type, `count` NapCat's notification search depth).
    sub_type: Any = msgspec.UNSET
    type: Any = msgspec.UNSET
    count: Any = msgspec.UNSET


class SystemMsgParams(msgspec.Struct):
    # The box holds only requests, so the history page limit bounds it well enough.
    count: HistoryCount = DEFAULT_SYSTEM_MSG_COUNT


def parse_flag(value: Any) -> str:
    """A request flag: a non-empty string (a number is taken as its digits)."""
    if value is msgspec.UNSET or value is None or value == "":
        raise BadParams("flag: required")
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadParams(f"flag: expected a string, got {value!r}")
    flag = str(value).strip()
    if not flag:
        raise BadParams("flag: required")
    return flag


@registry.action("set_friend_add_request", FriendAnswerParams)
async def set_friend_add_request(ctx: ActionContext, p: FriendAnswerParams) -> None:
    flag = parse_flag(p.flag)
    approve = parse_bool(p.approve, name="approve", default=True)
    remark = bounded_text(p.remark, name="remark", limit=ctx.limits.max_name_chars)
    await ctx.world.requests.answer_friend_request(ctx.self_id, flag, approve, remark)


@registry.action("set_group_add_request", GroupAnswerParams)
async def set_group_add_request(ctx: ActionContext, p: GroupAnswerParams) -> None:
    flag = parse_flag(p.flag)
    approve = parse_bool(p.approve, name="approve", default=True)
    await ctx.world.requests.answer_group_request(ctx.self_id, flag, approve, p.reason or "")


def _notify(request: GroupRequest) -> dict[str, Any]:
    # NapCat's Notify shape: invitor_* is QQ's "user1", the one who sent the notification
    # (the requester of a join request, the inviter of an invitation). request_id is our
    # flag, which set_group_add_request takes back. The actor of an answered join request
    # is not stored, so it shows as 0, as NapCat shows it while a request is unhandled.
    invite = request.kind == "invite"
    return {
        "request_id": request.flag,
        "flag": request.flag,
        "invitor_uin": (request.inviter or 0) if invite else request.user_id,
        "invitor_nick": request.inviter_nick if invite else request.user_nick,
        "group_id": request.group_id,
        "group_name": request.group_name,
        "message": request.comment,
        "checked": request.state != PENDING,
        "actor": request.user_id if invite and request.state != PENDING else 0,
        "requester_uin": request.user_id,
        "requester_nick": request.user_nick,
    }


@registry.action("get_group_system_msg", SystemMsgParams)
async def get_group_system_msg(ctx: ActionContext, p: SystemMsgParams) -> dict[str, Any]:
    requests = await ctx.world.requests.group_requests(ctx.self_id, p.count)
    invited = [_notify(r) for r in requests if r.kind == "invite"]
    joins = [_notify(r) for r in requests if r.kind == "add"]
    # NapCat answers the invitations under two names (InvitedRequest is the older one).
    return {"invited_requests": invited, "InvitedRequest": invited, "join_requests": joins}
