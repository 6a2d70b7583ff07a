"""``prefect_runtime.model_provider``: a spec's provider is made once per process, the one a
generated flow module's agent tasks call."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from irgraph.backends.prefect_runtime import model_provider
from irgraph.testing import FakeProvider

MADE: list[FakeProvider] = []
_STARTED = threading.Barrier(4)


def slow_provider() -> FakeProvider:
    """A provider factory named by import spec, slow to make (a client that connects)."""
    time.sleep(0.2)  # every asking thread arrives while the first is still making it
    MADE.append(FakeProvider())
    return MADE[-1]


def _ask() -> object:
    _STARTED.wait()
    return model_provider(f"{__name__}:slow_provider")


def test_a_spec_provider_is_made_once_even_when_threads_ask_at_once() -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda _: _ask(), range(4)))
    assert len(MADE) == 1
    assert all(provider is MADE[0] for provider in got)
    assert model_provider(f"{__name__}:slow_provider") is MADE[0]
