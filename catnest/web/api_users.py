"""Accounts and friendships: create virtual users, list who exists, befriend and ask to befriend."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from catnest import __version__
from catnest.onebot.errors import BadParams
from catnest.store.records import Account, Friend
from catnest.web.api import ApiError, ApiRequest, Reply, Routes, accepted, created
from catnest.world.accounts import check_uin
from catnest.world.world import World

routes = Routes()

# New virtual users are numbered after the demo's 20001-20004, away from bots and groups.
USER_BASE = 20001
_USER_SPAN = 10**7
# Concurrent creations may pick the same free number; the loser tries the next one.
_ALLOCATION_ATTEMPTS = 8

Sex = Literal["male", "female", "unknown"]


def account_json(account: Account) -> dict[str, Any]:
    """An account as the user API shows it."""
    return {
        "uin": account.uin,
        "nickname": account.nickname,
        "is_bot": account.is_bot,
        "sex": account.sex,
        "age": account.age,
        "sign": account.sign,
        "created_at": account.created_at,
    }


def friend_json(friend: Friend) -> dict[str, Any]:
    """A friend, with the remark its owner keeps for them."""
    return {**account_json(friend.account), "remark": friend.remark}


async def allocate_uin(world: World, base: int = USER_BASE) -> int:
    """The next free QQ number for a virtual user: one past the highest in the user range."""
    taken = {account.uin for account in await world.accounts.accounts()}
    candidate = max((u for u in taken if base <= u < base + _USER_SPAN), default=base - 1) + 1
    while candidate in taken:
        candidate += 1
    return candidate


async def create_user(
    world: World,
    nickname: str,
    uin: int | None = None,
    *,
    sex: str = "unknown",
    age: int = 0,
    max_name_chars: int = 128,
) -> Account:
    """Create a virtual user, numbering it when `uin` is None; 409 when `uin` is taken."""
    if len(nickname) > max_name_chars:
        raise ApiError.bad(f"nickname: longer than {max_name_chars} characters")
    if uin is not None:
        check_uin(uin, "uin")
        if await world.accounts.find_account(uin) is not None:
            raise ApiError.conflict(f"account {uin} already exists")
        return await world.accounts.create_account(uin, nickname, sex=sex, age=age)
    for _ in range(_ALLOCATION_ATTEMPTS):
        candidate = await allocate_uin(world)
        try:
            return await world.accounts.create_account(candidate, nickname, sex=sex, age=age)
        except BadParams:
            if await world.accounts.find_account(candidate) is None:
                raise  # refused for another reason (the nickname)
    raise ApiError.conflict("could not find a free QQ number; pass uin explicitly")


@routes.get("/api/v1/info")
async def info(req: ApiRequest) -> Any:
    """The server, its bots and the limits a client should respect."""
    bots = [account_json(await req.ctx.world.accounts.account(uin)) for uin in req.ctx.bots]
    limits = req.ctx.limits
    return {
        "app_name": "Catnest",
        "app_version": __version__,
        "bots": bots,
        "limits": {
            "max_upload_bytes": req.ctx.media.max_bytes,
            "max_body_bytes": limits.max_body_bytes,
            "max_message_text_chars": limits.max_message_text_chars,
            "max_history_count": limits.max_history_count,
            "max_recent_contacts": limits.max_recent_contacts,
            "max_name_chars": limits.max_name_chars,
        },
    }


@routes.get("/api/v1/users")
async def list_users(req: ApiRequest) -> Any:
    """Every account, bots included (`is_bot`); `?kind=user` or `?kind=bot` filters."""
    kind = req.query.get("kind", "")
    if kind not in ("", "user", "bot"):
        raise ApiError.bad(f"kind: expected 'user' or 'bot', got {kind!r}")
    accounts = await req.ctx.world.accounts.accounts()
    if kind:
        accounts = [a for a in accounts if a.is_bot == (kind == "bot")]
    return {"users": [account_json(a) for a in accounts]}


class NewUser(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    nickname: str
    uin: int | None = None
    sex: Sex = "unknown"
    age: Annotated[int, msgspec.Meta(ge=0, le=150)] = 0


@routes.post("/api/v1/users")
async def create(req: ApiRequest) -> Reply:
    """Create a virtual user; the QQ number is allocated when `uin` is absent."""
    body = await req.body(NewUser)
    account = await create_user(
        req.ctx.world,
        body.nickname,
        body.uin,
        sex=body.sex,
        age=body.age,
        max_name_chars=req.ctx.limits.max_name_chars,
    )
    return created(account_json(account))


@routes.get("/api/v1/users/{uin}")
async def get_user(req: ApiRequest) -> Any:
    """One account (a bot's too)."""
    return account_json(await req.ctx.world.accounts.account(req.uin("uin")))


@routes.get("/api/v1/users/{uin}/friends")
async def friends(req: ApiRequest) -> Any:
    """The user's friends with the user's remarks."""
    uin = await req.acting_user()
    return {"friends": [friend_json(f) for f in await req.ctx.world.friends.friends(uin)]}


class NewFriend(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    user_id: int
    remark: str = ""
    peer_remark: str = ""


@routes.post("/api/v1/users/{uin}/friends")
async def add_friend(req: ApiRequest) -> Reply:
    """Become friends directly (no request), bots included: a test's quickest setup."""
    uin = await req.acting_user()
    body = await req.body(NewFriend)
    await req.ctx.world.accounts.account(body.user_id)
    if await req.ctx.world.friends.friend(uin, body.user_id) is not None:
        raise ApiError.conflict(f"{uin} and {body.user_id} are already friends")
    await req.ctx.world.friends.make_friends(uin, body.user_id, body.remark, body.peer_remark)
    friend = await req.ctx.world.friends.friend(uin, body.user_id)
    assert friend is not None
    return created(friend_json(friend))


@routes.delete("/api/v1/users/{uin}/friends/{user_id}")
async def delete_friend(req: ApiRequest) -> Reply:
    """End a friendship on both sides; the chat history stays."""
    uin = await req.acting_user()
    await req.ctx.world.friends.delete_friend(uin, req.uin("user_id"))
    return Reply(204)


class FriendRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    user_id: int
    comment: str = ""


@routes.post("/api/v1/users/{uin}/friend-requests")
async def request_friend(req: ApiRequest) -> Reply:
    """Ask an account (typically a bot, which hears a `request.friend` event) to be friends."""
    uin = await req.acting_user()
    body = await req.body(FriendRequest)
    await req.ctx.world.accounts.account(body.user_id)
    if await req.ctx.world.friends.friend(uin, body.user_id) is not None:
        raise ApiError.conflict(f"{uin} and {body.user_id} are already friends")
    flag = await req.ctx.world.requests.request_friend(uin, body.user_id, body.comment)
    return accepted({"flag": flag})
