"""The one family of validators: one rule per kind of value, wherever the value enters."""

from __future__ import annotations

import math

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from irgraph import Agent, Loop, MapOver, PipelineError, Route, checks, run, to_graph, validate
from irgraph.backends.asyncio_backend import AsyncioBackend
from irgraph.cli import CliError, parse_state
from irgraph.errors import did_you_mean
from irgraph.ir import AgentNode, FunctionRef, MapOverNode, TransformNode, from_json, to_json
from irgraph.testing import FakeProvider, strategies

WRITER = Agent("writer").instruct("Write about {topic}.").writes("text")


@given(st.text(max_size=12))
@example("A.0")  # a list item by its index: refused by .over() with what a key takes, too
@example("A['x']")
def test_one_key_rule_for_the_builder_the_ir_the_graph_and_the_cli(text):
    """A key the IR refuses is refused by the builder, to_graph(inputs=) and the CLI too."""
    accepted = checks.is_key(text)
    outcomes = []
    for attempt in (
        lambda: Agent("a").writes(text),
        lambda: AgentNode("a", writes=text),
        lambda: to_graph(Agent("a"), inputs=[text]),
        lambda: MapOver("m").over(text),
    ):
        try:
            attempt()
        except PipelineError as error:
            assert error.expected.startswith(checks.key.expected)
            assert error.got == text
            outcomes.append(False)
        else:
            outcomes.append(True)
    try:
        parse_state([f"{text}=1"])
    except CliError:
        outcomes.append(False)
    else:
        outcomes.append(True)
    # "=" splits the CLI pair, so a key holding "=" is refused there for another reason.
    assert outcomes == [accepted] * len(outcomes) or "=" in text


@pytest.mark.parametrize("text", ["A.0", "A[0]", "A['x']", "A.x"])
@pytest.mark.parametrize("method", ["on", "until", "over"])
def test_a_field_where_a_key_is_taken_says_what_was_expected_and_got(text, method):
    """A field read given to .on(), .until() or .over() is refused with ``expected`` and ``got``
    as every refused key is (they said None there), so a caller can tell the mistake apart."""
    make = {
        "on": lambda: Route("r").on(text),
        "until": lambda: (Agent("a").writes("x") * 2).until(text),
        "over": lambda: MapOver("m").over(text),
    }[method]
    if text == "A.x":  # a dotted path is taken by all three
        make()
        return
    with pytest.raises(PipelineError) as info:
        make()
    assert info.value.expected.startswith(checks.key.expected)
    assert "dotted path" in info.value.expected
    assert info.value.got == text


def test_a_non_ascii_key_is_refused_where_it_is_given_not_later():
    with pytest.raises(PipelineError, match=r"'writer'\.writes\(\).*ASCII") as info:
        Agent("writer").writes("café")
    assert info.value.node == "writer"


def test_the_key_rule_is_the_one_strategies_generate():
    @given(strategies.pipelines())
    def every_key_follows_the_rule(pipeline):
        G = to_graph(pipeline)
        for _, data in G.nodes(data=True):
            assert all(checks.is_key(k) for k in data["reads"] + data["writes"])

    every_key_follows_the_rule()


@pytest.mark.parametrize("value", [None, "topic", ["topic"], {"topic"}, {"topic": 1}])
def test_every_inputs_argument_follows_one_rule(value):
    expected = frozenset() if value is None else frozenset({"topic"})
    assert checks.input_keys(value) == expected
    pipeline = Agent("w").instruct("Write {topic}.")
    if value is None:
        with pytest.raises(PipelineError, match="topic"):
            validate(to_graph(pipeline, inputs=value))
    else:
        assert validate(to_graph(pipeline, inputs=value)) == []
        assert validate(to_graph(pipeline), inputs=value) == []


@pytest.mark.parametrize("value", [5, 2.5, b"topic", object()])
def test_an_inputs_argument_that_is_no_collection_of_keys_is_refused(value):
    with pytest.raises(PipelineError, match="collection of state keys") as info:
        to_graph(Agent("w"), inputs=value)
    assert info.value.got is value


@pytest.mark.parametrize("bad", [0, -1, math.nan, math.inf, -math.inf, True, "5"])
def test_a_timeout_is_refused_the_same_way_everywhere(bad):
    places = [
        lambda: Agent("a").timeout(bad),
        lambda: AgentNode("a", timeout=bad),
        lambda: AsyncioBackend(timeout=bad),
        lambda: run(WRITER, provider=FakeProvider(), state={"topic": "owls"}, timeout=bad),
    ]
    for place in places:
        with pytest.raises(PipelineError) as info:
            place()
        assert info.value.expected.startswith(checks.seconds().expected)
        assert info.value.got is bad or (bad != bad and info.value.got != info.value.got)


@pytest.mark.parametrize("bad", [0, -3, 1.5, True, "2"])
def test_a_concurrency_limit_is_refused_the_same_way_everywhere(bad):
    places = [
        lambda: MapOver("m").max_concurrency(bad),
        lambda: MapOverNode("m", max_concurrency=bad),
        lambda: AsyncioBackend(max_concurrency=bad),
        lambda: run(WRITER, provider=FakeProvider(), state={"topic": "owls"}, max_concurrency=bad),
    ]
    for place in places:
        with pytest.raises(PipelineError, match="whole number of at least 1"):
            place()


def test_a_zero_limit_given_to_run_is_refused_not_taken_as_unlimited():
    backend = AsyncioBackend(provider=FakeProvider(), max_concurrency=2, timeout=5)
    with pytest.raises(PipelineError, match="max_concurrency"):
        run(WRITER, backend=backend, state={"topic": "owls"}, max_concurrency=0)
    with pytest.raises(PipelineError, match="timeout"):
        run(WRITER, backend=backend, state={"topic": "owls"}, timeout=0)
    # None still means "the backend's own setting".
    assert run(WRITER, backend=backend, state={"topic": "owls"}).state["text"]


def test_a_loop_bound_is_a_count_in_the_builder_and_the_operator():
    for attempt in (lambda: Loop("l").max_iterations(0), lambda: WRITER * 0):
        with pytest.raises(PipelineError, match="whole number of at least 1"):
            attempt()


def test_reads_of_a_transform_follow_the_key_rule_in_the_ir_and_in_json():
    with pytest.raises(PipelineError, match="list of state keys"):
        TransformNode("t", FunctionRef("m:f"), reads=("ok", "not ok"))
    with pytest.raises(PipelineError, match="The fn of TransformNode 't' must be a FunctionRef"):
        TransformNode("t", "m:f")  # type: ignore[arg-type]
    good = TransformNode("t", FunctionRef("m:f"), reads=("a",))
    assert from_json(to_json(good)) == good


def test_did_you_mean_is_one_sentence_for_every_caller():
    assert did_you_mean("finding", ["findings", "analysis"]) == " Did you mean 'findings'?"
    assert did_you_mean("zzz", ["findings"]) == ""
    with pytest.raises(AttributeError, match="Did you mean 'instruct'"):
        Agent("a").instruckt("x")  # type: ignore[attr-defined]
    with pytest.raises(Exception, match="Did you mean 'max_concurrency'"):
        run(WRITER, state={"topic": "owls"}, max_concurency=2)


@pytest.mark.parametrize("bad", [-1, math.nan, math.inf, "0.1", {"writer": math.nan}])
def test_a_fake_provider_latency_is_a_finite_number_of_seconds(bad):
    with pytest.raises(PipelineError, match="FakeProvider's latency.*finite number of seconds"):
        FakeProvider(latency=bad)
    assert FakeProvider(latency=0).latency == 0


@pytest.mark.parametrize(
    "options",
    [
        {"task_retries": -1},
        {"flow_retries": 1.5},
        {"retry_delay_seconds": math.nan},
        {"gate_timeout": 0},
        {"max_concurrency": 0},
        {"cache_across_runs": "yes"},
    ],
)
def test_prefect_backend_settings_follow_the_same_rules(options):
    from irgraph.backends.prefect_backend import PrefectBackend

    with pytest.raises(PipelineError, match="PrefectBackend's .* must be"):
        PrefectBackend(**options)


@pytest.mark.parametrize(
    ("options", "state", "match"),
    [
        ({"max_concurrency": 0}, {"topic": "owls"}, "The run option max_concurrency"),
        ({"timeout": math.inf}, {"topic": "owls"}, "The run option timeout"),
        ({"on_gate": "yes"}, {"topic": "owls"}, "The run option on_gate"),
        ({"run_key": 7}, {"topic": "owls"}, "The run option run_key"),
        ({}, 5, "state must be a mapping"),
        ({}, {}, "no step before it writes 'topic'"),
    ],
)
def test_prefect_runs_refuse_bad_options_and_state_before_prefect_starts(options, state, match):
    """The same refusals as asyncio, raised before a flow (or a server) starts."""
    from irgraph.backends.prefect_backend import PrefectBackend

    backend = PrefectBackend(provider=FakeProvider(), max_concurrency=2)
    with pytest.raises(PipelineError, match=match):
        run(WRITER, backend=backend, state=state, **options)


def test_a_declared_input_missing_from_the_state_is_named_as_missing_from_the_state():
    declared = Agent("w", inputs=["topic"]).instruct("Write {topic}.")
    with pytest.raises(
        PipelineError, match="reads the input 'topic', but the initial state has no"
    ):
        run(declared, provider=FakeProvider(), state={"topc": "owls"})
    assert run(declared, provider=FakeProvider(), state={"topic": "owls"}).output


@given(st.text(max_size=6) | st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,5}", fullmatch=True))
@example("café")  # what a draw may miss, letters past ASCII: the rule must not depend on luck
@example("ключ")
@example("2nd")
def test_is_key_accepts_exactly_what_the_key_pattern_matches(text):
    assert checks.is_key(text) == (checks.KEY_PATTERN.match(text) is not None)


@pytest.mark.parametrize("text", ["café", "naïve", "ключ", "数据", "x²", "résumé_v2"])
def test_a_key_spelled_with_letters_past_ascii_is_refused_and_the_key_pattern_says_so(text):
    """checks.KEY_PATTERN is the rule a caller can check a key by before building: it refuses
    what the builder refuses, a key with accented, Cyrillic or CJK letters."""
    with pytest.raises(PipelineError, match=r"'writer'\.writes\(\).*ASCII") as info:
        Agent("writer").writes(text)
    assert info.value.got == text
    assert checks.KEY_PATTERN.match(text) is None
    assert checks.KEY_PATTERN.match(checks.key_like(text))  # the key its hint offers instead
