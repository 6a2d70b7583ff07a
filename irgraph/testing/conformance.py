"""A conformance suite every backend runs: subclass :class:`BackendConformance` and say how
to make your backend.

    class TestMyBackend(BackendConformance):
        def make_backend(self, provider):
            return MyBackend(provider=provider)

Each property is also a plain ``check_*`` function that raises ``AssertionError`` with the
failing pipeline printed as builder code, so the suite can be pointed at deliberately broken
backends to prove it catches them. Properties, for deterministic providers:

- the final state equals the reference interpreter's (:mod:`irgraph.testing.reference`);
- every agent is called exactly once per loop iteration / map item, with the prompt the
  reference renders;
- the trace respects every control edge: ``end(u) <= start(v)`` within a scope instance;
- parallel branches overlap in time when the backend claims ``parallel``;
- a provider failure raises ``RunError`` naming the node, with only completed work in state;
- cancelling a run leaves no task behind;
- plans and exports mention every node.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from irgraph.builder import Agent, Builder, FanOut
from irgraph.errors import RunError
from irgraph.events import RunResult
from irgraph.graph import to_graph
from irgraph.run import arun, run_coroutine
from irgraph.schema import lifted_edges
from irgraph.testing.fake import FakeProvider
from irgraph.testing.reference import interpret

__all__ = [
    "BackendConformance",
    "gate_answer",
    "check_matches_reference",
    "check_trace_respects_edges",
    "check_parallel_overlap",
    "check_failure_is_reported",
    "check_cancellation_leaves_no_task",
    "check_plan_mentions_every_node",
]

MakeBackend = Callable[[Any], Any]


def gate_answer(request: Any) -> str:
    """The deterministic gate handler the suite uses: approve, quoting the message."""
    return f"approved: {request.message}"


def _code(pipeline: Builder) -> str:
    from irgraph.testing.strategies import to_code

    return to_code(pipeline)


def _fail(pipeline: Builder, message: str) -> AssertionError:
    return AssertionError(f"{message}\nPipeline:\n{_code(pipeline)}")


def _run(
    make_backend: MakeBackend,
    pipeline: Builder,
    provider: Any,
    state: Mapping[str, Any],
    **options: Any,
) -> RunResult:
    async def go() -> RunResult:
        return await arun(
            pipeline,
            backend=make_backend(provider),
            state=dict(state),
            on_gate=gate_answer,
            **options,
        )

    return run_coroutine(go())


def check_matches_reference(
    make_backend: MakeBackend, pipeline: Builder, state: Mapping[str, Any]
) -> RunResult:
    """Final state and the multiset of (agent, prompt) calls equal the reference's."""
    fake = FakeProvider()
    result = _run(make_backend, pipeline, fake, state)
    expected = run_coroutine(
        interpret(pipeline.to_ir(), FakeProvider(), dict(state), on_gate=gate_answer)
    )
    if result.state != expected.state:
        diff = {
            k: (result.state.get(k), expected.state.get(k))
            for k in set(result.state) | set(expected.state)
            if result.state.get(k) != expected.state.get(k)
        }
        raise _fail(pipeline, f"Final state differs from the reference: {diff!r}")
    got = Counter((call.agent, call.prompt) for call in fake.calls)
    want = Counter(expected.calls)
    if got != want:
        raise _fail(
            pipeline,
            f"Model calls differ from the reference: extra {got - want!r}, missing {want - got!r}",
        )
    return result


def check_trace_respects_edges(pipeline: Builder, result: RunResult) -> None:
    """For every edge u -> v, each execution of v starts after u's execution in the same
    scope instance has ended."""
    G = to_graph(pipeline, inputs=result.state.keys())
    spans: dict[tuple[str, tuple[Any, ...]], list[float]] = {}
    for event in result.trace:
        key = (event.node, event.path)
        if event.event == "start":
            spans[key] = [event.time, float("inf")]
        elif event.event == "end" and key in spans:
            spans[key][1] = event.time
    executed = {node for node, _ in spans}
    missing = [
        n
        for n in G
        if G.nodes[n]["kind"] in ("agent", "transform", "gate")
        and n not in executed
        and G.nodes[n]["parent"] is None
    ]
    if missing:
        raise _fail(pipeline, f"The trace has no execution of {missing!r}.")
    for u, v, _, _ in lifted_edges(G):  # each edge as its scope sees it
        for (node, path), (start, _) in spans.items():
            if node != v:
                continue
            before = spans.get((u, path))
            if before is None:
                raise _fail(pipeline, f"'{v}' ran at {path!r} but '{u}' did not run before it.")
            if before[1] > start:
                raise _fail(pipeline, f"'{v}' started before '{u}' ended (edge {u} -> {v}).")


def check_parallel_overlap(make_backend: MakeBackend, width: int = 3, latency: float = 0.2) -> None:
    """Branches of a FanOut are in flight at the same time."""
    fan = FanOut("overlap")
    for i in range(width):
        fan = fan.branch(Agent(f"branch_{i}").instruct("Work.").writes(f"out_{i}"))
    fake = FakeProvider(latency=latency)
    result = _run(make_backend, fan, fake, {})
    starts = [e.time for e in result.trace if e.event == "start" and e.node.startswith("branch")]
    ends = [e.time for e in result.trace if e.event == "end" and e.node.startswith("branch")]
    if fake.max_in_flight < width or not starts or max(starts) >= min(ends):
        raise _fail(
            fan,
            f"Parallel branches did not overlap ({fake.max_in_flight} of {width} "
            "calls were in flight at once).",
        )


def check_failure_is_reported(
    make_backend: MakeBackend, pipeline: Builder, state: Mapping[str, Any], agent: str
) -> None:
    """The first call of ``agent`` fails: RunError names it, state holds completed work only."""
    G = to_graph(pipeline, inputs=state.keys())
    try:
        _run(make_backend, pipeline, FakeProvider(fail={agent: 1}), state)
    except RunError as error:
        node = error.node
        if node not in G or G.nodes[node]["label"] != agent:
            raise _fail(pipeline, f"RunError names {node!r}, not agent {agent!r}.") from error
        if error.__cause__ is None:
            raise _fail(pipeline, "RunError does not chain the provider's error.") from error
        written = set(state)
        for done in error.completed:
            if done not in G:
                raise _fail(pipeline, f"completed lists unknown node {done!r}.") from error
            written.update(G.nodes[done].get("writes", ()))
        extra = set(error.state) - written
        if extra:
            raise _fail(
                pipeline, f"RunError.state holds {sorted(extra)!r}, which no completed node wrote."
            ) from error
        return
    raise _fail(pipeline, f"The injected failure of agent {agent!r} raised no RunError.")


def check_cancellation_leaves_no_task(make_backend: MakeBackend) -> None:
    """Cancelling a run mid-way cancels and awaits everything it started."""
    pipeline = Agent("first").instruct("Go.").writes("x") >> (
        Agent("slow_a").instruct("{x}") | Agent("slow_b").instruct("{x}")
    )

    async def go() -> None:
        before = asyncio.all_tasks()
        backend = make_backend(FakeProvider(latency={"slow_a": 30.0, "slow_b": 30.0}))
        task = asyncio.ensure_future(arun(pipeline, backend=backend))
        await asyncio.sleep(0.3)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        await asyncio.sleep(0)
        left = asyncio.all_tasks() - before
        if left:
            raise _fail(pipeline, f"{len(left)} task(s) still running after cancellation.")

    run_coroutine(asyncio.wait_for(go(), 20))


def check_plan_mentions_every_node(
    make_backend: MakeBackend, pipeline: Builder, state: Mapping[str, Any]
) -> None:
    """A runnable's plan (when it has one) and the exporters name every graph node."""
    runnable = make_backend(FakeProvider()).compile(pipeline.to_ir(), inputs=state.keys())
    G = runnable.graph
    plan = getattr(runnable, "node_plan", None)
    if plan is not None:
        planned = {entry["id"] for entry in plan}
        missing = set(G) - planned
        if missing:
            raise _fail(pipeline, f"The plan does not mention {sorted(missing)!r}.")
    from irgraph.backends.mermaid import to_mermaid

    text = _unescape_mermaid(to_mermaid(G))
    unnamed = [n for n in G if n not in text]  # exporters label a node with its id
    if unnamed:
        raise _fail(pipeline, f"The mermaid export does not mention {unnamed!r}.")
    from irgraph.backends.dot import to_dot
    from irgraph.backends.labels import node_ids

    try:
        drawn = _dot_names(to_dot(G))
    except ImportError:  # pydot (the dot extra) is optional
        return
    absent = [n for n, drawing_id in node_ids(G).items() if drawing_id not in drawn]
    if absent:
        raise _fail(pipeline, f"The DOT export does not draw {absent!r}.")


def _dot_names(graph: Any) -> set[str]:
    """Node and cluster names of a pydot graph, clusters and nested clusters included."""
    names = {node.get_name() for node in graph.get_nodes()}
    for sub in graph.get_subgraphs():
        names.add(sub.get_name().removeprefix("cluster_"))
        names |= _dot_names(sub)
    return names


def _unescape_mermaid(text: str) -> str:
    """Undo mermaid's entity codes (``#quot;``, ``#95;``) so labels can be compared."""
    import html
    import re

    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        return chr(int(code)) if code.isdigit() else html.unescape(f"&{code};")

    return re.sub(r"#(\w+);", one, text)


class BackendConformance:
    """The conformance suite as a test class: subclass it (name it ``Test...``) and define
    :meth:`make_backend`. Tune ``max_examples``, ``pipeline_options`` (keyword arguments of
    :func:`irgraph.testing.strategies.pipelines`), ``check_cancellation``, ``overlap_width``."""

    max_examples = 50
    pipeline_options: Mapping[str, Any] = {"with_gates": True}
    check_cancellation = True
    #: Branches in the overlap probe: at most the backend's concurrency limit.
    overlap_width = 3

    def make_backend(self, provider: Any) -> Any:
        raise NotImplementedError("Define make_backend(provider) in your subclass.")

    def _given(self, check: Callable[..., None], **extra: Any) -> None:
        from hypothesis import HealthCheck, given, settings

        from irgraph.testing.strategies import pipelines_with_inputs

        options = {**self.pipeline_options, **extra}
        run = settings(
            max_examples=self.max_examples,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            report_multiple_bugs=False,
        )(given(pipelines_with_inputs(**options))(check))
        run()

    def test_final_state_and_calls_match_the_reference(self) -> None:
        def check(case: tuple[Builder, dict[str, Any]]) -> None:
            pipeline, state = case
            result = check_matches_reference(self.make_backend, pipeline, state)
            check_trace_respects_edges(pipeline, result)

        self._given(check)

    def test_parallel_branches_overlap(self) -> None:
        if self.make_backend(FakeProvider()).capabilities.parallel:
            check_parallel_overlap(self.make_backend, width=self.overlap_width)

    def test_provider_failure_is_a_run_error_with_completed_state(self) -> None:
        from hypothesis import strategies as st

        def check(case: tuple[Builder, dict[str, Any]], data: st.DataObject) -> None:
            pipeline, state = case
            G = to_graph(pipeline, inputs=state.keys())
            agents = sorted({G.nodes[n]["label"] for n in G if G.nodes[n]["kind"] == "agent"})
            reached = self._reached_agents(pipeline, state)
            candidates = [a for a in agents if a in reached]
            if not candidates:
                return
            check_failure_is_reported(
                self.make_backend, pipeline, state, data.draw(st.sampled_from(candidates))
            )

        from hypothesis import HealthCheck, given, settings

        from irgraph.testing.strategies import pipelines_with_inputs

        settings(
            max_examples=max(5, self.max_examples // 3),
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            report_multiple_bugs=False,
        )(given(pipelines_with_inputs(**self.pipeline_options), st.data())(check))()

    def _reached_agents(self, pipeline: Builder, state: Mapping[str, Any]) -> set[str]:
        expected = run_coroutine(
            interpret(pipeline.to_ir(), FakeProvider(), dict(state), on_gate=gate_answer)
        )
        return {agent for agent, _ in expected.calls}

    def test_cancellation_leaves_no_task(self) -> None:
        if self.check_cancellation:
            check_cancellation_leaves_no_task(self.make_backend)

    def test_plans_and_exports_mention_every_node(self) -> None:
        def check(case: tuple[Builder, dict[str, Any]]) -> None:
            check_plan_mentions_every_node(self.make_backend, *case)

        self._given(check)
