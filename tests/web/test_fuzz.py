"""Schemathesis fuzzes every documented user-API operation of a live server (positive and
negative data): never a 5xx, and status, content type and body conform to
`openapi-user.yaml`. Streams are left out (they never end); long-polls are made not to wait.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from catnest.app import App
from tests.conftest import make_config
from tests.web.conftest import DOC


class ThreadedWeb:
    """A real Catnest (demo world, web server on) on its own loop in a background thread:
    Schemathesis drives synchronous requests."""

    def __init__(self, data_dir: Path) -> None:
        self.app = App(make_config(data_dir, web={"enabled": True, "port": 0}))
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.app.start(), self.loop).result(timeout=30)
        assert self.app.web is not None
        return self.app.web.url

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.app.stop(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=30)
        self.loop.close()


@pytest.fixture(scope="module")
def live_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with ThreadedWeb(tmp_path_factory.mktemp("fuzz") / "data") as url:
        yield url


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


SCHEMA = schemathesis.openapi.from_dict(DOC, config=schemathesis.Config.from_dict({}))
OPERATIONS = {result.ok().label: result.ok() for result in SCHEMA.get_all_operations()}
POSITIVE, NEGATIVE = schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE
STREAMS = {"GET /api/v1/users/{uin}/stream", "GET /api/v1/bots/{uin}/traffic/stream"}


def _negatable(label: str) -> bool:
    # Negative data needs something to negate: a parameter or a body.
    method, path = label.split(" ", 1)
    item = DOC["paths"][path]
    operation = item[method.lower()]
    return bool(
        item.get("parameters") or operation.get("parameters") or operation.get("requestBody")
    )


FUZZ_CASES = [
    pytest.param(label, mode, id=f"{label}-{mode.value}")
    for label in sorted(OPERATIONS)
    for mode in (POSITIVE, NEGATIVE)
    if label not in STREAMS and (mode is POSITIVE or _negatable(label))
]
CHECKS: list[Callable[..., Any]] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
FUZZ_SETTINGS = hypothesis_settings(
    max_examples=10,
    deadline=None,
    derandomize=True,  # the same cases on every run: CI stays reproducible
    database=None,  # no .hypothesis folder in the work tree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
# Random numbers almost never name an account, so half of the positive cases act in the demo
# world instead: the success branches get fuzzed too.
DEMO_IDS: dict[str, st.SearchStrategy[Any]] = {
    "uin": st.sampled_from([20001, 20002, "20003", 20004, 10001]),
    "user_id": st.sampled_from([20001, 20002, 20003, "20004", 10001]),
    "group_id": st.sampled_from([30001, "30002"]),
    "message_id": st.integers(min_value=1, max_value=12),
}


@pytest.mark.parametrize(("label", "mode"), FUZZ_CASES)
def test_schemathesis_fuzz(
    live_url: str, http: requests.Session, label: str, mode: schemathesis.GenerationMode
) -> None:
    operation = OPERATIONS[label]

    @FUZZ_SETTINGS
    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    def run(case: schemathesis.Case, data: st.DataObject) -> None:
        if mode is POSITIVE and data.draw(st.booleans(), "demo ids"):
            for source in (case.path_parameters, case.body):
                if isinstance(source, dict):
                    for key in source.keys() & DEMO_IDS.keys():
                        source[key] = data.draw(DEMO_IDS[key], key)
        if label.endswith("/events") and isinstance(case.query, dict):
            case.query["timeout"] = 0
        response = case.call(base_url=live_url, session=http)
        case.validate_response(response, checks=CHECKS)

    run()
