"""A public class or function of irgraph and irgraph.ir called with an argument left out, one
too many or a keyword misspelt says so as an ArgumentError (an IrgraphError and a TypeError)
naming the call the user wrote and the fix, where Python's TypeError named
``Builder.__init__()`` or an attrs-made ``AgentNode.__init__()`` and nothing to write."""

from __future__ import annotations

import io
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from irgraph import (
    Agent,
    EngineCapabilities,
    Gate,
    ModelRequest,
    Pipeline,
    Route,
    RunProgress,
    RunResult,
    RunView,
    Transform,
    show,
)
from irgraph.batch_items import BatchError
from irgraph.display import render
from irgraph.errors import (
    ArgumentError,
    MissingExtraError,
    PipelineError,
    Problem,
    RunError,
    refused_calls,
)
from irgraph.ir import (
    AgentNode,
    FunctionRef,
    GateNode,
    LoopNode,
    MapOverNode,
    ParallelNode,
    RouteCase,
    RouteNode,
    SequenceNode,
    TransformNode,
    from_dict,
    from_json,
    function_ref,
    resolve_function,
    set_display_hook,
    to_dict,
    to_json,
    transform_arguments,
    transform_call_problem,
    with_allowed,
)
from tests.support.fake_dot import put_dot

NODE = AgentNode("a", instruction="Say {x}.", writes="y")


@pytest.mark.parametrize(
    ("call", "told"),
    [
        (lambda: AgentNode(), "AgentNode() needs name, and got no argument: name is missing. "),
        (lambda: TransformNode("t"), "TransformNode() needs name and fn, and got only name ('t')"),
        (lambda: SequenceNode(), "SequenceNode() needs name,"),
        (lambda: ParallelNode(), "ParallelNode() needs name,"),
        (lambda: LoopNode(), "LoopNode() needs name,"),
        (lambda: MapOverNode(), "MapOverNode() needs name,"),
        (lambda: GateNode(), "GateNode() needs name,"),
        (lambda: RouteNode(), "RouteNode() needs name,"),
        (lambda: RouteCase(), "RouteCase() needs kind, and got no argument"),
        (lambda: FunctionRef(), "FunctionRef() needs ref, and got no argument"),
        (lambda: to_dict(), "to_dict() needs node, and got no argument"),
        (lambda: from_dict(), "from_dict() needs data, and got no argument"),
        (lambda: with_allowed(NODE), "with_allowed() needs node and modules, and got only node"),
        (lambda: function_ref(len), "function_ref() needs fn and node, and got only fn"),
        (lambda: resolve_function(), "resolve_function() needs ref, and got no argument"),
        (lambda: set_display_hook(), "set_display_hook() needs hook, and got no argument"),
        (lambda: transform_arguments(len), "transform_arguments() needs fn, reads and values"),
        (lambda: transform_call_problem("t"), "transform_call_problem() needs node_id, fn and"),
        (lambda: Agent(), "Agent() needs name, and got no argument: name is missing. Call it as "),
        (lambda: Pipeline(), "Pipeline() needs name, and got no argument"),
        (lambda: Route(), "Route() needs name, and got no argument"),
        (lambda: Gate(), "Gate() needs name, and got no argument"),
        (lambda: Transform("t"), "Transform() needs name and fn, and got only name ('t'): fn is "),
        (lambda: show(), "show() needs G_or_pipeline, and got no argument"),
        (lambda: render(), "render() needs G_or_pipeline, and got no argument"),
    ],
)
def test_an_argument_left_out_is_told_naming_the_call_and_the_call_to_write(
    call: Callable[[], Any], told: str
) -> None:
    with pytest.raises(ArgumentError) as refused:
        call()
    message = str(refused.value)
    assert message.startswith(told)
    assert "__init__" not in message and "Builder()" not in message
    assert isinstance(refused.value, TypeError)  # code catching Python's own keeps catching


def test_a_builder_or_node_given_its_name_by_keyword_is_made_as_before() -> None:
    assert Agent(name="a").name == "a"
    assert Transform(name="t", fn=len).name == "t"
    assert AgentNode(name="a") == AgentNode("a")


@pytest.mark.parametrize(
    ("call", "told", "meant"),
    [
        (lambda: AgentNode("a", instructions="Hi."), "AgentNode() got the option 'instructions'",
         "instruction"),
        (lambda: LoopNode("l", max_iteration=2), "LoopNode() got the option 'max_iteration'",
         "max_iterations"),
        (lambda: RouteCase("equals", vaule=1), "RouteCase() got the option 'vaule'", "value"),
        (lambda: FunctionRef("m:f", alow=["m"]), "FunctionRef() got the option 'alow'", "allow"),
        (lambda: from_dict({}, alow=["m"]), "from_dict() got the option 'alow'", "allow"),
        (lambda: function_ref(len, nodes="t"), "function_ref() needs fn and node", None),
    ],
)  # fmt: skip
def test_a_misspelt_keyword_is_told_with_the_name_meant(
    call: Callable[[], Any], told: str, meant: str | None
) -> None:
    with pytest.raises(ArgumentError) as refused:
        call()
    message = str(refused.value)
    assert message.startswith(told)
    if meant is not None:
        assert f"Did you mean '{meant}'" in message
        assert "_depth" not in message  # a private parameter is no option to offer


@pytest.mark.parametrize(
    ("call", "told"),
    [
        (lambda: SequenceNode("s", (), (), None, "extra"),
         "SequenceNode() got 5 positional arguments ('s', (), (), None, 'extra'), but takes only "
         "name, children, inputs and id by position; it takes nothing else: "
         "SequenceNode(name, children, inputs, id)."),
        (lambda: RouteCase("equals", 1, 2), "RouteCase() got 3 positional arguments"),
        (lambda: to_dict(NODE, 2), "to_dict() got 2 positional arguments"),
        (lambda: to_json(NODE, 2), "to_json() got 2 positional arguments"),
        (lambda: show(NODE, "mermaid", "LR"),
         "show() got 3 positional arguments (AgentNode(name='a', instruction='Say ..., 'mermaid', "
         "'LR'), but takes only G_or_pipeline and format by position; give the others by name: "
         "show(G_or_pipeline, format, **options)."),
    ],
)  # fmt: skip
def test_too_many_positional_arguments_are_told_with_what_goes_by_position(
    call: Callable[[], Any], told: str
) -> None:
    with pytest.raises(ArgumentError) as refused:
        call()
    assert str(refused.value).startswith(told)


def test_a_type_error_raised_inside_the_function_is_left_as_it_is() -> None:
    @refused_calls
    def parse(text: str) -> int:
        return int(text) + text  # type: ignore[operator]  # a TypeError of its own

    with pytest.raises(TypeError) as inner:
        parse("1")
    assert not isinstance(inner.value, ArgumentError)
    assert "unsupported operand" in str(inner.value)
    with pytest.raises(ArgumentError, match=r"^parse\(\) needs text, and got no argument"):
        parse()  # type: ignore[call-arg]


def test_reading_a_pipeline_back_still_names_a_field_of_the_wrong_type_with_its_path() -> None:
    text = to_json(NODE).replace('"writes": "y"', '"writes": 3')
    with pytest.raises(Exception, match=r"Invalid IR JSON at root: .*writes"):
        from_json(text)
    assert from_json(to_json(NODE)) == NODE


@pytest.mark.parametrize("draw", [render, show])
def test_a_broken_dot_warns_at_the_line_that_asked_for_the_picture(
    draw: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    put_dot(tmp_path, "cat >/dev/null; exit 1", monkeypatch)
    # in a notebook: outside one, show() prints text, which runs no dot
    monkeypatch.setattr("irgraph.display._in_notebook", lambda: True)
    monkeypatch.setattr("IPython.display.display", lambda diagram: None)
    with pytest.warns(UserWarning, match="drawn as mermaid, because Graphviz failed") as told:
        draw(Agent("a"))
    assert told[0].filename == __file__  # not irgraph/errors.py, where the check wraps it


@pytest.mark.parametrize(
    ("call", "told"),
    [
        (lambda: EngineCapabilities(paralel=True),
         "EngineCapabilities() got the option 'paralel', which it does not take. Did you mean "
         "'parallel'?"),
        (lambda: ModelRequest("a", "a"),
         "ModelRequest() needs node, agent and prompt, and got only node ('a') and agent ('a'): "
         "prompt is missing. Call it as ModelRequest(node, agent, prompt)."),
        (lambda: ModelRequest("a", "a", "Hi.", sytem="Be brief."),
         "ModelRequest() got the option 'sytem', which it does not take. Did you mean 'system'"),
        (lambda: RunResult({"x": 1}, []),
         "RunResult() needs state, trace and backend, and got only state ({'x': 1}) and trace "
         "([]): backend is missing. Call it as RunResult(state, trace, backend=...)."),
        (lambda: RunResult({}, [], backend="asyncio", reusd=["a"]),
         "RunResult() got the option 'reusd', which it does not take. Did you mean 'reused'?"),
        (lambda: RunProgress(evry=0.5),
         "RunProgress() got the option 'evry', which it does not take. Did you mean 'every'?"),
        (lambda: RunProgress(io.StringIO()),
         "RunProgress() got 1 positional argument (<StringIO>), but takes no positional "
         "argument; give the others by name: RunProgress(stream=..., jupyter=..., every=...) "
         "(its options: stream, jupyter, every, large)."),
    ],
)  # fmt: skip
def test_a_class_a_backend_or_provider_author_makes_tells_a_wrong_call_so(
    call: Callable[[], Any], told: str
) -> None:
    with pytest.raises(ArgumentError) as refused:
        call()
    assert str(refused.value).startswith(told)


def test_those_classes_given_what_they_take_are_made_as_before() -> None:
    assert EngineCapabilities(parallel=True).parallel
    request = ModelRequest("a", "a", "Hi.", system="Be brief.")
    assert request.system == "Be brief." and pickle.loads(pickle.dumps(request)) == request
    assert RunResult({"x": 1}, [], backend="asyncio").state == {"x": 1}
    assert RunProgress(every=0.5).every == 0.5


class _CustomError(PipelineError):
    """A user's own error, inheriting PipelineError's constructor."""


@pytest.mark.parametrize(
    ("call", "told"),
    [
        (lambda: RunError("boom", nod="a"),
         "RunError() got the option 'nod', which it does not take. Did you mean 'node'?"),
        (lambda: PipelineError(), "PipelineError() needs problems, and got no argument"),
        (lambda: _CustomError(), "_CustomError() needs problems, and got no argument"),
        (lambda: Problem("Bad.", nod="a"), "Problem() got the option 'nod', which it does not "),
        (lambda: BatchError(), "BatchError() needs item, and got no argument"),
        (lambda: BatchError(None, fail_fast=True),
         "BatchError() got the option 'fail_fast', which it does not take."),
        (lambda: MissingExtraError("pydot", "dot"),
         "MissingExtraError() needs package, extra and feature, and got only package ('pydot') "
         "and extra ('dot'): feature is missing."),
    ],
)  # fmt: skip
def test_an_error_class_made_with_a_wrong_call_names_the_class_and_the_argument(
    call: Callable[[], Any], told: str
) -> None:
    with pytest.raises(ArgumentError) as refused:
        call()
    assert str(refused.value).startswith(told)
    assert str(RunError("boom", node="a")) == "boom" and _CustomError("Bad.").node is None


def test_a_run_view_made_by_hand_without_its_facts_says_what_it_needs() -> None:
    with pytest.raises(ArgumentError, match=r"^RunView\(\) needs facts, and got no argument"):
        RunView()  # type: ignore[call-arg]
    with pytest.raises(ArgumentError, match=r"Did you mean 'concurrency'\?"):
        RunView(None, concurency=2)  # type: ignore[arg-type, call-arg]
