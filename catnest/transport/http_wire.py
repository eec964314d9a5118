"""The OneBot HTTP port's own HTTP/1.1 protocol: llhttp (httptools) on an asyncio Protocol.

Why not aiohttp for these requests: for a cached `get_recent_contact`, aiohttp's request and
response objects cost twice what Catnest's whole answer costs (bench/recent_contact.py,
docs/performance.md). This protocol parses with llhttp, answers through the API server's
`head_refusal` / `answer` (the same functions the aiohttp path uses), and writes status line,
headers and body in one `write`.

It keeps every limit the aiohttp listener enforces (docs/limits.md): connections per client
address, a complete request head within `header_timeout_seconds` (idle connections go after one
to two of them),
the body within `body_timeout_seconds` (408), the declared or streamed body size (413, decided
before the body is read), the size of the request head (431), malformed requests (400).
Requests on one connection are answered one at a time, in order (pipelining works); reading
pauses while too many wait, and answering pauses while the client does not read.

A WebSocket upgrade or a request for the SSE stream hands the connection over to aiohttp (the
request head re-serialised from what llhttp parsed, plus every byte that followed it), which
serves the rest of that connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, deque
from collections.abc import Mapping
from http import HTTPStatus
from typing import Protocol, cast
from urllib.parse import parse_qsl, unquote, urlsplit

import httptools
import orjson

from catnest.limits import Limits
from catnest.onebot import envelope
from catnest.onebot.errors import Retcode
from catnest.transport.eager import start_eagerly
from catnest.transport.http_common import Reply

log = logging.getLogger(__name__)

# aiohttp's limits for one line of the head; and for the whole head, a generous multiple.
MAX_LINE_BYTES = 8190
MAX_HEAD_BYTES = 65536
# Requests parsed ahead of their answers; then parsing and reading pause until half are answered.
MAX_PIPELINED = 32
# llhttp is fed this much at a time, so parsing can stop between requests of one read.
_SLICE_BYTES = 4096
# How long a connection closed after a refusal drains the client's unread bytes.
_LINGER_SECONDS = 2.0

_STATUS_LINES: dict[tuple[int, str], bytes] = {}
_FIELDS = frozenset(
    [
        b"origin",
        b"authorization",
        b"content-type",
        b"content-length",
        b"expect",
        b"transfer-encoding",
        b"upgrade",
    ]
)
_JSON_HEAD = b"Content-Type: application/json\r\nContent-Length: %d\r\n"
_OK_HEAD = b"HTTP/1.1 200 OK\r\n" + _JSON_HEAD + b"\r\n"


class RequestHead:
    """What the answer depends on besides the body, however the request arrived."""

    __slots__ = (
        "action",
        "authorization",
        "content_type",
        "method",
        "origin",
        "path",
        "peer",
        "query",
    )

    def __init__(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        origin: str | None,
        authorization: str | None,
        content_type: str,
        peer: str | None,
    ) -> None:
        self.method = method
        self.path = path  # the request target's path, undecoded
        self.query = query  # later values of a repeated key win
        self.origin = origin
        self.authorization = authorization
        self.content_type = content_type
        self.peer = peer
        # The first path segment (`/send_msg/anything` calls `send_msg`).
        name = path.lstrip("/").split("/", 1)[0]
        self.action = unquote(name) if "%" in name else name


def parse_query(query_string: str) -> dict[str, str]:
    """A query string as a dict (later values of a repeated key win)."""
    return dict(parse_qsl(query_string, keep_blank_values=True)) if query_string else {}


class Answerer(Protocol):
    """What the protocol needs of the API server (transport/http.py)."""

    @property
    def inline_safe(self) -> bool: ...

    def head_refusal(self, head: RequestHead) -> tuple[dict[str, str], Reply | None]: ...

    def wants_aiohttp(self, head: RequestHead, upgrade: bool) -> bool: ...

    async def answer(self, head: RequestHead, body: bytes, cors: dict[str, str]) -> Reply: ...

    def body_too_large(self, cors: Mapping[str, str]) -> Reply: ...

    def body_too_slow(self, cors: Mapping[str, str]) -> Reply: ...


class HandoffServer(Protocol):
    """aiohttp's protocol factory, sharing our count of connections per address."""

    per_address: Counter[str]
    cap: int

    def __call__(self) -> asyncio.Protocol: ...

    async def shutdown(self, timeout: float | None = None) -> None: ...  # noqa: ASYNC109


class WireListener:
    """One listening socket serving `api` with the wire protocol."""

    def __init__(self, api: Answerer, handoff: HandoffServer, limits: Limits) -> None:
        self.api = api
        self.handoff = handoff
        self.limits = limits
        self.connections: set[WireProtocol] = set()
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> int:
        """Bind and serve; returns the bound port."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: WireProtocol(self), host, port, reuse_address=True
        )
        sockets = self._server.sockets
        return int(sockets[0].getsockname()[1]) if sockets else port

    async def stop(self) -> None:
        """Stop accepting, close our connections, shut down the handed-over ones."""
        if self._server is not None:
            self._server.close()
        for connection in list(self.connections):
            connection.close()
        await self.handoff.shutdown(1.0)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None


class _Request:
    """One request as parsed: its head, body and, once known, its reply."""

    __slots__ = ("body", "chunks", "cors", "head", "keep_alive", "raw_head", "reply", "version")

    def __init__(self) -> None:
        self.head: RequestHead | None = None
        self.cors: dict[str, str] = {}
        self.body = b""
        self.reply: Reply | None = None  # settled without running the action
        self.keep_alive = True
        self.version = "1.1"
        self.raw_head: bytes | None = None  # set when aiohttp is to serve it
        self.chunks: list[bytes] = []


class WireProtocol(asyncio.Protocol):
    """One client connection."""

    def __init__(self, listener: WireListener) -> None:
        # Kept: asyncio.get_running_loop() costs a getpid() system call each time.
        self._loop = asyncio.get_running_loop()
        self._listener = listener
        self._api = listener.api
        self._limits = listener.limits
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpRequestParser(self)
        self._address: str | None = None
        self._waiting: deque[_Request] = deque()  # complete requests not yet answered
        self._current: _Request | None = None  # the request being parsed
        self._url: list[bytes] = []
        self._headers: list[tuple[bytes, bytes]] = []
        self._fields: dict[bytes, bytes] = {}  # the headers the answer looks at
        self._head_bytes = 0
        self._head_too_large = False
        self._body_bytes = 0
        self._ignore_body = False
        self._busy = False  # an answer is being worked out (its task is running)
        self._write_paused = False
        self._read_paused = False
        self._halted = False  # nothing more is read from this connection
        self._handing_off = False
        self._leftover = bytearray()  # bytes after a handed-over request, for aiohttp
        self._unparsed = bytearray()  # read but not parsed yet: too many requests were waiting
        self._closed = False
        self._eof = False  # the client sent everything it will (a half-close)
        self._lingering = False  # answered and closing: unread bytes are drained, not refused
        self._continue_due = False  # the current request asked for 100 Continue, not yet sent
        # Timeouts without a clock read or a timer per request (both showed in profiles): a
        # watchdog wakes every header timeout and closes the connection if no request head
        # was completed since its last round while nothing was being answered; a body timer is
        # set only for a body that did not arrive with its head.
        self._heads = 0
        self._heads_seen = 0
        self._watchdog: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None

    # --- connection ----------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have its methods.
        self._transport = cast(asyncio.Transport, transport)
        peer = self._transport.get_extra_info("peername")
        address = str(peer[0]) if peer else "?"
        counts = self._listener.handoff.per_address
        if counts[address] >= self._listener.handoff.cap:
            log.warning("refusing a connection from %s: %d already open", address, counts[address])
            self._closed = True
            self._transport.close()
            return
        counts[address] += 1
        self._address = address
        self._listener.connections.add(self)
        self._watchdog = self._loop.call_later(
            self._limits.header_timeout_seconds, self._watch
        )

    def connection_lost(self, exc: BaseException | None) -> None:
        self._closed = True
        self._stop_timers()
        self._release_address()
        self._listener.connections.discard(self)

    def close(self) -> None:
        """Close the connection now (server stop)."""
        if self._transport is not None and not self._closed:
            self._closed = True
            self._transport.close()

    def eof_received(self) -> bool:
        # A client may half-close after its last request: answer what it sent, then close.
        self._eof = True
        if self._lingering:
            self.close()
            return False
        self._pump()
        return not self._closed

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self._pump()

    def _release_address(self) -> None:
        if self._address is not None:
            counts = self._listener.handoff.per_address
            counts[self._address] -= 1
            if counts[self._address] <= 0:
                del counts[self._address]
            self._address = None

    # --- reading -------------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self._handing_off:
            self._leftover += data
            if len(self._leftover) > self._limits.max_body_bytes:
                self.close()  # a flood while an earlier answer is being worked out
            return
        if self._halted or self._closed:
            return
        if self._lingering:
            return  # the rest of a refused body, drained so the answer is not lost to a reset
        if self._unparsed:
            self._unparsed += data  # reading resumes only once the queue drained, rarely here
        else:
            self._feed(data)
        self._watch_body()
        self._pump()

    def _feed(self, data: bytes) -> None:
        """Parse `data` a slice at a time, stopping while MAX_PIPELINED requests wait: one read
        can hold thousands of tiny pipelined requests, and only a few are parsed ahead."""
        if len(data) <= _SLICE_BYTES and len(self._waiting) < MAX_PIPELINED:
            rest = self._feed_piece(data)  # the usual read: one request, or a few
            if rest is not None:
                self._feed(rest)
            return
        view = memoryview(data)
        offset = 0
        while offset < len(view):
            if len(self._waiting) >= MAX_PIPELINED:
                self._unparsed = bytearray(view[offset:])
                self._pause_reading()
                return
            piece = bytes(view[offset : offset + _SLICE_BYTES])
            offset += len(piece)
            rest = self._feed_piece(piece)
            if rest is not None:
                self._feed(rest + bytes(view[offset:]))
                return
            if self._handing_off or self._halted or self._closed:
                if self._handing_off:
                    self._leftover += view[offset:]
                return

    def _feed_piece(self, piece: bytes) -> bytes | None:
        """Feed llhttp; the bytes after an upgrade it stopped at, if it must go on parsing."""
        try:
            self._parser.feed_data(piece)
        except httptools.HttpParserUpgrade as upgrade:
            rest = piece[upgrade.args[0] :]
            if self._handing_off:
                self._leftover += rest
                return None
            # An upgrade we do not take (h2c, say): the request is answered as plain HTTP and
            # parsing goes on after it with a fresh parser.
            self._parser = httptools.HttpRequestParser(self)
            return rest or None
        except httptools.HttpParserError as exc:
            if not self._handing_off and not self._halted:
                self._malformed(str(exc) or type(exc).__name__)
        return None

    def _pause_reading(self) -> None:
        if self._transport is not None and not self._read_paused:
            self._read_paused = True
            self._transport.pause_reading()

    def _watch_body(self) -> None:
        request = self._current
        if request is not None and request.head is not None and self._body_timer is None:
            # A head whose body is still on its way: it has body_timeout_seconds to arrive.
            self._body_timer = self._loop.call_later(
                self._limits.body_timeout_seconds, self._body_too_slow, request
            )

    def on_message_begin(self) -> None:
        if self._handing_off or self._halted:
            return
        self._current = _Request()
        self._url = []
        self._headers = []
        self._fields = {}
        self._head_bytes = 0
        self._head_too_large = False
        self._body_bytes = 0
        self._ignore_body = False
        self._continue_due = False

    def on_url(self, url: bytes) -> None:
        self._url.append(url)
        self._count_head(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))
        lowered = name.lower()
        if lowered in _FIELDS:
            self._fields[lowered] = value
        self._count_head(len(name) + len(value) + 4)
        if len(name) + len(value) > MAX_LINE_BYTES:
            self._head_too_large = True

    def _count_head(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > MAX_HEAD_BYTES:
            self._head_too_large = True
            if self._current is not None and self._current.reply is None:
                # Stop here: the rest of an endless head is never buffered.
                self._halt_with(431, "request head too large")

    def on_headers_complete(self) -> None:
        request = self._current
        if request is None or self._halted:
            return
        self._heads += 1
        parser = self._parser
        request.version = parser.get_http_version()
        request.keep_alive = bool(parser.should_keep_alive())
        url = b"".join(self._url)
        fields = self._fields
        method = parser.get_method()
        head = _head(method, url, fields, self._address)
        request.head = head
        if self._head_too_large or len(url) > MAX_LINE_BYTES:
            request.reply = _plain_reply(431, "request head too large")
            request.keep_alive = False
            self._ignore_body = True
            return
        if method == b"CONNECT":
            self._halt(request, _plain_reply(405, "CONNECT is not supported"))
            return
        request.cors, request.reply = self._api.head_refusal(head)
        expects_continue = fields.get(b"expect", b"").lower() == b"100-continue"
        if request.reply is not None:
            if parser.should_upgrade() or expects_continue:
                # No body will follow an upgrade we refuse or a 100 Continue we never send: answer
                # now and close, rather than wait for bytes that are not coming.
                self._halt(request, request.reply)
                return
            self._ignore_body = True  # refused on its head: the body is never looked at
            return
        # Only a WebSocket upgrade is taken up; any other (h2c) is answered as plain HTTP/1.1.
        websocket = fields.get(b"upgrade", b"").lower() == b"websocket"
        if self._api.wants_aiohttp(head, websocket and bool(parser.should_upgrade())):
            # Accepted on its head; aiohttp serves it (and refuses nothing more than we would).
            request.raw_head = _raw_head(method, url, request.version, self._headers)
        declared = _content_length(fields.get(b"content-length"))
        if declared is not None and declared > self._limits.max_body_bytes:
            self._halt(request, self._api.body_too_large(request.cors))
            return
        if expects_continue and request.version == "1.1":  # HTTP/1.0 clients never wait for it
            self._continue_due = True
            self._send_continue()

    def _send_continue(self) -> None:
        # Only when every earlier answer is out: a 100 between two answers would be read as
        # the status of the earlier request.
        if self._continue_due and self._idle() and self._transport is not None:
            self._continue_due = False
            self._transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        request = self._current
        if request is None or self._ignore_body or self._halted:
            return
        self._body_bytes += len(body)
        if self._body_bytes > self._limits.max_body_bytes:
            self._halt(request, self._api.body_too_large(request.cors))
            return
        request.chunks.append(body)

    def on_message_complete(self) -> None:
        request = self._current
        if request is None or self._halted:
            return
        self._stop_body_timer()
        self._current = None
        request.body = b"".join(request.chunks)
        request.chunks = []
        self._continue_due = False
        self._waiting.append(request)
        if request.raw_head is not None:
            if not self._parser.should_upgrade():
                # llhttp consumed the body: aiohttp gets it back, framed by its length. (An
                # upgrade's bytes after the head were not parsed: they follow it unchanged.)
                request.raw_head = _reframed(request.raw_head, request.body)
            self._handing_off = True  # what follows is aiohttp's

    def _halt(self, request: _Request, reply: Reply) -> None:
        """Answer `request` with `reply` once earlier ones are answered, then close: nothing
        more is read (the rest of its body, if any, is never wanted)."""
        request.reply = reply
        request.keep_alive = False
        self._stop_body_timer()
        self._halted = True
        self._current = None
        self._waiting.append(request)
        if self._transport is not None and not self._read_paused:
            self._read_paused = True
            self._transport.pause_reading()

    def _halt_with(self, status: int, message: str) -> None:
        request = self._current or _Request()
        self._halt(request, _plain_reply(status, message))

    def _malformed(self, reason: str) -> None:
        self._halt_with(400, f"malformed HTTP request: {reason}")

    # --- answering -----------------------------------------------------------------------------

    def _idle(self) -> bool:
        return not self._waiting and not self._busy

    def _pump(self) -> None:
        while self._waiting and not self._busy and not self._write_paused and not self._closed:
            request = self._waiting.popleft()
            if request.reply is not None:  # settled here, even one that would go to aiohttp
                self._send(request, request.reply)
                continue
            if request.raw_head is not None:
                self._hand_off(request)
                return
            try:
                serving = self._serve(request)
                task = start_eagerly(serving, self._loop, inline_safe=self._api.inline_safe)
            except Exception:
                log.exception("answering an HTTP request failed")
                self.close()
                return
            if task is not None:
                self._busy = True
                task.add_done_callback(self._served)
                return
        if self._closed:
            return
        if len(self._waiting) < MAX_PIPELINED // 2 and not self._halted:
            if self._unparsed:
                data, self._unparsed = bytes(self._unparsed), bytearray()
                self._feed(data)
                self._watch_body()
                if self._waiting and not self._busy:
                    self._loop.call_soon(self._pump)  # answer those before parsing more
                    return
            if self._read_paused and not self._unparsed and self._transport is not None:
                self._read_paused = False
                self._transport.resume_reading()
        if (self._continue_due or self._eof) and self._idle():
            self._send_continue()
            if self._eof and not self._unparsed:  # the client is done, everything answered
                self.close()

    async def _serve(self, request: _Request) -> None:
        assert request.head is not None
        reply = await self._api.answer(request.head, request.body, request.cors)
        self._send(request, reply)

    def _served(self, task: asyncio.Task[None]) -> None:
        self._busy = False
        if not task.cancelled() and task.exception() is not None:
            log.error("answering an HTTP request failed", exc_info=task.exception())
            self.close()
            return
        self._pump()

    def _send(self, request: _Request, reply: Reply) -> None:
        transport = self._transport
        if transport is None or self._closed:
            return
        if (
            reply.status == 200
            and not reply.headers
            and request.keep_alive
            and request.version == "1.1"
            and request.head is not None
            and request.head.method != "HEAD"
        ):
            # The common answer, in one piece.
            transport.write(_OK_HEAD % len(reply.body) + reply.body)
            return
        keep_alive = request.keep_alive and reply.headers.get("Connection") != "close"
        parts = [_status_line(request.version, reply.status)]
        for name, value in reply.headers.items():
            if name != "Connection":
                parts.append(f"{name}: {value}\r\n".encode("latin-1"))
        with_body = reply.status not in (204, 304) and not (
            request.head is not None and request.head.method == "HEAD"
        )
        if reply.status != 204:
            parts.append(_JSON_HEAD % len(reply.body))
        if not keep_alive:
            parts.append(b"Connection: close\r\n")
        elif request.version == "1.0":
            parts.append(b"Connection: keep-alive\r\n")
        parts.append(b"\r\n")
        if with_body:
            parts.append(reply.body)
        transport.write(b"".join(parts))
        if not keep_alive:
            self._stop_timers()
            if self._halted and not self._eof:
                self._linger(transport)
            else:
                self._closed = True
                transport.close()

    def _linger(self, transport: asyncio.Transport) -> None:
        """Close after a refusal that left request bytes unread: closing a socket with unread
        input sends a reset, which can destroy the answer before the client reads it. So send
        our FIN, drain what still comes for a moment, then close."""
        self._lingering = True
        self._waiting.clear()
        if transport.can_write_eof():
            transport.write_eof()
        if self._read_paused:
            self._read_paused = False
            transport.resume_reading()
        self._loop.call_later(_LINGER_SECONDS, self.close)

    # --- handing over to aiohttp ---------------------------------------------------------------

    def _hand_off(self, request: _Request) -> None:
        transport = self._transport
        assert transport is not None and request.raw_head is not None
        self._stop_timers()
        self._closed = True  # this protocol is done; aiohttp's takes the connection
        self._release_address()  # aiohttp's handler counts it again
        self._listener.connections.discard(self)
        handler = self._listener.handoff()
        transport.set_protocol(handler)
        handler.connection_made(transport)
        if transport.is_closing():
            return
        if self._read_paused:
            transport.resume_reading()
        handler.data_received(request.raw_head + bytes(self._leftover))
        self._leftover.clear()

    # --- timers --------------------------------------------------------------------------------

    def _watch(self) -> None:
        self._watchdog = None
        if self._closed:
            return
        answering = self._busy or self._waiting
        receiving_body = self._current is not None and self._current.head is not None
        if not answering and not receiving_body and self._heads == self._heads_seen:
            # No complete request head for a whole round: a slow-loris connection, or one idle
            # between requests for one to two header timeouts. Closed as aiohttp's keep-alive
            # timer would; it holds nothing.
            self.close()
            return
        self._heads_seen = self._heads
        self._watchdog = self._loop.call_later(
            self._limits.header_timeout_seconds, self._watch
        )

    def _body_too_slow(self, request: _Request) -> None:
        self._body_timer = None
        if request is self._current and not self._halted and not self._closed:
            self._halt(request, self._api.body_too_slow(request.cors))
            self._pump()

    def _stop_body_timer(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _stop_timers(self) -> None:
        self._stop_body_timer()
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None


def _head(method: bytes, url: bytes, fields: dict[bytes, bytes], peer: str | None) -> RequestHead:
    target = url.decode("utf-8", "replace")
    if not target.startswith("/"):  # absolute form (`GET http://host/x`), as proxies send
        parts = urlsplit(target)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    path, _, query_string = target.partition("?")
    origin = fields.get(b"origin")
    authorization = fields.get(b"authorization")
    return RequestHead(
        method=method.decode("ascii", "replace"),
        path=path,
        query=parse_query(query_string),
        origin=None if origin is None else origin.decode("latin-1"),
        authorization=None if authorization is None else authorization.decode("latin-1"),
        content_type=fields.get(b"content-type", b"").decode("latin-1"),
        peer=peer,
    )


def _content_length(value: bytes | None) -> int | None:
    # llhttp has already refused a malformed Content-Length.
    return int(value) if value is not None and value.strip().isdigit() else None


def _raw_head(method: bytes, url: bytes, version: str, headers: list[tuple[bytes, bytes]]) -> bytes:
    lines = [b"%s %s HTTP/%s\r\n" % (method, url, version.encode("ascii"))]
    lines.extend(b"%s: %s\r\n" % (name, value) for name, value in headers)
    lines.append(b"\r\n")
    return b"".join(lines)


def _reframed(raw_head: bytes, body: bytes) -> bytes:
    """`raw_head` with its framing headers replaced by the length of `body`, then the body."""
    lines = raw_head.split(b"\r\n")
    kept = [
        line
        for line in lines[1:-2]
        if line.split(b":", 1)[0].strip().lower() not in (b"content-length", b"transfer-encoding")
    ]
    framing = [b"Content-Length: %d" % len(body)] if body else []
    return b"\r\n".join([lines[0], *kept, *framing, b"", b""]) + body


def _status_line(version: str, status: int) -> bytes:
    line = _STATUS_LINES.get((status, version))
    if line is None:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Unknown"
        line = _STATUS_LINES[(status, version)] = f"HTTP/{version} {status} {phrase}\r\n".encode()
    return line


def _plain_reply(status: int, message: str) -> Reply:
    return Reply(status, {}, orjson.dumps(envelope.failed(Retcode.BAD_REQUEST, message)))


__all__ = ["Answerer", "RequestHead", "WireListener", "WireProtocol", "parse_query"]
