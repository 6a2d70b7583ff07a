"""A batch's options refused before any item runs: a gate with no one to ask, run options a
run would refuse (checked once, not once per item), and what cannot reach a work pool's
workers. :func:`irgraph.batch.run_many` calls these after compiling the pipeline.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from irgraph.errors import PipelineError
from irgraph.gate_answers import no_handler_error
from irgraph.providers import ModelProvider, PlaceholderProvider

__all__ = ["check_gates", "check_run_options", "check_remote"]


def check_gates(runnable: Any, engine: Any, options: Mapping[str, Any]) -> None:
    """Refuse, before any item runs (and pays for its agents), a pipeline with a gate on a
    backend that asks an ``on_gate`` handler (asyncio) when none is given. A backend without
    one (Prefect) pauses at a gate instead."""
    graph = getattr(runnable, "graph", None)
    handler = options.get("on_gate") or getattr(engine, "on_gate", None)
    if graph is None or handler is not None or not hasattr(engine, "on_gate"):
        return
    gates = sorted(nid for nid, kind in graph.nodes(data="kind") if kind == "gate")
    if gates:
        raise no_handler_error(
            gates,
            "run_many()",
            "every item would pay for the agents before it and then fail there",
            "or run the batch on Prefect, where a gate pauses",
        )


def check_run_options(provider: ModelProvider | None, options: Mapping[str, Any]) -> None:
    """Refuse bad run options once, here, rather than once per item."""
    from irgraph.backends.run_options import check_run_options

    check_run_options(
        PlaceholderProvider() if provider is None else provider,
        options.get("on_event"),
        options.get("on_gate"),
        None,
        options.get("timeout"),
    )


def check_remote(options: Mapping[str, Any], provider: Any) -> None:
    """Refuse what a batch on remote workers cannot honour, rather than ignore it."""
    given = [name for name in options if options[name] is not None]
    if provider is not None:
        given.append("provider")
    if given:
        raise PipelineError(
            f"A batch on a work pool runs on the pool's workers, where {', '.join(given)} "
            "cannot reach; leave them out.",
            hint="The workers use the provider named in PrefectWorkerConfig(provider=...); "
            "max_concurrency= bounds their model calls, max_items= the items in flight.",
        )
