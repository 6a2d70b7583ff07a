"""The Prefect task and flow objects a compiled pipeline makes once and runs many times.

Making a Prefect task or flow costs more than running one (a flow builds a parameter model),
so a :class:`PrefectObjects` keeps one cached agent task per node and one flow per name. A
flow's function is not a closure of one run: it runs the body the calling run set
(:func:`running`), in the caller's context, so every run of a pipeline shares one flow.
An agent task takes one parameter (:class:`AgentCall`): Prefect visits and records each
parameter of each task run, which was a measurable share of what the backend adds per
agent (issue 20).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol

from irgraph.events import Event
from irgraph.providers import ModelProvider, ModelRequest

from .prefect_names import prefect_name

__all__ = ["AgentCall", "PrefectObjects", "running", "reused"]

Body = Callable[[], Awaitable[dict[str, Any]]]

#: What the flow run that starts now does (the calling run's own closure); read by the flow's
#: function, which Prefect calls in the caller's context: once per flow run, again on a retry.
_RUN_BODY: ContextVar[Body] = ContextVar("irgraph_prefect_run")


class Retries(Protocol):
    """What the objects take from a ``PrefectBackend``: its retry settings."""

    task_retries: int
    flow_retries: int
    retry_delay_seconds: float


class AgentCall:
    """An agent task's one parameter: the provider, the request, the cache key and the task
    run's name (node and loop/map position)."""

    __slots__ = ("cache_key", "provider", "request", "where")

    def __init__(
        self, provider: ModelProvider, request: ModelRequest, cache_key: str, where: str
    ) -> None:
        self.provider = provider
        self.request = request
        self.cache_key = cache_key
        self.where = where

    def __repr__(self) -> str:
        return f"<agent call {self.where}>"


@contextmanager
def running(body: Body) -> Iterator[None]:
    """Within the block, a pipeline's flow runs ``body``."""
    token = _RUN_BODY.set(body)
    try:
        yield
    finally:
        _RUN_BODY.reset(token)


class PrefectObjects:
    """A compiled pipeline's Prefect tasks (one per agent) and flows (one per flow name)."""

    def __init__(self, backend: Retries) -> None:
        self.backend = backend
        self._tasks: dict[str, Any] = {}
        self._flows: dict[tuple[str, int, float], Any] = {}

    def agent_task(self, node: str) -> Any:
        """The cached Prefect task that asks the model for agent ``node``."""
        made = self._tasks.get(node)
        if made is None:
            if not self._tasks:
                from prefect import task

                backend = self.backend
                self._tasks[""] = task(
                    persist_result=True,
                    cache_key_fn=_cache_key,
                    retries=backend.task_retries,
                    retry_delay_seconds=backend.retry_delay_seconds,
                    log_prints=False,
                    task_run_name="{call.where}",
                )(_ask)
            made = self._tasks[node] = self._tasks[""].with_options(name=prefect_name(node))
        return made

    def flow(self, name: str) -> Any:
        """The Prefect flow named ``name``, with the backend's retries; it runs the body set
        by :func:`running`."""
        backend = self.backend
        key = (name, backend.flow_retries, backend.retry_delay_seconds)
        made = self._flows.get(key)
        if made is None:
            from prefect import flow

            made = self._flows[key] = flow(
                name=name,
                retries=backend.flow_retries,
                retry_delay_seconds=backend.retry_delay_seconds,
                validate_parameters=False,
                log_prints=False,
            )(_pipeline_flow)
        return made


def _cache_key(context: Any, parameters: dict[str, Any]) -> str:
    return str(parameters["call"].cache_key)


async def _ask(call: AgentCall) -> str:
    """What an agent task does: ask the model."""
    return await call.provider.complete(call.request)


async def _pipeline_flow() -> dict[str, Any]:
    """A pipeline's flow: the body of the run that called it."""
    return await _RUN_BODY.get()()


def reused(scheduler: Any, node: str, path: tuple[tuple[str, int], ...]) -> None:
    """Note that ``node``'s result (at ``path``) came from an earlier run's cache: in the
    run's ``reused``, and told to ``on_event`` as a ``"reused"`` event before the node's end,
    so a live progress shows the resumed run did not pay for it again."""
    scheduler.reused.add(node)
    if scheduler.on_event is not None:
        scheduler.tell(Event._make((node, "reused", time.monotonic(), path, None)))
