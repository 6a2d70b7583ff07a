"""The overlap property says which half failed: calls that never ran together, or a trace
whose times hide calls that did."""

from __future__ import annotations

from typing import Any

import pytest

from irgraph import Event, RunResult
from irgraph.testing import conformance
from tests.support.wrapped_backends import wrapping


async def _starts_told_late(inner: Any, state: Any, options: dict[str, Any]) -> Any:
    """The run as it is, each start event timed at its step's end (told after the call)."""
    result = await inner.arun(state, **options)
    ends = {(e.node, e.path): e.time for e in result.trace if e.event == "end"}
    trace = [
        e._replace(time=ends[e.node, e.path]) if e.event == "start" else e for e in result.trace
    ]
    assert all(isinstance(e, Event) for e in trace)
    return RunResult(result.state, trace, result.outputs, backend="late", graph=result.graph)


def test_a_trace_that_hides_the_overlap_is_told_so_not_that_calls_did_not_overlap() -> None:
    late = wrapping("late-starts", _starts_told_late)
    with pytest.raises(AssertionError) as caught:
        conformance.check_parallel_overlap(late)
    said = str(caught.value)
    assert "All 3 branches' model calls were in flight at once, but the trace" in said
    assert "did not overlap (3 of 3" not in said
