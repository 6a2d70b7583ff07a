"""A Prefect batch in this process shares one pair of API clients among its flow runs
(:mod:`irgraph.backends.prefect_clients`), and closes it however the batch ends.

Prefect's client classes are counted where they are made: every flow run left to itself
opens an async and a sync client, each building an SSL context.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from typing import Any

import pytest

from irgraph import Agent, arun_many, run_many
from irgraph.backends.prefect_backend import PrefectBackend
from irgraph.testing import FakeProvider
from tests.support.prefect_env import ensure_prefect_test_env

pytestmark = pytest.mark.prefect
ensure_prefect_test_env()

CHAIN = Agent("draft").instruct("Draft about {topic}.").writes("draft") >> Agent("final").instruct(
    "Finish {draft}."
).writes("final")
ITEMS = [{"topic": f"topic {number}"} for number in range(6)]


@pytest.fixture
def clients(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[Any]]:
    """Every Prefect API client made while the test runs, by kind, with the thread that made
    it (Prefect's events worker makes one of its own, in its thread, for the process)."""
    from prefect.client import orchestration

    made: dict[str, list[Any]] = {"async": [], "sync": []}
    for kind, cls in (
        ("async", orchestration.PrefectClient),
        ("sync", orchestration.SyncPrefectClient),
    ):
        original = cls.__init__

        def counted(
            self: Any, *args: Any, _original: Any = original, _kind: str = kind, **kw: Any
        ) -> None:
            made[_kind].append((self, threading.get_ident()))
            _original(self, *args, **kw)

        monkeypatch.setattr(cls, "__init__", counted)
    return made


def _on_batch_threads(clients: dict[str, list[Any]]) -> list[Any]:
    """The async clients made on the threads a batch ran on (those its sync clients were
    made on): not the events worker's, which Prefect keeps for the process."""
    threads = {thread for _, thread in clients["sync"]}
    return [client for client, thread in clients["async"] if thread in threads]


def test_a_batch_opens_one_pair_of_clients_for_all_its_flow_runs(clients):
    items = list(run_many(CHAIN, ITEMS, backend="prefect", provider=FakeProvider()))
    assert [item.ok for item in items] == [True] * len(ITEMS)
    # One pair for the batch (the server check before the first item opens one more async
    # client); without the held pair, each of the six flow runs opens one of each kind.
    assert len(clients["sync"]) == 1, clients
    made = _on_batch_threads(clients) + [client for client, _ in clients["sync"]]
    assert len(made) <= 3, made
    assert all(client._closed for client in made)


def test_the_pair_is_closed_when_the_batch_is_left_early_and_a_new_batch_opens_its_own(clients):
    backend = PrefectBackend()

    async def first_then_leave() -> Any:
        results = arun_many(CHAIN, ITEMS, backend=backend, provider=FakeProvider(), max_items=2)
        async for item in results:
            await results.aclose()
            return item

    first = asyncio.run(first_then_leave())
    assert first.ok
    assert len(clients["sync"]) == 1
    assert all(client._closed for client in _on_batch_threads(clients))
    again = list(run_many(CHAIN, ITEMS[:2], backend=backend, provider=FakeProvider()))
    assert [item.ok for item in again] == [True, True]
    assert len(clients["sync"]) == 2  # a fresh pair, not the closed one
    assert all(client._closed for client, _ in clients["sync"])
    assert all(client._closed for client in _on_batch_threads(clients))


def test_a_run_on_a_plain_http_server_reads_no_ca_bundle_again(clients, monkeypatch):
    """Every Prefect client builds an SSL context from the CA bundle, though the temporary
    server speaks plain HTTP: a run's clients share one context, built once per process."""
    runnable = PrefectBackend(provider=FakeProvider()).compile(CHAIN.to_ir())
    assert runnable.run({"topic": "warm"}).state["final"]  # the process's context built
    loads: list[object] = []
    original = ssl.SSLContext.load_verify_locations

    def counted(self: ssl.SSLContext, *args: Any, **kwargs: Any) -> None:
        loads.append(args or kwargs)
        original(self, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counted)
    for topic in ("one", "two"):
        assert runnable.run({"topic": topic}).state["final"]
    assert loads == []  # Prefect's own clients: two per run, each loading the bundle
    # The run's own pair, closed with the run.
    assert all(client._closed for client, _ in clients["sync"])
    assert all(client._closed for client in _on_batch_threads(clients))


def test_a_server_over_https_keeps_prefects_own_tls_settings():
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from irgraph.backends import prefect_clients

    with temporary_settings({PREFECT_API_URL: "https://prefect.example/api"}):
        assert prefect_clients._plain_http_settings() is None
    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:4200/api"}):
        settings = prefect_clients._plain_http_settings()
        assert settings is not None and settings["verify"].verify_mode == ssl.CERT_REQUIRED
