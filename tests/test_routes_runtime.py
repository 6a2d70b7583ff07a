"""Routes on the asyncio scheduler: exactly one branch runs, chosen by the state (issue #17,
the shared run semantics, rule 1), inside loops and map-overs too."""

from __future__ import annotations

import asyncio
import inspect
import re

import pytest

from irgraph import Agent, Loop, MapOver, Route, RunError, Transform, run
from irgraph.testing import FakeProvider


def _branch(name: str, key: str) -> Agent:
    return Agent(name).instruct(f"Do {name}.").writes(key)


def triage() -> Route:
    return (
        Route("triage")
        .on("category")
        .when("bug", _branch("fix", "fix_plan"))
        .when("feature", _branch("spec", "spec_doc"))
        .otherwise(_branch("reply", "answer"))
    )


def _nodes(result, event=None):
    return [e.node for e in result.trace if event is None or e.event == event]


@pytest.mark.parametrize(
    ("category", "ran", "label"),
    [("bug", "fix", '"bug"'), ("feature", "spec", '"feature"'), ("other", "reply", "otherwise")],
)
def test_route_runs_only_the_branch_whose_value_matches(category, ran, label):
    fake = FakeProvider()
    result = run(triage(), provider=fake, state={"category": category})

    assert [call.agent for call in fake.calls] == [ran]
    assert result.outputs["triage"] == label
    assert set(result.outputs) == {"triage", ran}
    assert _nodes(result) == ["triage", ran, ran, "triage"]


def test_untaken_branches_leave_no_events_outputs_or_keys():
    result = run(triage(), provider=FakeProvider(), state={"category": "bug"})

    assert not {"spec", "reply"} & set(_nodes(result))
    assert "spec_doc" not in result.state and "answer" not in result.state
    assert result.state["fix_plan"] == "<fix: Do fix.>"


def test_route_compares_values_as_json():
    route = Route("r").on("n").when(1, _branch("one", "x")).when(True, _branch("yes", "x"))
    assert run(route, provider=FakeProvider(), state={"n": 1.0}).outputs["r"] == "1"
    assert run(route, provider=FakeProvider(), state={"n": True}).outputs["r"] == "true"


def is_urgent(state):
    return state["priority"] > 3


async def is_low(state):
    await asyncio.sleep(0)
    return state["priority"] < 2


@pytest.mark.parametrize(("priority", "ran"), [(5, "page"), (1, "later"), (2, "queue")])
def test_route_by_sync_and_async_predicates(priority, ran):
    route = (
        Route("urgency")
        .when(is_urgent, _branch("page", "done"))
        .when(is_low, _branch("later", "done"))
        .otherwise(_branch("queue", "done"))
    )
    fake = FakeProvider()
    result = run(route, provider=fake, state={"priority": priority})

    assert [call.agent for call in fake.calls] == [ran]
    assert result.outputs["urgency"] == {"page": "is_urgent", "later": "is_low"}.get(
        ran, "otherwise"
    )


def test_a_sync_predicate_runs_off_the_event_loop():
    seen = []

    def predicate(state):
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            seen.append("thread")
        return True

    route = Route("r").when(predicate, _branch("a", "x"))
    run(route, provider=FakeProvider(), state={"k": 1})
    assert seen == ["thread"]


def test_no_branch_is_a_run_error_at_the_route_that_keeps_completed_work():
    pipeline = Agent("classify").instruct("Classify {text}.").writes("category") >> (
        Route("triage").on("category").when("bug", _branch("fix", "fix_plan"))
    )
    fake = FakeProvider(responses={"classify": "question"})
    with pytest.raises(RunError) as info:
        run(pipeline, provider=fake, state={"text": "How?"})

    error = info.value
    assert error.node == "triage"
    assert "Route 'triage' has no branch for category = \"question\"" in str(error)
    assert ".otherwise(step)" in str(error) and ".when('question', step)" in str(error)
    assert error.completed == ["classify"]
    assert error.state["category"] == "question"
    assert [call.agent for call in fake.calls] == ["classify"]


def test_a_route_of_predicates_only_says_no_case_held():
    route = Route("gatekeeper").when(is_urgent, _branch("page", "x"))
    with pytest.raises(RunError, match="no case of route 'gatekeeper' held") as info:
        run(route, provider=FakeProvider(), state={"priority": 0})
    assert info.value.node == "gatekeeper"


def test_a_route_of_predicates_only_and_no_otherwise_is_warned_of_before_it_runs():
    from irgraph import to_graph, validate

    route = (
        Route("gatekeeper")
        .when(is_urgent, _branch("page", "x"))
        .when(is_low, _branch("later", "x"))
    )
    warning = (
        "Route 'gatekeeper' has only predicate branches (is_urgent, is_low) and no otherwise, "
        "so the run fails if none of them holds; add .otherwise(step) for that case."
    )
    assert validate(to_graph(route, inputs={"priority"})) == [warning]
    assert validate(to_graph(route.on("priority"), inputs={"priority"})) == [warning]
    with pytest.raises(RunError, match="no case of route 'gatekeeper' held"):
        run(route, provider=FakeProvider(), state={"priority": 2})
    # An otherwise, or a value case beside the predicates (checked by its values), is not it.
    assert validate(to_graph(route.otherwise(_branch("queue", "x")), inputs={"priority"})) == []
    mixed = route.on("priority").when(2, _branch("queue", "x"))
    assert not any("only predicate" in w for w in validate(to_graph(mixed, inputs={"priority"})))


def test_a_predicate_that_raises_fails_the_route():
    def broken(state):
        raise ValueError("cannot decide")

    route = Route("r").when(broken, _branch("a", "x")).otherwise(_branch("b", "x"))
    with pytest.raises(RunError, match="cannot decide") as info:
        run(route, provider=FakeProvider(), state={"k": 1})
    assert info.value.node == "r"


def needs_missing(state):
    return state["missing"] == "yes"


def approved(state):
    return state["verdic"] == "approved"  # misspelt: the body writes 'verdict'


async def ratio(state):
    return state["hits"] / state["tries"] > 0.5


def test_a_predicate_that_raises_says_it_did_which_one_and_what_the_state_held():
    route = Route("r").when(needs_missing, _branch("a", "x")).otherwise(_branch("b", "x"))
    with pytest.raises(RunError) as info:
        run(route, provider=FakeProvider(), state={"topic": "owls"})
    assert str(info.value).startswith(
        "Node 'r' failed: its predicate 'needs_missing' raised KeyError: 'missing'; the state "
        "held the key 'topic', not 'missing'. Read a key that may be unset with "
        "state.get('missing'), or set it before the route (the cause is chained below;"
    )
    assert info.value.node == "r" and isinstance(info.value.__cause__, KeyError)

    loop = Loop("review").step(_branch("critic", "verdict")).until(approved).max_iterations(2)
    with pytest.raises(RunError) as info:
        run(loop, provider=FakeProvider(), state={"draft": "d"})
    assert str(info.value).startswith(
        "Node 'review' failed: its until predicate 'approved' raised KeyError: 'verdic'; the "
        "state held the keys 'draft' and 'verdict', not 'verdic'. Did you mean 'verdict'? Read "
        "a key that may be unset with state.get('verdic'), or set it in the loop's body ("
    )

    counted = Route("c").when(ratio, _branch("a", "x")).otherwise(_branch("b", "x"))
    with pytest.raises(RunError) as info:
        run(counted, provider=FakeProvider(), state={"hits": 1, "tries": 0})
    assert str(info.value).startswith(
        "Node 'c' failed: its predicate 'ratio' raised ZeroDivisionError: division by zero; "
        "the state held the keys 'hits' and 'tries'. Fix the predicate: it gets the state as a "
        "read-only mapping ("
    )
    assert isinstance(info.value.__cause__, ZeroDivisionError)


def test_a_raising_local_function_or_lambda_is_named_as_written():
    def pick(state):
        return state["missing"]

    named = Route("r").when(pick, _branch("a", "x")).otherwise(_branch("b", "x"))
    line = inspect.currentframe().f_lineno + 1
    unnamed = Route("r").when(lambda state: state["missing"], _branch("a", "x"))
    with pytest.raises(RunError, match=r"^Node 'r' failed: its predicate 'pick' raised KeyE"):
        run(named, provider=FakeProvider(), state={})
    written = f"'<lambda>' (written at test_routes_runtime.py:{line}) raised KeyError: 'missing'; "
    written += "the state was empty, so no 'missing'."
    with pytest.raises(RunError, match=re.escape(f"Node 'r' failed: its predicate {written}")):
        run(unnamed.otherwise(_branch("b", "x")), provider=FakeProvider(), state={})


def test_route_inside_a_loop_takes_a_branch_per_iteration():
    body = Agent("judge").instruct("Judge {draft?}.").writes("verdict") >> (
        Route("act")
        .on("verdict")
        .when("revise", _branch("reviser", "draft"))
        .otherwise(_branch("publisher", "published"))
    )
    loop = Loop("review").step(body).max_iterations(3).until("verdict", equals="approved")
    fake = FakeProvider(responses={"judge": ["revise", "revise", "approved"]})
    result = run(loop, provider=fake, state={})

    assert [call.agent for call in fake.calls] == [
        "judge", "reviser", "judge", "reviser", "judge", "publisher",
    ]  # fmt: skip
    paths = [e.path for e in result.trace if e.node == "act" and e.event == "start"]
    assert paths == [(("review", 0),), (("review", 1),), (("review", 2),)]
    assert result.outputs["act"] == "otherwise"  # the last iteration's


def test_route_inside_a_map_over_chooses_per_item():
    route = (
        Route("kind")
        .on("item")
        .when("short", Agent("quick").instruct("Quick {item}.").writes("out"))
        .otherwise(Agent("slow").instruct("Slow {item}.").writes("out"))
    )
    mapped = MapOver("each").over("items").step(route).collect("out").writes("outs")
    result = run(mapped, provider=FakeProvider(), state={"items": ["short", "long", "short"]})

    quick, slow = "<quick: Quick short.>", "<slow: Slow long.>"
    assert result.state["outs"] == [quick, slow, quick]


def test_an_item_spelling_a_branch_the_other_way_is_told_so_at_the_route():
    """The list comes from the initial state, so each item meets the route only as the
    map-over runs; "1" for .when(1, ...) was told only to add .when('1', step)."""
    route = Route("r").on("x").when(1, _branch("one", "out")).when("b", _branch("bee", "out"))
    each = MapOver("m").over("xs", item="x").step(route).writes("outs")
    with pytest.raises(RunError) as failed:
        run(each, provider=FakeProvider(), state={"xs": ["1", "b"]})
    assert failed.value.node == "r"
    assert (
        'Route \'r\' has no branch for x = "1" (its branches: 1, "b"); "1" spells the '
        "branch for 1 the other way, but a route compares JSON values, so the two never "
        "equal: give 'x' the value 1, or add .when('1', step) for it"
    ) in str(failed.value)
    assert run(each, provider=FakeProvider(), state={"xs": [1, "b"]}).state["outs"] == [
        "<one: Do one.>",
        "<bee: Do bee.>",
    ]


def test_a_branch_runs_its_own_steps_in_order_and_in_parallel():
    branch = (_branch("a", "x") | _branch("b", "y")) >> Agent("c").instruct("{x} {y}").writes("z")
    route = Route("r").on("go").when(True, branch).otherwise(_branch("d", "z"))
    result = run(route, provider=FakeProvider(), state={"go": True})

    assert result.state["z"] == "<c: <a: Do a.> <b: Do b.>>"
    assert _nodes(result, "end")[-1] == "r"


@pytest.mark.parametrize("schedule", ["topological", "dataflow"])
def test_steps_after_the_route_wait_for_the_branch(schedule):
    from irgraph.backends.asyncio_backend import AsyncioBackend

    pipeline = Route("r").on("go").when(True, _branch("a", "x")).otherwise(
        _branch("b", "x")
    ) >> Transform("after", str.upper).reads("x").writes("y")
    backend = AsyncioBackend(FakeProvider(latency=0.01), schedule=schedule)
    result = run(pipeline, backend=backend, state={"go": False})

    assert result.state["y"] == "<B: DO B.>"
    assert _nodes(result) == ["r", "b", "b", "r", "after", "after"]


def test_triage_example_runs_on_asyncio():
    classify = (
        Agent("classify")
        .instruct("Classify this issue: {issue}")
        .output({"type": "string", "enum": ["bug", "feature", "question"]})
        .writes("category")
    )
    route = (
        Route("triage")
        .on("category")
        .when("bug", Agent("fixer").instruct("Plan a fix for {issue}.").writes("fix_plan"))
        .when("feature", Agent("specifier").instruct("Spec {issue}.").writes("spec"))
        .otherwise(Agent("responder").instruct("Answer {issue}.").writes("answer"))
    )
    review = (
        Loop("review")
        .step(Agent("reviewer").instruct("Review the handling of {issue}.").writes("verdict"))
        .max_iterations(4)
        .until("verdict", equals="approved")
    )
    fake = FakeProvider(
        responses={"classify": '"bug"', "reviewer": ["needs work", "needs work", "approved"]}
    )
    result = run(classify >> route >> review, provider=fake, state={"issue": "It crashes."})

    assert result.state["category"] == "bug"
    assert result.state["fix_plan"] == "<fixer: Plan a fix for It crashes..>"
    assert "spec" not in result.state and "answer" not in result.state
    assert result.state["verdict"] == "approved"
    assert [c.agent for c in fake.calls].count("reviewer") == 3
    assert result.outputs["triage"] == '"bug"'


def test_a_routes_branches_are_not_parallel_work_for_compile_warnings():
    from irgraph import EngineCapabilities, compile, to_graph
    from irgraph.compile import capability_warnings

    classify = Agent("classify").instruct("Go.").output({"type": "string"}).writes("category")
    pipeline = classify >> triage()
    assert compile(pipeline, backend="asyncio").warnings == []
    assert capability_warnings(to_graph(pipeline), "serial", EngineCapabilities()) == []


def test_a_free_text_answer_that_misses_a_branch_by_its_case_or_full_stop_is_told_so():
    """A classifier without an enum answered "Bug." for .when("bug", ...): the run failed
    saying only to add .when('Bug.', step), which would never have matched the next answer."""
    triage = Agent("classify").instruct("Classify {ticket}.").writes("category") >> Route(
        "triage"
    ).on("category").when("bug", Agent("fix").instruct("Fix.")).when(
        "feature", Agent("spec").instruct("Spec.")
    )
    with pytest.raises(RunError) as failed:
        run(triage, provider=FakeProvider(responses={"classify": "Bug."}), state={"ticket": "x"})
    told = str(failed.value)
    assert '"Bug." is the branch for "bug" written another way (case, spaces' in told
    assert "give the agent that writes 'category' .output({'enum': [...]})" in told
    with pytest.raises(RunError) as failed:
        run(triage, provider=FakeProvider(responses={"classify": "bugs"}), state={"ticket": "x"})
    assert "written another way" not in str(failed.value)  # another word, not a respelling


def test_an_initial_value_that_misses_a_branch_by_its_case_names_the_branch_s_value():
    from irgraph import PipelineError

    route = Route("triage").on("category").when("bug", Agent("fix").instruct("Fix."))
    with pytest.raises(PipelineError) as refused:
        run(route, provider=FakeProvider(), state={"category": "Bug"})
    assert 'Give \'category\' the value "bug" ("Bug" differs in case' in str(refused.value)
