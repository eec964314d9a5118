"""Access tokens and browser origins, shared by every transport (DESIGN.md §2 "auth")."""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
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
CROSS_ORIGIN = Refusal(403, Retcode.UNAUTHORIZED, "cross-origin request refused")


def header_token(value: str | None) -> str | None:
    """The token of an Authorization header: `Bearer x`, `Token x` or a bare `x`.

    Koishi's HTTP mode sends `Token x` (clients-on-the-wire.md §7); schemes are case-insensitive.
    """
    if value is None:
        return None
    value = value.strip()
    scheme, _, rest = value.partition(" ")
    if rest and scheme.lower() in ("bearer", "token"):
        value = rest.strip()
    return value or None


def check_token(
    expected: str, query: Mapping[str, str], authorization: str | None
) -> Refusal | None:
    """Check a request's token; None when it may proceed.

    With no token configured every request passes and the Authorization header is ignored
    (Koishi sends `Token undefined` then).
    """
    if not expected:
        return None
    from_query = query.get("access_token") or None
    from_header = header_token(authorization)
    if from_query is not None and from_header is not None and not _same(from_query, from_header):
        return CONFLICT
    given = from_query if from_query is not None else from_header
    if given is None:
        return MISSING
    return None if _same(given, expected) else WRONG


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def own_origins(host: str, port: int, extra: Iterable[str] = ()) -> frozenset[str]:
    """The origins a page served by this server (or an allow-listed one) can have."""
    hosts = {host, "127.0.0.1", "localhost", "[::1]"}
    if ":" in host and not host.startswith("["):
        hosts.add(f"[{host}]")
    origins = {f"http://{h}:{port}" for h in hosts if h not in ("0.0.0.0", "::")}
    origins.update(o.rstrip("/") for o in extra)
    return frozenset(origins)


def check_origin(token: str, origin: str | None, allowed: frozenset[str]) -> Refusal | None:
    """Refuse a foreign browser origin when no token protects the server.

    Without a token, any web page could otherwise drive the bot on 127.0.0.1; with one, the
    token decides, so browser clients served elsewhere keep working.
    """
    if token or origin is None or origin.rstrip("/") in allowed:
        return None
    return CROSS_ORIGIN
