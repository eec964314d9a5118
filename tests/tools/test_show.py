"""`catnest world show`, and the refusals every world command shares."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tools.conftest import Cli, ok, refused, seed


def test_show_lists_accounts_groups_and_counts(tmp_path: Path, cli: Cli) -> None:
    seed(tmp_path / "data", 30, 4, 600)
    out = ok(cli("world", "show", "--data-dir", tmp_path / "data")).stdout
    assert str((tmp_path / "data" / "catnest.db").resolve()) in out.replace("\n", "")
    assert "schema version" in out
    assert "Accounts (31, 1 bot)" in out and "Groups (4)" in out
    bot_row = next(line for line in out.splitlines() if "10001" in line)
    assert "Catnest Bot" in bot_row and "bot" in bot_row.replace("Catnest Bot", "")
    assert "600000000" in out
    assert "messages" in out and "600" in out
    assert "more (--limit 0 shows all)" in out
    everything = ok(cli("world", "show", "--data-dir", tmp_path / "data", "--limit", "0")).stdout
    assert "100029" in everything and "more (--limit" not in everything


def test_show_needs_a_world(tmp_path: Path, cli: Cli) -> None:
    refused(cli("world", "show", "--data-dir", tmp_path / "none"), "no world at", "catnest.db")
    assert not (tmp_path / "none").exists()


def test_a_newer_database_is_refused(tmp_path: Path, cli: Cli) -> None:
    import sqlite3

    seed(tmp_path / "data", 2, 0, 0)
    with sqlite3.connect(tmp_path / "data" / "catnest.db") as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (999, 'future', 0)")
    conn.close()
    refused(cli("world", "show", "--data-dir", tmp_path / "data"), "schema version 999")


SEED = ["world", "seed", "--users", "1", "--groups", "1", "--messages", "1"]


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--users", "-1"], ["'--users'", "-1 is not in the range"]),
        (["--messages", "lots"], ["'--messages'", "'lots' is not a valid integer"]),
        (["--groups", "100001"], ["'--groups'", "100001 is not in the range"]),
        (["--bot", "42"], ["'--bot'", "42 is not in the range"]),
        (["--first-uin", "9999"], ["'--first-uin'", "9999 is not in the range"]),
        (["--colour", "red"], ["No such option '--colour'"]),
    ],
)
def test_bad_numbers_and_options(
    tmp_path: Path, cli: Cli, args: list[str], fragments: list[str]
) -> None:
    data = tmp_path / "data"
    refused(cli(*SEED, "--data-dir", data, *args), *fragments)
    assert not data.exists()


def test_missing_required_count(tmp_path: Path, cli: Cli) -> None:
    refused(cli("world", "seed", "--data-dir", tmp_path / "d", "--users", "1"), "--groups")


@pytest.mark.parametrize("command", [SEED, ["world", "show"], ["world", "export"]])
def test_bad_config(tmp_path: Path, cli: Cli, command: list[str]) -> None:
    config = tmp_path / "catnest.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\ncolour = "red"\n')
    refused(cli(*command, "--config", config), "config: colour: unknown key")
    config.write_text('[store]\ndurability = "sometimes"\n')
    refused(cli(*command, "--config", config), "config: store.durability")
    refused(cli(*command, "--config", tmp_path / "missing.toml"), "missing.toml: no such file")
    assert not (tmp_path / "data").exists()


def test_config_names_the_world(tmp_path: Path, cli: Cli) -> None:
    config = tmp_path / "catnest.toml"
    config.write_text(
        f'data_dir = "{tmp_path / "data"}"\n[[bots]]\nuin = 12345\nnickname = "Configured"\n'
    )
    ok(cli(*SEED, "--config", config, "--seed", "1"))
    out = ok(cli("world", "show", "--config", config)).stdout
    assert "12345" in out and "Configured" in out
