"""Every model call a run makes is kept on its result (``RunResult.calls``, ``RunError.calls``):
the rendered prompt the provider saw, its answer or why it has none, the attempt and its
feedback. The run view's node table shows them; these tests compare them with what the fake
provider itself recorded."""

from __future__ import annotations

import html

import pytest

from irgraph import Agent, Loop, MapOver, RunError, run
from irgraph.testing import FakeProvider

REPORT = {
    "type": "object",
    "properties": {"title": {"type": "string"}},
    "required": ["title"],
}


def pipeline():
    return (
        Agent("intro").instruct("Introduce {topic}.").writes("intro")
        >> MapOver("define_all")
        .over("words", item="word")
        .step(Agent("define").instruct("Define {word} after {intro}.").writes("definition"))
        .writes("definitions")
        >> Loop("polish")
        .step(Agent("editor").instruct("Polish {definitions} {notes?}").writes("notes"))
        .max_iterations(2)
    )


STATE = {"topic": "owls", "words": ["wing", "beak", "talon"]}


def test_each_call_is_kept_with_the_prompt_and_answer_the_provider_saw():
    fake = FakeProvider()
    result = run(pipeline(), provider=fake, state=STATE)
    seen = sorted((c.node, c.prompt) for c in fake.calls)
    assert sorted((c.node, c.prompt) for c in result.calls) == seen
    assert len(result.calls) == 1 + 3 + 2
    for call in result.calls:
        assert call.answer is not None and call.answer.startswith(f"<{call.node}:")
        assert call.error is None and call.attempt == 1 and call.start <= call.end
    by_path = {(c.node, c.path): c for c in result.calls}
    assert by_path[("define", (("define_all", 1),))].prompt.startswith("Define beak after <intro:")
    assert by_path[("editor", (("polish", 1),))].prompt.endswith(
        by_path[("editor", (("polish", 0),))].answer
    )


def test_the_node_table_shows_the_rendered_prompts_and_every_call():
    result = run(pipeline(), provider=FakeProvider(), state=STATE)
    rows = {row["node"]: row for row in result.view().rows()}
    assert rows["intro"]["asked"] == "Introduce owls." and rows["intro"]["attempts"] == 1
    assert rows["define"]["runs"] == 3 and rows["define"]["attempts"] == 3
    assert rows["define_all"]["attempts"] == 0  # a scope asks nothing itself
    every = rows["define"]["asked_all"]
    for index, word in enumerate(STATE["words"]):
        assert f"define (define_all item {index}), attempt 1" in every
        assert f"Define {word} after" in every
    page = html.unescape(result.view().table_html())
    assert "define (polish iteration 1)" not in page
    assert "editor (polish iteration 1), attempt 1" in page
    assert rows["editor"]["answer"] == result.outputs["editor"]


def test_a_structured_agent_shows_each_attempt_and_the_feedback_it_was_asked_again_with():
    agent = Agent("reporter").instruct("Report on {topic}.").output(REPORT, retries=2)
    fake = FakeProvider(responses={"reporter": ["Sure!", '{"title": "Owls"}']})
    result = run(agent.writes("report"), provider=fake, state={"topic": "owls"})
    assert [(c.attempt, c.answer) for c in result.calls] == [(1, "Sure!"), (2, '{"title": "Owls"}')]
    assert result.calls[0].feedback is None
    assert result.calls[1].feedback == fake.calls_of("reporter")[1].feedback
    row = result.view().rows()[0]
    assert row["runs"] == 1 and row["attempts"] == 2
    assert "attempt 2" in row["asked_all"] and "asked again: " in row["asked_all"]
    assert "Sure!" in row["answers_all"]
    assert row["answer"] == '{"title": "Owls"}'  # the parsed value, as JSON


def test_a_failed_call_is_kept_on_the_error_with_why_it_has_no_answer():
    pipeline = Agent("a").instruct("Hi {topic}.").writes("x") >> Agent("b").instruct("Go {x}.")
    with pytest.raises(RunError) as caught:
        run(pipeline, provider=FakeProvider(fail={"b": 1}), state={"topic": "owls"})
    calls = caught.value.calls
    assert [(c.node, c.answer is None) for c in calls] == [("a", False), ("b", True)]
    assert calls[1].prompt == f"Go {calls[0].answer}." and calls[1].error
    rows = {row["node"]: row for row in caught.value.view().rows()}
    assert rows["b"]["status"] == "failed"
    assert rows["b"]["answer"] == f"(no answer: {calls[1].error})"
    assert "Asked and answered:" in str(caught.value.view())


def test_the_plain_text_view_lists_what_each_node_was_asked_and_answered():
    result = run(pipeline(), provider=FakeProvider(), state=STATE)
    text = str(result.view()).split("Asked and answered:\n")[1].splitlines()
    lines = {line.split()[0]: line for line in text}
    assert "3 calls" in lines["define"] and "'Define talon after" in lines["define"]
    assert lines["intro"].endswith(repr(result.outputs["intro"]))


def test_an_agent_stopped_while_waiting_for_a_slot_made_no_call():
    both = Agent("a").instruct("A {topic}.").writes("x") | Agent("b").instruct("B {topic}.")
    fake = FakeProvider(latency=0.05, fail={"a": 1})
    with pytest.raises(RunError) as caught:
        run(both, provider=fake, state={"topic": "owls"}, max_concurrency=1)
    # a held the one slot and failed; b, still waiting for it, was cancelled before asking
    assert [(c.node, c.answer) for c in caught.value.calls] == [("a", None)]
    assert [c.agent for c in fake.calls] == ["a"]


def test_a_result_prints_without_its_recording_internals_and_compares_by_its_events():
    """print(result) in a plain REPL showed `_trace=<irgraph.events.TraceLog object at 0x..>`,
    and two results with the same events never compared equal (a recording compared by
    identity)."""
    from irgraph.events import RunResult

    result = run(
        Agent("a").instruct("Say {t}.").writes("o"), provider=FakeProvider(), state={"t": 1}
    )
    shown = repr(result)
    assert "TraceLog" not in shown and "CallLog" not in shown and " object at 0x" not in shown
    assert shown.startswith("RunResult(state={'t': 1, 'o': '<a: Say 1.>'}, outputs=")
    copy = RunResult(
        result.state, trace=list(result.trace), outputs=result.outputs, backend="asyncio"
    )
    assert copy == result and result == copy
    other = RunResult(
        result.state, trace=result.trace[:1], outputs=result.outputs, backend="asyncio"
    )
    assert other != result
