"""What every user-API endpoint shares: the request it reads, the errors it raises, its routes.

Errors have one shape on the wire, `{"error": {"code": <retcode>, "message": "..."}}`, with a
real HTTP status (the user API is not OneBot: browsers and curl read statuses). `code` is the
OneBot retcode the same failure has for a bot (DESIGN.md §2), so a world rule reads the same
on both sides; `ApiError` carries the status, and a world `ActionError` maps by its retcode.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec
import orjson
from aiohttp import web
from aiohttp.web_request import BaseRequest

from catnest.limits import Limits
from catnest.onebot.errors import ActionError, Retcode
from catnest.onebot.jsonwire import decode_object
from catnest.world.accounts import MAX_UIN, MIN_UIN
from catnest.world.world import World

if TYPE_CHECKING:
    from catnest.web.feed import UserFeed
    from catnest.web.media import MediaStore
    from catnest.web.traffic import TrafficLog

S = TypeVar("S", bound=msgspec.Struct)

# World retcode → HTTP status: a missing role or relationship is 403, not 401 (no login is
# involved), and an internal error 500.
_STATUS: dict[int, int] = {
    Retcode.BAD_REQUEST: 400,
    Retcode.UNAUTHORIZED: 403,
    Retcode.FORBIDDEN: 403,
    Retcode.NOT_FOUND: 404,
    Retcode.INTERNAL: 500,
}
_PATH_RE = re.compile(r" - at `\$\.?(.*)`$")


class ApiError(ActionError):
    """A refusal the user API decides itself, with its own HTTP status (an `ActionError`
    like the world's, so the server has one exit for both: `status_of`)."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(code, message)
        self.status = status

    @classmethod
    def bad(cls, message: str) -> ApiError:
        """400: the request is malformed."""
        return cls(400, Retcode.BAD_REQUEST, message)

    @classmethod
    def conflict(cls, message: str) -> ApiError:
        """409: the thing to create exists already."""
        return cls(409, Retcode.BAD_REQUEST, message)

    @classmethod
    def not_found(cls, message: str) -> ApiError:
        """404: no such resource."""
        return cls(404, Retcode.NOT_FOUND, message)


def status_of(exc: ActionError) -> int:
    """The HTTP status of a refusal: its own for an `ApiError`, else by the world's retcode."""
    if isinstance(exc, ApiError):
        return exc.status
    return _STATUS.get(exc.retcode, 400)


def error_body(code: int, message: str) -> dict[str, Any]:
    """The JSON body of every error response."""
    return {"error": {"code": code, "message": message}}


@dataclass(frozen=True, slots=True)
class Reply:
    """A success with a status other than 200 (201 created, 202 accepted, 204 no content)."""

    status: int
    body: Any = None


def created(body: Any) -> Reply:
    """201 with the created resource."""
    return Reply(201, body)


def accepted(body: Any) -> Reply:
    """202: something was asked of another account (a request with its flag)."""
    return Reply(202, body)


NO_CONTENT = Reply(204)


@dataclass
class WebContext:
    """What endpoints work with: the world, the limits, media, the user feed and bot traffic."""

    world: World
    limits: Limits
    media: MediaStore
    feed: UserFeed
    traffic: TrafficLog | None
    bots: list[int]
    base_url: str = ""
    # Open streams' "end now" functions, called when the server stops.
    closers: set[Callable[[], None]] = field(default_factory=set)


class BodyTooLarge(Exception):
    """The request body exceeds `limits.max_body_bytes`."""


async def read_body(request: BaseRequest, limit: int) -> bytes:
    """The whole body, refused from `Content-Length` before reading and while reading chunks."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.readany():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


@dataclass
class ApiRequest:
    """One call of an endpoint: the raw request, the path's parameters and the context."""

    raw: BaseRequest
    params: Mapping[str, str]
    ctx: WebContext
    cors: dict[str, str] = field(default_factory=dict)  # for responses a handler prepares

    @property
    def query(self) -> Mapping[str, str]:
        """The query string (the token is not a parameter)."""
        return {k: v for k, v in self.raw.query.items() if k != "access_token"}

    async def json(self) -> dict[str, Any]:
        """The JSON object body; an empty body is `{}`.

        Only `application/json` (or no type) is read: the types an HTML form or a no-CORS
        fetch can send cross-site are refused, a second wall behind the origin check.
        """
        declared = self.raw.headers.get("Content-Type")
        if (
            declared
            and self.raw.content_type != "application/json"
            and (self.raw.content_length != 0)
        ):
            raise ApiError(415, Retcode.BAD_REQUEST, "Content-Type must be application/json")
        body = await read_body(self.raw, self.ctx.limits.max_body_bytes)
        if not body.strip():
            return {}
        return decode_object(body, max_depth=self.ctx.limits.max_json_depth)

    async def body(self, struct: type[S]) -> S:
        """The body decoded into `struct`; 400 naming the field that does not fit."""
        data = await self.json()
        try:
            return msgspec.convert(data, struct, strict=False)
        except msgspec.ValidationError as exc:
            raise ApiError.bad(explain(exc)) from None

    def uin(self, name: str) -> int:
        """A QQ number from the path (an account or a group)."""
        return parse_uin(self.params[name], name)

    def int_query(self, name: str, default: int, low: int, high: int) -> int:
        """An integer query parameter within [low, high]."""
        text = self.query.get(name)
        if text is None or text == "":
            return default
        if not text.isascii() or not text.isdigit() or len(text) > 18:
            raise ApiError.bad(f"{name}: expected a whole number, got {text!r}")
        value = int(text)
        if not low <= value <= high:
            raise ApiError.bad(f"{name}: expected {low} to {high}, got {value}")
        return value

    def flag_query(self, name: str) -> bool:
        """A boolean query parameter: true/1/yes or false/0/no (absent is false)."""
        text = self.query.get(name, "").lower()
        if text in ("", "0", "false", "no"):
            return False
        if text in ("1", "true", "yes"):
            return True
        raise ApiError.bad(f"{name}: expected true or false, got {text!r}")

    async def acting_user(self, name: str = "uin") -> int:
        """The virtual user this request acts as: it must exist and must not be a bot."""
        uin = self.uin(name)
        account = await self.ctx.world.accounts.account(uin)
        if account.is_bot:
            raise ApiError(
                403,
                Retcode.UNAUTHORIZED,
                f"account {uin} is a bot: bots act through OneBot, not the user API",
            )
        return uin


def parse_uin(text: str, name: str) -> int:
    """A QQ number given as text; 400 naming `name` when it is not one."""
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        raise ApiError.bad(f"{name}: expected a QQ number, got {text!r}")
    value = int(text)
    if not MIN_UIN <= value <= MAX_UIN:
        raise ApiError.bad(f"{name}: {value} is not a valid QQ number (5 digits or more)")
    return value


def explain(exc: msgspec.ValidationError) -> str:
    """msgspec's message with the offending field first: `user_id: expected int, got str`."""
    text = str(exc)
    match = _PATH_RE.search(text)
    message = text if match is None else text[: match.start()]
    if message.startswith("Object contains unknown field"):
        return f"{message.split('`')[1]}: unknown field"
    if message.startswith("Object missing required field"):
        return f"{message.split('`')[1]}: required"
    where = match.group(1) if match is not None and match.group(1) else "body"
    return f"{where}: {message[0].lower()}{message[1:]}".replace("`", "")


Handler = Callable[[ApiRequest], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Route:
    """One endpoint: method, path pattern (`{name}` segments) and handler."""

    method: str
    pattern: str
    handler: Handler
    regex: re.Pattern[str]


class Routes:
    """A module's endpoints, declared with `@routes.get("/api/v1/...")` and friends."""

    def __init__(self) -> None:
        self.entries: list[Route] = []

    def add(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        """Declare `handler` for `method` on `pattern`."""
        regex = re.compile(
            "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(pattern)) + "$"
        )

        def decorate(handler: Handler) -> Handler:
            self.entries.append(Route(method, pattern, handler, regex))
            return handler

        return decorate

    def get(self, pattern: str) -> Callable[[Handler], Handler]:
        """Declare a GET endpoint."""
        return self.add("GET", pattern)

    def post(self, pattern: str) -> Callable[[Handler], Handler]:
        """Declare a POST endpoint."""
        return self.add("POST", pattern)

    def put(self, pattern: str) -> Callable[[Handler], Handler]:
        """Declare a PUT endpoint."""
        return self.add("PUT", pattern)

    def patch(self, pattern: str) -> Callable[[Handler], Handler]:
        """Declare a PATCH endpoint."""
        return self.add("PATCH", pattern)

    def delete(self, pattern: str) -> Callable[[Handler], Handler]:
        """Declare a DELETE endpoint."""
        return self.add("DELETE", pattern)

    def resolve(self, method: str, path: str) -> tuple[Handler, dict[str, str]]:
        """The handler for `method path` and its path parameters; 404 or 405 otherwise."""
        allowed: list[str] = []
        for route in self.entries:
            match = route.regex.match(path)
            if match is None:
                continue
            if route.method == method:
                return route.handler, match.groupdict()
            allowed.append(route.method)
        if allowed:
            raise ApiError(
                405,
                Retcode.BAD_REQUEST,
                f"{method} is not allowed here; use " + ", ".join(sorted(set(allowed))),
            )
        raise ApiError.not_found(f"no endpoint {path}")


def json_reply(body: Any, status: int, headers: Mapping[str, str]) -> web.Response:
    """A JSON response (orjson, so stored message JSON embeds without re-encoding)."""
    data = b"" if status == 204 else orjson.dumps(body)
    content_type = None if status == 204 else "application/json"
    return web.Response(body=data, status=status, headers=headers, content_type=content_type)
