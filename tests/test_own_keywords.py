"""A misspelt keyword of run(), arun(), run_many() or compile() itself (provder=, sate=,
backnd=, input=) is told as theirs, with the name meant; it was told as an option the backend
does not take, with the backend's options and no "did you mean"."""

from __future__ import annotations

import asyncio

import pytest

from irgraph import Agent, IrgraphError, arun, compile, run, run_many, to_graph, validate
from irgraph.analysis import diff, lineage, match_nodes
from irgraph.testing import FakeProvider

AGENT = Agent("a").instruct("Say hi.")


@pytest.mark.parametrize(
    ("typo", "meant"),
    [("provder", "provider"), ("sate", "state"), ("backnd", "backend"), ("alow", "allow")],
)
def test_a_misspelt_keyword_of_run_is_told_as_run_s(typo: str, meant: str) -> None:
    with pytest.raises(IrgraphError) as refused:
        run(AGENT, **{typo: {}})
    told = str(refused.value)
    assert told.startswith(f"run() got the option {typo!r}, which it does not take.")
    assert f"Did you mean {meant!r}?" in told and "on_event" in told
    with pytest.raises(IrgraphError, match=f"arun\\(\\) got the option '{typo}'.*{meant}"):
        asyncio.run(arun(AGENT, **{typo: {}}))


def test_a_misspelt_keyword_of_run_many_is_told_as_run_many_s() -> None:
    with pytest.raises(IrgraphError) as refused:
        list(run_many(AGENT, [{}], stor="results.jsonl"))
    assert str(refused.value).startswith("run_many() got the option 'stor', which it does not")
    assert "Did you mean 'store'?" in str(refused.value)


def test_a_backend_option_misspelt_is_still_told_as_the_backend_s() -> None:
    with pytest.raises(IrgraphError) as refused:
        run(AGENT, provider=FakeProvider(), on_evnt=print)
    assert str(refused.value).startswith(
        "run() got the option 'on_evnt', which the 'asyncio' backend does not take. Did you "
        "mean 'on_event'?"
    )


@pytest.mark.parametrize(
    ("typo", "meant"), [("backnd", "backend"), ("input", "inputs"), ("alow", "allow")]
)
def test_a_misspelt_keyword_of_compile_is_told_as_compile_s(typo: str, meant: str) -> None:
    with pytest.raises(IrgraphError) as refused:
        compile(AGENT, **{typo: "asyncio"})
    told = str(refused.value)
    assert told.startswith(f"compile() got the option {typo!r}, which it does not take")
    assert f"Did you mean {meant!r}?" in told
    # the other keywords still make the backend
    assert compile(AGENT, max_concurrency=2).runnable.run().state == {}


@pytest.mark.parametrize(
    ("call", "told"),
    [
        (
            lambda: run(AGENT, {"topic": "owls"}),
            "run() got 2 positional arguments (Agent('a'), {'topic': 'owls'}), but takes only "
            "pipeline by position; give the others by name: run(pipeline, state={'topic': "
            "'owls'}).",
        ),
        (
            lambda: run(AGENT, FakeProvider()),
            "give the others by name: run(pipeline, provider=<FakeProvider>).",
        ),
        (
            lambda: asyncio.run(arun(AGENT, {"topic": "owls"})),
            "arun() got 2 positional arguments",
        ),
        (
            lambda: list(run_many(AGENT, [{}], "asyncio")),
            "but takes only pipeline and states by position; give the others by name: "
            "run_many(pipeline, states, backend='asyncio').",
        ),
        (
            lambda: to_graph(AGENT, {"topic"}),
            "to_graph(pipeline_or_ir, inputs={'topic'}).",
        ),
        (
            lambda: compile(AGENT, "asyncio", 3),
            "but takes only ir and backend by position; give the others by name: compile(ir, "
            "backend, inputs=..., allow=..., **options).",
        ),
        (lambda: validate(to_graph(AGENT), True), "validate(G, inputs=..., allow_unbound=...)."),
    ],
)
def test_an_option_given_by_position_is_told_with_the_keyword_to_give_it_by(call, told):
    """run(pipeline, {'topic': 'owls'}), the state given by position as other runners take it,
    was Python's bare TypeError "run() takes 1 positional argument but 2 were given", naming
    neither what the argument is for nor the keyword that gives it."""
    with pytest.raises(IrgraphError) as refused:
        call()
    assert told in str(refused.value)


def test_a_state_given_by_position_to_ask_is_told_naming_the_builder() -> None:
    """Builders' own methods refuse a miscounted call naming the builder, but ask() and
    ask_async(), of the mixin they come from, were Python's bare TypeError."""
    agent = Agent("poet").instruct("Write about {topic}.")
    with pytest.raises(IrgraphError, match=r"'poet'\.ask\(\) got 2 arguments \('hi', \{'topic"):
        agent.ask("hi", {"topic": "owls"})
    with pytest.raises(IrgraphError, match=r"'poet'\.ask_async\(\) got 2 arguments"):
        asyncio.run(agent.ask_async("hi", {"topic": "owls"}))
    assert agent.ask(state={"topic": "owls"}, provider=FakeProvider()) == (
        "<poet: Write about owls.>"
    )


def test_a_misspelt_state_is_told_before_the_keys_it_would_have_given() -> None:
    """ask(stat={'topic': 'x'}) of an agent reading {topic} was told that 'topic' is unset: the
    pipeline was checked, without the misspelt state, before the keywords were."""
    reads = Agent("a").instruct("{topic}")
    with pytest.raises(IrgraphError) as refused:
        reads.ask(stat={"topic": "x"})
    assert "got the option 'stat', which it does not take. Did you mean 'state'?" in str(
        refused.value
    )
    with pytest.raises(IrgraphError, match="run\\(\\) got the option 'sate'.*'state'"):
        run(reads, sate={"topic": "x"})
    with pytest.raises(IrgraphError, match="run_many\\(\\) got the option 'stor'.*'store'"):
        list(run_many(Agent("b").instruct("{topic} {other}"), [{"topic": "x"}], stor="r.jsonl"))


@pytest.mark.parametrize(
    ("call", "told"),
    [
        (
            lambda: diff(to_graph(AGENT)),
            "diff() needs G1 and G2, and got only G1 (<DiGraph>): G2 is missing. Call it as "
            "diff(G1, G2).",
        ),
        (
            lambda: lineage(G=to_graph(AGENT)),
            "lineage() needs G and key, and got only G=: key is missing. Call it as lineage(G, "
            "key).",
        ),
        (
            lambda: list(run_many(AGENT)),
            "run_many() needs pipeline and states, and got only pipeline (Agent('a')): states is "
            "missing. Call it as run_many(pipeline, states).",
        ),
        (
            lambda: validate(),
            "validate() needs G, and got no argument: G is missing. Call it as validate(G).",
        ),
        (
            lambda: match_nodes(),
            "match_nodes() needs G1 and G2, and got no argument: G1 and G2 are missing.",
        ),
    ],
)
def test_a_required_argument_left_out_is_told_with_the_call_to_write(call, told):
    """diff(G) was Python's bare TypeError "diff() missing 1 required positional argument:
    'G2'", where too many arguments were already told with the call to write."""
    with pytest.raises(IrgraphError) as refused:
        call()
    assert str(refused.value).startswith(told), str(refused.value)
    assert isinstance(refused.value, TypeError)  # as Python's own is: except TypeError holds


def test_a_required_argument_given_by_name_is_not_missing() -> None:
    G = to_graph(Agent("a").writes("x"))
    assert diff(G2=G, G1=G).changed == {} and lineage(G, key="x").key == "x"


def test_a_call_with_arguments_a_function_does_not_take_is_a_type_error_too():
    """Code that caught Python's TypeError for these keeps catching irgraph's errors."""
    from irgraph import Agent, run
    from irgraph.errors import ArgumentError, IrgraphError

    writer = Agent("w").instruct("Write.")
    for call in (
        lambda: run(writer, {"topic": "owls"}),  # too many by position
        lambda: run(state={}),  # the pipeline left out
        lambda: run(writer, stat={}),  # a misspelt keyword
    ):
        with pytest.raises(TypeError) as caught:
            call()
        assert isinstance(caught.value, ArgumentError) and isinstance(caught.value, IrgraphError)


def test_a_misspelt_option_of_ask_is_told_as_asks_naming_the_builder():
    """.ask(stat={...}) was told as "arun() got the option 'stat'": a call the user never
    wrote."""
    from irgraph import Agent
    from irgraph.errors import ArgumentError

    with pytest.raises(ArgumentError) as caught:
        Agent("a").instruct("hi").ask(stat={})
    said = str(caught.value)
    assert said.startswith("'a'.ask() got the option 'stat'") and "Did you mean 'state'?" in said


def test_portable_and_from_portable_say_what_they_need():
    import irgraph
    from irgraph.errors import ArgumentError

    with pytest.raises(ArgumentError, match=r"portable\(\) needs G, and got no argument"):
        irgraph.portable()
    with pytest.raises(ArgumentError, match=r"from_portable\(\) needs H"):
        irgraph.from_portable()
    with pytest.raises(ArgumentError, match=r"takes only G by position; it takes nothing else"):
        irgraph.portable(1, 2)
