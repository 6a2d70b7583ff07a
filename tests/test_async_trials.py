"""The asyncio trial's findings: each test fails on the code before its fix (real runs, no
mocks of irgraph's own code)."""

from __future__ import annotations

import asyncio
import inspect
import sys
from pathlib import Path

import pytest

from irgraph import (
    Agent,
    Gate,
    IrgraphError,
    Loop,
    MapOver,
    RunError,
    arun,
    compile,
    run,
    to_graph,
    validate,
)
from irgraph.backends.asyncio_backend import AsyncioBackend
from irgraph.errors import ArgumentError
from irgraph.testing import FakeProvider, strategies


async def _streamed(provider, pipeline):
    """The (event, text) pairs a stream consumer sees, and the run's error."""
    runnable = AsyncioBackend(provider=provider).compile(pipeline.to_ir())
    seen = []
    try:
        async with runnable.stream({}) as events:
            async for event in events:
                seen.append((event.event, event.text))
    except RunError as error:
        return seen, error
    raise AssertionError("the run should have failed")


# --- finding 3: a streamed chunk that is not a str ------------------------------------------


class _BadChunk:
    async def complete(self, request):
        return "full"

    async def stream(self, request):
        yield "ab"
        yield 5  # a provider bug: not a str


def test_a_non_str_chunk_fails_the_node_naming_stream_and_the_chunk():
    seen, error = asyncio.run(_streamed(_BadChunk(), Agent("writer").instruct("x")))
    assert error.node == "writer"
    message = str(error)
    assert "_BadChunk.stream() yielded int 5 as chunk 2" in message
    assert "stream() must yield str chunks" in message
    assert "sequence item" not in message
    assert ("chunk", 5) not in seen  # checked before a consumer sees it
    assert seen == [("start", None), ("chunk", "ab")]


def test_a_non_str_chunk_never_reaches_on_event():
    told = []
    runnable = AsyncioBackend(provider=_BadChunk()).compile(Agent("w").instruct("x").to_ir())
    with pytest.raises(RunError, match=r"stream\(\) yielded int 5"):
        runnable.run({}, on_event=lambda event: told.append(event.text), chunks=True)
    assert 5 not in told


def test_a_stream_method_that_is_no_async_iterator_is_named():
    class Listed:
        async def complete(self, request):
            return "full"

        def stream(self, request):
            return ["a", "b"]

    _, error = asyncio.run(_streamed(Listed(), Agent("w").instruct("x")))
    assert "Listed.stream() returned a list, not an async iterator" in str(error)


# --- finding 6: complete() shaped wrongly -------------------------------------------------


def _cause(provider):
    with pytest.raises(RunError) as info:
        run(Agent("w").instruct("x"), provider=provider)
    return str(info.value.__cause__)


def test_an_async_generator_complete_is_told_to_return_not_yield():
    class AsyncGen:
        async def complete(self, request):  # async def already: the yield is the mistake
            yield "hi"

    message = _cause(AsyncGen())
    assert "AsyncGen.complete() is an async generator (it contains yield)" in message
    assert "must return the whole text" in message and "stream()" in message
    assert "define it with async def" not in message


def test_a_plain_complete_is_told_to_be_async_with_the_right_article():
    class Sync:
        def complete(self, request):
            return 42

    assert "Sync.complete() returned an int, not an awaitable" in _cause(Sync())
    assert "a int" not in _cause(Sync())


# --- finding 4: a misspelled keyword option -------------------------------------------------


def _runnable():
    return compile(Agent("writer").instruct("Write about {topic}."), inputs={"topic"}).runnable


async def _arun_misspelled():
    await _runnable().arun({"topic": "owls"}, on_evnt=print)


async def _stream_misspelled():
    async with _runnable().stream({"topic": "owls"}, on_evnt=print) as events:
        async for _ in events:
            pass


@pytest.mark.parametrize(
    ("call", "said", "meant"),
    [
        (
            lambda: _runnable().run({"topic": "owls"}, on_evnt=print),
            "AsyncioRunnable.run()",
            "on_event",
        ),
        (lambda: asyncio.run(_arun_misspelled()), "AsyncioRunnable.arun()", "on_event"),
        (lambda: asyncio.run(_stream_misspelled()), "AsyncioRunnable.stream()", "on_event"),
        (
            lambda: _runnable().stream({}, max_concurency=2),
            "AsyncioRunnable.stream()",
            "max_concurrency",
        ),
        (lambda: FakeProvider(respones={"writer": "x"}), "FakeProvider()", "responses"),
        (lambda: strategies.pipelines(with_loop=False), "pipelines()", "with_loops"),
        (lambda: AsyncioBackend(max_concurency=2), "AsyncioBackend()", "max_concurrency"),
    ],
)
def test_a_misspelled_option_says_which_was_meant(call, said, meant):
    with pytest.raises(IrgraphError) as info:
        call()
    assert isinstance(info.value, ArgumentError)  # irgraph's, and a TypeError as Python's
    message = str(info.value)
    assert message.startswith(f"{said} got the option ")
    assert f"Did you mean {meant!r}" in message
    assert "Its options: " in message and meant in message.split("Its options: ")[1]


def test_run_and_the_runnable_word_the_suggestion_alike():
    with pytest.raises(IrgraphError) as through_run:
        run(Agent("w").instruct("x"), provider=FakeProvider(), on_evnt=print)
    with pytest.raises(IrgraphError) as through_runnable:
        _runnable().run({"topic": "owls"}, on_evnt=print)
    tail = "Did you mean 'on_event'? Its options: "
    assert tail in str(through_run.value) and tail in str(through_runnable.value)


def test_right_options_still_run():
    fake = FakeProvider(responses={"writer": "x"}, chunk_size=2)
    seen = []
    result = _runnable().run({"topic": "owls"}, provider=fake, on_event=seen.append)
    assert result.state == {"topic": "owls"} and seen
    assert asyncio.run(_runnable().arun({"topic": "owls"}, provider=fake)).output == "x"


# --- finding 7: until(key, equals=<not a str>) on free text -------------------------------


def _review(equals, critic=None):
    critic = critic or Agent("critic").instruct("Score {draft} from 1 to 5.")
    body = Agent("writer").instruct("Draft {topic}. {score?}").writes("draft") >> critic.writes(
        "score"
    )
    return Loop("review").step(body).until("score", equals=equals).max_iterations(3)


def test_a_number_compared_with_free_text_is_a_warning_naming_loop_key_writer_and_fix():
    [warning] = validate(to_graph(_review(5), inputs={"topic"}))
    assert "Loop 'review' stops when 'score' equals 5" in warning
    assert "agent 'critic' writes 'score' as free text" in warning
    assert "runs all 3 iterations" in warning
    assert ".until('score', equals='5')" in warning
    assert "give 'critic' .output({'type': 'integer'})" in warning
    result = run(_review(5), provider=FakeProvider(responses={"critic": "5"}), state={"topic": "o"})
    assert warning in result.warnings  # a warning, not an error: the run goes on


def test_equals_none_on_free_text_advises_a_stop_word_or_a_nullable_output_not_the_text_null():
    [warning] = validate(to_graph(_review(None), inputs={"topic"}))
    assert warning == (
        "Loop 'review' stops when 'score' equals None, but agent 'critic' writes 'score' as "
        "free text (a string), which is never None, so the loop runs all 3 iterations. Stop on "
        "the answer that means done, e.g. .until('score', equals='approved') with the "
        "instruction asking for that word; or give 'critic' .output({'type': ['string', "
        "'null']}) if it should answer null to stop. (Leaving equals= out stops once 'score' "
        "is truthy, which any answer but an empty one is.)"
    )
    # The advice holds: with that output the warning is gone and a null answer stops the loop.
    nullable = Agent("critic").instruct("Score {draft}.").output({"type": ["string", "null"]})
    assert validate(to_graph(_review(None, nullable), inputs={"topic"})) == []
    fake = FakeProvider(responses={"critic": ['"3"', "null", '"5"']})
    result = run(_review(None, nullable), provider=fake, state={"topic": "o"})
    assert [call.agent for call in fake.calls].count("critic") == 2
    assert result.state["score"] is None
    # A list is not advised as text either: a model's answer is no list.
    [listed] = validate(to_graph(_review([5]), inputs={"topic"}))
    assert listed.endswith("give 'critic' .output({'type': 'array'}) so it answers with one.")


@pytest.mark.parametrize(
    ("equals", "kind"), [(True, "boolean"), (0.5, "number"), ([1], "array"), ({"a": 1}, "object")]
)
def test_the_fix_names_the_type_of_the_compared_value(equals, kind):
    [warning] = validate(to_graph(_review(equals), inputs={"topic"}))
    assert f".output({{'type': '{kind}'}})" in warning


def test_no_warning_for_a_string_or_a_writer_with_a_schema():
    assert validate(to_graph(_review("5"), inputs={"topic"})) == []
    scored = Agent("critic").instruct("Score {draft}.").output({"type": "integer"})
    assert validate(to_graph(_review(5, scored), inputs={"topic"})) == []


# --- finding 8: an on_gate handler that returns None ---------------------------------------


def _reviewed():
    return (
        Agent("writer").instruct("Draft {topic}.").writes("draft")
        >> Gate("approve", "Publish? {draft}").writes("verdict")
        >> Agent("publisher").instruct("Publish {draft} if {verdict}.").writes("out")
    )


def forgot_to_return(request):
    request.message  # noqa: B018 - looked at, and no return


async def forgot_to_return_async(request):
    await asyncio.sleep(0)


@pytest.mark.parametrize("handler", [forgot_to_return, forgot_to_return_async])
def test_a_gate_handler_returning_none_fails_at_the_gate_naming_it(handler):
    fake = FakeProvider()
    with pytest.raises(RunError) as info:
        run(_reviewed(), provider=fake, state={"topic": "owls"}, on_gate=handler)
    error = info.value
    assert error.node == "approve"
    assert f"The on_gate handler ({handler.__name__}) returned None at gate 'approve'" in str(error)
    assert "return the answer to store in 'verdict'" in str(error)
    assert error.completed == ["writer"] and "verdict" not in error.state
    assert [call.agent for call in fake.calls] == ["writer"]  # the publisher never ran


@pytest.mark.parametrize("answer", ["yes", False, {"ok": True}])
def test_other_gate_answers_are_stored_as_they_are(answer):
    state = {"topic": "owls"}
    result = run(_reviewed(), provider=FakeProvider(), state=state, on_gate=lambda r: answer)
    assert result.state["verdict"] == answer


# --- finding 9: cancelling arun keeps what completed ---------------------------------------


async def _cancelled_midway(pipeline, fake, state):
    ended: list[str] = []

    def told(event):
        if event.event == "end":
            ended.append(event.node)

    task = asyncio.create_task(arun(pipeline, provider=fake, state=state, on_event=told))
    # 'a' and 'b' have ended and the slow 'c' is being asked (waited for, not slept on)
    while "b" not in ended or not any(call.agent == "c" for call in fake.calls):
        await asyncio.sleep(0.005)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError as cancelled:
        assert task.cancelled()
        return cancelled
    raise AssertionError("the run should have been cancelled")


@pytest.mark.parametrize("shape", ["chain", "fan-out", "map-over"])
def test_a_cancelled_run_is_still_a_cancelled_error_and_keeps_what_completed(shape):
    a = Agent("a").instruct("A {topic}").writes("x")
    b = Agent("b").instruct("B {x}").writes("y")
    c = Agent("c").instruct("C {y}").writes("z")
    state = {"topic": "owls"}
    if shape == "chain":
        pipeline = a >> b >> c
    elif shape == "fan-out":
        pipeline = a >> (b | c.instruct("C {x}"))
    else:
        each = MapOver("each").over("items", item="i").step(c.instruct("C {i}")).writes("zs")
        pipeline = a >> b >> each
        state["items"] = ["p"]
    fake = FakeProvider(latency={"c": 30})
    cancelled = asyncio.run(_cancelled_midway(pipeline, fake, state))
    partial = cancelled.partial
    assert isinstance(partial, RunError)
    assert partial.completed == ["a", "b"]
    assert partial.state["x"] == "<a: A owls>" and "y" in partial.state and "z" not in partial.state
    assert [e.node for e in partial.trace if e.event == "end"] == ["a", "b"]
    assert "cancelled after 2 nodes completed" in str(partial)
    view = partial.view()
    assert view.headline().startswith("Run cancelled")
    assert view.facts.status["a"] == "done" and view.facts.status["c"] == "cancelled"


@pytest.mark.parametrize("call", ["irgraph.arun", "runnable.arun"])
def test_a_task_cancelled_before_its_run_began_has_the_partial_of_nothing_done(call):
    """A task cancelled before ``arun`` first ran carries a ``partial`` as every other cancel
    does (the guide once said to read it with getattr): nothing completed, no events or
    calls, the state as given, and a view of the pipeline with nothing run; a cancel once an
    agent has started carries the work done."""
    pipeline = Agent("a").instruct("Go {topic}.").writes("x") >> Agent("b").instruct("{x}")
    state = {"topic": "owls"}

    async def cancelled(after_start: bool) -> RunError:
        provider = FakeProvider(latency={"b": 30.0})
        if call == "irgraph.arun":
            running = arun(pipeline, provider=provider, state=state)
        else:
            runnable = AsyncioBackend(provider).compile(pipeline.to_ir())
            running = runnable.arun(state)
        task = asyncio.create_task(running)
        if after_start:
            while not provider.in_flight:
                await asyncio.sleep(0)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError as error:
            return error.partial  # type: ignore[attr-defined,no-any-return]
        raise AssertionError("the run was not cancelled")

    nothing = asyncio.run(cancelled(after_start=False))
    assert isinstance(nothing, RunError) and nothing.cancelled
    assert (nothing.completed, nothing.trace, nothing.calls) == ([], [], [])
    assert nothing.state == state
    assert "cancelled before its first step, so nothing ran" in str(nothing)
    view = nothing.view()
    assert view.headline().startswith("Run cancelled")
    assert set(view.facts.status) == {"a", "b"} and "done" not in view.facts.status.values()
    partial = asyncio.run(cancelled(after_start=True))
    assert partial.completed == ["a"] and partial.state == {**state, "x": "<a: Go owls.>"}
    guide = (Path(__file__).parent.parent / "docs" / "guides" / "asyncio.md").read_text()
    assert "getattr(cancelled" not in guide and "cancelled.partial.completed == []" in guide


def test_a_prefect_run_cancelled_before_it_began_has_the_partial_of_nothing_done():
    from irgraph.backends.prefect_backend import PrefectBackend

    pipeline = Agent("a").instruct("Go {topic}.").writes("x")
    runnable = PrefectBackend(provider=FakeProvider()).compile(pipeline.to_ir())

    async def cancelled() -> RunError:
        task = asyncio.create_task(runnable.arun({"topic": "owls"}))
        task.cancel()
        try:
            await task
        except asyncio.CancelledError as error:
            return error.partial  # type: ignore[attr-defined,no-any-return]
        raise AssertionError("the run was not cancelled")

    nothing = asyncio.run(cancelled())
    assert nothing.cancelled and nothing.completed == [] and nothing.state == {"topic": "owls"}
    assert nothing.graph is runnable.graph


def test_an_interrupt_while_run_checks_the_pipeline_has_the_partial_of_nothing_done():
    class Interrupted:
        """A pipeline whose making is interrupted (Ctrl-C while run() checks it)."""

        def to_ir(self) -> object:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt) as info:
        run(Interrupted(), state={"topic": "owls"})
    partial = info.value.partial  # type: ignore[attr-defined]
    assert isinstance(partial, RunError) and partial.cancelled
    assert partial.completed == [] and partial.state == {"topic": "owls"}


def test_arun_is_still_a_coroutine_function_to_code_that_asks():
    # arun returns a coroutine of its own (to catch a cancel before the first step), yet
    # frameworks that await what is a coroutine function must still see one.
    from irgraph import arun
    from irgraph.backends.prefect_backend import PrefectBackend

    ir = Agent("a").instruct("Hi.").to_ir()
    runs = [arun, AsyncioBackend().compile(ir).arun, PrefectBackend().compile(ir).arun]
    for started in runs:
        assert asyncio.iscoroutinefunction(started), started
        if sys.version_info >= (3, 12):
            assert inspect.iscoroutinefunction(started), started
