"""The properties of the conformance suite, each a plain function that raises
``AssertionError`` with the failing pipeline printed as builder code (see
:mod:`irgraph.testing.conformance`, which runs them for a backend)."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import Mapping
from typing import Any

from irgraph.builder import Agent, Builder, FanOut, MapOver
from irgraph.errors import RunError
from irgraph.events import RunResult
from irgraph.graph import to_graph
from irgraph.run import arun, run_coroutine
from irgraph.schema import lifted_edges
from irgraph.testing.differences import call_differences, state_differences
from irgraph.testing.fake import FakeProvider
from irgraph.testing.held import HeldProvider
from irgraph.testing.reference import request_key
from irgraph.testing.schedules import (
    ClockedProvider,
    Fuzz,
    JitteredProvider,
    VirtualClock,
    fuzzes,
    gate_handler,
)
from irgraph.testing.suite_runs import (
    MakeBackend,
    _fail,
    _reference,
    _run,
    gate_answer,
    known_agent,
    path_problem,
    scope_hint,
    unknown_trace_nodes,
)

__all__ = [
    "MakeBackend",
    "gate_answer",
    "check_matches_reference",
    "check_trace_respects_edges",
    "check_parallel_overlap",
    "check_concurrency_reached",
    "check_failure_is_reported",
    "check_cancellation_leaves_no_task",
    "check_plan_mentions_every_node",
    "check_fuzzed_schedule",
    "Fuzz",
    "fuzzes",
    "JitteredProvider",
    "ClockedProvider",
    "VirtualClock",
]


def check_matches_reference(
    make_backend: MakeBackend, pipeline: Builder, state: Mapping[str, Any]
) -> RunResult:
    """Final state and the multiset of model calls equal the reference's (each call by its
    agent, prompt, model, system prompt, settings, output schema, attempt, and whether it
    carries feedback)."""
    fake = FakeProvider()
    result = _run(make_backend, pipeline, fake, state)
    compare(pipeline, result.state, fake.calls, _reference(pipeline, state))
    return result


def compare(
    pipeline: Builder, state: Any, calls: list[Any], expected: Any, where: str = ""
) -> None:
    """Raise when a run's final state or its model calls differ from the reference's run
    ``expected``; ``where`` begins the message."""
    if state != expected.state:
        diff = state_differences(state, expected.state)
        raise _fail(pipeline, f"{where}Final state differs from the reference's:\n{diff}")
    got = Counter(request_key(call) for call in calls)
    want = Counter(request_key(call) for call in expected.requests)
    if got != want:
        diff = call_differences(got, want)
        raise _fail(pipeline, f"{where}Model calls differ from the reference's:\n{diff}")


def check_trace_respects_edges(
    pipeline: Builder, result: RunResult, *, control: bool = True
) -> None:
    """For every edge u -> v, each execution of v starts after u's execution in the same
    scope instance has ended. With ``control=False`` (a dataflow schedule, which lets a step
    start as soon as what it reads is written) only the edges that carry keys count."""
    G = to_graph(pipeline, inputs=result.state.keys())
    unknown = unknown_trace_nodes(G, result) or path_problem(G, result)
    if unknown:
        raise _fail(pipeline, unknown)
    spans: dict[tuple[str, tuple[Any, ...]], list[float]] = {}
    ended_first: set[tuple[str, tuple[Any, ...]]] = set()  # an end listed before its start
    for event in result.trace:
        key = (event.node, event.path)
        if event.event == "start":
            if key in ended_first:
                raise _fail(
                    pipeline,
                    f"The trace lists the end of {event.node!r} (path={event.path!r}) before "
                    "its start: a trace lists events in the order they happened, each "
                    "execution's start before its end.",
                )
            spans[key] = [event.time, float("inf")]
        elif event.event == "end" and key in spans:
            spans[key][1] = event.time
        elif event.event == "end":
            ended_first.add(key)
    executed = {node for node, _ in spans}
    missing = [n for n in G if G.nodes[n]["parent"] is None and n not in executed]
    if missing:
        raise _fail(pipeline, f"The trace has no execution of {missing!r}.{scope_hint(G, missing)}")
    for u, v, _, keys in lifted_edges(G):  # each edge as its scope sees it
        if not control and not keys:
            continue
        for (node, path), (start, _) in spans.items():
            if node != v:
                continue
            before = spans.get((u, path))
            if before is None:
                hint = "" if u in executed else scope_hint(G, [u])
                raise _fail(
                    pipeline, f"'{v}' ran at {path!r} but '{u}' did not run before it.{hint}"
                )
            if before[1] > start:
                raise _fail(pipeline, f"'{v}' started before '{u}' ended (edge {u} -> {v}).")


def _fan_out(name: str, width: int) -> FanOut:
    """A FanOut of ``width`` independent agents ``branch_0``, ``branch_1``, ..."""
    fan = FanOut(name)
    for i in range(width):
        fan = fan.branch(Agent(f"branch_{i}").instruct("Work.").writes(f"out_{i}"))
    return fan


#: How long a held call waits for another call to come before the check stops holding and
#: reports the calls it saw at once: far longer than any backend that runs calls together
#: takes between two of them, even on a loaded machine, yet short for a check that must fail.
PATIENCE = 5.0


def check_parallel_overlap(make_backend: MakeBackend, width: int = 3, latency: float = 0.2) -> None:
    """Branches of a FanOut are in flight at the same time (each call is held until all
    ``width`` are, so a slow machine cannot make them miss each other)."""
    fan = _fan_out("overlap", width)
    fake = HeldProvider(width, patience=PATIENCE, latency=latency)
    result = _run(make_backend, fan, fake, {})
    starts = [e.time for e in result.trace if e.event == "start" and e.node.startswith("branch")]
    ends = [e.time for e in result.trace if e.event == "end" and e.node.startswith("branch")]
    if fake.max_in_flight < width:
        raise _fail(
            fan,
            f"Parallel branches did not overlap ({fake.max_in_flight} of {width} "
            "calls were in flight at once).",
        )
    if not starts or max(starts) >= min(ends):
        raise _fail(
            fan,
            f"All {width} branches' model calls were in flight at once, but the trace does "
            + (
                "not start them: it has no start event of a branch."
                if not starts
                else "not overlap them: a branch's start event is timed after another's end. "
                "An Event's time is when the step starts or ends; a start told once the "
                "call has answered hides the overlap."
            ),
        )


def check_concurrency_reached(
    make_backend: MakeBackend,
    width: int,
    bound: int | None,
    *,
    latency: float = 0.05,
    map_over: bool = False,
) -> None:
    """``width`` model calls that may all run at once (a FanOut's branches, or with
    ``map_over`` a MapOver's items) reach the bound and never pass it: at most
    ``min(width, bound)`` are in flight at once, and that many are. The bound is the run's
    ``max_concurrency`` (``None``: the backend's own ``max_concurrency`` attribute, if any) and,
    in a second run of the MapOver, the MapOver's own ``.max_concurrency(bound)``. Calls are
    held until that many are in flight (:class:`~irgraph.testing.held.HeldProvider`), so the
    check does not depend on how fast the machine starts them."""
    own = getattr(make_backend(FakeProvider()), "max_concurrency", None)
    body = Agent("work").instruct("Work on {item}.").writes("done")
    mapper = MapOver("each").over("items").step(body).writes("results")
    runs: list[tuple[Builder, int | None, int | None]] = [  # pipeline, run's bound, MapOver's
        (mapper if map_over else _fan_out("wide", width), bound, None)
    ]
    if map_over and bound is not None:
        runs.append((mapper.max_concurrency(bound), None, bound))
    state = {"items": [f"item_{i}" for i in range(width)]} if map_over else {}
    for pipeline, run_bound, map_bound in runs:
        options = {} if run_bound is None else {"max_concurrency": run_bound}
        limit = own if run_bound is None else run_bound
        want = min(width, limit or width, map_bound or width)
        fake = HeldProvider(want, patience=PATIENCE, latency=latency)
        _run(make_backend, pipeline, fake, state, **options)
        if fake.max_in_flight != want:
            most = fake.max_in_flight
            said = (
                f"{most} model calls were in flight at once, past the bound of {want}"
                if most > want
                else f"At most {most} model call{'s were' if most != 1 else ' was'} in flight "
                f"at once, not {want}"
            )
            raise _fail(
                pipeline,
                f"{said} ({width} could run together; max_concurrency: the run's {run_bound}, "
                f"the MapOver's {map_bound}, the backend's {own}).",
            )


def check_failure_is_reported(
    make_backend: MakeBackend,
    pipeline: Builder,
    state: Mapping[str, Any],
    agent: str,
    *,
    control: bool = True,
) -> None:
    """The first call of ``agent`` fails: RunError names it, state holds completed work only,
    and every node the run reaches before ``agent`` is kept (by the control edges too, for a
    backend that follows them; ``control=False``: by the data edges only, as the dataflow
    schedule runs a node beside one it does not read from)."""
    G = to_graph(pipeline, inputs=state.keys())
    known_agent(G, agent, "check_failure_is_reported")
    try:
        _run(make_backend, pipeline, FakeProvider(fail={agent: 1}), state)
    except RunError as error:
        node = error.node
        if node not in G or G.nodes[node]["label"] != agent:
            raise _fail(pipeline, f"RunError names {node!r}, not agent {agent!r}.") from error
        if error.__cause__ is None:
            raise _fail(pipeline, "RunError does not chain the provider's error.") from error
        written = set(state)
        for done in error.completed_nodes:
            if done not in G:
                raise _fail(pipeline, f"completed lists unknown node {done!r}.") from error
            written.update(G.nodes[done].get("writes", ()))
        extra = set(error.state) - written
        if extra:
            raise _fail(
                pipeline, f"RunError.state holds {sorted(extra)!r}, which no completed node wrote."
            ) from error
        lost = _lost_work(G, str(node), error, control)
        if lost:
            raise _fail(pipeline, f"RunError lost completed work: {lost}") from error
        return
    except Exception as other:  # what the backend raised instead of a RunError
        raise _fail(
            pipeline,
            f"The injected failure of agent {agent!r} raised {type(other).__name__} "
            f"({other}), not a RunError naming the node.",
        ) from other
    raise _fail(pipeline, f"The injected failure of agent {agent!r} raised no RunError.")


def _lost_work(G: Any, failed: str, error: RunError, control: bool = True) -> str:
    """What a ``RunError`` at ``failed`` left out that it must keep, or ``""``: a node every
    run reaches before ``failed`` (its ancestor, outside any route branch or map-over body;
    by data edges only unless ``control``) missing from ``completed``, or a key a completed
    node wrote missing from ``state``."""
    import networkx as nx

    def plain(node: str) -> bool:  # runs once per run of its scope, whatever the state says
        parent = G.nodes[node]["parent"]
        while parent is not None:
            if G.nodes[parent]["kind"] in ("route", "map_over"):
                return False
            parent = G.nodes[parent]["parent"]
        return G.nodes[node]["kind"] in ("agent", "transform")

    done = error.completed_nodes
    edges = G if control else nx.subgraph_view(G, filter_edge=lambda u, v: G[u][v]["keys"])
    before = sorted(n for n in nx.ancestors(edges, failed) if plain(n) and n not in done)
    if before:
        return f"{before!r} ran before {failed!r} but are not in RunError.completed."
    for node in error.completed_nodes:
        if node in G and plain(node):
            missing = [k for k in G.nodes[node].get("writes", ()) if k not in error.state]
            if missing:
                return f"RunError.state lacks {missing!r}, which completed node {node!r} wrote."
    return ""


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
            shown = sorted(_task_text(t) for t in left)
            for leftover in left:  # not left to be destroyed pending when the loop closes
                leftover.cancel()
            await asyncio.gather(*left, return_exceptions=True)
            raise _fail(
                pipeline,
                f"{len(left)} task(s) still running after the run was cancelled: "
                f"{'; '.join(shown)}. A run must cancel and await every task it started when "
                "it is cancelled (asyncio.TaskGroup does both).",
            )

    run_coroutine(asyncio.wait_for(go(), 120))  # bounds a hang only


def _task_text(task: asyncio.Task[Any]) -> str:
    """A task by the coroutine it runs and the line that coroutine waits at:
    ``worker() waiting at mybackend.py:12``."""
    coro = task.get_coro()
    code = getattr(coro, "cr_code", None)
    name = f"{getattr(code, 'co_qualname', None) or getattr(coro, '__qualname__', coro)}()"
    frame = getattr(coro, "cr_frame", None)
    if frame is None or code is None:
        return name
    return f"{name} waiting at {os.path.basename(code.co_filename)}:{frame.f_lineno}"


def check_fuzzed_schedule(
    make_backend: MakeBackend,
    pipeline: Builder,
    state: Mapping[str, Any],
    fuzz: Fuzz,
    *,
    control: bool = True,
) -> RunResult:
    """Under the drawn schedule the run still equals the reference (final state, calls, map
    results in input order), respects every edge, and keeps within ``max_concurrency``."""
    clock = VirtualClock()
    provider = ClockedProvider(fuzz, clock)
    options: dict[str, Any] = {"on_gate": gate_handler(fuzz, clock)}
    if fuzz.max_concurrency is not None:
        options["max_concurrency"] = fuzz.max_concurrency
    result = _run(make_backend, pipeline, provider, state, **options)
    compare(pipeline, result.state, provider.calls, _reference(pipeline, state), f"{fuzz!r}: ")
    bound = fuzz.max_concurrency
    if bound is not None and provider.max_in_flight > bound:
        raise _fail(
            pipeline,
            f"{provider.max_in_flight} model calls were in flight at once under "
            f"max_concurrency={bound}.",
        )
    check_trace_respects_edges(pipeline, result, control=control)
    return result


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
    """Undo mermaid's entity codes (``#quot;``, ``#95;``), and the ``<wbr>`` tags a long name's
    label has, with the markdown escapes a node's label then has instead (``#92;_``,
    ``#92;#42;``: a backslash, as a code, before the character), so labels can be compared."""
    import html
    import re

    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        return chr(int(code)) if code.isdigit() else html.unescape(f"&{code};")

    lines = []
    for line in text.splitlines():
        if "<wbr>" in line and re.match(r"\s*\w+[\[{(]", line):  # a node's label, with tags
            line = re.sub(r"#92;(_|#42;|#96;|#92;)", r"\1", line)
        lines.append(line)
    return re.sub(r"#(\w+);", one, "\n".join(lines).replace("<wbr>", ""))
