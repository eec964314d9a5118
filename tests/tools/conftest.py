"""Running `catnest world ...` in-process (click's CliRunner) against SQLite files in tmp_path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from catnest.cli import main

Cli = Callable[..., Result]

# Fixed so that seeded worlds (and their exports) are the same on every run.
NOW = 1_700_000_000


def run_cli(*args: str | Path, input: bytes | None = None) -> Result:
    """`catnest ARGS` in-process; the result keeps stdout and stderr apart."""
    return CliRunner().invoke(main, [str(a) for a in args], input=input, catch_exceptions=False)


@pytest.fixture
def cli() -> Cli:
    return run_cli


def ok(result: Result) -> Result:
    """Assert the command succeeded."""
    assert result.exit_code == 0, result.output
    return result


def refused(result: Result, *fragments: str) -> str:
    """Assert the command failed with a one-line error containing every fragment."""
    assert result.exit_code != 0, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: "), lines
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def seed(
    data_dir: Path, users: int = 30, groups: int = 4, messages: int = 600, *extra: str
) -> Result:
    """Seed a small world, the same one every time."""
    return ok(
        run_cli(
            "world", "seed", "--data-dir", data_dir, "--users", str(users), "--groups",
            str(groups), "--messages", str(messages), "--seed", "3", "--now", str(NOW), *extra,
        )
    )  # fmt: skip


def export(data_dir: Path) -> bytes:
    """The world file of `data_dir`."""
    return ok(run_cli("world", "export", "--data-dir", data_dir)).stdout_bytes
