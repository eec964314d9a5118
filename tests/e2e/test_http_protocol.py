"""The OneBot HTTP port on raw sockets (aiohttp's HTTP/1.1 with Catnest's rules on top):
split, pipelined, refused, malformed and oversized requests, 100-continue, chunked bodies,
HTTP/1.0, HEAD, WebSocket upgrades with the bytes that follow them, h2c and other upgrades
(never a way to smuggle a second request), half-closed and non-reading clients, and a stop
with requests in flight.

Every probe that once found a bug (h2c smuggling, 100-continue, lingering close, half-close,
pipelining bounds) stays here as a regression test.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from tests.conftest import ALICE, BOT, Running, StartServer, stop
from tests.e2e.rawhttp import read_response as _response

WAIT = 5.0
SHORT = 1.5


_OPEN: list[asyncio.StreamWriter] = []


@pytest.fixture(autouse=True)
async def _abort_leftover_sockets() -> AsyncIterator[None]:
    """Sockets a failing (or xfail) probe left open are aborted, so no ResourceWarning."""
    yield
    while _OPEN:
        writer = _OPEN.pop()
        if not writer.transport.is_closing():
            writer.transport.abort()
        await asyncio.sleep(0)


async def _connect(running: Running) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    port = int(running.url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    _OPEN.append(writer)
    return reader, writer


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(ConnectionError, OSError):
        await writer.wait_closed()


async def _json(reader: asyncio.StreamReader, wait: float = WAIT) -> tuple[int, Any]:
    status, _, body = await _response(reader, wait)
    return status, orjson.loads(body)


async def _eof(reader: asyncio.StreamReader, wait: float = WAIT) -> bool:
    """Whether the server closes the connection (after whatever it still sends) in time."""
    try:
        rest = await asyncio.wait_for(reader.read(), wait)
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    assert rest == b"", rest[:200]
    return True


def _post(action: str, body: bytes, extra: str = "", version: str = "1.1") -> bytes:
    return (
        f"POST /{action} HTTP/{version}\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    ).encode() + body


def _get(target: str, extra: str = "") -> bytes:
    return f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}\r\n".encode()


def _upgrade(target: str = "/", extra: str = "") -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    ).encode()


async def _token_server(start_server: StartServer, **limits: int) -> Running:
    return await start_server(bot={"http": [{"port": 0, "token": "s3cret"}]}, limits=limits)


# --- splitting -------------------------------------------------------------------------------


async def test_requests_fed_one_byte_at_a_time(server: Running) -> None:
    reader, writer = await _connect(server)
    stream = (
        _post("get_recent_contact", b'{"count": 2, "echo": 1}')
        + b"POST /get_recent_contact HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + b"Transfer-Encoding: chunked\r\n\r\n"
        b'5;ext=1\r\n{"cou\r\n12\r\nnt": 1, "echo": 2}\r\n0\r\nX-Trailer: t\r\n\r\n'
        + _get("/get_login_info?echo=3")
    )
    for i in range(len(stream)):
        writer.write(stream[i : i + 1])
        await writer.drain()
        if i % 16 == 0:
            await asyncio.sleep(0)
    answers = [await _json(reader) for _ in range(3)]
    assert [a[0] for a in answers] == [200, 200, 200]
    assert [a[1]["echo"] for a in answers] == [1, 2, "3"]
    assert len(answers[0][1]["data"]) == 2 and len(answers[1][1]["data"]) == 1
    assert answers[2][1]["data"]["user_id"] == BOT
    await _close(writer)


async def test_every_split_point_of_a_pipeline_gives_the_same_answers(server: Running) -> None:
    stream = _post("get_login_info", b'{"echo": "a"}') + _get("/get_status?echo=b")
    for cut in range(1, len(stream)):
        reader, writer = await _connect(server)
        writer.write(stream[:cut])
        await writer.drain()
        await asyncio.sleep(0)
        writer.write(stream[cut:])
        first, second = await _json(reader), await _json(reader)
        assert (first[0], first[1]["echo"]) == (200, "a"), cut
        assert (second[0], second[1]["echo"]) == (200, "b"), cut
        await _close(writer)


# --- pipelines with a refused, oversized or malformed request in the middle -----------------


async def test_pipeline_with_a_refused_request_in_the_middle(start_server: StartServer) -> None:
    running = await _token_server(start_server)
    reader, writer = await _connect(running)
    good = "Authorization: Bearer s3cret\r\n"
    writer.write(
        _post("get_login_info", b'{"echo": 1}', good)
        + _post(
            "send_private_msg",
            b'{"user_id": 20001, "message": "x"}',
            "Authorization: Bearer no\r\n",
        )
        + _get("/get_status?echo=2")  # no token at all
        + _get("/get_status?echo=3&access_token=s3cret")
    )
    statuses = []
    for _ in range(4):
        status, _headers, _body = await _response(reader)
        statuses.append(status)
    assert statuses == [200, 403, 401, 200]
    # A request that waits for 100 Continue gets it, then its answer.
    writer.write(_post("get_status", b"", good + "Expect: 100-continue\r\n").replace(
        b"Content-Length: 0", b"Content-Length: 11"))  # fmt: skip
    assert await asyncio.wait_for(reader.readline(), WAIT) == b"HTTP/1.1 100 Continue\r\n"
    await asyncio.wait_for(reader.readline(), WAIT)
    writer.write(b'{"echo": 4}')
    status, answer = await _json(reader)
    assert status == 200 and answer["echo"] == 4
    await _close(writer)


async def test_pipeline_with_a_too_large_request_answers_earlier_ones_then_closes(
    start_server: StartServer,
) -> None:
    running = await start_server(limits={"max_body_bytes": 1024})
    reader, writer = await _connect(running)
    writer.write(
        _post("get_login_info", b'{"echo": 1}')
        + _post("get_status", b" " * 2000)
        + _get("/get_status?echo=never")
    )
    status, answer = await _json(reader)
    assert status == 200 and answer["echo"] == 1
    status, headers, _ = await _response(reader)
    assert status == 413 and headers.get("connection") == "close"
    assert await _eof(reader)
    await _close(writer)


async def test_pipeline_with_a_malformed_request_ends_in_400(server: Running) -> None:
    # aiohttp parses a whole read at once: the requests before the malformed one may or may
    # not be answered, but the malformed one gets a 400 envelope, the connection closes, and
    # nothing after it runs.
    reader, writer = await _connect(server)
    writer.write(
        _get("/get_status?echo=1")
        + _get("/get_status?echo=2")
        + b"GET /get_status HTTP/1.1\r\nBad Header\r\n\r\n"
        + _post("send_private_msg", b'{"user_id": 20001, "message": "never sent"}')
    )
    answers = []
    while True:
        status, _headers, body = await _response(reader)
        answers.append(orjson.loads(body))
        if status != 200:
            break
    assert status == 400 and answers[-1]["status"] == "failed"
    assert "malformed" in answers[-1]["message"] and "\n" not in answers[-1]["message"]
    assert [a["echo"] for a in answers[:-1]] in ([], ["1"], ["1", "2"])
    assert await _eof(reader)
    await _close(writer)
    history = await server.ok("get_friend_msg_history", user_id=ALICE)
    assert "never sent" not in str(history)


async def test_connection_close_in_the_middle_of_a_pipeline(server: Running) -> None:
    # Bytes after `Connection: close` are never a request: the parser refuses them (400) or
    # the connection ends after the closing answer; either way the third request never runs.
    reader, writer = await _connect(server)
    writer.write(
        _get("/get_status?echo=1")
        + _get("/get_status?echo=2", "Connection: close\r\n")
        + _post("send_private_msg", b'{"user_id": 20001, "message": "after close"}')
    )
    answers = []
    with contextlib.suppress(EOFError):
        while len(answers) < 3:
            status, _headers, body = await _response(reader)
            answers.append((status, orjson.loads(body).get("echo")))
    assert answers in ([(200, "1"), (200, "2")], [(400, None)]), answers
    assert await _eof(reader)
    await _close(writer)
    history = await server.ok("get_friend_msg_history", user_id=ALICE)
    assert "after close" not in str(history)


# --- hand-overs to aiohttp -------------------------------------------------------------------


async def test_a_refused_sse_request_pipelined_with_another(start_server: StartServer) -> None:
    running = await _token_server(start_server)
    reader, writer = await _connect(running)
    writer.write(
        _get("/_events", "Authorization: Bearer wrong\r\n")
        + _get("/get_status?echo=after", "Authorization: Bearer s3cret\r\n")
    )
    status, _, _ = await _response(reader)
    assert status == 403
    status, answer = await _json(reader, SHORT)
    assert status == 200 and answer["echo"] == "after"
    await _close(writer)


async def test_a_refused_sse_request_with_a_body(start_server: StartServer) -> None:
    running = await _token_server(start_server)
    reader, writer = await _connect(running)
    writer.write(
        b"GET /_events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer wrong\r\n"
        b"Content-Length: 2\r\n\r\n{}"
    )
    await writer.drain()
    status, _, _ = await _response(reader)
    assert status == 403
    await asyncio.sleep(0.1)
    writer.write(_get("/get_status?echo=after", "Authorization: Bearer s3cret\r\n"))
    status, answer = await _json(reader, SHORT)
    assert status == 200 and answer["echo"] == "after"
    await _close(writer)


async def test_sse_stream_starts_and_a_pipelined_request_does_not_break_it(
    server: Running,
) -> None:
    reader, writer = await _connect(server)
    writer.write(_get("/_events") + _get("/get_status?echo=after"))
    status_line = await asyncio.wait_for(reader.readline(), WAIT)
    assert b" 200 " in status_line
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
    assert b"text/event-stream" in head.lower()
    assert b"connected" in await asyncio.wait_for(reader.readuntil(b"\n\n"), WAIT)
    await _close(writer)


async def test_absolute_form_sse_request(server: Running) -> None:
    reader, writer = await _connect(server)
    writer.write(_get("http://127.0.0.1/_events"))
    status_line = await asyncio.wait_for(reader.readline(), WAIT)
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
    assert b" 200 " in status_line and b"text/event-stream" in head.lower(), (status_line, head)
    await _close(writer)


async def test_websocket_upgrade_when_websocket_is_disabled(server: Running) -> None:
    reader, writer = await _connect(server)
    writer.write(_upgrade() + _get("/get_status?echo=after"))
    status, answer = await _json(reader)
    assert status == 400 and answer["status"] == "failed" and "WebSocket" in answer["message"]
    # The connection then goes on, or is closed: it must not just hang.
    try:
        status, answer = await _json(reader, SHORT)
    except EOFError:
        return
    assert status == 200 and answer["echo"] == "after"
    await _close(writer)


async def test_websocket_upgrade_with_a_body(start_server: StartServer) -> None:
    running = await start_server(bot={"http": [{"port": 0, "enable_websocket": True}]})
    reader, writer = await _connect(running)
    writer.write(_upgrade(extra="Content-Length: 5\r\n") + b"hello")
    status_line = await asyncio.wait_for(reader.readline(), WAIT)
    # Either upgraded (the body is aiohttp's business) or refused; never a hang.
    assert status_line.split()[1] in (b"101", b"400"), status_line
    await _close(writer)


async def test_an_h2c_upgrade_request_is_answered_as_http_1_1_and_closed(
    start_server: StartServer,
) -> None:
    # curl --http2 asks for h2c on plain GETs: answered as HTTP/1.1. What follows on the
    # connection is never parsed as a request: it closes after the answer.
    running = await start_server(limits={"header_timeout_seconds": 5})
    reader, writer = await _connect(running)
    writer.write(
        _get(
            "/get_status?echo=1",
            "Upgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\n"
            "HTTP2-Settings: AAMAAABkAAQAAP__\r\n",
        )
        + _get("/get_status?echo=2")
    )
    status, answer = await _json(reader)
    assert status == 200 and answer["echo"] == "1"
    assert await _eof(reader, SHORT)
    await _close(writer)


@pytest.mark.parametrize("split", [False, True])
async def test_an_h2c_upgrade_cannot_smuggle_a_request_in_its_body(
    server: Running, split: bool
) -> None:
    # A proxy in front sees one POST; Catnest must run at most that one. Its body (which looks
    # like a request) is never parsed as a request, in one write or in two.
    reader, writer = await _connect(server)
    smuggled = (
        b"POST /send_private_msg HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 44\r\n\r\n"
        b'{"user_id": 20001, "message": "smuggled!!"}'
    )
    head = (
        b"POST /get_status?echo=outer HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\n"
        b"Upgrade: h2c\r\nContent-Length: %d\r\n\r\n" % len(smuggled)
    )
    writer.write(head)
    if split:
        await writer.drain()
        await asyncio.sleep(0.2)
    writer.write(smuggled)
    status, headers, body = await _response(reader)
    assert status == 400 and "h2c" in orjson.loads(body)["message"]
    assert headers.get("connection") == "close"
    assert await _eof(reader)
    await _close(writer)
    history = await server.ok("get_friend_msg_history", user_id=ALICE)
    assert "smuggled" not in str(history)


async def test_connect_method(server: Running) -> None:
    reader, writer = await _connect(server)
    writer.write(b"CONNECT 127.0.0.1:80 HTTP/1.1\r\nHost: 127.0.0.1:80\r\n\r\n")
    status_line = await asyncio.wait_for(reader.readline(), WAIT)
    assert status_line.startswith(b"HTTP/1.1 4"), status_line
    await _close(writer)


# --- 100-continue, HEAD, targets, queries ----------------------------------------------------


async def test_expect_100_continue_on_a_refused_request_gets_the_refusal(
    start_server: StartServer,
) -> None:
    running = await _token_server(start_server, body_timeout_seconds=3)
    reader, writer = await _connect(running)
    writer.write(
        b"POST /send_private_msg HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer wrong\r\n"
        b"Content-Length: 40\r\nExpect: 100-continue\r\n\r\n"
    )
    # A client waiting for 100 Continue must get the final 403 instead, at once.
    status_line = await asyncio.wait_for(reader.readline(), SHORT)
    assert status_line.split()[1] == b"403", status_line
    await _close(writer)


async def test_expect_100_continue_behind_an_earlier_request(server: Running) -> None:
    reader, writer = await _connect(server)
    body = b'{"echo": 2}'
    writer.write(
        _get("/get_status?echo=1")
        + _post("get_status", b"", "Expect: 100-continue\r\n").replace(
            b"Content-Length: 0", b"Content-Length: %d" % len(body)
        )
    )
    status, answer = await _json(reader)
    assert status == 200 and answer["echo"] == "1"
    # The second request waits for its body: the server must say 100 Continue (or a final
    # status), not leave the client waiting for one.
    line = await asyncio.wait_for(reader.readline(), SHORT)
    assert line == b"HTTP/1.1 100 Continue\r\n", line
    await asyncio.wait_for(reader.readline(), WAIT)
    writer.write(body)
    status, answer = await _json(reader)
    assert status == 200 and answer["echo"] == 2
    await _close(writer)


async def test_expect_100_continue_is_ignored_for_http_1_0(server: Running) -> None:
    reader, writer = await _connect(server)
    writer.write(_post("get_status", b'{"echo": 1}', "Expect: 100-continue\r\n", version="1.0"))
    status_line = await asyncio.wait_for(reader.readline(), WAIT)
    assert status_line.startswith(b"HTTP/1.0 200"), status_line
    await _close(writer)


async def test_head_on_a_refused_request(start_server: StartServer) -> None:
    running = await _token_server(start_server)
    reader, writer = await _connect(running)
    writer.write(
        b"HEAD /get_status HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer wrong\r\n\r\n"
        + _get("/get_status?echo=2&access_token=s3cret")
    )
    status_line = await asyncio.wait_for(reader.readline(), WAIT)
    assert status_line.startswith(b"HTTP/1.1 403"), status_line
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
    assert b"Content-Length: " in head and b"Content-Length: 0" not in head, head
    # The next answer comes right after the head (no body was sent for HEAD): if a body had
    # been sent the status line read here would be garbage.
    status, _headers, body = await _response(reader)
    assert status == 200 and orjson.loads(body)["echo"] == "2"
    await _close(writer)


async def test_absolute_form_and_percent_encoded_targets(server: Running) -> None:
    reader, writer = await _connect(server)
    writer.write(
        _get("http://example.com/get_stranger_info?user_id=20001&echo=1")
        + _get("/get%5Fstranger%5finfo?user_id=20001&echo=2")
        + _get("//get_login_info?echo=3")
        + _get("/get_stranger_info?user_id=1&user_id=20001&echo=4")
        + _get("/no%2Fsuch?echo=5")
    )
    for echo in ("1", "2", "4"):
        status, answer = await _json(reader)
        if echo == "4":
            status, answer = await _json(reader) if answer["echo"] == "3" else (status, answer)
        assert status == 200 and answer["echo"] == echo and answer["data"]["user_id"] == ALICE
        if echo == "2":
            status, answer = await _json(reader)
            assert answer["echo"] == "3" and answer["data"]["user_id"] == BOT
    status, answer = await _json(reader)
    assert answer["echo"] == "5" and answer["retcode"] == 1404, answer
    await _close(writer)


async def test_repeated_access_token_in_the_query(start_server: StartServer) -> None:
    running = await _token_server(start_server)
    reader, writer = await _connect(running)
    writer.write(
        _get("/get_status?access_token=wrong&access_token=s3cret&echo=1")
        + _get("/get_status?access_token=s3cret&access_token=wrong&echo=2")
        + _get("/get_status?access_token=s3cret&echo=3", "Authorization: Bearer wrong\r\n")
        + _get("/get_status?access_token=&echo=4", "Authorization: Bearer s3cret\r\n")
    )
    statuses = [(await _response(reader))[0] for _ in range(4)]
    # Later values of a repeated key win; a query token differing from the header's conflicts.
    assert statuses[0] == 200 and statuses[1] == 403 and statuses[3] == 200
    assert statuses[2] in (401, 403)
    await _close(writer)


# --- sizes and bodies ------------------------------------------------------------------------


async def test_very_long_url_is_431(server: Running) -> None:
    for size in (8191, 9000, 70000):
        reader, writer = await _connect(server)
        writer.write(_get("/get_status?x=" + "a" * size))
        status, _headers, body = await _response(reader)
        assert status == 431 and orjson.loads(body)["status"] == "failed", size
        assert await _eof(reader)
        await _close(writer)


async def test_header_count_limit(server: Running) -> None:
    # docs/limits.md: 128 header lines at most (aiohttp's limit); more is 431.
    reader, writer = await _connect(server)
    writer.write(_get("/get_status?echo=1", "".join(f"X-{i}: v\r\n" for i in range(100))))
    status, answer = await _json(reader)
    assert status == 200 and answer["echo"] == "1"
    await _close(writer)
    reader, writer = await _connect(server)
    writer.write(_get("/get_status?echo=1", "".join(f"X-{i}: v\r\n" for i in range(2000))))
    status, answer = await _json(reader)
    assert status == 431 and answer["status"] == "failed"
    assert await _eof(reader)
    await _close(writer)


async def test_http_1_0_post_with_a_body(server: Running) -> None:
    reader, writer = await _connect(server)
    writer.write(_post("get_recent_contact", b'{"count": 1, "echo": 9}', version="1.0"))
    status_line = await asyncio.wait_for(reader.readline(), WAIT)
    assert status_line.startswith(b"HTTP/1.0 200"), status_line
    rest = await asyncio.wait_for(reader.read(), WAIT)  # then closed: HTTP/1.0 without keep-alive
    head, _, body = rest.partition(b"\r\n\r\n")
    assert b"Content-Length: " in head
    assert orjson.loads(body)["echo"] == 9 and len(orjson.loads(body)["data"]) == 1
    await _close(writer)


@pytest.mark.parametrize(
    "request_bytes",
    [
        # invalid chunk sizes
        b"POST /get_status HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"zz\r\n{}\r\n0\r\n\r\n",
        b"POST /get_status HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"-2\r\n{}\r\n0\r\n\r\n",
        b"POST /get_status HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"fffffffffffffffffffff\r\n{}\r\n0\r\n\r\n",
        # conflicting or duplicated framing
        b"POST /get_status HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n"
        b"Content-Length: 3\r\n\r\n{} ",
        b"POST /get_status HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n"
        b"Content-Length: 2\r\n\r\n{}",
        b"POST /get_status HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
        b"POST /get_status HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2, 2\r\n\r\n{}",
        b"POST /get_status HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: +2\r\n\r\n{}",
        b"POST /get_status HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Length: 99999999999999999999999\r\n\r\n",
        b"POST /get_status HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: gzip\r\n\r\n{}",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        b"GET /get_status HTTP/1.1\r\nHost: 127.0.0.1\r\nX: a\r\n b\r\n\r\n",
    ],
)
async def test_bad_framing_is_400_and_closed(server: Running, request_bytes: bytes) -> None:
    reader, writer = await _connect(server)
    writer.write(request_bytes)
    status, _headers, body = await _response(reader)
    assert status == 400 and orjson.loads(body)["status"] == "failed", body
    assert await _eof(reader)
    await _close(writer)


async def test_content_length_with_spaces_and_chunk_extensions(server: Running) -> None:
    reader, writer = await _connect(server)
    writer.write(
        b"POST /get_recent_contact HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length:   11  \r\n\r\n"
        b'{"count":1}'
        b"POST /get_recent_contact HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
        b"Trailer: X-T\r\n\r\n"
        b'4;a=b;c="d"\r\n{"co\r\n8;x\r\nunt": 2}\r\n0;end\r\nX-T: 1\r\nX-U: 2\r\n\r\n'
    )
    status, answer = await _json(reader)
    assert status == 200 and len(answer["data"]) == 1
    status, answer = await _json(reader)
    assert status == 200 and len(answer["data"]) == 2
    await _close(writer)


async def test_a_413_is_read_by_a_client_still_sending_its_body(
    start_server: StartServer,
) -> None:
    running = await start_server(limits={"max_body_bytes": 1024})
    failures = []
    for _ in range(5):
        reader, writer = await _connect(running)
        writer.write(_post("get_status", b" " * 4_000_000))
        try:
            status, _, _ = await _response(reader)
            assert status == 413
        except (ConnectionResetError, asyncio.IncompleteReadError) as exc:
            failures.append(type(exc).__name__)
        writer.transport.abort()
    assert not failures


# --- clients that half-close, never read, or are cut off by a stop --------------------------


async def test_a_half_closed_client_still_gets_its_answers(start_server: StartServer) -> None:
    running = await start_server(limits={"rate_limited_interval_ms": 300})
    reader, writer = await _connect(running)
    writer.write(
        _get("/get_status?echo=1")
        + _get("/get_status_rate_limited?echo=2")
        + _get("/get_status_rate_limited?echo=3")  # waits out the interval: answered later
    )
    await writer.drain()
    writer.write_eof()
    echoes = []
    for _ in range(3):
        try:
            _status, answer = await _json(reader)
        except EOFError:
            break
        echoes.append(answer["echo"])
    assert echoes == ["1", "2", "3"]
    await _close(writer)


async def test_a_half_closed_client_gets_an_answer_that_takes_a_while(
    start_server: StartServer,
) -> None:
    running = await start_server(limits={"rate_limited_interval_ms": 300})
    await running.ok("get_status_rate_limited")  # the next one waits out the interval
    reader, writer = await _connect(running)
    writer.write(_get("/get_status_rate_limited?echo=1"))
    await writer.drain()
    writer.write_eof()
    status, answer = await _json(reader)
    assert status == 200 and answer["echo"] == "1"
    await _close(writer)


async def test_a_client_that_never_reads_is_paused_and_others_are_served(
    server: Running,
) -> None:
    _, writer = await _connect(server)
    batch = _get("/get_status") * 2000
    sent = 0
    # Write until the server stops reading (drain stalls) or closes the connection.
    deadline = time.monotonic() + 6
    stopped = False
    try:
        while time.monotonic() < deadline:
            writer.write(batch)
            sent += len(batch)
            try:
                await asyncio.wait_for(writer.drain(), 0.5)
            except TimeoutError:
                stopped = True
                break
    except ConnectionError:
        stopped = True
    assert stopped, f"the server kept reading ({sent} bytes)"
    # It stays responsive to other clients.
    other_reader, other_writer = await _connect(server)
    other_writer.write(_get("/get_status?echo=other"))
    status, answer = await _json(other_reader)
    assert status == 200 and answer["echo"] == "other"
    await _close(other_writer)
    writer.transport.abort()


async def test_a_reading_client_may_pipeline_a_thousand_requests_in_one_write(
    server: Running,
) -> None:
    reader, writer = await _connect(server)
    writer.write(b"".join(_get(f"/get_status?echo={n}") for n in range(1000)))
    echoes = []
    for _ in range(1000):
        status, answer = await _json(reader)
        assert status == 200, answer
        echoes.append(answer["echo"])
    assert echoes == [str(n) for n in range(1000)]
    await _close(writer)


async def test_sse_request_declaring_a_too_large_body_is_413(start_server: StartServer) -> None:
    running = await start_server(limits={"max_body_bytes": 1024})
    reader, writer = await _connect(running)
    writer.write(_get("/_events", "Content-Length: 99999\r\n"))
    status, headers, _ = await _response(reader)
    assert status == 413 and headers.get("connection") == "close"
    await _close(writer)


async def test_stop_with_requests_in_flight(
    start_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    running = await start_server(limits={"rate_limited_interval_ms": 1000})
    await running.ok("get_status_rate_limited")
    reader, writer = await _connect(running)
    writer.write(_get("/get_status_rate_limited?echo=1") + _get("/get_status?echo=2"))
    await writer.drain()
    await asyncio.sleep(0.1)
    caplog.set_level(logging.WARNING)
    started = time.monotonic()
    await stop(running)
    assert time.monotonic() - started < 3
    # What was in flight may still be answered while the server stops; then it closes.
    rest = await asyncio.wait_for(reader.read(), WAIT)
    assert rest == b"" or rest.startswith(b"HTTP/1.1 200"), rest[:200]
    await asyncio.sleep(1.2)  # past the interval the in-flight answer was waiting out
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]
    await _close(writer)


# --- the basics ---------------------------------------------------------------------------


async def test_pipelined_requests_are_answered_in_order(server: Running) -> None:
    reader, writer = await _connect(server)
    requests = [
        _post("get_login_info", orjson.dumps({"echo": n})) if n % 2 else
        _post("send_private_msg", orjson.dumps({"user_id": 20001, "message": "hi", "echo": n}))
        for n in range(10)
    ]  # fmt: skip
    writer.write(b"".join(requests))  # one write: every request before any answer
    await writer.drain()
    echoes = []
    for _ in range(10):
        status, headers, body = await _response(reader)
        assert status == 200 and headers["content-type"] == "application/json"
        answer = orjson.loads(body)
        assert answer["retcode"] == 0, answer
        echoes.append(answer["echo"])
    assert echoes == list(range(10))
    writer.close()


async def test_expect_100_continue_and_chunked_bodies(server: Running) -> None:
    reader, writer = await _connect(server)
    body = b'{"count": 2}'
    writer.write(_post("get_recent_contact", b"", "Expect: 100-continue\r\n").replace(
        b"Content-Length: 0", b"Content-Length: %d" % len(body)))  # fmt: skip
    await writer.drain()
    assert await asyncio.wait_for(reader.readline(), WAIT) == b"HTTP/1.1 100 Continue\r\n"
    assert await asyncio.wait_for(reader.readline(), WAIT) == b"\r\n"
    writer.write(body)
    status, _, answer = await _response(reader)
    assert status == 200 and len(orjson.loads(answer)["data"]) == 2
    # The same body, chunked, in pieces that split a chunk header.
    writer.write(
        b"POST /get_recent_contact HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n6\r"
    )
    await writer.drain()
    writer.write(b'\n{"coun\r\n6\r\nt": 1}\r\n0\r\n\r\n')
    status, _, answer = await _response(reader)
    assert status == 200 and len(orjson.loads(answer)["data"]) == 1
    writer.close()


async def test_http_1_0_head_and_connection_close(server: Running) -> None:
    reader, writer = await _connect(server)
    writer.write(b"GET /get_login_info HTTP/1.0\r\n\r\n")
    status, headers, body = await _response(reader)
    assert status == 200 and orjson.loads(body)["data"]["user_id"] == BOT
    assert await asyncio.wait_for(reader.read(), WAIT) == b""  # closed after the answer
    writer.close()
    reader, writer = await _connect(server)
    writer.write(b"GET /get_login_info HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    _, headers, _ = await _response(reader)
    assert headers.get("connection") == "keep-alive"
    writer.write(b"HEAD /get_login_info HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    status_line = await asyncio.wait_for(reader.readline(), WAIT)
    assert status_line.startswith(b"HTTP/1.1 200")
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
    assert b"Content-Length: " in head
    # No body follows a HEAD answer: the next answer comes straight after.
    writer.write(b"GET /get_login_info HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    status, headers, _ = await _response(reader)
    assert status == 200 and headers.get("connection") == "close"
    assert await asyncio.wait_for(reader.read(), WAIT) == b""
    writer.close()


async def test_malformed_and_oversized_requests_are_refused_and_closed(
    start_server: StartServer,
) -> None:
    running = await start_server(limits={"max_body_bytes": 1024})
    for request, status in [
        (b"NOT HTTP AT ALL\r\n\r\n", 400),
        (b"GET /get_status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n",
         431),
        (b"GET /get_status HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Many: aa\r\n" * 5000 + b"\r\n",
         431),
        # HTTP/1.1 without a Host header is malformed (RFC 9112 §3.2).
        (b"GET /get_status HTTP/1.1\r\n\r\n", 400),
        (b"GET /get_status HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: 127.0.0.1\r\n\r\n", 400),
        (b"GET /get_status HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 200-ok\r\n\r\n", 417),
        # Declared too large: refused before a byte of body is sent.
        (b"POST /get_status HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4096\r\n\r\n", 413),
        # Streamed too large: refused once the limit is passed.
        (b"POST /get_status HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
         b"800\r\n" + b" " * 2048 + b"\r\n", 413),
    ]:  # fmt: skip
        reader, writer = await _connect(running)
        writer.write(request)
        await writer.drain()
        got, _, body = await _response(reader)
        assert got == status, (request[:40], got, body)
        assert orjson.loads(body)["status"] == "failed"
        assert await asyncio.wait_for(reader.read(), WAIT) == b""  # and the connection closed
        writer.close()
    assert (await running.ok("get_status"))["online"] is True


async def test_a_wrong_token_is_refused_on_the_head_and_the_connection_goes_on(
    start_server: StartServer,
) -> None:
    running = await start_server(bot={"http": [{"port": 0, "token": "s3cret"}]})
    reader, writer = await _connect(running)
    body = b'{"user_id": 20001, "message": "never sent"}'
    writer.write(_post("send_private_msg", body, "Authorization: Bearer wrong\r\n"))
    writer.write(_post("get_login_info", b"{}", "Authorization: Bearer s3cret\r\n"))
    await writer.drain()
    status, _, answer = await _response(reader)
    assert status == 403 and orjson.loads(answer)["retcode"] == 1403
    status, _, answer = await _response(reader)
    assert status == 200 and orjson.loads(answer)["data"]["user_id"] == BOT
    writer.close()


async def test_a_websocket_upgrade_with_a_frame_in_the_same_write(
    start_server: StartServer,
) -> None:
    running = await start_server(bot={"http": [{"port": 0, "enable_websocket": True}]})
    reader, writer = await _connect(running)
    key = base64.b64encode(os.urandom(16)).decode()
    handshake = (
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()
    # A plain request first, then the upgrade and a frame, all in one write.
    frame = _masked_text_frame(orjson.dumps({"action": "get_login_info", "echo": "w"}))
    writer.write(b"GET /get_status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" + handshake + frame)
    await writer.drain()
    status, _, _ = await _response(reader)
    assert status == 200
    status_line = await asyncio.wait_for(reader.readline(), WAIT)
    assert b" 101 " in status_line
    await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
    replies = []
    while not any(r.get("echo") == "w" for r in replies):
        replies.append(orjson.loads(await _read_frame(reader)))
    reply = next(r for r in replies if r.get("echo") == "w")
    assert reply["data"]["user_id"] == BOT
    writer.close()


def _masked_text_frame(payload: bytes) -> bytes:
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    assert len(payload) < 126
    return bytes([0x81, 0x80 | len(payload)]) + mask + masked


async def _read_frame(reader: asyncio.StreamReader) -> bytes:
    _, second = await asyncio.wait_for(reader.readexactly(2), WAIT)
    length = second & 0x7F
    if length == 126:
        length = int.from_bytes(await reader.readexactly(2), "big")
    elif length == 127:
        length = int.from_bytes(await reader.readexactly(8), "big")
    return await asyncio.wait_for(reader.readexactly(length), WAIT)
