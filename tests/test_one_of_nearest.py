"""A text refused for not being one of a few choices is told the choice it may have meant,
as the command line's ``--schedule`` is: ``AsyncioBackend(schedule="Dataflow")`` was refused
for its capital letter with no word of ``'dataflow'``."""

from __future__ import annotations

import pytest

from irgraph import Agent, PipelineError, to_graph
from irgraph.analysis import makespan
from irgraph.backends.asyncio_backend import AsyncioBackend


@pytest.mark.parametrize("given", ["Dataflow", " dataflow ", "datflow", "DATAFLOW"])
def test_a_backend_schedule_near_a_choice_is_told_it(given):
    with pytest.raises(PipelineError) as refused:
        AsyncioBackend(schedule=given)
    assert str(refused.value).splitlines()[0].endswith("Did you mean 'dataflow'?")


def test_an_analysis_schedule_near_a_choice_is_told_it():
    G = to_graph(Agent("a").instruct("Hi.") >> Agent("b").instruct("Bye."))
    with pytest.raises(PipelineError, match="Did you mean 'topological'"):
        makespan(G, 1.0, schedule="Topological")


def test_a_text_near_no_choice_is_told_none():
    with pytest.raises(PipelineError) as refused:
        AsyncioBackend(schedule="fastest")
    assert "Did you mean" not in str(refused.value)
