"""Tokens never appear in responses, logs, get_status or the start-up banner (issue 6)."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp

from tests.conftest import StartServer

TOKEN = "tok-7f3a9c1e5d"


async def test_token_is_never_echoed(start_server: StartServer, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    running = await start_server(token=TOKEN, bot={"ws": [{"port": 0, "token": TOKEN}]})
    seen: list[str] = []
    async with aiohttp.ClientSession() as session:
        for headers, query in [
            ({}, ""),
            ({"Authorization": f"Bearer {TOKEN}x"}, ""),
            ({}, f"?access_token={TOKEN}"),
            ({"Authorization": f"Bearer {TOKEN}"}, f"?access_token={TOKEN}2"),
        ]:
            for action in ("get_status", "get_version_info", "no_such_action", "get_msg"):
                async with session.post(
                    f"{running.url}/{action}{query}", json={}, headers=headers
                ) as resp:
                    seen.append(await resp.text())
        ws_url = f"ws://127.0.0.1:{running.app.ws_servers[0].port}/"
        try:
            await session.ws_connect(ws_url, headers={"Authorization": f"Bearer {TOKEN}!"})
        except aiohttp.WSServerHandshakeError as exc:
            seen.append(str(exc))
    status = await running.ok("get_status")
    assert TOKEN not in str(status)
    for text in seen:
        assert TOKEN not in text
    assert TOKEN not in caplog.text


def test_banner_hides_the_token(tmp_path: Path) -> None:
    config = tmp_path / "catnest.toml"
    config.write_text(
        f'data_dir = "{tmp_path / "data"}"\n[web]\nenabled = false\n'
        f'[[bots]]\nuin = 10001\nws = [{{ port = 0, token = "{TOKEN}" }}]\n'
        f'[[bots.http]]\nport = 0\ntoken = "{TOKEN}"\n',
        encoding="utf-8",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "catnest", "serve", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = []
        while not any("WebSocket on" in line for line in lines):
            line = proc.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=15)
    text = "".join(lines) + (out or "")
    assert "token required" in text and TOKEN not in text
