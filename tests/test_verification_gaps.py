"""The reference interpreter refuses a pipeline it cannot run with a PipelineError naming the
node and the fix, not a bare AssertionError; a gate's answer is refused unless it is JSON data,
in the same words on the asyncio backend, the reference interpreter and Prefect."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from irgraph import Agent, Gate, IrgraphError, Loop, MapOver, PipelineError, RunError, run
from irgraph.ir import LoopNode
from irgraph.testing import FakeProvider
from irgraph.testing.reference import ReferenceFailure, interpret
from tests.support.prefect_env import ensure_prefect_test_env

ensure_prefect_test_env()

GATED = Agent("writer").instruct("Draft {topic}.").writes("draft") >> Gate(
    "approve", "Publish {draft}?"
).writes("verdict")


def _interpret(ir: Any, provider: FakeProvider, **options: Any) -> Any:
    return asyncio.run(interpret(ir, provider, {"topic": "owls"}, **options))


def test_the_reference_refuses_a_loop_without_max_iterations_before_any_call():
    first = Agent("first").instruct("Go {topic}.").writes("x")
    ir = (first >> Loop("again").step(Agent("a").instruct("{x}").writes("x"))).to_ir()
    fake = FakeProvider()
    with pytest.raises(PipelineError) as info:
        _interpret(ir, fake)
    assert isinstance(info.value, IrgraphError) and info.value.node == "again"
    assert "Loop 'again' has no max_iterations" in str(info.value)
    assert ".max_iterations(n)" in str(info.value) and "validate(" in str(info.value)
    assert fake.calls == []  # refused before the agent before the loop was asked


def test_the_reference_lists_every_shape_it_cannot_run_at_once():
    body = Agent("a").instruct("Hi.")
    ir = (MapOver("each").step(body) >> Gate("approve", "OK?").writes("ok")).to_ir()
    with pytest.raises(PipelineError) as info:
        _interpret(ir, FakeProvider())
    said = [str(problem) for problem in info.value.problems]
    assert [problem.node for problem in info.value.problems] == ["each", "each", "approve"]
    assert "MapOver 'each' has no list to iterate" in said[0] and ".over(key)" in said[0]
    assert "names no key to collect" in said[1] and ".collect(key)" in said[1]
    assert "Gate 'approve' has no on_gate handler" in said[2] and "on_gate=" in said[2]


def test_the_reference_refuses_a_loop_ir_built_by_hand_without_a_bound():
    ir = LoopNode(name="spin", children=(Agent("a").instruct("Hi.").to_ir(),))
    with pytest.raises(PipelineError, match="Loop 'spin' has no max_iterations"):
        _interpret(ir, FakeProvider())


SET_ANSWER = "returned a set at gate 'approve' ({'yes'}), which is not JSON data, so 'verdict'"


def _set_answer(request: Any) -> Any:
    return {"yes"}


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        ({"yes"}, SET_ANSWER),
        ({"ok": [1, (2,)]}, "a dict at gate 'approve'"),
        (float("nan"), "a float at gate 'approve' (nan), which is not JSON data"),
        (object(), "an object at gate 'approve'"),
    ],
    ids=["set", "nested-tuple", "nan", "object"],
)
def test_an_asyncio_gate_answer_that_is_not_json_data_fails_the_gate(answer, said):
    with pytest.raises(RunError) as info:
        run(GATED, provider=FakeProvider(), state={"topic": "owls"}, on_gate=lambda r: answer)
    assert info.value.node == "approve" and info.value.state["draft"]
    assert said in str(info.value) and "Return a str (e.g. 'yes'" in str(info.value)
    assert "verdict" not in info.value.state


def test_a_nested_refused_value_is_pointed_to():
    with pytest.raises(RunError, match=r"not JSON data \(ok\[1\] is a tuple"):
        run(
            GATED,
            provider=FakeProvider(),
            state={"topic": "owls"},
            on_gate=lambda r: {"ok": [1, (2,)]},
        )


def test_json_data_answers_are_kept_as_given():
    for answer in ("yes", 3, True, ["a", 1.5], {"ok": {"why": [None]}}):
        result = run(
            GATED, provider=FakeProvider(), state={"topic": "owls"}, on_gate=lambda r, a=answer: a
        )
        assert result.state["verdict"] == answer


def test_the_reference_refuses_the_answer_in_the_backends_words():
    with pytest.raises(ReferenceFailure) as info:
        _interpret(GATED.to_ir(), FakeProvider(), on_gate=_set_answer)
    assert info.value.node == "approve" and SET_ANSWER in str(info.value)
    with pytest.raises(RunError) as ran:
        run(GATED, provider=FakeProvider(), state={"topic": "owls"}, on_gate=_set_answer)
    assert str(info.value) == str(ran.value.__cause__)


def test_the_reference_refuses_a_none_answer_as_the_backends_do():
    with pytest.raises(ReferenceFailure, match="returned None at gate 'approve'"):
        _interpret(GATED.to_ir(), FakeProvider(), on_gate=lambda request: None)


@pytest.mark.prefect
def test_a_prefect_on_gate_answer_that_is_not_json_data_is_refused_in_the_same_words():
    from irgraph.backends.prefect_backend import PrefectBackend

    with pytest.raises(RunError) as info:
        run(
            GATED,
            backend=PrefectBackend(provider=FakeProvider()),
            state={"topic": "owls"},
            on_gate=_set_answer,
        )
    assert info.value.node == "approve" and SET_ANSWER in str(info.value)


def test_drawing_the_same_pipelines_again_makes_no_strategy(monkeypatch):
    """Every strategy the pipeline strategies draw from is made once (spans, lists, orders,
    a map-over's inputs' pipelines), not once per draw: a strategy made anew cost hypothesis
    its checks and label every time, the larger part of a shrink. Derandomized, the second
    run draws the very pipelines of the first, and must make no strategy at all."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st

    from irgraph.testing import strategies

    made = []
    init = st.SearchStrategy.__init__

    def counted(self: Any, *args: Any, **kwargs: Any) -> None:
        made.append(type(self).__name__)
        init(self, *args, **kwargs)

    monkeypatch.setattr(st.SearchStrategy, "__init__", counted)
    drawn = strategies.pipelines_with_inputs(with_gates=True)

    def drawn_twice() -> list[str]:
        pipelines: list[str] = []

        @settings(
            max_examples=15,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(drawn)
        def draws(pair: Any) -> None:
            pipelines.append(strategies.to_code(pair[0]))

        draws()
        return pipelines

    first = drawn_twice()
    made.clear()
    again = drawn_twice()
    assert again == first and len(first) == 15
    assert made == []


def test_the_shrink_benchmark_runs_to_its_table(tmp_path):
    from tests.test_bench_scripts import runs_to_its_table

    runs_to_its_table(
        ["shrink.py", "--examples", "5", "--nodes", "2", "--max-depth", "0"], tmp_path
    )
