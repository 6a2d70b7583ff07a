"""A run's view against a pipeline is refused when the run carries its graph and the pipeline
given is another (it showed the nodes that pipeline adds as "not reached"); the pipeline that
ran, rebuilt, is drawn, and so is any pipeline for a run that carries no graph."""

from __future__ import annotations

import pytest

from irgraph import Agent, IrgraphError, Loop, RunError, Transform, run
from irgraph.testing import FakeProvider


def chain():
    return Agent("a").instruct("Go.").writes("x") >> Agent("b").instruct("Got {x}.")


def explode(x: str) -> str:
    raise ValueError("no")


def test_a_view_against_a_pipeline_with_more_nodes_is_refused_naming_them():
    result = run(chain(), provider=FakeProvider())
    longer = chain() >> Agent("c").instruct("More.") >> Agent("d").instruct("Even more.")
    with pytest.raises(IrgraphError, match=r"not the one that ran: it has nodes the run's has "
                       r"not \('c', 'd'\); pass that pipeline, or none"):  # fmt: skip
        result.view(longer)
    with pytest.raises(IrgraphError, match=r"\('c', 'd'\)"):
        result.diagram(longer)
    with pytest.raises(IrgraphError, match=r"\('c', 'd'\)"):
        result.timeline(longer)
    # the pipeline that ran, built again, is drawn: every node done
    assert set(result.view(chain()).facts.status.values()) == {"done"}


def test_a_view_against_a_pipeline_with_fewer_or_moved_nodes_is_refused():
    result = run(chain() >> Agent("c").instruct("More."), provider=FakeProvider())
    with pytest.raises(IrgraphError, match=r"it does not have \('c'\); pass that pipeline"):
        result.view(chain())
    looped = Loop("l").step(Agent("a").instruct("Go.").writes("x")).max_iterations(2)
    moved = Loop("l").step(chain()).max_iterations(2)
    result = run(looped >> Agent("b").instruct("Got {x}."), provider=FakeProvider())
    with pytest.raises(IrgraphError, match=r"\('b'\) is of another kind or in another scope"):
        result.view(moved)


def test_a_failed_runs_view_is_checked_against_the_graph_it_carries():
    failing = chain() >> Transform("t", explode).reads("x").writes("y")
    with pytest.raises(RunError) as info:
        run(failing >> Agent("after").instruct("{y}"), provider=FakeProvider())
    error = info.value
    assert error.graph is not None
    with pytest.raises(IrgraphError, match=r"it does not have \('after'\)"):
        error.view(failing)
    full = failing >> Agent("after").instruct("{y}")
    assert error.view(full).facts.status["after"] == "not_reached"
    # Without a graph of its own, the pipeline given is all the view has: a node past the
    # failure is shown not reached, as it was.
    error.graph = None
    assert error.view(full).facts.status == {"a": "done", "b": "done", "t": "failed",
                                             "after": "not_reached"}  # fmt: skip


def test_something_not_a_pipeline_given_to_view_says_so_once_and_that_none_will_do():
    """``result.view("x")`` said to pass the builder, its IR or its graph twice over, and
    never that the pipeline may be left out (the run carries its graph)."""
    from irgraph import Agent, IrgraphError, run
    from irgraph.testing import FakeProvider

    result = run(Agent("a").instruct("Hi."), provider=FakeProvider())
    with pytest.raises(IrgraphError) as refused:
        result.view("x")
    message = str(refused.value)
    assert message.count("to_graph(pipeline)") == 1, message
    assert "result.view()" in message and "carries" in message
