"""Access tokens, shared by every port (DESIGN.md §2 "auth")."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from catnest.onebot.errors import Retcode


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request was refused: HTTP status, retcode and message."""

    status: int
    retcode: int
    message: str


MISSING = Refusal(401, Retcode.UNAUTHORIZED, "access token required")
WRONG = Refusal(403, Retcode.FORBIDDEN, "access token is wrong")
CONFLICT = Refusal(403, Retcode.FORBIDDEN, "access tokens in the query and the header differ")


def header_token(value: str | None) -> str | None:
    """The token of an Authorization header: `Bearer x`, `Token x` or a bare `x`; None when
    the header is absent or names a scheme with nothing after it (`Bearer `).

    Koishi's HTTP mode sends `Token x` (clients-on-the-wire.md §7); schemes are case-insensitive.
    """
    if value is None:
        return None
    value = value.strip()
    scheme, _, rest = value.partition(" ")
    if scheme.lower() in ("bearer", "token"):
        value = rest.strip()
    return value or None


def check_token(
    expected: str, query_token: str | None, authorization: str | None
) -> Refusal | None:
    """Check a request's token (from `?access_token=` and the Authorization header); None
    when it may proceed.

    With no token configured every request passes and the Authorization header is ignored
    (Koishi sends `Token undefined` then).
    """
    if not expected:
        return None
    from_query = query_token or None
    from_header = header_token(authorization)
    if from_query is not None and from_header is not None and not same(from_query, from_header):
        return CONFLICT
    given = from_query if from_query is not None else from_header
    if given is None:
        return MISSING
    return None if same(given, expected) else WRONG


def same(a: str, b: str) -> bool:
    """Constant-time comparison of two tokens.

    Header values may hold bytes that are not UTF-8 (aiohttp keeps them as surrogates):
    compared as the bytes they were, such a token is simply wrong, never an error.
    """
    return hmac.compare_digest(
        a.encode("utf-8", "surrogateescape"), b.encode("utf-8", "surrogateescape")
    )
