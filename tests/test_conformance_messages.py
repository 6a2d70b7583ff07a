"""What the conformance suite says when a backend's run differs from the reference: each key,
model call and step that differs, in words, with which side has what."""

from __future__ import annotations

import attrs
import pytest

from irgraph import Agent, Route
from irgraph.backends.asyncio_backend import AsyncioBackend
from irgraph.events import RunResult
from irgraph.ir import LoopNode
from irgraph.testing import FakeProvider
from irgraph.testing.conformance import (
    check_cancelled_run_told_on_event,
    check_cancelled_stream_keeps_completed_work,
    check_executions_match,
    check_matches_reference,
    check_run_timeout,
    check_trace_respects_edges,
)
from tests.support.wrapped_backends import wrapping

owls = {"topic": "owls"}


async def _forgets_the_last_write(inner, state, options):
    result = await inner.arun(state, **options)
    return attrs.evolve(result, state={k: v for k, v in result.state.items() if k != "draft"})


def test_a_key_the_backend_did_not_write_is_told_missing_not_none():
    pipeline = Agent("researcher").instruct("Research {topic}.").writes("notes") >> Agent(
        "writer"
    ).instruct("Write from {notes}.").writes("draft")
    backend = wrapping("forgetful", _forgets_the_last_write)
    with pytest.raises(AssertionError) as info:
        check_matches_reference(backend, pipeline, owls)
    said = str(info.value)
    assert said.startswith(
        "Final state differs from the reference's:\n  'draft': missing from the backend's "
        "state; the reference's has '<writer: Write from <researcher: Research owls.>.>'\n"
    ), said
    assert "None" not in said.split("Pipeline:")[0]


def _one_more_iteration(node):
    if isinstance(node, LoopNode):
        node = attrs.evolve(node, max_iterations=node.max_iterations + 1)
    children = getattr(node, "children", None)
    if children:
        node = attrs.evolve(node, children=tuple(_one_more_iteration(c) for c in children))
    return node


def _compiling(change):
    """A backend that runs ``change(ir)`` on asyncio, but shows the graph of ``ir``."""

    async def around(inner, state, options):
        return await inner.arun(state, **options)

    class Changed(wrapping("changed", around)):
        def compile(self, ir, *, inputs=None):
            runnable = super().compile(change(ir), inputs=inputs)
            shown = type(self)(None).inner.compile(ir, inputs=inputs)
            runnable.node, runnable.graph = shown.node, shown.graph
            return runnable

    return Changed


def _told(change, pipeline):
    """What check_matches_reference says of a backend that runs ``change(ir)``, up to the
    pipeline it prints."""
    with pytest.raises(AssertionError) as info:
        check_matches_reference(_compiling(change), pipeline, owls)
    return str(info.value).split("Pipeline:")[0]


def test_an_extra_model_call_is_told_by_its_agent_and_prompt():
    loop = (Agent("writer").instruct("Draft about {topic}.").writes("draft")) * 2
    said = _told(_one_more_iteration, loop)
    assert said == (
        "Model calls differ from the reference's:\n"
        "  an extra call, not made by the reference: agent 'writer', prompt 'Draft about owls.'\n"
    ), said


def _unfilled_system(agent):
    """The agent with its system prompt's ``{key}``s escaped: sent as written, not filled."""
    return attrs.evolve(agent, system=agent.system.replace("{", "{{").replace("}", "}}"))


def test_a_call_that_differs_in_one_field_is_told_beside_the_reference_call():
    pipeline = Agent("writer").instruct("Write.").system("You write for {topic}.")
    said = _told(_unfilled_system, pipeline)
    assert said == (
        "Model calls differ from the reference's:\n"
        "  agent 'writer' was called with system 'You write for {topic}.' where the "
        "reference's has 'You write for owls.'\n"
    ), said


def test_a_step_that_did_not_run_is_told_with_both_counts():
    bug = Agent("fix").instruct("Fix {ticket}.").writes("reply")
    other = Agent("answer").instruct("Answer {ticket}.").writes("reply")
    triage = Route("triage").on("kind").when("bug", bug).otherwise(other)
    state = {"kind": "bug", "ticket": "crash"}
    result = check_matches_reference(_compiling(lambda ir: ir), triage, state)
    without_route = [e for e in result.trace if e.node != "triage"]
    with pytest.raises(AssertionError) as info:
        check_executions_match(triage, state, attrs.evolve(result, trace=without_route))
    said = str(info.value).split("Pipeline:")[0]
    assert said.endswith(":\n  'triage' started 0 times; in the reference 1 time\n"), said
    assert isinstance(result, RunResult)


def _without_events_of(scope):
    """A backend that runs on asyncio but leaves the events of node ``scope`` out of its trace
    (its body's stay), as a backend written from the guide might."""

    async def around(inner, state, options):
        result = await inner.arun(state, **options)
        return attrs.evolve(result, trace=[e for e in result.trace if e.node != scope])

    return wrapping("scopeless", around)


@pytest.mark.parametrize("last", [False, True])
def test_a_loop_without_events_of_its_own_is_told_so_not_that_it_did_not_run(last):
    loop = (Agent("writer").instruct("Draft about {topic}.").writes("draft")) * 2
    pipeline = loop if last else loop >> Agent("editor").instruct("Edit {draft}.")
    result = check_matches_reference(_without_events_of("writer_x2"), pipeline, owls)
    with pytest.raises(AssertionError) as info:
        check_trace_respects_edges(pipeline, result)
    said = str(info.value).split("Pipeline:")[0]
    assert (
        "The trace has no event of loop 'writer_x2': a loop or map-over has a \"start\" and an"
        in said
    ), said
    assert "path=((scope id, iteration or item index), ...)" in said, said


def _events_at(paths):
    """A backend that runs on asyncio but puts its events at ``paths(event)`` instead."""

    async def around(inner, state, options):
        result = await inner.arun(state, **options)
        return attrs.evolve(result, trace=[e._replace(path=paths(e)) for e in result.trace])

    return wrapping("misplaced", around)


@pytest.mark.parametrize(
    ("paths", "told"),
    [
        (lambda e: (), "The trace starts 'writer' at path=(), which does not name the loops"),
        (
            lambda e: e.path[:1] and (("writer_x2", 0),),
            "The trace starts 'writer' twice at path=(('writer_x2', 0),)",
        ),
    ],
)
def test_events_inside_a_loop_without_their_iteration_in_the_path_are_told(paths, told):
    loop = (Agent("writer").instruct("Draft about {topic}.").writes("draft")) * 2
    result = check_matches_reference(_events_at(paths), loop, owls)
    with pytest.raises(AssertionError) as info:
        check_trace_respects_edges(loop, result)
    assert str(info.value).startswith(told), str(info.value)


class NoOptions:
    """The asyncio backend, its runnables' ``arun`` taking no ``timeout`` (nor any option)."""

    name = "no-options"
    capabilities = AsyncioBackend.capabilities

    def __init__(self, provider=None):
        self.inner = AsyncioBackend(provider=provider)

    def compile(self, ir, *, inputs=None):
        inner = self.inner.compile(ir, inputs=inputs)

        class Runnable:
            node, graph = inner.node, inner.graph

            async def arun(self, state=None):
                return await inner.arun(state)

        return Runnable()


def _said(check, *args):
    """What ``check(NoOptions, *args)`` raises, as text."""
    with pytest.raises(AssertionError) as info:
        check(NoOptions, *args)
    return str(info.value)


def test_a_backend_without_timeouts_is_told_to_set_timeout_examples_to_zero():
    said = _said(check_run_timeout, Agent("writer").instruct("Write."), {}, "writer")
    assert said.startswith("The run was refused before it started, with 'writer' "), said
    assert "which the 'no-options' backend does not take. It takes no options." in said
    assert "sets timeout_examples = 0 in its BackendConformance subclass" in said
    assert "took" not in said  # it never ran, so it took no time


def test_a_run_that_refuses_on_event_is_told_at_once_not_after_the_patience_runs_out():
    said = _said(check_cancelled_run_told_on_event)
    assert said.startswith(
        "The run ended before it asked its model for 'held', so it could not be cancelled "
        "there: it raised ArgumentError: arun() got the option 'on_event', which the "
        "'no-options' backend does not take. It takes no options. A backend that cannot keep "
        "a cancelled run's work (or whose arun takes no on_event) sets check_cancellation = "
        "False in its BackendConformance subclass.\nPipeline:"
    ), said


def test_a_backend_that_claims_streaming_without_a_stream_method_is_told_so():
    said = _said(check_cancelled_stream_keeps_completed_work)
    assert said.startswith(
        "The backend's capabilities claim streaming, but its runnable, a Runnable, has no "
        "stream() method."
    ), said
    assert "streaming=False" in said


def test_a_trace_listing_an_end_before_its_start_is_told_so() -> None:
    pipeline = Agent("first").writes("x") >> Agent("second").instruct("After {x}.")
    result = AsyncioBackend(provider=FakeProvider()).compile(pipeline.to_ir()).run()
    reversed_trace = attrs.evolve(result, trace=list(reversed(result.trace)))
    with pytest.raises(AssertionError) as info:
        check_trace_respects_edges(pipeline, reversed_trace)
    said = str(info.value)
    assert "The trace lists the end of 'second' (path=()) before its start" in said, said
    assert "started before" not in said
