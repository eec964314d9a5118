"""Image uploads: stored in the data folder's media/, capped, served by name only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp

from tests.conftest import ALICE, BOT
from tests.scripted_bot import ScriptedBot
from tests.web.conftest import StartWeb, Web

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
GIF = b"GIF89a" + b"\x01" * 32


def form(data: bytes, name: str = "file", filename: str = "cat.png") -> aiohttp.FormData:
    body = aiohttp.FormData()
    body.add_field(name, data, filename=filename, content_type="application/octet-stream")
    return body


async def upload(web: Web, data: bytes, **kwargs: str) -> tuple[int, dict[str, object]]:
    status, body = await web.call("POST", "/api/v1/media", data=form(data, **kwargs))
    return status, body


async def test_upload_stores_and_serves_an_image(web: Web) -> None:
    status, body = await upload(web, PNG, filename="../../evil.png")
    assert status == 201, body
    name = str(body["file"])
    assert name.endswith(".png") and "/" not in name and "evil" not in name
    assert body["size"] == len(PNG) and body["content_type"] == "image/png"
    assert body["url"] == f"{web.base}/api/v1/media/{name}"
    stored = Path(web.app.config.data_dir) / "media" / name
    assert stored.read_bytes() == PNG
    async with web.session.get(str(body["url"])) as resp:
        assert resp.status == 200
        assert await resp.read() == PNG
        assert resp.headers["Content-Type"] == "image/png"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
    status, body = await upload(web, GIF, filename="x.txt")
    assert status == 201 and str(body["file"]).endswith(".gif")


async def test_upload_refusals(web: Web) -> None:
    status, body = await upload(web, b"#!/bin/sh\necho not an image\n")
    assert status == 400 and "image" in str(body)
    status, body = await upload(web, PNG, name="picture")
    assert status == 400 and "file" in str(body)
    status, body = await web.call(
        "POST", "/api/v1/media", data=PNG, headers={"Content-Type": "image/png"}
    )
    assert status == 415
    status, body = await web.call(
        "POST",
        "/api/v1/media",
        data=b"--x\r\nbroken",
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    )
    assert status == 400
    assert not list((Path(web.app.config.data_dir) / "media").glob(".upload-*"))


async def test_upload_size_cap(start_web: StartWeb) -> None:
    web = await start_web(limits={"max_body_bytes": 4096})
    status, _ = await upload(web, PNG + b"\x00" * 3000)
    assert status == 201
    status, body = await upload(web, PNG + b"\x00" * 40_000)
    assert status == 413 and body["error"]["code"] == 1400

    async def chunks() -> AsyncIterator[bytes]:
        # No Content-Length: the cap is enforced while reading.
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n'
        yield PNG
        for _ in range(10):
            yield b"\x00" * 1024
        yield b"\r\n--b--\r\n"

    status, body = await web.call(
        "POST",
        "/api/v1/media",
        data=chunks(),
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert status == 413
    # A JSON body past the cap is refused before it is read.
    status, body = await web.call(
        "POST",
        "/api/v1/users",
        data=b"{" + b" " * 5000 + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert status == 413


async def test_serving_refuses_traversal_and_unknown_names(web: Web) -> None:
    data_dir = Path(web.app.config.data_dir)
    (data_dir / "media").mkdir(exist_ok=True)
    (data_dir / "media" / "secret.png").write_bytes(PNG)
    for path in (
        "/api/v1/media/..%2Fcatnest.db",
        "/api/v1/media/%2e%2e%2fcatnest.db",
        "/api/v1/media/..%5Ccatnest.db",
        "/api/v1/media/secret.png",
        "/api/v1/media/aaaaaaaaaaaaaaaaaaaaaa.png",
        "/api/v1/media/aaaaaaaaaaaaaaaaaaaaaa.png%00.txt",
        "/api/v1/media/%2Fetc%2Fpasswd",
        "/api/v1/media/../../catnest.db",
    ):
        status, body = await web.call("GET", path)
        assert status == 404, (path, status, body)


async def test_image_messages_carry_the_serving_url(web: Web, echo_bot: ScriptedBot) -> None:
    _, uploaded = await upload(web, PNG)
    name = uploaded["file"]
    sent = await web.ok(
        "POST",
        f"/api/v1/users/{ALICE}/private/{BOT}/messages",
        {"message": [{"type": "image", "data": {"file": name}}]},
        status=201,
    )
    data = sent["message"]["message"][0]["data"]
    assert data["file"] == name and data["url"] == uploaded["url"]
    event = await echo_bot.wait_for(lambda e: e.get("message_id") == sent["message_id"])
    url = event["message"][0]["data"]["url"]
    async with web.session.get(url) as resp:
        assert resp.status == 200 and await resp.read() == PNG
    cq = await web.ok(
        "POST",
        f"/api/v1/users/{ALICE}/private/{BOT}/messages",
        {"message": f"look [CQ:image,file={name}]"},
        status=201,
    )
    assert cq["message"]["message"][1]["data"]["url"] == uploaded["url"]
    message = await web.fails(
        "POST",
        f"/api/v1/users/{ALICE}/private/{BOT}/messages",
        {"message": "[CQ:image,file=catnest.db]"},
        status=400,
    )
    assert "upload" in message
    await web.fails(
        "POST",
        f"/api/v1/users/{ALICE}/private/{BOT}/messages",
        {"message": "[CQ:record,file=voice.amr]"},
        status=400,
    )
    remote = await web.ok(
        "POST",
        f"/api/v1/users/{ALICE}/private/{BOT}/messages",
        {"message": "[CQ:image,file=https://example.com/cat.png]"},
        status=201,
    )
    assert remote["message"]["message"][0]["data"] == {"file": "https://example.com/cat.png"}
