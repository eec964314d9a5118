"""Uploaded images, kept in the data folder's `media/`, and the endpoints that store and serve them.

An upload gets a fresh random name (128 bits, so names can neither collide nor be guessed)
with the extension of the type its bytes show; the client's file name is never used for a
path. That name is what a message's image segment carries as `file` (a bare name inside the
media folder is the one local form segments accept, DESIGN.md §6), and the API adds the URL
that serves it so bots can download it, as NapCat's image `url` lets them.

Serving checks the name against the pattern names are made from before touching the file
system, so no `..`, separator, NUL or other file can be reached.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from catnest.onebot.cqcode import Segment
from catnest.onebot.errors import Retcode
from catnest.web.api import ApiError, ApiRequest, Routes, created

routes = Routes()

_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{22}\.(png|jpg|gif|webp|bmp)$")
_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "bmp": "image/bmp",
}
_MEDIA_SEGMENTS = frozenset({"image", "record", "video", "file"})
# Multipart framing (boundaries, part headers) on top of the file itself.
_MULTIPART_SLACK = 16 * 1024
_CHUNK = 64 * 1024


def sniff(head: bytes) -> str | None:
    """The extension of an image by its magic bytes, or None if it is not one we keep."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"BM"):
        return "bmp"
    return None


@dataclass(frozen=True, slots=True)
class MediaFile:
    """A stored upload."""

    name: str
    size: int
    content_type: str


class MediaStore:
    """The media folder: save uploads under fresh names, find them again by name only."""

    def __init__(self, folder: Path, max_bytes: int) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self.base_url = ""

    def url(self, name: str) -> str:
        """Where `name` is served (absolute once the server knows its address)."""
        return f"{self.base_url}/api/v1/media/{name}"

    def path(self, name: str) -> Path | None:
        """The file of an uploaded `name`; None for any other name or a missing file."""
        if not _NAME_RE.match(name):
            return None
        path = self.folder / name
        return path if path.is_file() else None

    async def save(self, data: bytes) -> MediaFile:
        """Store image bytes under a fresh name; 400 when they are not a known image type."""
        ext = sniff(data[:16])
        if ext is None:
            raise ApiError.bad("file: expected a PNG, JPEG, GIF, WebP or BMP image")
        name = f"{secrets.token_urlsafe(16)}.{ext}"
        await asyncio.to_thread(self._write, name, data)
        return MediaFile(name, len(data), _TYPES[ext])

    def _write(self, name: str, data: bytes) -> None:
        # Written aside then renamed, so a half-written file is never served.
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, self.folder / name)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def link(self, segments: Sequence[Segment]) -> list[Segment]:
        """`segments` with the serving URL added to images naming an upload.

        A media segment naming a bare file that is not an upload is refused: the folder
        holds nothing else a user could mean (URLs and base64 pass as they are).
        """
        out: list[Segment] = []
        for index, seg in enumerate(segments):
            file = str(seg["data"].get("file", "")) if seg["type"] in _MEDIA_SEGMENTS else ""
            if file and "://" not in file:
                if seg["type"] != "image" or self.path(file) is None:
                    raise ApiError.bad(
                        f"message[{index}].data.file: no uploaded image {file!r}"
                        " (upload it with POST /api/v1/media first, or give a URL)"
                    )
                seg = {"type": "image", "data": {**seg["data"], "url": self.url(file)}}
            out.append(seg)
        return out

    def as_json(self, media: MediaFile) -> dict[str, Any]:
        """What an upload answers."""
        return {
            "file": media.name,
            "url": self.url(media.name),
            "size": media.size,
            "content_type": media.content_type,
        }


async def _read_part(part: BodyPartReader, limit: int, cap: int) -> bytes:
    # `limit` is what this part may hold, `cap` the file size limit named in the refusal.
    chunks: list[bytes] = []
    size = 0
    while chunk := await part.read_chunk(_CHUNK):
        size += len(chunk)
        if size > limit:
            raise _too_large(cap)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> ApiError:
    return ApiError(413, Retcode.BAD_REQUEST, f"file: larger than {limit} bytes")


@routes.post("/api/v1/media")
async def upload(req: ApiRequest) -> Any:
    """Store one image sent as multipart/form-data field `file`."""
    store = req.ctx.media
    declared = req.raw.content_length
    if declared is not None and declared > store.max_bytes + _MULTIPART_SLACK:
        raise _too_large(store.max_bytes)
    if req.raw.content_type != "multipart/form-data":
        raise ApiError(415, Retcode.BAD_REQUEST, "expected multipart/form-data with a 'file' field")
    # Other fields are read and dropped, all within one budget, so a chunked body cannot
    # stream without end.
    budget = store.max_bytes + _MULTIPART_SLACK
    try:
        reader = await req.raw.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise ApiError.bad("file: nested multipart bodies are not accepted")
            if part.name == "file":
                data = await _read_part(part, min(store.max_bytes, budget), store.max_bytes)
                return created(store.as_json(await store.save(data)))
            budget -= len(await _read_part(part, budget, store.max_bytes))
    except (ValueError, AssertionError, HttpProcessingError) as exc:
        raise ApiError.bad(f"malformed multipart body: {exc}") from None
    raise ApiError.bad("file: required (a multipart/form-data field named 'file')")


@routes.get("/api/v1/media/{name}")
async def download(req: ApiRequest) -> web.StreamResponse:
    """Serve an upload by its name."""
    name = req.params["name"]
    path = req.ctx.media.path(name)
    if path is None:
        raise ApiError.not_found(f"no uploaded file {name!r}")
    headers = {
        "Content-Type": _TYPES[name.rsplit(".", 1)[1]],
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        # Names are never reused, so the bytes behind one never change.
        "Cache-Control": "private, max-age=31536000, immutable",
    }
    return web.FileResponse(path, headers=headers)
