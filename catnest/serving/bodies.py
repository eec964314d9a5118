"""Reading request bodies within the size and time limits, before any byte is parsed."""

from __future__ import annotations

import asyncio

from aiohttp.web_request import BaseRequest


class BodyTooLarge(Exception):
    """The body exceeds the limit (declared, or counted while it streams in)."""


class BodyIncomplete(Exception):
    """The body ended before its declared length."""


async def read_body(request: BaseRequest, limit: int, seconds: float) -> bytes:
    """The whole body: refused from `Content-Length` before reading, counted while chunks
    stream in, and given `seconds` to arrive in full (TimeoutError past it)."""
    declared = request.content_length
    if declared is not None:
        if declared > limit:
            raise BodyTooLarge
        if declared <= 0:
            return b""
    content = request.content
    if declared is not None and content.is_eof():
        # The whole body came with the head (most requests): no wait, so no timer either.
        body = content.read_nowait()
        if len(body) != declared:
            raise BodyIncomplete
        return body
    async with asyncio.timeout(seconds):
        if declared is not None:
            try:
                return await request.content.readexactly(declared)
            except asyncio.IncompleteReadError:
                raise BodyIncomplete from None
        chunks: list[bytes] = []
        size = 0
        while chunk := await request.content.readany():
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge
            chunks.append(chunk)
        return b"".join(chunks)
