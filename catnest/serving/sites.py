"""Which browser pages may reach a port: Host, Origin and Sec-Fetch-Site rules.

Without a token, anything a browser on this machine loads could drive the bot on 127.0.0.1:
a page elsewhere can `<img src="http://127.0.0.1:3000/send_private_msg?...">` or run a no-cors
fetch (browsers send no Origin with those GETs), or resolve its own name to 127.0.0.1 (DNS
rebinding, so its requests look same-origin but carry its own Host). So with no token:

- the Host header must name this port on a loopback name or the bound address;
- an Origin must be ours: a loopback origin on any port (the developer's own pages: a web QQ
  client on http://127.0.0.1:8088, Stapxs QQ Lite) or one of `allow_origins`;
- a request marked `Sec-Fetch-Site: cross-site` or `same-site` without an allowed Origin is
  refused: those are the no-cors and image loads from other sites.

Requests from the machine's own tools (curl, bots, SDKs) carry no Origin and no Sec-Fetch-Site
and pass. With a token, the token decides (browser clients served elsewhere keep working),
unless the port refuses foreign sites whatever the token (the web side, whose page changes the
world on a user's behalf).

A refused origin is logged once per origin and port, naming the key that would allow it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from catnest.onebot.errors import Retcode
from catnest.serving.auth import Refusal

log = logging.getLogger(__name__)

CROSS_ORIGIN = Refusal(403, Retcode.UNAUTHORIZED, "cross-origin request refused")
CROSS_SITE = Refusal(403, Retcode.UNAUTHORIZED, "cross-site request refused")
WRONG_HOST = Refusal(403, Retcode.UNAUTHORIZED, "unexpected Host header")

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
_UNSPECIFIED = ("0.0.0.0", "::", "")
_FOREIGN_FETCHES = ("cross-site", "same-site")
# Refused origins remembered for the once-per-origin log line; past this, no more are logged.
_MAX_LOGGED_ORIGINS = 1000


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _host_name(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1]
    return host.partition(":")[0]


def _is_loopback_origin(origin: str) -> bool:
    scheme, _, rest = origin.partition("://")
    if scheme not in ("http", "https"):
        return False
    host = rest.split("/", 1)[0]
    if host.startswith("["):
        name = host[: host.find("]") + 1]
        tail = host[len(name) :]
    else:
        name, _, port = host.partition(":")
        tail = f":{port}" if port else ""
    return name in LOOPBACK_NAMES and (tail == "" or (tail[0] == ":" and tail[1:].isdigit()))


class SitePolicy:
    """The Host / Origin / Sec-Fetch-Site rules of one port."""

    def __init__(
        self,
        *,
        where: str,
        token: str,
        host: str,
        port: int,
        allow_origins: Iterable[str] = (),
        strict: bool = False,
    ) -> None:
        # `where` names the config section for the log line (`bots[0].http[0]`, `web`).
        self.where = where
        self.token = token
        self.strict = strict
        self.extra = frozenset(o.rstrip("/") for o in allow_origins)
        self._logged: set[str] = set()
        self.bind(host, port)

    def bind(self, host: str, port: int) -> None:
        """The address actually bound (the port is known only once listening).

        A Host header may name it with or without a port: what DNS rebinding changes is the
        name, never the port, and no page can make a browser send a loopback name it does not
        resolve from its own address bar.
        """
        names = {*LOOPBACK_NAMES}
        if host not in _UNSPECIFIED:
            names.add(_bracketed(host).lower())
        self.hosts = frozenset(names)
        self.port = port

    def allows_origin(self, origin: str) -> bool:
        """Whether a page of `origin` may call this port."""
        origin = origin.rstrip("/")
        return origin in self.extra or _is_loopback_origin(origin)

    def cors_origin(self, origin: str | None) -> str | None:
        """The Origin to echo in Access-Control-Allow-Origin, or None for no CORS headers.

        With a token (on a port that lets the token decide) any page may call, so any may read
        the answers: browser clients served elsewhere keep working.
        """
        if origin is None:
            return None
        if (self.token and not self.strict) or self.allows_origin(origin):
            return origin
        return None

    def check(self, headers: Mapping[str, str], *, changes_state: bool = True) -> Refusal | None:
        """None if the request may go on; else why it is refused.

        `changes_state` False (the web side's GETs) lets same-site and cross-site navigations
        through where the port is strict only about what changes the world.
        """
        guarded = not self.token or self.strict
        if not guarded:
            return None
        if not self.token:
            host = headers.get("Host")
            if host is not None and _host_name(host) not in self.hosts:
                return WRONG_HOST
        origin = headers.get("Origin")
        if origin is not None and origin != "null":
            if not self.allows_origin(origin):
                self._log_refused(origin)
                return CROSS_ORIGIN
            return None
        if origin == "null":
            # Sandboxed frames and file:// pages send the literal origin "null".
            self._log_refused(origin)
            return CROSS_ORIGIN
        if changes_state and headers.get("Sec-Fetch-Site", "") in _FOREIGN_FETCHES:
            return CROSS_SITE
        return None

    def _log_refused(self, origin: str) -> None:
        if origin in self._logged or len(self._logged) >= _MAX_LOGGED_ORIGINS:
            return
        self._logged.add(origin)
        fix = f"add it to {self.where}.allow_origins"
        if not self.strict:
            fix += f", or set {self.where}.token (a token lets any page that holds it in)"
        log.warning("%s: refused a browser request from origin %s: %s", self.where, origin, fix)
