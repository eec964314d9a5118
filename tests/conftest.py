"""Fixtures shared by every test: a real Catnest on a free loopback port over a real store.

The black-box suite (tests/e2e, except the client-library and CLI subprocess tests) runs once
over SQLite and once over PostgreSQL, each PostgreSQL run in a schema of its own.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from catnest.app import App
from catnest.config import Config, parse_config


@dataclass
class Running:
    """A started App with an HTTP client pointed at its first bot's API."""

    app: App
    session: aiohttp.ClientSession
    url: str
    headers: dict[str, str]

    async def call(self, action: str, **params: Any) -> dict[str, Any]:
        """POST a JSON action and return the envelope (any HTTP status)."""
        async with self.session.post(
            f"{self.url}/{action}", json=params, headers=self.headers
        ) as resp:
            body: dict[str, Any] = await resp.json(content_type=None)
            return body

    async def ok(self, action: str, **params: Any) -> Any:
        """Call and assert success; return `data`."""
        body = await self.call(action, **params)
        assert body["status"] == "ok", body
        assert body["retcode"] == 0, body
        return body["data"]

    async def fails(self, action: str, retcode: int, **params: Any) -> str:
        """Call and assert a failure with `retcode`; return the message."""
        body = await self.call(action, **params)
        assert body["status"] == "failed", body
        assert body["retcode"] == retcode, body
        assert body["data"] is None
        assert body["wording"] == body["message"]
        return str(body["message"])


def make_config(data_dir: Path, **overrides: Any) -> Config:
    """A config for tests: free port, given data dir, demo world unless told otherwise."""
    http: dict[str, Any] = {"port": 0}
    http.update(overrides.pop("http", {}))
    bot: dict[str, Any] = {"uin": 10001, "http": [http], "ws": []}
    bot.update(overrides.pop("bot", {}))
    raw: dict[str, Any] = {"data_dir": str(data_dir), "bots": [bot], "web": {"enabled": False}}
    raw.update(overrides)
    return parse_config(raw)


StartServer = Callable[..., Awaitable[Running]]

# --- stores ------------------------------------------------------------------------------------

POSTGRES_URL = os.environ.get("CATNEST_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
STORES = ("sqlite", "postgres")
_HERE = Path(__file__).resolve().parent
_NOT_PARAMETRISED = (_HERE / "e2e" / "clients",)
_postgres_problem: list[str] = []  # the probe's answer, once per session ("" = reachable)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every black-box test that starts a server once per store."""
    if "store" not in metafunc.fixturenames:
        return
    path = metafunc.definition.path.resolve()
    if not path.is_relative_to(_HERE / "e2e") or any(
        path.is_relative_to(skip) for skip in _NOT_PARAMETRISED
    ):
        return
    metafunc.parametrize("store", STORES, indirect=True)


async def _probe_postgres() -> str:
    if not _postgres_problem:
        import asyncpg

        try:
            conn = await asyncpg.connect(POSTGRES_URL, timeout=5)
            await conn.close()
            _postgres_problem.append("")
        except Exception as exc:  # refused, timed out, bad credentials, no such database...
            _postgres_problem.append(f"{type(exc).__name__}: {exc}")
    return _postgres_problem[0]


async def require_postgres() -> None:
    """Skip the test when PostgreSQL is not reachable, or fail when CI says it must be."""
    problem = await _probe_postgres()
    if not problem:
        return
    where = POSTGRES_URL.rpartition("@")[2].split("/")[0]
    reason = f"PostgreSQL not reachable at {where}: {problem}"
    if os.environ.get("CATNEST_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} (CATNEST_REQUIRE_SERVICES=1)")
    pytest.skip(reason)


# Migrated schemas emptied by earlier tests, handed to later ones: migrating a schema costs about
# 0.3 s, emptying one about 0.03 s, and the e2e suite starts hundreds of PostgreSQL worlds.
_spare_schemas: list[str] = []


async def _pg_connect() -> Any:
    import asyncpg

    return await asyncpg.connect(POSTGRES_URL)


async def _create_schema() -> str:
    name = f"test_{secrets.token_hex(6)}"
    conn = await _pg_connect()
    try:
        await conn.execute(f"CREATE SCHEMA {name}")
    finally:
        await conn.close()
    return name


async def _empty_for_reuse(conn: Any, name: str) -> bool:
    """Delete every row of a world schema and restart its sequences, so that it is as a fresh
    migrated schema; False if it is not a fully migrated world (then it is dropped instead)."""
    import asyncpg

    from catnest.store.migrate import load_migrations

    try:
        if await conn.fetchval("SELECT to_regclass($1)", f"{name}.schema_migrations") is None:
            return False
        version = await conn.fetchval(f"SELECT MAX(version) FROM {name}.schema_migrations")
        if version != len(load_migrations("postgres")):
            return False
        rows = await conn.fetch(
            "SELECT c.relkind::text, c.relname FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1"
            " AND c.relkind IN ('r', 'S')"
            " AND c.relname NOT IN ('schema_migrations', 'world_write_lock')",
            name,
        )
        # One round trip; foreign keys are not checked (every table is emptied), and a test
        # database needs no fsync for its cleanup.
        steps = [
            f"DELETE FROM {name}.{rel};"
            if kind == "r"
            else f"SELECT setval('{name}.{rel}', 1, false);"
            for kind, rel in rows
        ]
        steps.append(f"UPDATE {name}.world_write_lock SET version = 0;")
        await conn.execute(
            "BEGIN; SET LOCAL synchronous_commit = off;"
            " SET LOCAL session_replication_role = replica; SET LOCAL lock_timeout = '10s';"
            f" {' '.join(steps)} COMMIT;"
        )
    except asyncpg.PostgresError:
        if conn.is_in_transaction():
            await conn.execute("ROLLBACK")
        return False
    return True


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Drop the spare schemas this run kept for reuse."""
    if not _spare_schemas:
        return
    import asyncio

    async def drop() -> None:
        conn = await _pg_connect()
        try:
            for name in _spare_schemas:
                await conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        finally:
            await conn.close()
        _spare_schemas.clear()

    asyncio.run(drop())


@dataclass
class PostgresSchemas:
    """Schemas of the test database for one test: dropped, or emptied for reuse, at its end."""

    created: list[str] = field(default_factory=list)
    worlds: list[str] = field(default_factory=list)

    async def new_url(self) -> str:
        """A store URL whose search_path is a new, empty schema."""
        name = await _create_schema()
        self.created.append(name)
        return f"{POSTGRES_URL}?search_path={name}"

    async def world_url(self) -> str:
        """A store URL on a schema with no world in it: fresh, or migrated and emptied."""
        from catnest.store import migrate, postgres

        # A test that starts from an older schema (it patches the engine's migrations) needs a
        # schema that has never been migrated.
        patched = postgres.load_migrations is not migrate.load_migrations
        name = _spare_schemas.pop() if _spare_schemas and not patched else await _create_schema()
        self.worlds.append(name)
        return f"{POSTGRES_URL}?search_path={name}"

    async def release(self) -> None:
        """Drop the new schemas; empty the world schemas and keep them for later tests."""
        if not self.created and not self.worlds:
            return
        conn = await _pg_connect()
        try:
            for name in self.worlds:
                if await _empty_for_reuse(conn, name):
                    _spare_schemas.append(name)
                else:
                    self.created.append(name)
            for name in self.created:
                await conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        finally:
            await conn.close()
        self.created.clear()
        self.worlds.clear()


@pytest.fixture
async def postgres() -> AsyncIterator[PostgresSchemas]:
    """Schemas on demand in the test PostgreSQL (skipped, or failed on CI, if unreachable)."""
    await require_postgres()
    schemas = PostgresSchemas()
    yield schemas
    await schemas.release()


@dataclass
class Store:
    """The store a test's servers use: one world per data dir, as with SQLite files."""

    kind: str
    schemas: PostgresSchemas | None = None
    urls: dict[Path, str] = field(default_factory=dict)

    async def settings(self, data_dir: Path) -> dict[str, Any]:
        """The `[store]` section for a server on `data_dir` (empty: the SQLite default)."""
        if self.schemas is None:
            return {}
        if data_dir not in self.urls:
            self.urls[data_dir] = await self.schemas.world_url()
        return {"url": self.urls[data_dir]}


@pytest.fixture
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    """SQLite unless the test is parametrised with "postgres"."""
    kind = getattr(request, "param", "sqlite")
    if kind == "sqlite":
        yield Store(kind)
        return
    await require_postgres()
    schemas = PostgresSchemas()
    yield Store(kind, schemas)
    await schemas.release()


@pytest.fixture
async def start_server(tmp_path: Path, store: Store) -> AsyncIterator[StartServer]:
    """Start Apps on demand (same data dir by default, so restarts see the same world)."""
    started: list[Running] = []

    async def start(data_dir: Path | None = None, token: str = "", **overrides: Any) -> Running:
        http = overrides.pop("http", {})
        if token:
            http["token"] = token
        data_dir = data_dir or tmp_path / "data"
        overrides["store"] = {**await store.settings(data_dir), **overrides.get("store", {})}
        config = make_config(data_dir, http=http, **overrides)
        app = App(config)
        await app.start()
        session = aiohttp.ClientSession()
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        running = Running(app, session, f"http://127.0.0.1:{app.http_servers[0].port}", headers)
        started.append(running)
        return running

    yield start
    for running in started:
        await running.session.close()
        await running.app.stop()


@pytest.fixture
async def server(start_server: StartServer) -> Running:
    """A Catnest with the demo world, bot 10001, no token."""
    return await start_server()


async def stop(running: Running) -> None:
    """Stop a server mid-test (the fixture's cleanup then does nothing more for it)."""
    await running.session.close()
    await running.app.stop()


def content(cq: str) -> Any:
    """World content from a CQ string, as a virtual user would type it."""
    from catnest.limits import Limits
    from catnest.onebot.content import Content
    from catnest.onebot.segments import normalize_message, raw_message

    segments = normalize_message(cq, auto_escape=False, limits=Limits())
    return Content(segments, raw_message(segments))


BOT = 10001
ALICE, BOB, CAROL, DAVE = 20001, 20002, 20003, 20004
LOUNGE, LAB = 30001, 30002
