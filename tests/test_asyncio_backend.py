"""The asyncio backend: scheduling, state, scopes, failures, streaming, limits."""

from __future__ import annotations

import asyncio
import runpy
from pathlib import Path
from typing import Any

import pytest

from irgraph import (
    Agent,
    FanOut,
    Gate,
    IrgraphError,
    Loop,
    MapOver,
    PipelineError,
    Route,
    RunError,
    Transform,
    arun,
    compile,
    run,
)
from irgraph.backends.asyncio_backend import AsyncioBackend
from irgraph.backends.scheduler import GateRequest
from irgraph.testing import FakeProvider
from irgraph.testing.held import HeldProvider
from irgraph.testing.reference import interpret
from tests.support.pipelines import research, split_words, stop_when_done

SEEDS = Path(__file__).parent / "seeds"


def spans(result):
    """Map (node, path) -> (start, end) from a trace."""
    out = {}
    for event in result.trace:
        key = (event.node, event.path)
        if event.event == "start":
            out[key] = [event.time, None]
        elif event.event == "end":
            out[key][1] = event.time
    return out


def test_seed_69_script_runs_unchanged():
    runpy.run_path(str(SEEDS / "seed69_asyncio_backend.py"), run_name="__main__")


def test_values_flow_through_templates_into_prompts():
    fake = FakeProvider()
    result = run(research, provider=fake, state={"topic": "owls"})
    prompts = [call.prompt for call in fake.calls]
    assert prompts[0] == "Research owls."
    assert prompts[1] == "Analyze the findings: <researcher: Research owls.>."
    assert result.state["analysis"] == f"<analyst: {prompts[1]}>"
    assert result.output == f"<writer: Write report from {result.state['analysis']}.>"
    assert [c.node for c in fake.calls] == ["researcher", "analyst", "writer"]


def test_request_state_is_a_read_only_view_of_only_the_read_keys():
    fake = FakeProvider()
    run(research, provider=fake, state={"topic": "owls", "secret": 1})
    view = fake.calls[1].state
    assert dict(view) == {"findings": "<researcher: Research owls.>"}
    with pytest.raises(TypeError):
        view["findings"] = "x"  # type: ignore[index]


def test_every_edge_is_respected_and_parallel_branches_overlap():
    pipeline = (
        Agent("start").instruct("Go.").writes("s")
        >> (
            Agent("a").instruct("{s}").writes("x")
            | Agent("b").instruct("{s}").writes("y")
            | Agent("c").instruct("{s}").writes("z")
        )
        >> Agent("join").instruct("{x}{y}{z}")
    )
    held = HeldProvider(3, agents=("a", "b", "c"), latency=0.05)  # all three asked, then answered
    runnable = AsyncioBackend(provider=held).compile(pipeline.to_ir())
    result = runnable.run()
    times = spans(result)
    for u, v in runnable.graph.edges:
        assert times[(u, ())][1] <= times[(v, ())][0]
    starts = [times[(n, ())][0] for n in "abc"]
    ends = [times[(n, ())][1] for n in "abc"]
    assert max(starts) < min(ends), "parallel branches did not overlap"


def test_a_node_starts_when_its_own_predecessors_finish_not_its_level():
    # fast branch a -> a2 must not wait for the slow branch b
    pipeline = (Agent("a").instruct("a").writes("x") >> Agent("a2").instruct("{x}")) | Agent(
        "b"
    ).instruct("b")
    result = run(pipeline, provider=BUntilA2Answered())
    times = spans(result)
    assert times[("a2", ())][0] < times[("b", ())][1]


class BUntilA2Answered:
    """``b`` answers once ``a2`` has answered: a scheduler that starts ``a2`` only after the
    level of ``b`` never does, and ``b`` gives up after a minute."""

    def __init__(self) -> None:
        self.answered: set[str] = set()

    async def complete(self, request: Any) -> str:
        for _ in range(6000 if request.agent == "b" else 0):
            if "a2" in self.answered:
                break
            await asyncio.sleep(0.01)
        self.answered.add(request.agent)
        return f"<{request.agent}>"


def test_placeholder_answers_without_provider_are_reported():
    result = run(Agent("solo").instruct("Hi.").writes("out"))
    assert result.placeholder is True
    assert "placeholder" in result.state["out"]
    assert any("provider" in w for w in result.warnings)


def test_a_structured_agent_without_provider_is_told_to_give_one_not_to_retry():
    """Without a provider, a structured agent's placeholder text failed its schema: the run
    said the reply was not JSON and advised more retries or a looser schema."""
    classify = Agent("classify").instruct("Classify.").output({"enum": ["a", "b"]})
    with pytest.raises(RunError) as failed:
        run(Agent("first").instruct("Hi.").writes("hi") >> classify.writes("k"))
    message = str(failed.value)
    assert failed.value.node == "classify" and failed.value.completed == ["first"]
    assert "Agent 'classify' asks for a structured answer" in message
    assert "provider=FakeProvider()" in message and "retries" not in message


def test_loop_runs_body_max_iterations_times_with_loop_carried_optional_read():
    loop = (
        Agent("writer").instruct("Draft {feedback?}").writes("draft")
        >> Agent("critic").instruct("Critique {draft}").writes("feedback")
    ) * 3
    fake = FakeProvider()
    result = run(loop, provider=fake)
    assert [c.agent for c in fake.calls] == ["writer", "critic"] * 3
    assert fake.calls[0].prompt == "Draft "
    assert fake.calls[2].prompt == f"Draft <critic: {fake.calls[1].prompt}>"
    paths = sorted({e.path for e in result.trace if e.node == "writer"})
    assert [p[0][1] for p in paths] == [0, 1, 2]


def test_nested_loop_multiplies_iterations():
    fake = FakeProvider()
    run((Agent("a").instruct("x") * 2) * 3, provider=fake)
    assert len(fake.calls) == 6


def test_loop_until_key_and_until_function_stop_early():
    body = Agent("judge").instruct("Judge.").writes("verdict")
    fake = FakeProvider(responses={"judge": ["no", "DONE", "never"]})
    run(Loop("l").step(body).max_iterations(5).until(stop_when_done), provider=fake)
    assert len(fake.calls) == 2
    fake = FakeProvider(responses={"judge": ["", "yes", "never"]})
    run(Loop("l").step(body).max_iterations(5).until("verdict"), provider=fake)
    assert len(fake.calls) == 2


def test_map_over_runs_body_per_item_and_collects_in_order():
    pipeline = (
        Transform("split", split_words).reads("topic").writes("papers")
        >> MapOver("summaries")
        .over("papers", item="paper")
        .step(Agent("summarize").instruct("Summarize {paper} for {topic}.").writes("summary"))
        .writes("summaries")
        >> Agent("final").instruct("Combine {summaries}.")
    )
    fake = HeldProvider(4, latency=0.05)  # the four items answer once all are asked
    result = run(pipeline, provider=fake, state={"topic": "a b c d"})
    assert result.state["summaries"] == [f"<summarize: Summarize {w} for a b c d.>" for w in "abcd"]
    assert "summary" not in result.state  # per-item keys stay inside the scope
    item_spans = [v for (n, p), v in spans(result).items() if n == "summarize"]
    assert max(s for s, _ in item_spans) < min(e for _, e in item_spans)  # concurrent


def test_map_over_respects_its_max_concurrency():
    pipeline = (
        MapOver("m")
        .over("items")
        .step(Agent("work").instruct("{item}").writes("out"))
        .max_concurrency(2)
        .writes("outs")
    )
    fake = HeldProvider(2, latency=0.02)
    run(pipeline, provider=fake, state={"items": list(range(8))})
    assert fake.max_in_flight == 2


def test_map_over_of_a_non_list_is_a_run_error_naming_the_node():
    pipeline = Transform("count", lambda seed: 5).reads("seed").writes("items") >> MapOver(
        "m"
    ).over("items").step(Agent("w").instruct("{item}").writes("o")).writes("os")
    with pytest.raises(RunError, match="'m'.*not a list") as info:
        run(pipeline, provider=FakeProvider(), state={"seed": 1})
    assert info.value.node == "m"


def test_max_concurrency_bounds_provider_calls_in_flight():
    pipeline = FanOut("wide")
    for i in range(20):
        pipeline = pipeline.branch(Agent(f"a{i}").instruct("x"))
    fake = HeldProvider(3, latency=0.01)
    run(pipeline, backend=AsyncioBackend(provider=fake, max_concurrency=3))
    assert fake.max_in_flight == 3
    fake2 = HeldProvider(20, latency=0.01)
    run(pipeline, provider=fake2)
    assert fake2.max_in_flight == 20


def test_transform_gets_read_keys_as_keywords_and_may_be_async():
    async def shout(text: str) -> str:
        await asyncio.sleep(0)
        return text.upper()

    pipeline = Agent("a").instruct("hi").writes("text") >> Transform("up", shout).reads(
        "text"
    ).writes("loud")
    result = run(pipeline, provider=FakeProvider())
    assert result.state["loud"] == "<A: HI>"


def join_fields(title, body):
    return f"{title}: {body}"


def fields(**values):
    return sorted(values.items())


@pytest.mark.parametrize(
    ("transform", "expected"),
    [
        # str.strip takes no keyword arguments: the old convention, fn(findings=...), failed.
        (Transform("clean", str.strip).reads("findings"), "x y"),
        (Transform("shout", lambda text: text.upper()).reads("findings"), "  X Y "),
        (Transform("size", len).reads("findings"), 6),
        (Transform("join", join_fields).reads("body", "title"), "T: B"),
        (Transform("fields", fields).reads("title", "body"), [("body", "B"), ("title", "T")]),
    ],
    ids=["str.strip", "lambda", "len", "keywords", "kwargs"],
)
def test_a_transform_is_called_the_same_way_by_the_backend_and_the_reference(transform, expected):
    pipeline = transform.writes("out")
    state = {"findings": "  x y ", "title": "T", "body": "B"}
    assert run(pipeline, provider=FakeProvider(), state=state).state["out"] == expected
    reference = asyncio.run(interpret(pipeline.to_ir(), FakeProvider(), dict(state)))
    assert reference.state["out"] == expected


def test_gate_calls_sync_or_async_handler():
    pipeline = (
        Agent("draft").instruct("d").writes("draft")
        >> Gate("approve", "Approve {draft}?").writes("approval")
        >> Agent("publish").instruct("Publish if {approval}.")
    )
    seen: list[GateRequest] = []

    def handler(request: GateRequest) -> str:
        seen.append(request)
        return "yes"

    result = run(pipeline, provider=FakeProvider(), on_gate=handler)
    assert result.state["approval"] == "yes"
    assert seen[0].message == "Approve <draft: d>?"

    async def async_handler(request: GateRequest) -> str:
        return "async-yes"

    assert (
        run(pipeline, provider=FakeProvider(), on_gate=async_handler).state["approval"]
        == "async-yes"
    )


def test_a_gate_without_a_handler_is_refused_before_any_model_call():
    pipeline = (
        Agent("draft").instruct("d").writes("draft")
        >> Gate("approve", "Approve {draft}?").writes("approval")
        >> Agent("publish").instruct("Publish if {approval}.")
    )
    runnable = AsyncioBackend().compile(pipeline.to_ir())
    attempts = {
        "run": lambda fake: run(pipeline, provider=fake),
        "arun": lambda fake: asyncio.run(arun(pipeline, provider=fake)),
        "runnable.run": lambda fake: runnable.run(provider=fake),
        "stream": lambda fake: asyncio.run(_drain(runnable.stream(provider=fake))),
    }
    for how, attempt in attempts.items():
        fake = FakeProvider()
        with pytest.raises(PipelineError) as info:
            attempt(fake)
        assert fake.calls == [], how
        assert info.value.node == "approve"
        said = str(info.value)
        assert "the gate 'approve'" in said and "refused before anything runs" in said
        assert "on_gate=lambda request: {'approve': 'yes'}[request.node]" in said
        assert "--answer approve=VALUE" in said
    # A handler given to the backend answers: no refusal.
    answered = run(pipeline, backend=AsyncioBackend(on_gate=lambda request: "ok"))
    assert answered.state["approval"] == "ok"
    # So does a scheduler of one's own that answers gates itself.
    from irgraph.backends.scheduler import Scheduler

    class Answering(Scheduler):
        async def gate(self, step, state, path):
            return "by the scheduler"

    class Backend(AsyncioBackend):
        scheduler_class = Answering

    done = run(pipeline, backend=Backend(), provider=FakeProvider())
    assert done.state["approval"] == "by the scheduler"


async def _drain(events):
    async for _ in events:
        pass


def test_failure_names_node_chains_cause_keeps_completed_state_and_cancels_siblings():
    pipeline = (
        Agent("first").instruct("go").writes("f")
        >> (Agent("slow").instruct("{f}").writes("s") | Agent("bad").instruct("{f}"))
        >> Agent("never").instruct("{s}")
    )
    fake = FakeProvider(latency={"slow": 3600, "bad": 0.01}, fail={"bad": 1})

    async def go() -> None:
        before = asyncio.all_tasks()
        with pytest.raises(RunError) as info:
            await arun(pipeline, provider=fake)
        err = info.value
        assert err.node == "bad"
        assert "injected failure" in str(err.__cause__)
        assert err.completed == ["first"]
        assert err.state["f"] == "<first: go>"
        assert "s" not in err.state
        assert asyncio.all_tasks() == before

    asyncio.run(asyncio.wait_for(go(), 60))  # a "slow" left running would hang the run
    assert [c.agent for c in fake.calls].count("never") == 0


def test_cancelling_a_run_leaves_no_task_behind():
    pipeline = Agent("a").instruct("a") | Agent("b").instruct("b") | Agent("c").instruct("c")

    async def go() -> None:
        before = asyncio.all_tasks()
        task = asyncio.create_task(arun(pipeline, provider=FakeProvider(latency=10)))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert asyncio.all_tasks() == before

    asyncio.run(go())


def test_per_node_timeout_is_a_run_error():
    pipeline = Agent("quick").instruct("q").writes("q") >> Agent("hang").instruct("{q}").timeout(
        0.05
    )
    with pytest.raises(RunError, match="'hang'.*timeout") as info:
        run(pipeline, provider=FakeProvider(latency={"hang": 10}))
    assert info.value.completed == ["quick"]


def test_non_string_answer_is_a_run_error():
    class Bad:
        async def complete(self, request):
            return 42

    with pytest.raises(RunError, match="must return a str"):
        run(Agent("a").instruct("x"), provider=Bad())


@pytest.mark.parametrize("options", [{}, {"timeout": 60}, {"max_concurrency": 1}])
def test_a_complete_that_is_not_async_is_a_run_error_naming_the_fix(options):
    class Sync:
        def complete(self, request):
            return "x"

    pipeline = Agent("a").instruct("Go.").writes("x") >> Agent("b").instruct("{x}")
    with pytest.raises(RunError, match="'a'.*Sync.complete.*not an awaitable.*async def") as info:
        run(pipeline, provider=Sync(), **options)
    [call] = info.value.calls
    assert (call.node, call.answer) == ("a", None) and "not an awaitable" in call.error


@pytest.mark.parametrize("options", [{}, {"timeout": 60}, {"max_concurrency": 1}])
def test_a_complete_returning_another_awaitable_than_a_coroutine_is_awaited(options):
    class FutureAnswers:  # a plain def handing back a future, as a callback-based client may
        def complete(self, request):
            answer = asyncio.get_running_loop().create_future()
            asyncio.get_running_loop().call_soon(answer.set_result, f"<{request.agent}>")
            return answer

    pipeline = Agent("a").instruct("Go.").writes("x") >> Agent("b").instruct("{x}").writes("y")
    result = run(pipeline, provider=FutureAnswers(), **options)
    assert result.state == {"x": "<a>", "y": "<b>"}
    assert [call.answer for call in result.calls] == ["<a>", "<b>"]


def test_a_backend_that_overrides_call_is_asked_through_it():
    from irgraph.backends.scheduler import Scheduler

    asked = []

    class Recording(Scheduler):
        async def call(self, request, path):
            asked.append(request.node)
            return await super().call(request, path)

    scheduler = Recording(
        FakeProvider(),
        on_event=None,
        on_gate=None,
        max_concurrency=None,
        timeout=None,
        chunks=False,
    )
    assert not scheduler.direct
    runnable = AsyncioBackend(provider=FakeProvider()).compile(research.to_ir(), inputs=["topic"])
    state = {"topic": "owls"}
    asyncio.run(scheduler.run_all(runnable._plan, state, runnable.graph))
    assert asked == ["researcher", "analyst", "writer"]
    assert [c.node for c in scheduler.calls] == asked and state["analysis"]


def test_missing_initial_state_is_a_pipeline_error_before_any_call():
    fake = FakeProvider()
    with pytest.raises(PipelineError, match="topic"):
        run(research, provider=fake, state={"topc": "owls"})
    assert fake.calls == []


def test_stream_yields_events_while_running_and_text_chunks():
    runnable = AsyncioBackend(provider=FakeProvider(latency=0.02, chunk_size=4)).compile(
        research.to_ir()
    )

    async def go():
        stream = runnable.stream({"topic": "owls"})
        events = []
        async for event in stream:
            events.append(event)
            if event.node == "researcher" and event.event == "end":
                assert stream.result is None  # still running
        return stream, events

    stream, events = asyncio.run(go())
    chunks = [e.text for e in events if e.event == "chunk" and e.node == "researcher"]
    assert "".join(chunks) == stream.result.state["findings"]
    assert len(chunks) > 1
    assert [e.event for e in events if e.node == "writer" and e.event != "chunk"] == [
        "start",
        "end",
    ]


def test_breaking_out_of_a_stream_cancels_the_run():
    runnable = AsyncioBackend(provider=FakeProvider(latency=0.05)).compile(research.to_ir())

    async def go():
        before = asyncio.all_tasks()
        async with runnable.stream({"topic": "x"}) as events:
            async for event in events:
                if event.event == "end":
                    break
        assert asyncio.all_tasks() == before
        async for event in runnable.stream({"topic": "x"}):
            if event.event == "end":
                break
        for _ in range(5):  # the abandoned iterator is closed by asyncio's finalizer
            await asyncio.sleep(0.01)
        assert asyncio.all_tasks() == before

    asyncio.run(go())


def test_compile_keeps_ir_identity_and_graph():
    backend = AsyncioBackend()
    ir = research.to_ir()
    runnable = backend.compile(ir)
    assert runnable.node is ir
    assert set(runnable.graph.nodes) == {"researcher", "analyst", "writer"}


def test_compile_result_and_unknown_backend():
    result = compile(research.to_ir(), backend="asyncio")
    assert result.backend_name == "asyncio"
    assert result.capabilities.streaming is True
    from irgraph.compile import BackendNotFoundError

    with pytest.raises(BackendNotFoundError, match="'asyncio'"):
        compile(research.to_ir(), backend="asyncoi")


def test_capability_warning_names_a_gate_on_a_backend_without_signals():
    from irgraph.compile import EngineCapabilities

    class NoSignals(AsyncioBackend):
        name = "nosignals"
        capabilities = EngineCapabilities(parallel=True)

    pipeline = Agent("a").instruct("x") >> Gate("approve", "ok?").writes("ok")
    result = compile(pipeline, backend=NoSignals())
    assert any("'approve'" in w and "signals" in w for w in result.warnings)
    assert compile(pipeline, backend="asyncio").warnings == []


def test_run_with_backend_instance_uses_its_provider():
    fake = FakeProvider()
    run(Agent("a").instruct("x"), backend=AsyncioBackend(provider=fake))
    assert len(fake.calls) == 1


def test_a_provider_spec_string_in_python_says_how_to_make_the_provider_from_it():
    from irgraph.provider_spec import provider_from_spec

    with pytest.raises(IrgraphError) as caught:
        run(Agent("a").instruct("x"), provider="fake")
    assert "a spec string is what the command line's --provider takes" in str(caught.value)
    assert "provider_from_spec('fake')" in str(caught.value)
    fake = provider_from_spec("fake")  # the fix the message gives
    assert run(Agent("a").instruct("x").writes("y"), provider=fake).state["y"] == "<a: x>"


def test_ask_async_routes_through_the_chosen_engine():
    agent = Agent("solver").instruct("Solve the problem.").engine("asyncio")
    fake = FakeProvider()
    answer = asyncio.run(agent.ask_async("2+2?", provider=fake))
    assert fake.calls[0].prompt == "Solve the problem.\n\n2+2?"
    assert answer == f"<solver: {fake.calls[0].prompt}>"
    assert asyncio.run(
        research.ask_async(state={"topic": "t"}, provider=FakeProvider())
    ).startswith("<writer:")


def test_asking_a_pipeline_that_never_reads_the_prompt_is_refused_before_any_call():
    # Only a lone agent gets the prompt appended; a pipeline none of whose steps read
    # {prompt} ran without it and answered as if nothing had been asked.
    planned = Agent("planner").instruct("Plan.").writes("plan") >> Agent("doer").instruct("{plan}")
    fake = FakeProvider()
    with pytest.raises(PipelineError) as refused:
        planned.ask("How do owls hunt?", provider=fake)
    message = str(refused.value)
    assert fake.calls == [] and "'planner_then_doer'.ask()" in message
    assert "no step of it reads {prompt}" in message and ".instruct('... {prompt}')" in message
    with pytest.raises(PipelineError, match="no step of it reads"):
        asyncio.run(planned.ask_async("How?", provider=fake))
    reads = Agent("planner").instruct("Plan {prompt}.").writes("plan") >> Agent("doer").instruct(
        "{plan}"
    )
    assert reads.ask("owls", provider=fake) == "<doer: <planner: Plan owls.>>"
    # A route's or loop's own function is handed the whole state: it may read the prompt.
    tested = Route("r").when(lambda state: "bug" in state["prompt"], Agent("fix").instruct("Fix."))
    assert tested.otherwise(Agent("y").instruct("Y.")).ask("a bug", provider=fake) == "<fix: Fix.>"
    until = (
        Loop("l").step(Agent("w").instruct("W.").writes("x")).until(lambda s: s["prompt"] == "stop")
    )
    assert until.max_iterations(2).ask("stop", provider=fake) == "<w: W.>"


def test_run_works_inside_a_running_event_loop():
    async def inside() -> str:
        return run(Agent("a").instruct("x").writes("o"), provider=FakeProvider()).state["o"]

    assert asyncio.run(inside()) == "<a: x>"


def test_a_stream_is_one_run_and_iterating_it_again_is_refused():
    fake = FakeProvider()
    seen: list[str] = []
    runnable = AsyncioBackend(provider=fake).compile(research.to_ir())

    async def go():
        stream = runnable.stream({"topic": "owls"}, on_event=lambda e: seen.append(e.event))
        first = [event async for event in stream]
        with pytest.raises(IrgraphError, match="iterated already") as refused:
            [event async for event in stream]
        return stream, first, str(refused.value)

    stream, first, message = asyncio.run(go())
    assert [request.agent for request in fake.calls] == ["researcher", "analyst", "writer"]
    assert stream.result is not None and stream.result.outputs["writer"]
    assert seen == [event.event for event in first]  # the user's on_event heard the run
    assert ".result" in message and ".stream(...) again" in message


def test_a_stream_left_early_says_its_run_did_not_finish_when_iterated_again():
    runnable = AsyncioBackend(provider=FakeProvider(latency=0.02)).compile(research.to_ir())

    async def go():
        async with runnable.stream({"topic": "owls"}) as events:
            async for _ in events:
                break
        with pytest.raises(IrgraphError, match="did not finish") as refused:
            [event async for event in events]
        return events, str(refused.value)

    events, message = asyncio.run(go())
    assert events.result is None and ".result is None" in message
    assert "Read the finished run" not in message


@pytest.mark.parametrize("hook", [42, "print"])
def test_a_stream_checks_its_on_event_as_arun_does(hook):
    runnable = AsyncioBackend(provider=FakeProvider()).compile(research.to_ir())
    with pytest.raises(PipelineError, match="on_event"):
        runnable.stream({"topic": "owls"}, on_event=hook)


def test_a_stream_refuses_an_async_on_event_as_arun_does():
    async def hook(event):
        pass

    runnable = AsyncioBackend(provider=FakeProvider()).compile(research.to_ir())
    with pytest.raises(PipelineError, match="is async"):
        runnable.stream({"topic": "owls"}, on_event=hook)


def test_run_of_a_compiled_runnable_says_it_runs_itself():
    result = compile(research, backend="asyncio")
    for given, held in ((result, ".runnable"), (result.runnable, "")):
        with pytest.raises(PipelineError, match="compiled AsyncioRunnable, which runs it") as info:
            run(given, provider=FakeProvider(), state={"topic": "owls"})
        assert f"its {held}.arun(state)" in str(info.value) and "0x" not in str(info.value)
    assert run(result.runnable.node, provider=FakeProvider(), state={"topic": "owls"}).output


class LastFirst:
    """Answers the fan-out's branches in the reverse of their order: ``b1`` only once
    ``b2`` answered, ``b0`` once ``b1`` did."""

    def __init__(self) -> None:
        self.answered = {name: asyncio.Event() for name in ("b0", "b1", "b2")}

    async def complete(self, request: Any) -> str:
        after = {"b0": "b1", "b1": "b2"}.get(request.node)
        if after is not None:
            await self.answered[after].wait()
        if request.node in self.answered:
            self.answered[request.node].set()
        return f"<{request.node}>"


def test_outputs_are_in_graph_order_whichever_order_nodes_finished_in() -> None:
    """``RunResult.outputs`` lists nodes in the graph's order: a chain (finished in that
    order) and a fan-out whose branches finished last first."""
    from irgraph import to_graph

    chain = Agent("a").writes("x") >> Agent("b").instruct("{x}").writes("y") >> Agent("c")
    assert list(run(chain, provider=FakeProvider()).outputs) == list(to_graph(chain))
    b0, b1, b2 = (Agent(f"b{i}").instruct("{t}").writes(f"k{i}") for i in range(3))
    fan = Agent("s").writes("t") >> (b0 | b1 | b2) >> Agent("j").instruct("{k0} {k1} {k2}")
    result = run(fan, provider=LastFirst())
    order = [node for node in to_graph(fan) if node in result.outputs]
    assert list(result.outputs) == order == ["s", "b0", "b1", "b2", "j"]
    assert [call.node for call in result.calls] == ["s", "b2", "b1", "b0", "j"]
