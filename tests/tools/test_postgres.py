"""The world tools on PostgreSQL: a world moves between SQLite and PostgreSQL unchanged."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.conftest import PostgresSchemas
from tests.tools.conftest import NOW, export, ok, refused, run_cli, seed


async def test_round_trip_through_postgres(tmp_path: Path, postgres: PostgresSchemas) -> None:
    configs = []
    for name in ("a", "b"):
        config = tmp_path / f"{name}.toml"
        config.write_text(f'[store]\nurl = "{await postgres.new_url()}"\n')
        configs.append(config)

    def work() -> None:
        seed(tmp_path / "sqlite", 20, 3, 800)
        ok(
            run_cli(
                "world", "seed", "--config", configs[0], "--users", "20", "--groups", "3",
                "--messages", "800", "--seed", "3", "--now", str(NOW),
            )
        )  # fmt: skip
        on_postgres = ok(run_cli("world", "export", "--config", configs[0])).stdout_bytes
        # The same seed makes the same world, ids included, on either store.
        assert on_postgres == export(tmp_path / "sqlite")
        ok(run_cli("world", "import", "--config", configs[1], "-", input=on_postgres))
        assert ok(run_cli("world", "export", "--config", configs[1])).stdout_bytes == on_postgres
        refused(
            run_cli("world", "import", "--config", configs[1], "-", input=on_postgres),
            "already holds a world",
        )

    await asyncio.to_thread(work)
