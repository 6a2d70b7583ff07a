"""What a batch says of each item: :class:`ItemResult`, :class:`BatchError`, and the errors
of an item that is not a state and of one that ran but could not be kept.

All three are :mod:`irgraph.batch`'s; ``BatchError`` is importable from ``irgraph`` too.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import attrs

from irgraph.errors import IrgraphError, PipelineError, RunError, refused_calls
from irgraph.events import RunResult
from irgraph.validate import required_inputs

__all__ = ["ItemResult", "BatchError", "not_a_state", "unkept"]


@attrs.frozen
class ItemResult:
    """How one item of a batch ended.

    ``index`` is the item's position in ``states``; ``initial_state`` the state it started
    from. ``result`` is its :class:`~irgraph.events.RunResult` when it completed, ``error``
    why it did not: a :class:`~irgraph.errors.RunError` from the run, or a
    :class:`~irgraph.errors.PipelineError` when the item does not fit the pipeline (a missing
    input). An item that ran but could not be kept in the batch store has both: its
    ``result``, and the ``error`` naming the file. ``resumed`` says the result was kept by an
    earlier run of the same ``batch_key`` (no model was called; its trace is empty; a copy of
    an item completed earlier in the same run is not ``resumed``, though its result is read
    back from the store), ``key`` is the item's key in that store. Identical items of a keyed
    batch share one key and run once: a copy of an item in flight waits for its outcome.
    """

    index: int
    initial_state: Any = attrs.field(repr=False)
    result: RunResult | None = attrs.field(default=None, repr=False)
    error: IrgraphError | None = None
    resumed: bool = False
    key: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the item completed."""
        return self.error is None

    @property
    def state(self) -> dict[str, Any] | None:
        """The item's final state (``None`` when it failed before completing)."""
        return None if self.result is None else self.result.state

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        """In Jupyter: the view of the item's run (completed or failed) under its index, or
        the error that kept it from running."""
        head = f"Item {self.index}" + (" (resumed)" if self.resumed else "")
        if self.result is not None and self.error is not None:  # ran, but was not kept
            head += f" ran, but {self.error}"
        shown: Any = self.result if self.result is not None else self.error
        if not hasattr(shown, "_repr_mimebundle_"):  # refused before it ran
            return {"text/plain": f"{head} failed before it ran: {self.error}"}
        bundle: dict[str, Any] = shown._repr_mimebundle_()
        if "text/html" in bundle:
            title = f"<div style='font-weight:600'>{html.escape(head)}</div>"
            bundle["text/html"] = title + bundle["text/html"]
        bundle["text/plain"] = f"{head}: {bundle.get('text/plain', '')}"
        return bundle


@refused_calls
class BatchError(RunError):
    """``fail_fast=True`` stopped a batch at a failing item: ``index`` and ``item`` are that
    item's, and its own error is ``__cause__``. It carries that error's run (``state``,
    ``completed``, ``outputs``, ``trace``, ``calls``, ``graph``), so it shows the failed run's
    view too."""

    def __init__(self, item: ItemResult) -> None:
        error = item.error
        super().__init__(
            f"Item {item.index} of the batch failed, so fail_fast=True stopped the batch "
            f"(items in flight were cancelled): {error}",
            node=getattr(error, "node", None),
            # an item refused before it ran (a missing input) stands at its initial state
            state=getattr(error, "state", _initial(item.initial_state)),
            completed=getattr(error, "completed", ()),
        )
        self.trace = getattr(error, "trace", None)
        self.calls = list(getattr(error, "calls", None) or ())
        self.graph = getattr(error, "graph", None)
        # the rest of the failed run's record, so both views read alike (ended: its length)
        for name in ("gates", "outputs", "path", "ended", "max_concurrency", "schedule"):
            if hasattr(error, name):
                setattr(self, name, getattr(error, name))
        self.index = item.index
        self.item = item

    def view(
        self, pipeline: Any = None, *, trace: Any = None, concurrency: int | None = None
    ) -> Any:
        """The failed item's run view (:meth:`RunError.view`), its headline naming the item,
        as a batch's item views do."""
        shown = super().view(pipeline, trace=trace, concurrency=concurrency)
        shown.label = f"Item {self.index}"
        return shown


def _initial(state: Any) -> dict[str, Any] | None:
    """A copy of an item's initial state, when it is a mapping."""
    return dict(state) if isinstance(state, Mapping) else None


def not_a_state(index: int, state: Any, runnable: Any = None) -> PipelineError | None:
    """The error of item ``index`` of a batch when it is not a state (a mapping), else ``None``;
    its hint shows the fix with the inputs of the pipeline ``runnable`` runs, when it is given
    (its ``graph`` is read only for an item that is not a state).

    >>> str(not_a_state(1, "oops")).split(":")[0]
    "Item 1 of the batch is 'oops' of type str, not a state"
    """
    if isinstance(state, Mapping):
        return None
    # run() takes None for "no state"; an item of None is a mistake
    shown = "None" if state is None else f"{_short(state)} of type {type(state).__name__}"
    return PipelineError(
        f"Item {index} of the batch is {shown}, not a state: every item of run_many()'s states "
        "must be a mapping of state keys to values.",
        hint=_as_dicts(getattr(runnable, "graph", None)),
    )


def _as_dicts(graph: Any) -> str:
    """How to give the items as states, with the pipeline's own input names when known:
    ``[{'topic': x} for x in topics]`` for plain values of its one input."""
    needed = () if graph is None else required_inputs(graph) or graph.graph.get("inputs", ())
    inputs = sorted(needed)
    if not inputs:
        return "Give every item as a dict, e.g. {'topic': 'owls'} ({} for none)."
    if len(inputs) == 1:
        key = inputs[0]
        many = f"{key}_list" if key.endswith("s") else f"{key}s"
        return f"Give each item as a dict of its inputs: [{{{key!r}: x}} for x in {many}]."
    shown = ", ".join(f"{key!r}: ..." for key in inputs)
    return f"Give each item as a dict of its inputs ({', '.join(inputs)}), e.g. {{{shown}}}."


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def unkept(message: str, result: RunResult) -> RunError:
    """The error of an item that ran but could not be kept, with its run's view."""
    error = RunError(message, state=result.state, completed=list(result.outputs))
    error.trace, error.calls, error.graph = result.trace, list(result.calls), result.graph
    return error
