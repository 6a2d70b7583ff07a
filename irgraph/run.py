"""``run`` and ``arun``: compile a pipeline for a backend and execute it in one call.

>>> from irgraph import Agent, run
>>> from irgraph.testing import FakeProvider
>>> result = run(Agent("w").instruct("Write about {topic}.").writes("text"),
...              provider=FakeProvider(), state={"topic": "owls"})
>>> result.state["text"]
'<w: Write about owls.>'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from irgraph.compile import get_backend
from irgraph.events import RunResult
from irgraph.graph import root_of
from irgraph.providers import ModelProvider

__all__ = ["run", "arun"]


def _runnable(pipeline: Any, backend: Any, state: Mapping[str, Any] | None) -> Any:
    engine = get_backend(backend)
    return engine.compile(root_of(pipeline), inputs=tuple((state or {}).keys()))


async def arun(
    pipeline: Any,
    *,
    backend: str | Any = "asyncio",
    provider: ModelProvider | None = None,
    state: Mapping[str, Any] | None = None,
    **options: Any,
) -> RunResult:
    """Run ``pipeline`` (builder or IR) on ``backend`` and return its :class:`RunResult`.

    ``backend`` is a registered name or a backend instance; ``provider=None`` means the
    instance's own provider. ``options`` go to the runnable (``on_event``, ``on_gate``,
    ``max_concurrency``, ``timeout``, ...).
    """
    runnable = _runnable(pipeline, backend, state)
    result: RunResult = await runnable.arun(state, provider=provider, **options)
    return result


def run(
    pipeline: Any,
    *,
    backend: str | Any = "asyncio",
    provider: ModelProvider | None = None,
    state: Mapping[str, Any] | None = None,
    **options: Any,
) -> RunResult:
    """The blocking twin of :func:`arun` (also usable inside Jupyter's running loop)."""
    runnable = _runnable(pipeline, backend, state)
    result: RunResult = runnable.run(state, provider=provider, **options)
    return result
