"""A transform that returns an iterator (a generator, ``map(...)``, ``zip(...)``) fails at the
transform, naming it and saying to return a list: the state kept the iterator, the first step
to read it used it up, and an agent's prompt said ``<generator object ...>`` without a word."""

from __future__ import annotations

import asyncio

import pytest

from irgraph import Agent, RunError, Transform, run
from irgraph.backends.prefect_runtime import transform
from irgraph.testing import FakeProvider
from irgraph.testing.reference import interpret


def words(topic):
    return (word for word in topic.split())


def upper(topic):
    return map(str.upper, topic.split())


async def async_words(topic):
    for word in topic.split():
        yield word


def listed(topic):
    return topic.split()


def pipeline(fn):
    first = Agent("first").instruct("Think of {topic}.").writes("idea")
    split = Transform("split", fn).reads("topic").writes("words")
    return first >> split >> Agent("say").instruct("Say {words}.").writes("said")


@pytest.mark.parametrize(
    ("fn", "kind"), [(words, "generator"), (upper, "map"), (async_words, "async_generator")]
)
def test_an_iterator_fails_the_run_at_its_transform_keeping_what_completed(fn, kind):
    with pytest.raises(RunError) as caught:
        run(pipeline(fn), provider=FakeProvider(), state={"topic": "owls hunt"})
    error = caught.value
    assert error.node == "split" and isinstance(error.__cause__, TypeError)
    said = str(error)
    assert f"transform 'split' returned a {kind} object" in said and "list(...)" in said
    assert "idea" in error.state and "said" not in error.state  # what completed is kept


def test_a_list_runs_as_before():
    result = run(pipeline(listed), provider=FakeProvider(), state={"topic": "owls hunt"})
    assert result.state["words"] == ["owls", "hunt"]
    assert "generator" not in result.state["said"]


def test_the_reference_interpreter_refuses_it_too():
    with pytest.raises(TypeError, match="transform 'split' returned a generator object"):
        asyncio.run(interpret(pipeline(words).to_ir(), FakeProvider(), {"topic": "owls"}))


def test_generated_flow_code_refuses_it_too():
    """The transform generated modules call (no Prefect server needed to call it), failing
    as the run does: a RunError at the transform, the TypeError its cause."""
    state = {"topic": "owls hunt"}
    said = "Node 'split' failed: TypeError: transform 'split' returned a map object"
    with pytest.raises(RunError, match=said) as caught:
        asyncio.run(
            transform(
                state,
                node="split",
                function="tests.test_transform_values:upper",
                reads=("topic",),
                writes="words",
            )
        )
    assert caught.value.node == "split" and isinstance(caught.value.__cause__, TypeError)
    assert "words" not in state
