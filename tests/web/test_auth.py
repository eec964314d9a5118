"""The web server's walls: token, cross-site refusal, Host checks, static files."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from tests.conftest import ALICE, BOT
from tests.web.conftest import StartWeb, Web

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
USERS = "/api/v1/users"


async def test_token_is_required_everywhere_in_the_api(start_web: StartWeb) -> None:
    web = await start_web(token="s3cret")
    bare = Web(web.app, web.session, {})
    status, body = await bare.call("GET", USERS)
    assert status == 401 and body["error"]["code"] == 1401
    status, body = await bare.call("GET", USERS, headers={"Authorization": "Bearer nope"})
    assert status == 403 and body["error"]["code"] == 1403
    status, body = await bare.call("POST", USERS, {"nickname": "Mallory"})
    assert status == 401
    status, _ = await bare.call("GET", USERS + "?access_token=s3cret")
    assert status == 200
    status, _ = await bare.call(
        "GET", USERS + "?access_token=s3cret", headers={"Authorization": "Bearer other"}
    )
    assert status == 403
    status, _ = await bare.call("GET", f"/api/v1/users/{ALICE}/events?timeout=0")
    assert status == 401
    status, _ = await bare.call("GET", f"/api/v1/bots/{BOT}/traffic")
    assert status == 401
    await web.ok("GET", USERS)
    async with bare.session.get(web.base + "/api/v1/info") as resp:
        assert resp.status == 401 and resp.headers["WWW-Authenticate"] == "Bearer"
    # With a token, any Host may be used (the token decides).
    await web.ok("GET", USERS, headers={"Host": "catnest.example"})


async def test_media_is_served_without_the_token(start_web: StartWeb) -> None:
    web = await start_web(token="s3cret")
    body = aiohttp.FormData()
    body.add_field("file", PNG, filename="a.png")
    status, _ = await Web(web.app, web.session, {}).call("POST", "/api/v1/media", data=body)
    assert status == 401
    body = aiohttp.FormData()
    body.add_field("file", PNG, filename="a.png")
    uploaded = await web.ok("POST", "/api/v1/media", data=body, status=201)
    # Bots fetch the URL an image segment carries; the name is the capability.
    async with web.session.get(uploaded["url"]) as resp:
        assert resp.status == 200 and await resp.read() == PNG


@pytest.mark.parametrize("token", ["", "s3cret"])
async def test_foreign_origins_are_refused(start_web: StartWeb, token: str) -> None:
    web = await start_web(token=token)
    for method in ("GET", "POST"):
        status, body = await web.call(
            method,
            USERS,
            {"nickname": "X"} if method == "POST" else None,
            headers={"Origin": "http://evil.example"},
        )
        assert status == 403 and body["error"]["code"] == 1401, (method, body)
    status, _ = await web.call("GET", USERS, headers={"Origin": "null"})
    assert status == 403
    own = web.base
    await web.ok("POST", USERS, {"nickname": "Own"}, headers={"Origin": own}, status=201)
    await web.ok("GET", USERS, headers={"Origin": own.replace("127.0.0.1", "localhost")})


@pytest.mark.parametrize("token", ["", "s3cret"])
async def test_cross_site_state_changes_are_refused(start_web: StartWeb, token: str) -> None:
    web = await start_web(token=token)
    for site in ("cross-site", "same-site"):
        for method, path in (("POST", USERS), ("DELETE", f"/api/v1/users/{ALICE}/friends/{BOT}")):
            status, body = await web.call(
                method,
                path,
                {"nickname": "X"} if method == "POST" else None,
                headers={"Sec-Fetch-Site": site},
            )
            assert status == 403 and "cross-site" in body["error"]["message"]
    # Reading, or following a link to the page from elsewhere, is fine.
    await web.ok("GET", USERS, headers={"Sec-Fetch-Site": "cross-site"})
    await web.ok(
        "POST", USERS, {"nickname": "Mine"}, headers={"Sec-Fetch-Site": "same-origin"}, status=201
    )


async def test_allowed_origins_get_cors(start_web: StartWeb) -> None:
    web = await start_web(web={"allow_origins": ["http://tools.local:8000/"]})
    origin = "http://tools.local:8000"
    async with web.session.options(
        web.base + USERS, headers={"Origin": origin, "Access-Control-Request-Method": "POST"}
    ) as resp:
        assert resp.status == 204
        assert resp.headers["Access-Control-Allow-Origin"] == origin
        assert "DELETE" in resp.headers["Access-Control-Allow-Methods"]
    async with web.session.post(
        web.base + USERS,
        json={"nickname": "Cors"},
        headers={"Origin": origin, "Sec-Fetch-Site": "cross-site"},
    ) as resp:
        assert resp.status == 201
        assert resp.headers["Access-Control-Allow-Origin"] == origin
    status, _ = await web.call("GET", USERS, headers={"Origin": "http://tools.local:9000"})
    assert status == 403


async def test_unknown_host_is_refused_without_a_token(web: Web) -> None:
    # DNS rebinding: a page of rebind.example resolving to 127.0.0.1 sends same-origin
    # requests naming its own host.
    assert web.app.web is not None
    port = web.app.web.port
    status, body = await web.call("GET", USERS, headers={"Host": f"rebind.example:{port}"})
    assert status == 403 and "Host" in body["error"]["message"]
    await web.ok("GET", USERS, headers={"Host": f"localhost:{port}"})


async def test_static_page_and_its_walls(web: Web) -> None:
    async with web.session.get(web.base + "/") as resp:
        assert resp.status == 200
        assert "text/html" in resp.headers["Content-Type"]
        assert "Catnest" in await resp.text()
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
        assert resp.headers["Referrer-Policy"] == "no-referrer"
    for path in (
        "/../pyproject.toml",
        "/%2e%2e/app.py",
        "/..%2Fserver.py",
        "/nothing.js",
        "/static/../server.py",
        "/%00",
    ):
        async with web.session.get(web.base + path) as resp:
            assert resp.status == 404, path
    async with web.session.post(web.base + "/") as resp:
        assert resp.status == 405


async def test_server_stops_with_open_streams(start_web: StartWeb) -> None:
    web = await start_web()
    async with web.session.get(web.base + f"/api/v1/users/{ALICE}/stream") as resp:
        assert resp.status == 200
        assert await resp.content.readline() == b": connected\n"
        await web.app.stop()
        async with asyncio.timeout(5):
            assert await resp.content.read() == b"\n"  # the stream ended: nothing more
