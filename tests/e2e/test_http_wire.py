"""The OneBot HTTP port's own HTTP/1.1 protocol, on raw sockets: pipelining, 100-continue,
chunked bodies, HTTP/1.0, HEAD, malformed and oversized requests, and the hand-over of
WebSocket upgrades to aiohttp with the bytes that follow them."""

from __future__ import annotations

import asyncio
import base64
import os

import orjson

from tests.conftest import BOT, Running, StartServer
from tests.e2e.rawhttp import read_response as _response

WAIT = 10.0


async def _connect(running: Running) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    port = int(running.url.rsplit(":", 1)[1])
    return await asyncio.open_connection("127.0.0.1", port)


def _post(action: str, body: bytes, extra: str = "") -> bytes:
    return (
        f"POST /{action} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    ).encode() + body


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
        b"POST /get_recent_contact HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n6\r"
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
    assert headers.get("connection") == "close"
    assert await asyncio.wait_for(reader.read(), WAIT) == b""  # closed after the answer
    writer.close()
    reader, writer = await _connect(server)
    writer.write(b"GET /get_login_info HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    _, headers, _ = await _response(reader)
    assert headers.get("connection") == "keep-alive"
    writer.write(b"HEAD /get_login_info HTTP/1.1\r\nHost: x\r\n\r\n")
    status_line = await asyncio.wait_for(reader.readline(), WAIT)
    assert status_line.startswith(b"HTTP/1.1 200")
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
    assert b"Content-Length: " in head
    # No body follows a HEAD answer: the next answer comes straight after.
    writer.write(b"GET /get_login_info HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
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
        (b"GET /get_status HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n", 431),
        (b"GET /get_status HTTP/1.1\r\n" + b"X-Many: aaaaaaaa\r\n" * 5000 + b"\r\n", 431),
        # Declared too large: refused before a byte of body is sent.
        (b"POST /get_status HTTP/1.1\r\nHost: x\r\nContent-Length: 4096\r\n\r\n", 413),
        # Streamed too large: refused once the limit is passed.
        (b"POST /get_status HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
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


async def test_a_websocket_upgrade_is_handed_over_with_the_bytes_after_it(
    start_server: StartServer,
) -> None:
    running = await start_server(bot={"http": [{"port": 0, "enable_websocket": True}]})
    reader, writer = await _connect(running)
    key = base64.b64encode(os.urandom(16)).decode()
    handshake = (
        "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()
    # A plain request first, then the upgrade and a frame, all in one write.
    frame = _masked_text_frame(orjson.dumps({"action": "get_login_info", "echo": "w"}))
    writer.write(b"GET /get_status HTTP/1.1\r\nHost: x\r\n\r\n" + handshake + frame)
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
