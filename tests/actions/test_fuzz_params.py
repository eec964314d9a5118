"""Hypothesis fuzzing of every registered action's params against a real world (issue 6).

Whatever a client sends, every action answers with an envelope the client can act on: success,
or 1400/1401/1404 naming the problem; never 1200 (an unhandled error) and never a hang. Each
case is bounded by hypothesis' deadline, so nothing may take more than a moment.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catnest.actions.context import ActionContext
from catnest.actions.dispatch import run_action
from catnest.app import App
from tests.conftest import make_config

# Values a client might put in any field: ids of the demo world, junk, and edge numbers.
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from([0, 1, -1, 10001, 20001, 20004, 30001, 30002, 2**31, 2**63 - 1, -(2**63)]),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["", "0", "10", "true", "all", "[CQ:face,id=1]", "[CQ:at,qq=all]", "1e2"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


class _Served:
    """A started App on a loop of its own thread, so sync hypothesis tests can call it."""

    def __init__(self, data_dir: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.app = App(make_config(data_dir))
        self.run(self.app.start())
        self.ctx: ActionContext = self.app.http_servers[0]._ctx

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def close(self) -> None:
        self.run(self.app.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Served]:
    served = _Served(tmp_path_factory.mktemp("fuzz") / "data")
    yield served
    served.close()


def _params_for(served: _Served, name: str) -> st.SearchStrategy[dict[str, Any]]:
    spec = served.app.registry.resolve(name)
    assert spec is not None
    fields = [f.name for f in msgspec.structs.fields(spec.params)]
    known = st.fixed_dictionaries({}, optional={f: json_values for f in fields})
    extra = st.dictionaries(st.text(max_size=6), json_values, max_size=2)
    return st.builds(lambda a, b: {**b, **a}, known, extra)


@settings(
    max_examples=400,
    deadline=2000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=True,
    database=None,
)
@given(data=st.data())
def test_every_action_answers_every_params(served: _Served, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(served.app.registry.names()), label="action")
    params = data.draw(_params_for(served, name), label="params")
    envelope = served.run(run_action(served.app.registry, served.ctx, name, params, None))
    assert envelope["status"] in ("ok", "failed")
    assert envelope["retcode"] in (0, 1400, 1401, 1404), (name, params, envelope)
    if envelope["status"] == "failed":
        assert envelope["message"] and envelope["data"] is None
