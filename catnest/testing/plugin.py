"""The pytest plugin (entry point `catnest`): the `catnest_server` fixture.

    async def test_ping(catnest_server):
        user = await catnest_server.user(nickname="Alice")
        await user.say("ping")
        assert (await user.expect_reply(contains="pong")).text == "pong"

Set it up per test with `@pytest.mark.catnest(bot_id=..., reverse_ws=..., token=...)` or for
a whole folder by overriding the `catnest_options` fixture (see `CatnestOptions`). The fixture
is async: it needs pytest-asyncio (in auto mode, or mark tests `@pytest.mark.asyncio`).

This module is loaded in every pytest run of an environment where Catnest is installed, so it
imports nothing heavy until a test asks for the fixture.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

if TYPE_CHECKING:
    from catnest.testing.server import CatnestOptions, CatnestServer

try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - pytest then says an async fixture needs a plugin
    pytest_asyncio = None  # type: ignore[assignment]

_F = TypeVar("_F", bound=Callable[..., Any])


def _async_fixture(fn: _F) -> _F:
    # pytest-asyncio's own decorator, so the fixture also works in its strict mode.
    decorator: Any = pytest_asyncio.fixture if pytest_asyncio is not None else pytest.fixture
    fixture: _F = decorator(fn)
    return fixture


def pytest_configure(config: pytest.Config) -> None:
    """Declare the `catnest` marker."""
    config.addinivalue_line(
        "markers",
        "catnest(**options): set up catnest_server for this test (see catnest.testing"
        ".CatnestOptions: bot_id, reverse_ws, webhook, token, message_format, ...)",
    )


@pytest.fixture
def catnest_options() -> CatnestOptions:
    """The options of `catnest_server`; override this fixture to change them for many tests."""
    from catnest.testing.server import CatnestOptions

    return CatnestOptions()


def _apply_marker(options: CatnestOptions, marker: pytest.Mark | None) -> CatnestOptions:
    if marker is None:
        return options
    if marker.args:
        raise pytest.UsageError("@pytest.mark.catnest takes keyword arguments only")
    known = {f.name for f in dataclasses.fields(options)}
    unknown = sorted(set(marker.kwargs) - known)
    if unknown:
        raise pytest.UsageError(
            f"@pytest.mark.catnest: unknown option(s) {', '.join(unknown)};"
            f" known: {', '.join(sorted(known))}"
        )
    return dataclasses.replace(options, **marker.kwargs)


@_async_fixture
async def catnest_server(
    request: pytest.FixtureRequest,
    catnest_options: CatnestOptions,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[CatnestServer]:
    """A real Catnest on free loopback ports with a fresh world and one bot account.

    Connect the bot under test to `server.ws_url` (or let Catnest dial it: `reverse_ws`),
    then act as users: `user = await server.user()`, `await user.say("hi")`,
    `await user.expect_reply(contains="hello")`.
    """
    from catnest.testing.server import CatnestServer

    options = _apply_marker(catnest_options, request.node.get_closest_marker("catnest"))
    server = CatnestServer(options, tmp_path_factory.mktemp("catnest"))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
