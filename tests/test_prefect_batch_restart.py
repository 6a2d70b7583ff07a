"""A keyed Prefect batch started over by deleting its directory, as irgraph's own refusal
advises ("delete the directory ... to start this batch over"), asked the model nothing: its
items ran under the same run keys, and Prefect's result storage gave every agent's answer
back. The run keys name the directory's record now, so a new directory is a new start; a
batch resumed in the same directory still gets its answers back.

Real parts: Prefect's temporary server and its result storage in a directory of the test's.
"""

from __future__ import annotations

import json
import shutil
import uuid

import pytest

from irgraph import Agent, run_many
from irgraph.backends.prefect_backend import PrefectBackend
from irgraph.testing import FakeProvider
from tests.support.prefect_env import ensure_prefect_test_env

pytestmark = pytest.mark.prefect
ensure_prefect_test_env()

CHAIN = Agent("draft").instruct("Draft about {topic}.").writes("draft") >> Agent("final").instruct(
    "Finish {draft}."
).writes("final")
ITEMS = [{"topic": "owls"}, {"topic": "bats"}]


def test_deleting_a_prefect_batchs_directory_starts_it_over(tmp_path):
    backend = PrefectBackend(result_dir=str(tmp_path / "results"))
    store = tmp_path / "store"
    options = {"backend": backend, "batch_key": f"over-{uuid.uuid4().hex[:8]}", "store": store}
    first = FakeProvider()
    assert all(item.ok for item in run_many(CHAIN, ITEMS, provider=first, **options))
    assert len(first.calls) == 4
    (record,) = store.glob("batch-*.json")
    started = json.loads(record.read_text())["generation"]
    for item in (store / "items").iterdir():  # an item under way: its answers stay in Prefect
        item.unlink()
    resumed = FakeProvider()
    assert all(item.ok for item in run_many(CHAIN, ITEMS, provider=resumed, **options))
    assert resumed.calls == []  # the same directory: each agent's answer came back
    shutil.rmtree(store)
    again = FakeProvider()
    items = list(run_many(CHAIN, ITEMS, provider=again, **options))
    assert all(item.ok and not item.resumed for item in items)
    assert sorted(call.prompt for call in again.calls) == sorted(c.prompt for c in first.calls)
    assert json.loads(record.read_text())["generation"] != started  # a new start
