"""The HTTP transport: routing, params, bodies, limits, auth, CORS and envelopes."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.conftest import ALICE, BOT, Running, StartServer

ENVELOPE_KEYS = ["status", "retcode", "data", "message", "wording", "echo", "stream"]


async def raw(server: Running, method: str, path: str, **kwargs: Any) -> tuple[int, Any, Any]:
    async with server.session.request(method, server.url + path, **kwargs) as resp:
        text = await resp.read()
        import orjson

        return resp.status, (orjson.loads(text) if text else None), resp.headers


async def test_envelope_shape_and_echo_types(server: Running) -> None:
    for echo in ["1", 7, {"seq": 1}, [1, "a"], None, 1.5, True]:
        status, body, headers = await raw(server, "POST", "/get_login_info", json={"echo": echo})
        assert status == 200 and list(body) == ENVELOPE_KEYS
        assert body["echo"] == echo and type(body["echo"]) is type(echo)
        assert body["stream"] == "normal-action"
        assert headers["Content-Type"].startswith("application/json")


async def test_get_query_and_path_suffix(server: Running) -> None:
    _, body, _ = await raw(server, "GET", "/get_stranger_info?user_id=20001&echo=x")
    assert body["data"]["user_id"] == ALICE and body["echo"] == "x"
    _, body, _ = await raw(server, "GET", "/get_login_info/anything/else")
    assert body["data"]["user_id"] == BOT
    _, body, _ = await raw(server, "POST", "/get_login_info/")
    assert body["retcode"] == 0


async def test_query_overrides_body(server: Running) -> None:
    _, body, _ = await raw(server, "POST", "/get_recent_contact?count=1", json={"count": 3})
    assert len(body["data"]) == 1


async def test_form_body(server: Running) -> None:
    _, body, _ = await raw(
        server,
        "POST",
        "/send_private_msg",
        data={"user_id": str(ALICE), "message": "form [CQ:face,id=2]"},
    )
    assert body["retcode"] == 0, body


async def test_json_labelled_as_a_form_is_read_as_json(server: Running) -> None:
    # What `curl -d '{"count":2}'` sends: JSON under curl's default form content type.
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    for data in (b'{"count":2}', b' \n{"count":2}'):
        _, body, _ = await raw(server, "POST", "/get_recent_contact", data=data, headers=headers)
        assert len(body["data"]) == 2, body
    status, body, _ = await raw(
        server, "POST", "/get_recent_contact", data=b'{"count":2', headers=headers
    )
    assert status == 400 and body["retcode"] == 1400, body
    # A real form whose first key starts with a brace is percent-encoded.
    _, body, _ = await raw(
        server, "POST", "/get_recent_contact", data=b"%7Bx=1&count=2", headers=headers
    )
    assert len(body["data"]) == 2, body


async def test_json_without_content_type(server: Running) -> None:
    _, body, _ = await raw(server, "POST", "/get_recent_contact", data=b'{"count":2}')
    assert len(body["data"]) == 2


async def test_empty_body_means_no_params(server: Running) -> None:
    _, body, _ = await raw(server, "POST", "/get_recent_contact", data=b"")
    assert len(body["data"]) == 5


@pytest.mark.parametrize("suffix", ["_async", "_rate_limited"])
async def test_suffix_aliases(server: Running, suffix: str) -> None:
    assert (await server.ok(f"get_login_info{suffix}"))["user_id"] == BOT


async def test_unknown_action_names_itself(server: Running) -> None:
    message = await server.fails("get_guild_service_profile", 1404)
    assert "get_guild_service_profile" in message
    status, body, _ = await raw(server, "POST", "/nope_async", json={})
    assert status == 200 and body["retcode"] == 1404


async def test_root_says_running(server: Running) -> None:
    status, body, _ = await raw(server, "GET", "/")
    assert status == 200 and body["status"] == "ok" and "running" in body["message"]


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        (b'{"count": 1', "invalid JSON"),
        (b'{"count": NaN}', "invalid JSON"),
        (b'{"count": Infinity}', "invalid JSON"),
        (b'{"count": 1, "count": 2}', "duplicate key 'count'"),
        (b'{"a": {"b": 1, "b": 2}}', "duplicate key 'b'"),
        (b"[1, 2]", "object"),
        (b'"text"', "object"),
        (b"null", "object"),
        (b'{"count": 99999999999999999999}', "64-bit"),
        (b'{"count": "\xff\xfe"}', "UTF-8"),
        (b'{"a":' * 70 + b"1" + b"}" * 70, "nested deeper than 64"),
        (b"{'count': 1}", "invalid JSON"),
    ],
)
async def test_bad_json_is_400_with_envelope(server: Running, payload: bytes, needle: str) -> None:
    status, body, _ = await raw(
        server,
        "POST",
        "/get_recent_contact",
        data=payload,
        headers={"Content-Type": "application/json"},
    )
    assert status == 400
    assert body["status"] == "failed" and body["retcode"] == 1400 and body["data"] is None
    assert needle in body["message"], body["message"]


async def test_duplicate_keys_inside_strings_are_fine(server: Running) -> None:
    _, body, _ = await raw(
        server,
        "POST",
        "/send_private_msg",
        data=b'{"user_id": 20001, "message": "a:b:c \\"x\\":1"}',
    )
    assert body["retcode"] == 0, body


async def test_oversized_body_413_from_content_length(start_server: StartServer) -> None:
    running = await start_server(limits={"max_body_bytes": 1024})
    status, body, _ = await raw(
        running, "POST", "/send_private_msg", data=b'{"message": "' + b"x" * 2000 + b'"}'
    )
    assert status == 413 and body["retcode"] == 1400 and "1024" in body["message"]


async def test_oversized_chunked_body_413(start_server: StartServer) -> None:
    running = await start_server(limits={"max_body_bytes": 1024})

    async def chunks() -> Any:
        for _ in range(10):
            yield b"x" * 500

    status, body, _ = await raw(running, "POST", "/send_private_msg", data=chunks())
    assert status == 413 and body["retcode"] == 1400


async def test_body_at_the_limit_is_read(start_server: StartServer) -> None:
    running = await start_server(limits={"max_body_bytes": 64})
    payload = b'{"count": 1}'.ljust(64, b" ")
    status, body, _ = await raw(running, "POST", "/get_recent_contact", data=payload)
    assert status == 200 and len(body["data"]) == 1


# --- auth ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "query", "status", "retcode"),
    [
        ({}, "", 401, 1401),
        ({"Authorization": "Bearer wrong"}, "", 403, 1403),
        ({}, "?access_token=wrong", 403, 1403),
        ({"Authorization": "Bearer s3cret"}, "?access_token=other", 403, 1403),
        ({"Authorization": "Bearer"}, "", 401, 1401),
        ({"Authorization": "Bearer "}, "", 401, 1401),
        ({"Authorization": "Bearer s3cret"}, "", 200, 0),
        ({"Authorization": "bearer s3cret"}, "", 200, 0),
        ({"Authorization": "Token s3cret"}, "", 200, 0),
        ({"Authorization": "s3cret"}, "", 200, 0),
        ({}, "?access_token=s3cret", 200, 0),
        ({"Authorization": "Bearer s3cret"}, "?access_token=s3cret", 200, 0),
    ],
)
async def test_token_rules(
    start_server: StartServer, headers: dict[str, str], query: str, status: int, retcode: int
) -> None:
    running = await start_server(token="s3cret")
    got_status, body, resp_headers = await raw(
        running, "POST", f"/get_login_info{query}", json={}, headers=headers
    )
    assert got_status == status and body["retcode"] == retcode
    assert "s3cret" not in str(body)
    if status == 401:
        assert resp_headers["WWW-Authenticate"] == "Bearer"


async def test_wrong_token_never_reads_the_body(start_server: StartServer) -> None:
    running = await start_server(token="s3cret", limits={"max_body_bytes": 16})
    status, body, _ = await raw(
        running,
        "POST",
        "/get_login_info",
        data=b"{" * 100,
        headers={"Authorization": "Bearer nope"},
    )
    assert status == 403 and body["retcode"] == 1403


async def test_no_token_ignores_authorization(server: Running) -> None:
    # Koishi sends `Token undefined` when no token is configured.
    status, body, _ = await raw(
        server, "POST", "/get_login_info", json={}, headers={"Authorization": "Token undefined"}
    )
    assert status == 200 and body["retcode"] == 0


# --- browser origins -------------------------------------------------------------------


async def test_foreign_origin_refused_without_token(server: Running) -> None:
    status, body, headers = await raw(
        server,
        "POST",
        "/send_private_msg",
        json={"user_id": ALICE, "message": "x"},
        headers={"Origin": "https://evil.example"},
    )
    assert status == 403 and body["retcode"] == 1401
    assert "Access-Control-Allow-Origin" not in headers
    history = await server.ok("get_friend_msg_history", user_id=ALICE)
    assert all(m["raw_message"] != "x" for m in history["messages"])


async def test_own_origin_allowed_with_cors(server: Running) -> None:
    port = server.url.rsplit(":", 1)[1]
    origin = f"http://127.0.0.1:{port}"
    status, _body, headers = await raw(
        server, "POST", "/get_login_info", json={}, headers={"Origin": origin}
    )
    assert status == 200 and headers["Access-Control-Allow-Origin"] == origin
    status, _, headers = await raw(
        server,
        "OPTIONS",
        "/get_login_info",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
    )
    assert status == 204 and "Authorization" in headers["Access-Control-Allow-Headers"]


async def test_allow_list_origin(start_server: StartServer) -> None:
    running = await start_server(http={"allow_origins": ["https://dev.example"]})
    status, _, headers = await raw(
        running, "POST", "/get_login_info", json={}, headers={"Origin": "https://dev.example"}
    )
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "https://dev.example"


async def test_with_token_any_origin_may_call(start_server: StartServer) -> None:
    running = await start_server(token="s3cret")
    status, body, headers = await raw(
        running,
        "POST",
        "/get_login_info",
        json={},
        headers={"Origin": "https://app.example", "Authorization": "Bearer s3cret"},
    )
    assert status == 200 and body["retcode"] == 0
    assert headers["Access-Control-Allow-Origin"] == "https://app.example"
    status, _, _ = await raw(
        running, "POST", "/get_login_info", json={}, headers={"Origin": "https://app.example"}
    )
    assert status == 401


async def test_internal_error_is_1200_without_trace(
    server: Running, monkeypatch: Any, caplog: Any
) -> None:
    async def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(server.app.world.accounts, "account", boom)
    body = await server.call("get_login_info")
    assert body["retcode"] == 1200 and body["status"] == "failed"
    assert "secret internals" not in body["message"] and "Traceback" not in body["message"]
    assert "request" in body["message"]
    assert "secret internals" in caplog.text


async def test_concurrent_requests(server: Running) -> None:
    import asyncio

    results = await asyncio.gather(
        *[server.ok("send_private_msg", user_id=ALICE, message=f"c{i}") for i in range(50)]
    )
    ids = [r["message_id"] for r in results]
    assert len(set(ids)) == 50
    history = await server.ok("get_friend_msg_history", user_id=ALICE, count=60)
    assert len(history["messages"]) == 51


async def test_client_library_style_session(server: Running) -> None:
    # aiohttp as a bot would use it: keep-alive connection, many calls.
    async with aiohttp.ClientSession() as session:
        for _ in range(5):
            async with session.post(f"{server.url}/get_status", json={}) as resp:
                assert (await resp.json())["data"]["online"] is True
