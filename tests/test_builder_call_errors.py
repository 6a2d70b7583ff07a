"""A builder or one of its methods called with arguments it does not take raises one kind of
error, a BuilderArgumentError: an ArgumentError (a TypeError, as Python's own and irgraph's
other call errors are, and as Pipeline() with no name was) and a PipelineError (as a misspelt
keyword always was), so either ``except`` catches every such call."""

from __future__ import annotations

import pytest

from irgraph import Agent, Gate, Loop, Pipeline, PipelineError, Route, Transform
from irgraph.builder_keywords import BuilderArgumentError
from irgraph.errors import ArgumentError

CALLS = {
    "constructor keyword": (lambda: Agent("a", instuction="x"), "got instuction=... as a keyword"),
    "gate keyword": (lambda: Gate("g", mesage="x"), "Write Gate('g').message(...)."),
    "transform keyword": (lambda: Transform("t", len, reads=["a"]), "Transform('t', fn).reads"),
    "too many positional": (lambda: Pipeline("p", []), "got 1 more argument ([])"),
    "no name": (lambda: Pipeline(), "Pipeline() needs name, and got no argument"),
    "method keyword": (lambda: Loop("l").until("x", equal="y"), "Did you mean equals=?"),
    "method miscounted": (lambda: Agent("a").writes("x", "y"), "got 2 arguments ('x', 'y')"),
    "method missing": (lambda: Route("r").on("k").when("bug"), "missing a required argument"),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_builder_call_with_arguments_it_does_not_take_is_an_argument_and_pipeline_error(name):
    call, said = CALLS[name]
    with pytest.raises(BuilderArgumentError) as info:
        call()
    error = info.value
    assert isinstance(error, ArgumentError) and isinstance(error, TypeError)
    assert isinstance(error, PipelineError) and isinstance(error, ValueError)
    assert said in str(error)
    assert error.problems and said in str(error.problems[0])  # a PipelineError's pieces
