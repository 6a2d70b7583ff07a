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
- calls that may run at once reach ``max_concurrency`` (the run's, or a map-over's own) and
  never pass it;
- a provider failure raises ``RunError`` naming the node, with only completed work in state;
- cancelling a run leaves no task behind; the run's ``CancelledError`` carries ``partial``, a
  record of the nodes completed, the state they wrote and the events up to the cancel; its
  ``on_event`` handler saw each of those events; and cancelling the task that consumes
  ``runnable.stream()`` hands that consumer the same record and events. The stream is checked
  only on a backend whose ``capabilities`` claim ``streaming``: a backend that does not (the
  Prefect backend, whose runnable has no ``stream()``) has no stream to cancel;
- plans and exports mention every node;
- routes run exactly the branch the reference takes: the trace has the reference's
  executions (no event of a branch not taken) and each route outputs the chosen case's label;
- every model call carries the agent's system prompt, settings and output schema, and a
  structured reply is the parsed value; a model refusing JSON ``n`` times is asked again, with
  feedback quoting the refused reply, as often as the reference says, and fails the run at
  the agent, quoting the reply, when its retries run out;
- under fuzzed schedules (a drawn duration per model call and per gate answer, on a virtual
  clock that lets calls in flight together finish in the drawn order, not the order they
  started in, however busy the machine: :mod:`irgraph.testing.schedules`; a drawn
  ``max_concurrency`` when the backend claims ``parallel``; sync or async gate handlers) all
  of the above still hold: map-over results come back in input order, no more calls are in
  flight than the bound allows, and a node's own timeout wins over the run's;
- a slow agent with no timeout of its own fails the run at ``run(..., timeout=...)``, naming
  it, with a ``TimeoutError`` as the cause.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from irgraph.builder import Builder
from irgraph.graph import to_graph
from irgraph.providers import agent_names
from irgraph.run import run_coroutine
from irgraph.testing.fake import FakeProvider
from irgraph.testing.properties import (
    ClockedProvider,
    Fuzz,
    JitteredProvider,
    VirtualClock,
    check_cancellation_leaves_no_task,
    check_concurrency_reached,
    check_failure_is_reported,
    check_fuzzed_schedule,
    check_matches_reference,
    check_parallel_overlap,
    check_plan_mentions_every_node,
    check_trace_respects_edges,
    fuzzes,
    gate_answer,
)
from irgraph.testing.properties_cancel import (
    HoldingProvider,
    check_cancelled_run_keeps_completed_work,
    check_cancelled_run_told_on_event,
    check_cancelled_stream_keeps_completed_work,
)
from irgraph.testing.properties_routes import (
    InvalidReplies,
    check_executions_match,
    check_output_retries,
    structured_agents,
)
from irgraph.testing.properties_timeouts import check_run_timeout, check_timeouts, plain_failure
from irgraph.testing.reference import interpret

__all__ = [
    "BackendConformance",
    "gate_answer",
    "check_matches_reference",
    "check_trace_respects_edges",
    "check_parallel_overlap",
    "check_concurrency_reached",
    "check_failure_is_reported",
    "check_cancellation_leaves_no_task",
    "check_cancelled_run_keeps_completed_work",
    "check_cancelled_run_told_on_event",
    "check_cancelled_stream_keeps_completed_work",
    "HoldingProvider",
    "check_plan_mentions_every_node",
    "check_fuzzed_schedule",
    "check_timeouts",
    "check_run_timeout",
    "check_executions_match",
    "check_output_retries",
    "InvalidReplies",
    "structured_agents",
    "Fuzz",
    "fuzzes",
    "JitteredProvider",
    "ClockedProvider",
    "VirtualClock",
]


class BackendConformance:
    """The conformance suite as a test class: subclass it (name it ``Test...``) and define
    :meth:`make_backend`. Tune ``max_examples``, ``pipeline_options`` (keyword arguments of
    :func:`irgraph.testing.strategies.pipelines`), ``check_cancellation``, ``overlap_width``,
    ``fuzz_delays``, ``timeout_examples``, ``concurrency_examples``, ``retry_examples`` and
    ``control_edges``."""

    max_examples = 50
    pipeline_options: Mapping[str, Any] = {"with_gates": True}
    check_cancellation = True
    #: Branches in the overlap probe: at most the backend's concurrency limit.
    overlap_width = 3
    #: The durations a fuzzed schedule draws from, per model call and gate answer: virtual
    #: seconds on a :class:`~irgraph.testing.schedules.VirtualClock`, which order the calls'
    #: finishes without being waited out (their sizes matter only against each other).
    fuzz_delays: tuple[float, ...] = (0.0, 0.001, 0.004, 0.012)
    #: Pipelines each timeout property runs (with a slow agent: three runs for the node's own
    #: timeout, one for the run's); 0 for a backend that has no timeouts (it should then
    #: refuse a pipeline with a node's ``.timeout()``, and its ``arun`` take no ``timeout``).
    timeout_examples = 6
    #: Widths and bounds the concurrency property runs (default: a fifth of max_examples,
    #: at least 3; each run waits 0.05 s per call it cannot start at once).
    concurrency_examples: int | None = None
    #: Pipelines the structured-output retry property runs (default: a quarter of
    #: max_examples, at least 3; those without a structured agent pass at once).
    retry_examples: int | None = None
    #: Whether a step waits for every step before it (False for a dataflow schedule, where
    #: it waits only for the steps whose keys it reads; the trace is checked accordingly).
    control_edges = True

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
            check_trace_respects_edges(pipeline, result, control=self.control_edges)
            check_executions_match(pipeline, state, result)

        self._given(check)

    def _parallel(self) -> bool:
        """Whether the backend runs branches at once."""
        return self._capability("parallel")

    def _capability(self, name: str) -> bool:
        """Whether the backend's ``capabilities`` claim ``name`` (one ``make_backend``
        returns is checked to be a backend first, with the error ``run`` would give)."""
        from irgraph.compile import get_backend

        return bool(getattr(get_backend(self.make_backend(FakeProvider())).capabilities, name))

    def test_parallel_branches_overlap(self) -> None:
        if self._parallel():
            check_parallel_overlap(self.make_backend, width=self.overlap_width)

    def test_concurrency_bound_is_reached(self) -> None:
        if not self._parallel():
            return
        from hypothesis import HealthCheck, example, given, settings
        from hypothesis import strategies as st

        def check(width: int, bound: int | None, map_over: bool) -> None:
            check_concurrency_reached(self.make_backend, width, bound, map_over=map_over)

        examples = self.concurrency_examples or max(3, self.max_examples // 5)
        map_overs = self._draws("map_over")
        drawn = given(
            st.integers(1, 5),
            st.none() | st.integers(1, 4),
            st.booleans() if map_overs else st.just(False),
        )(check)
        for map_over in sorted({False, map_overs}):  # every run: 3 calls, 2 slots
            drawn = example(3, 2, map_over)(drawn)
        settings(
            max_examples=examples,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            report_multiple_bugs=False,
        )(drawn)()

    def _draws(self, kind: str) -> bool:
        """Whether ``pipeline_options`` let the suite's pipelines hold ``kind`` (a backend
        that runs no map-overs is not asked to bound one's items)."""
        kinds = self.pipeline_options.get("kinds")
        flag = "with_map_over" if kind == "map_over" else f"with_{kind}s"
        return bool(self.pipeline_options.get(flag, True)) and (kinds is None or kind in kinds)

    def test_provider_failure_is_a_run_error_with_completed_state(self) -> None:
        from hypothesis import strategies as st

        def check(case: tuple[Builder, dict[str, Any]], data: st.DataObject) -> None:
            pipeline, state = case
            G = to_graph(pipeline, inputs=state.keys())
            agents = sorted(agent_names(G))
            reached = self._reached_agents(pipeline, state)
            candidates = [a for a in agents if a in reached]
            if not candidates:
                return
            agent = data.draw(st.sampled_from(candidates))
            check_failure_is_reported(
                self.make_backend, pipeline, state, agent, control=self.control_edges
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

    def test_a_cancelled_run_keeps_completed_work(self) -> None:
        if self.check_cancellation:
            check_cancelled_run_keeps_completed_work(self.make_backend)

    def test_a_cancelled_runs_handler_saw_the_events_up_to_the_cancel(self) -> None:
        if self.check_cancellation:
            check_cancelled_run_told_on_event(self.make_backend)

    def test_a_cancelled_stream_consumer_keeps_completed_work(self) -> None:
        if self.check_cancellation and self._capability("streaming"):
            check_cancelled_stream_keeps_completed_work(self.make_backend)

    def test_fuzzed_schedules_match_the_reference(self) -> None:
        from hypothesis import HealthCheck, given, settings

        from irgraph.testing.strategies import pipelines_with_inputs

        drawn = fuzzes(self.fuzz_delays, bounds=self._parallel())

        def check(case: tuple[Builder, dict[str, Any]], fuzz: Fuzz) -> None:
            result = check_fuzzed_schedule(
                self.make_backend, *case, fuzz, control=self.control_edges
            )
            check_executions_match(*case, result)

        settings(
            max_examples=self.max_examples,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            report_multiple_bugs=False,
        )(given(pipelines_with_inputs(**self.pipeline_options), drawn)(check))()

    def test_a_node_timeout_wins_over_the_run_timeout(self) -> None:
        self._with_a_slow_agent(check_timeouts)

    def test_a_run_timeout_fails_a_slow_node(self) -> None:
        self._with_a_slow_agent(check_run_timeout)

    def _with_a_slow_agent(self, check: Callable[..., None]) -> None:
        """Run ``check(make_backend, pipeline, state, agent)`` on ``timeout_examples``
        pipelines, with an agent the run reaches drawn from each. A pipeline the backend
        fails with no slow agent is set aside, not shrunk (each try of a shrink would wait for
        the slow agent): the smallest such is reported once the rest have run."""
        from hypothesis import HealthCheck, given, reject, settings
        from hypothesis import strategies as st
        from hypothesis.errors import Unsatisfiable

        from irgraph.testing.strategies import pipelines_with_inputs

        if self.timeout_examples <= 0:
            return
        unrunnable: list[AssertionError] = []

        def one(case: tuple[Builder, dict[str, Any]], data: st.DataObject) -> None:
            pipeline, state = case
            reached = sorted(self._reached_agents(pipeline, state))
            if not reached:
                return
            failure = plain_failure(self.make_backend, pipeline, state)
            if failure is not None:
                unrunnable.append(failure)
                reject()
            check(self.make_backend, pipeline, state, data.draw(st.sampled_from(reached)))

        try:
            settings(
                max_examples=self.timeout_examples,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
                report_multiple_bugs=False,
            )(given(pipelines_with_inputs(**self.pipeline_options), st.data())(one))()
        except Unsatisfiable:
            pass  # every pipeline drawn was one the backend fails plainly: told below
        if unrunnable:
            smallest = min(unrunnable, key=lambda failure: len(str(failure)))
            raise AssertionError(
                f"The backend failed {len(unrunnable)} of the pipelines drawn with no slow "
                "agent; the smallest, not shrunk (test_final_state_and_calls_match_the_reference "
                f"shrinks such a failure):\n{smallest}"
            ) from smallest.__cause__

    def test_structured_output_retries_match_the_reference(self) -> None:
        from hypothesis import HealthCheck, given, settings
        from hypothesis import strategies as st

        from irgraph.testing.strategies import pipelines_with_inputs

        def check(case: tuple[Builder, dict[str, Any]], data: st.DataObject) -> None:
            pipeline, state = case
            reached = self._reached_agents(pipeline, state)
            agents = [a for a in structured_agents(pipeline.to_ir()) if a in reached]
            if agents:
                agent = data.draw(st.sampled_from(agents))
                failures = data.draw(st.integers(1, 3))
                check_output_retries(self.make_backend, pipeline, state, agent, failures)

        settings(
            max_examples=self.retry_examples or max(3, self.max_examples // 4),
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            report_multiple_bugs=False,
        )(given(pipelines_with_inputs(**self.pipeline_options), st.data())(check))()

    def test_plans_and_exports_mention_every_node(self) -> None:
        def check(case: tuple[Builder, dict[str, Any]]) -> None:
            check_plan_mentions_every_node(self.make_backend, *case)

        self._given(check)
