"""A backend of one's own (tests/support/one_by_one.py: a pass over the graph, written from
the docs) runs through ``run``/``arun`` and the conformance suite with the options it takes,
and each way it can be wrong is named by the suite in words that say what to fix."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from irgraph import Agent, IrgraphError, RunError, run
from irgraph.testing import FakeProvider, raising
from irgraph.testing.conformance import BackendConformance, check_trace_respects_edges
from irgraph.testing.properties_timeouts import check_run_timeout
from tests.support.one_by_one import OneByOneBackend

TEXT_AGENTS = MappingProxyType(
    {"kinds": ["agent", "sequence", "parallel"], "with_structured_outputs": False}
)
PIPELINE = Agent("researcher").instruct("Research {topic}.").writes("findings") >> (
    Agent("writer").instruct("Write from {findings}.") | Agent("writer").instruct("Again.")
)


def test_a_backend_whose_arun_takes_no_provider_runs_with_its_own():
    fake = FakeProvider()
    result = run(PIPELINE, backend=OneByOneBackend(fake), state={"topic": "owls"})
    assert result.state["findings"] == "<researcher: Research owls.>"
    assert [call.node for call in fake.calls] == ["researcher", "writer", "writer#2"]


def test_a_provider_given_to_a_runnable_that_takes_none_is_refused_by_name():
    with pytest.raises(IrgraphError, match="the 'one-by-one' backend's runnable does not take"):
        run(PIPELINE, backend=OneByOneBackend(), provider=FakeProvider(), state={"topic": "x"})


def test_an_error_a_run_raises_carries_no_event_loop_lookup():
    with pytest.raises(RunError) as caught:
        run(PIPELINE, provider=raising(ValueError("boom")), state={"topic": "owls"})
    seen, chain = caught.value, []
    while seen is not None:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    assert not [e for e in chain if "no running event loop" in str(e)], chain


class TestOneByOne(BackendConformance):
    """The suite on a backend with no gates, no parallel runs and no max_concurrency: it
    passes no option the backend does not take."""

    max_examples = 6
    timeout_examples = 2
    pipeline_options = TEXT_AGENTS
    check_cancellation = False

    def make_backend(self, provider):
        return OneByOneBackend(provider)


class TestOneByOneWithoutTimeouts(BackendConformance):
    """``timeout_examples = 0``: a backend with no timeouts is not held to them."""

    max_examples = 3
    timeout_examples = 0
    pipeline_options = TEXT_AGENTS
    check_cancellation = False

    def make_backend(self, provider):
        return OneByOneBackend(provider, flaw="raw-timeouts")

    def test_final_state_and_calls_match_the_reference(self):
        """Covered by TestOneByOne."""

    def test_fuzzed_schedules_match_the_reference(self):
        """Covered by TestOneByOne."""


def test_a_trace_naming_no_graph_node_is_told_what_an_events_node_is():
    backend = OneByOneBackend(FakeProvider(), flaw="events-by-name")
    result = run(PIPELINE, backend=backend, state={"topic": "owls"})
    with pytest.raises(AssertionError, match=r"The trace names None, which the pipeline's graph"):
        check_trace_respects_edges(PIPELINE, result)


def test_a_timeout_raised_as_it_is_is_told_to_be_a_run_error():
    def make(provider):
        return OneByOneBackend(provider, flaw="raw-timeouts")

    with pytest.raises(AssertionError, match="raised TimeoutError .*not a RunError naming"):
        check_run_timeout(make, PIPELINE, {"topic": "owls"}, "researcher")
