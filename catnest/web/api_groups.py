"""Groups as a user manages them: create, rename, mute, leave; members, admins, cards, mutes."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from catnest.store.records import Group, Member
from catnest.web.api import NO_CONTENT, ApiError, ApiRequest, Reply, Routes, accepted, created
from catnest.world.world import World

routes = Routes()

# New groups are numbered after the demo's 30001-30002.
GROUP_BASE = 30001
_GROUP_SPAN = 10**7
_MEMBER = "/api/v1/users/{uin}/groups/{group_id}/members/{user_id}"


def group_json(group: Group, role: str | None = None) -> dict[str, Any]:
    """A group as the user API shows it; `role` is the viewer's."""
    out: dict[str, Any] = {
        "group_id": group.group_id,
        "name": group.name,
        "owner": group.owner_uin,
        "member_count": group.member_count,
        "max_member_count": group.max_member_count,
        "mute_all": group.whole_ban,
        "created_at": group.created_at,
    }
    if role is not None:
        out["role"] = role
    return out


def member_json(member: Member) -> dict[str, Any]:
    """A group member."""
    account = member.account
    return {
        "uin": account.uin,
        "nickname": account.nickname,
        "is_bot": account.is_bot,
        "role": member.role,
        "card": member.card,
        "title": member.title,
        "join_time": member.join_time,
        "last_sent_time": member.last_sent_time,
        "muted_until": member.shut_up_until,
    }


async def allocate_group_id(world: World, base: int = GROUP_BASE) -> int:
    """The next free group number: one past the highest in the group range."""
    taken = {group.group_id for group in await world.groups.all_groups()}
    candidate = max((g for g in taken if base <= g < base + _GROUP_SPAN), default=base - 1) + 1
    while candidate in taken:
        candidate += 1
    return candidate


def _check_name(req: ApiRequest, field: str, value: str) -> str:
    limit = req.ctx.limits.max_name_chars
    if len(value) > limit:
        raise ApiError.bad(f"{field}: longer than {limit} characters")
    return value


async def _own_view(req: ApiRequest, uin: int, group_id: int) -> dict[str, Any]:
    member = await req.ctx.world.groups.require_member(group_id, uin)
    return group_json(await req.ctx.world.groups.group(group_id), member.role)


@routes.get("/api/v1/users/{uin}/groups")
async def list_groups(req: ApiRequest) -> Any:
    """The groups the user belongs to, with their role in each."""
    uin = await req.acting_user()
    out = []
    for group in await req.ctx.world.groups.groups_of(uin):
        member = await req.ctx.world.groups.member(group.group_id, uin)
        out.append(group_json(group, member.role if member else None))
    return {"groups": out}


class NewGroup(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: str
    group_id: int | None = None
    members: list[int] = []


@routes.post("/api/v1/users/{uin}/groups")
async def create_group(req: ApiRequest) -> Reply:
    """Create a group owned by the user, with `members` (bots included) put in directly."""
    uin = await req.acting_user()
    body = await req.body(NewGroup)
    world = req.ctx.world
    name = _check_name(req, "name", body.name)
    group_id = body.group_id
    if group_id is None:
        group_id = await allocate_group_id(world)
    elif group_id in {g.group_id for g in await world.groups.all_groups()}:
        raise ApiError.conflict(f"group {group_id} already exists")
    members = [(m, "member", "") for m in dict.fromkeys(body.members) if m != uin]
    group = await world.groups.create_group(group_id, name, uin, members)
    return created(group_json(group, "owner"))


@routes.get("/api/v1/users/{uin}/groups/{group_id}")
async def get_group(req: ApiRequest) -> Any:
    """A group the user belongs to."""
    uin = await req.acting_user()
    return await _own_view(req, uin, req.uin("group_id"))


class GroupChange(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: str | None = None
    mute_all: bool | None = None


@routes.patch("/api/v1/users/{uin}/groups/{group_id}")
async def change_group(req: ApiRequest) -> Any:
    """Rename the group and/or turn the whole-group mute on or off (owner or admin)."""
    uin = await req.acting_user()
    group_id = req.uin("group_id")
    body = await req.body(GroupChange)
    if body.name is None and body.mute_all is None:
        raise ApiError.bad("name or mute_all: at least one is required")
    if body.name is not None:
        await req.ctx.world.group_admin.set_group_name(
            uin, group_id, _check_name(req, "name", body.name)
        )
    if body.mute_all is not None:
        await req.ctx.world.group_admin.whole_ban(uin, group_id, body.mute_all)
    return await _own_view(req, uin, group_id)


@routes.delete("/api/v1/users/{uin}/groups/{group_id}")
async def leave_group(req: ApiRequest) -> Reply:
    """Leave the group; its owner must pass `?dismiss=true`, which dismisses it."""
    uin = await req.acting_user()
    dismiss = req.flag_query("dismiss")
    await req.ctx.world.groups.leave(uin, req.uin("group_id"), dismiss=dismiss)
    return NO_CONTENT


@routes.get("/api/v1/users/{uin}/groups/{group_id}/members")
async def list_members(req: ApiRequest) -> Any:
    """Every member of a group the user belongs to."""
    uin = await req.acting_user()
    members = await req.ctx.world.groups.members(req.uin("group_id"), uin)
    return {"members": [member_json(m) for m in members]}


class NewMember(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    user_id: int
    card: str = ""
    invite: bool = False


@routes.post("/api/v1/users/{uin}/groups/{group_id}/members")
async def add_member(req: ApiRequest) -> Reply:
    """Put an account in the group (any member may); with `invite` send an invitation the
    invitee answers instead (a bot hears a `request.group` event with sub_type invite)."""
    uin = await req.acting_user()
    group_id = req.uin("group_id")
    body = await req.body(NewMember)
    if body.invite:
        flag = await req.ctx.world.requests.invite_to_group(uin, group_id, body.user_id)
        return accepted({"flag": flag})
    card = _check_name(req, "card", body.card)
    await req.ctx.world.groups.require_member(group_id, uin)
    if await req.ctx.world.groups.member(group_id, body.user_id) is not None:
        raise ApiError.conflict(f"{body.user_id} is already a member of group {group_id}")
    member = await req.ctx.world.groups.add_member(
        group_id, body.user_id, "member", card, operator=uin
    )
    return created(member_json(member))


@routes.delete(_MEMBER)
async def kick(req: ApiRequest) -> Reply:
    """Remove a member (owner or admin over a lower rank); `?block=true` refuses their
    later join requests."""
    uin = await req.acting_user()
    block = req.flag_query("block")
    await req.ctx.world.group_admin.kick(
        uin, req.uin("group_id"), req.uin("user_id"), reject_add_request=block
    )
    return NO_CONTENT


async def _member_now(req: ApiRequest, uin: int) -> Any:
    member = await req.ctx.world.groups.group_member(req.uin("group_id"), req.uin("user_id"), uin)
    return member_json(member)


@routes.put(_MEMBER + "/admin")
async def appoint_admin(req: ApiRequest) -> Any:
    """Make a member an admin (owner only)."""
    uin = await req.acting_user()
    await req.ctx.world.group_admin.set_admin(uin, req.uin("group_id"), req.uin("user_id"), True)
    return await _member_now(req, uin)


@routes.delete(_MEMBER + "/admin")
async def dismiss_admin(req: ApiRequest) -> Any:
    """Make an admin a plain member again (owner only)."""
    uin = await req.acting_user()
    await req.ctx.world.group_admin.set_admin(uin, req.uin("group_id"), req.uin("user_id"), False)
    return await _member_now(req, uin)


class CardChange(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    card: str


@routes.put(_MEMBER + "/card")
async def set_card(req: ApiRequest) -> Any:
    """Set a group card: one's own, or (owner / admin) a lower rank's; "" clears it."""
    uin = await req.acting_user()
    body = await req.body(CardChange)
    card = _check_name(req, "card", body.card)
    await req.ctx.world.group_admin.set_card(uin, req.uin("group_id"), req.uin("user_id"), card)
    return await _member_now(req, uin)


class Mute(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    duration: Annotated[int, msgspec.Meta(ge=1)]


@routes.put(_MEMBER + "/mute")
async def mute(req: ApiRequest) -> Any:
    """Mute a member for `duration` seconds (cut to QQ's 30 days); owner or admin."""
    uin = await req.acting_user()
    body = await req.body(Mute)
    applied = await req.ctx.world.group_admin.ban(
        uin, req.uin("group_id"), req.uin("user_id"), body.duration
    )
    return {"duration": applied, "member": await _member_now(req, uin)}


@routes.delete(_MEMBER + "/mute")
async def unmute(req: ApiRequest) -> Reply:
    """Lift a member's mute."""
    uin = await req.acting_user()
    await req.ctx.world.group_admin.ban(uin, req.uin("group_id"), req.uin("user_id"), 0)
    return NO_CONTENT


class JoinRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    group_id: int
    comment: str = ""


@routes.post("/api/v1/users/{uin}/group-requests")
async def request_join(req: ApiRequest) -> Reply:
    """Ask to join a group; its owner and admins (bots among them hear a `request.group`
    event) answer."""
    uin = await req.acting_user()
    body = await req.body(JoinRequest)
    flag = await req.ctx.world.requests.request_join_group(uin, body.group_id, body.comment)
    return accepted({"flag": flag})
