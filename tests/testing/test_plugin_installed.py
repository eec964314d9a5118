"""The plugin as another project sees it: loaded from the entry point, in pytest-asyncio's
default strict mode, with its marker declared."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROJECT_TEST = """
import pytest


@pytest.mark.asyncio
async def test_strict_mode(catnest_server):
    user = await catnest_server.user(nickname="Zed")
    await user.say("hi")
    assert catnest_server.sent == []


@pytest.mark.catnest(colour="red")
@pytest.mark.asyncio
async def test_unknown_option(catnest_server):
    pass
"""


def test_plugin_loads_from_its_entry_point(tmp_path: Path) -> None:
    (tmp_path / "test_bot.py").write_text(PROJECT_TEST)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--strict-markers",
            "-W",
            "error",
            "-o",
            "asyncio_default_fixture_loop_scope=function",
            "test_bot.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert "1 passed" in output and "1 error" in output, output
    assert "unknown option(s) colour" in output, output
