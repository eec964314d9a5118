"""The bot's own account and the server: login info, version, status, credentials."""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec

from catnest import __version__
from catnest.actions import registry
from catnest.actions.context import ActionContext
from catnest.onebot.params import NoParams


class DomainParams(msgspec.Struct):
    domain: str = ""


def skey_of(uin: int) -> str:
    """A stable skey for a world account (no real QQ login exists to issue one).

    Derived from the uin alone so every restart, process and store answers the same.
    """
    return "@" + hashlib.sha256(f"catnest-skey:{uin}".encode()).hexdigest()[:9]


def bkn_of(skey: str) -> int:
    """QQ's CSRF token (bkn / g_tk) of an skey: the well-known DJB-style hash."""
    value = 5381
    for char in skey:
        value += (value << 5) + ord(char)
    return value & 0x7FFFFFFF


def _cookies(uin: int, domain: str) -> str:
    skey = skey_of(uin)
    parts = [f"uin=o{uin}", f"skey={skey}", f"p_uin=o{uin}"]
    if domain:
        parts.append(f"p_skey={skey_of(uin * 31 + len(domain))}")
    return "; ".join(parts)


@registry.action("get_login_info")
async def get_login_info(ctx: ActionContext, p: NoParams) -> dict[str, Any]:
    account = await ctx.world.accounts.account(ctx.self_id)
    return {"user_id": account.uin, "nickname": account.nickname}


@registry.action("get_version_info")
async def get_version_info(ctx: ActionContext, p: NoParams) -> dict[str, Any]:
    # NapCat-targeted clients pick their dialect from app_name (DESIGN.md §2 "identity").
    return {
        "app_name": ctx.identity.app_name,
        "protocol_version": ctx.identity.protocol_version,
        "app_version": ctx.identity.app_version,
        "catnest_name": "Catnest",
        "catnest_version": __version__,
    }


@registry.action("get_status")
async def get_status(ctx: ActionContext, p: NoParams) -> dict[str, Any]:
    return {"online": True, "good": True, "stat": {}}


@registry.action("get_cookies", DomainParams)
async def get_cookies(ctx: ActionContext, p: DomainParams) -> dict[str, Any]:
    return {"cookies": _cookies(ctx.self_id, p.domain), "bkn": str(bkn_of(skey_of(ctx.self_id)))}


@registry.action("get_csrf_token")
async def get_csrf_token(ctx: ActionContext, p: NoParams) -> dict[str, Any]:
    return {"token": bkn_of(skey_of(ctx.self_id))}


@registry.action("get_credentials", DomainParams)
async def get_credentials(ctx: ActionContext, p: DomainParams) -> dict[str, Any]:
    return {"cookies": _cookies(ctx.self_id, p.domain), "token": bkn_of(skey_of(ctx.self_id))}


@registry.action("can_send_image")
async def can_send_image(ctx: ActionContext, p: NoParams) -> dict[str, Any]:
    return {"yes": True}


@registry.action("can_send_record")
async def can_send_record(ctx: ActionContext, p: NoParams) -> dict[str, Any]:
    return {"yes": True}
