"""Reading raw HTTP/1.1 responses off a socket, for the wire-protocol tests."""

from __future__ import annotations

import asyncio

WAIT = 10.0


async def read_response(
    reader: asyncio.StreamReader, wait: float = WAIT
) -> tuple[int, dict[str, str], bytes]:
    """One response: status, headers (lower-case names), body (by Content-Length)."""
    status_line = await asyncio.wait_for(reader.readline(), wait)
    if not status_line:
        raise EOFError("the server closed the connection instead of answering")
    assert status_line.startswith(b"HTTP/1."), status_line
    status = int(status_line.split()[1])
    headers: dict[str, str] = {}
    while True:
        line = await asyncio.wait_for(reader.readline(), wait)
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = await asyncio.wait_for(reader.readexactly(length), wait) if length else b""
    return status, headers, body
