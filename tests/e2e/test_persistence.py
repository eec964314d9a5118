"""Restarts and crashes: every message, id, conversation and unread count survives."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

from tests.conftest import ALICE, BOT, LAB, StartServer, content, stop


async def test_restart_keeps_everything(start_server: StartServer, tmp_path: Path) -> None:
    first = await start_server()
    sent = await first.ok("send_private_msg", user_id=ALICE, message="before restart")
    await first.app.world.messages.send_group(ALICE, 30001, content("lounge news"))
    recent_before = await first.ok("get_recent_contact", count=50)
    history_before = await first.ok("get_group_msg_history", group_id=30001)
    await stop(first)

    second = await start_server()
    assert await second.ok("get_recent_contact", count=50) == recent_before
    assert await second.ok("get_group_msg_history", group_id=30001) == history_before
    msg = await second.ok("get_msg", message_id=sent["message_id"])
    assert msg["raw_message"] == "before restart"
    # The demo world is seeded once; ids keep growing after a restart.
    assert len(await second.ok("get_friend_list")) == 3
    after = await second.ok("send_private_msg", user_id=ALICE, message="after restart")
    assert after["message_id"] > sent["message_id"]
    # Read marks persist too.
    await second.ok("_mark_all_as_read")
    await stop(second)
    third = await start_server()
    assert all(i["unreadCnt"] == 0 for i in await third.ok("get_recent_contact"))


def _serve(config: Path, cwd: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "catnest", "serve", "--config", str(config)],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    lines = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        match = re.search(r"HTTP API on (http://\S+?)/ ", line)
        if match:
            return proc, match.group(1)
    _end(proc, signal.SIGKILL)
    raise AssertionError("server did not start:\n" + "".join(lines))


def _end(proc: subprocess.Popen[str], sig: int = signal.SIGTERM) -> str:
    """Signal the server, wait for it and close its pipe; return what it printed last."""
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=15)
    return out or ""


def _write_config(tmp_path: Path, durability: str = "normal") -> Path:
    config = tmp_path / "catnest.toml"
    config.write_text(
        f'data_dir = "{tmp_path / "data"}"\n'
        f'[store]\ndurability = "{durability}"\n'
        "[web]\nenabled = false\n"
        "[[bots]]\nuin = 10001\nws = []\n[[bots.http]]\nport = 0\n",
        encoding="utf-8",
    )
    return config


async def _send_many(url: str, n: int) -> list[tuple[int, str]]:
    acked = []
    async with aiohttp.ClientSession() as session:
        for i in range(n):
            text = f"crash-test {i}"
            async with session.post(
                f"{url}/send_group_msg", json={"group_id": LAB, "message": text}
            ) as resp:
                body = await resp.json()
                assert body["retcode"] == 0, body
                acked.append((body["data"]["message_id"], text))
    return acked


async def test_kill_9_loses_no_acknowledged_message(tmp_path: Path) -> None:
    for durability in ("normal", "full"):
        folder = tmp_path / durability
        folder.mkdir()
        config = _write_config(folder, durability)
        proc, url = _serve(config, folder)
        try:
            acked = await _send_many(url, 40)
        finally:
            _end(proc, signal.SIGKILL)
        proc, url = _serve(config, folder)
        try:
            async with aiohttp.ClientSession() as session:
                for message_id, text in acked:
                    async with session.post(
                        f"{url}/get_msg", json={"message_id": message_id}
                    ) as resp:
                        body = await resp.json()
                        assert body["retcode"] == 0, (durability, message_id, body)
                        assert body["data"]["raw_message"] == text
                async with session.post(
                    f"{url}/get_group_msg_history", json={"group_id": LAB, "count": 100}
                ) as resp:
                    messages = (await resp.json())["data"]["messages"]
            texts = [m["raw_message"] for m in messages if m["raw_message"].startswith("crash")]
            assert texts == [t for _, t in acked]
        finally:
            _end(proc)


def test_serve_with_defaults_creates_data_and_listens_on_3000(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "catnest", "serve"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        banner = []
        while not banner or "HTTP API" not in banner[-1]:
            line = proc.stdout.readline()
            assert line, "".join(banner)
            banner.append(line)
        text = "".join(banner)
        assert str(tmp_path / "catnest-data" / "catnest.db") in text
        assert "http://127.0.0.1:3000/" in text and "no token" in text
        assert (tmp_path / "catnest-data" / "catnest.db").is_file()
        import urllib.request

        request = urllib.request.Request(
            "http://127.0.0.1:3000/get_recent_contact", data=b'{"count":10}', method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as resp:
            import json

            body: dict[str, Any] = json.loads(resp.read())
        assert body["status"] == "ok" and len(body["data"]) == 5
        assert body["data"][0]["lastestMsg"]["self_id"] == BOT
    finally:
        out = _end(proc, signal.SIGINT)
    assert proc.returncode == 0, out
    assert "stopped" in out


def test_newer_database_is_refused(tmp_path: Path) -> None:
    import sqlite3

    config = _write_config(tmp_path)
    proc, _url = _serve(config, tmp_path)
    _end(proc)
    db = sqlite3.connect(tmp_path / "data" / "catnest.db")
    db.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'x', 0)")
    db.commit()
    db.close()
    result = subprocess.run(
        [sys.executable, "-m", "catnest", "serve", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert "schema version 99" in result.stderr and "Traceback" not in result.stderr


def test_bad_config_names_the_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[[bots]]\nuin = 10001\n[[bots.http]]\nport = "x"\n', encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "catnest", "serve", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert "bots[0].http[0].port" in result.stderr and "Traceback" not in result.stderr
