"""The conformance suite must be able to fail: each deliberately broken backend is caught."""

from __future__ import annotations

import asyncio
import json
import time

import attrs
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from irgraph import RunError
from irgraph.backends.asyncio_backend import AsyncioBackend
from irgraph.backends.plan import Step
from irgraph.backends.scheduler import Scheduler
from irgraph.templates import parse_template
from irgraph.testing import conformance
from irgraph.testing.strategies import pipelines_with_inputs
from tests.support.wrapped_backends import wrapping


class SkipsANode(Scheduler):
    """Never runs the last agent of the top level."""

    async def execute(self, step, state, path):
        if step.kind == "agent" and not path and step.id == self.last_agent:
            return
        await super().execute(step, state, path)


class IgnoresEdges(Scheduler):
    """Starts every node of a scope at once, readers before their writers."""

    async def scope(self, plan, state, path):
        async def one(step):
            try:
                await self.execute(step, state, path)
            except Exception:
                pass

        await asyncio.gather(*(one(step) for step in reversed(plan.steps)))


class DropsSubstitution(Scheduler):
    """Sends the raw instruction, `{key}`s and all."""

    async def agent(self, step, state, path, seconds=None):
        original = step.op.template
        object.__setattr__(step.op, "template", parse_template("{{raw}}"))
        try:
            return await super().agent(step, state, path, seconds)
        finally:
            object.__setattr__(step.op, "template", original)


class SerialisesBranches(Scheduler):
    """Runs a scope strictly one node at a time, in graph order."""

    async def scope(self, plan, state, path):
        for step in plan.steps:
            await self.execute(step, state, path)


class CallsTwice(Scheduler):
    """Asks the model twice per agent."""

    async def call(self, request, path):
        await super().call(request, path)
        return await super().call(request, path)


class LoopsRunOnce(Scheduler):
    """Runs a loop's body once, whatever its max_iterations."""

    async def loop(self, step, state, path):
        await self.scope(step.body, state, (*path, (step.id, 0)))


class GathersInFinishOrder(Scheduler):
    """Collects a map-over's results in the order its items finish, not the input order."""

    async def map_over(self, step, state, path):
        from collections import ChainMap

        from irgraph.backends.scheduler import collected, map_items

        op = step.op
        results = []

        async def one(index, item):
            local = {op.item: item}
            await self.scope(step.body, ChainMap(local, state), (*path, (step.id, index)))
            results.append(collected(local, op.collect, step.id, index))

        await asyncio.gather(
            *(one(i, item) for i, item in enumerate(map_items(state, op.over, step.id)))
        )
        if op.writes:
            state[op.writes] = results
        return results


class RunTimeoutWins(Scheduler):
    """Lets the run's timeout override a node's own."""

    async def execute(self, step, state, path):
        own = step.timeout
        if self.timeout is not None:
            step.timeout = None
        try:
            await super().execute(step, state, path)
        finally:
            step.timeout = own


class BoundIsALock(Scheduler):
    """Under any max_concurrency, holds one lock around every model call: the bound is never
    passed, and never reached above 1."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.limit is not None:
            self.limit = asyncio.Lock()


class MapsOneItemAtATime(Scheduler):
    """Runs a map-over's items one after another, in order."""

    async def map_over(self, step, state, path):
        from collections import ChainMap

        from irgraph.backends.scheduler import collected, map_items

        op = step.op
        results = []
        for index, item in enumerate(map_items(state, op.over, step.id)):
            local = {op.item: item}
            await self.scope(step.body, ChainMap(local, state), (*path, (step.id, index)))
            results.append(collected(local, op.collect, step.id, index))
        if op.writes:
            state[op.writes] = results
        return results


class TakesTheFirstBranch(Scheduler):
    """Runs a route's first branch whatever the state."""

    async def route(self, step, state, path):
        await self.scope(step.branches[0], state, path)
        return str(step.op.cases[0].label)


class RunsEveryBranch(Scheduler):
    """Runs every branch of a route, one after another; outputs the first case's label."""

    async def route(self, step, state, path):
        for branch in step.branches:
            await self.scope(branch, state, path)
        return str(step.op.cases[0].label)


class DropsSettings(Scheduler):
    """Sends every request without the agent's model settings."""

    async def ask(self, request, path, seconds):
        return await super().ask(attrs.evolve(request, settings={}), path, seconds)


class DropsTheSystemPrompt(Scheduler):
    """Sends every request without the agent's system prompt."""

    async def ask(self, request, path, seconds):
        return await super().ask(attrs.evolve(request, system=""), path, seconds)


class WritesTheRawReply(Scheduler):
    """Writes a structured agent's reply text (the JSON) instead of its value."""

    async def agent(self, step, state, path, seconds=None):
        value = await super().agent(step, state, path, seconds)
        if step.op.output is None:
            return value
        if step.op.writes:
            state[step.op.writes] = json.dumps(value)
        return json.dumps(value)


class NeverRetries(Scheduler):
    """Fails a structured agent at its first refused reply, whatever its retries."""

    async def agent(self, step, state, path, seconds=None):
        if step.op.output is not None:
            once = Step(step.id, step.kind, attrs.evolve(step.op, output_retries=0))
            once.timeout = step.timeout
            step = once
        return await super().agent(step, state, path, seconds)


FINDING = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    report_multiple_bugs=False,
    phases=(Phase.explicit, Phase.generate),  # finding is the point; shrinking takes long
    derandomize=True,  # the same examples every run: a catch that happens, always happens
)


def backend_with(scheduler: type[Scheduler]):
    class Broken(AsyncioBackend):
        scheduler_class = scheduler

    def make(provider):
        backend = Broken(provider=provider)
        return backend

    return make


def runs_a_property_until_it_fails(make) -> None:
    @FINDING
    @given(pipelines_with_inputs(with_gates=True))
    def check(case):
        pipeline, state = case
        result = conformance.check_matches_reference(make, pipeline, state)
        conformance.check_trace_respects_edges(pipeline, result)
        conformance.check_executions_match(pipeline, state, result)

    check()


def runs_the_retry_property_until_it_fails(make) -> None:
    @FINDING
    @given(pipelines_with_inputs(with_gates=True), st.data())
    def check(case, data):
        pipeline, state = case
        agents = conformance.structured_agents(pipeline.to_ir())
        if agents:
            agent = data.draw(st.sampled_from(agents))
            failures = data.draw(st.integers(1, 3))
            conformance.check_output_retries(make, pipeline, state, agent, failures)

    check()


def test_the_retry_property_catches_a_scheduler_that_never_retries():
    with pytest.raises(AssertionError, match="failed the run|does not quote the raw reply"):
        runs_the_retry_property_until_it_fails(backend_with(NeverRetries))
    runs_the_retry_property_until_it_fails(backend_with(Scheduler))


def test_the_reference_property_misses_a_scheduler_that_never_retries():
    # The fake answers valid JSON at once: without refused replies the bug does not show.
    runs_a_property_until_it_fails(backend_with(NeverRetries))


@pytest.mark.parametrize(
    "broken",
    [
        IgnoresEdges,
        DropsSubstitution,
        CallsTwice,
        TakesTheFirstBranch,
        RunsEveryBranch,
        DropsSettings,
        DropsTheSystemPrompt,
        WritesTheRawReply,
    ],
)
def test_the_reference_property_catches_a_broken_scheduler(broken):
    with pytest.raises(AssertionError, match="Pipeline:"):
        runs_a_property_until_it_fails(backend_with(broken))


def test_the_reference_property_catches_loops_that_run_once():
    with pytest.raises(AssertionError, match="Pipeline:"):
        runs_a_property_until_it_fails(backend_with(LoopsRunOnce))


def runs_fuzzed_schedules_until_one_fails(make) -> None:
    @FINDING
    @given(pipelines_with_inputs(with_gates=True), conformance.fuzzes())
    def check(case, fuzz):
        conformance.check_fuzzed_schedule(make, *case, fuzz)

    check()


def test_fuzzed_schedules_catch_results_gathered_in_finish_order():
    """The drawn order is kept on a virtual clock, not slept out, so the same examples catch
    it on a busy machine (tests/test_conformance_schedules.py stalls the loop to show it)."""
    with pytest.raises(AssertionError, match="Final state differs"):
        runs_fuzzed_schedules_until_one_fails(backend_with(GathersInFinishOrder))


def test_fuzzed_schedules_pass_for_the_correct_scheduler():
    runs_fuzzed_schedules_until_one_fails(backend_with(Scheduler))


def test_the_timeout_property_catches_a_run_timeout_that_overrides_a_node_timeout():
    from irgraph import Agent

    pipeline = Agent("a").instruct("Go.").writes("x") >> Agent("b").instruct("{x}").writes("y")
    conformance.check_timeouts(backend_with(Scheduler), pipeline, {}, "b")
    with pytest.raises(AssertionError, match="did not fail|failed it"):
        conformance.check_timeouts(backend_with(RunTimeoutWins), pipeline, {}, "b")


def pause(x):
    time.sleep(2 * 0.25)  # longer than the check's run timeout, with no timeout of its own
    return x


def test_the_timeout_property_is_not_failed_by_another_node_that_outlasts_the_run_timeout():
    """A plain transform that waited for a worker thread on a busy machine outlasted the run's
    0.25 s: the run rightly failed there, and the property said the slow agent's own timeout
    had lost to the run's (a flaky failure of the notebook's conformance run)."""
    from irgraph import Agent, Transform

    slow = Agent("b").instruct("Go.").writes("x")
    pipeline = slow >> Transform("pause", pause).reads("x").writes("y")
    conformance.check_timeouts(backend_with(Scheduler), pipeline, {}, "b")


def test_the_run_timeout_property_is_not_failed_by_another_node_that_outlasts_it():
    """The run's timeout bounds every node: a step before the slow agent that a busy machine
    held past the run's 0.25 s failed the run there, not at the agent the property is about.
    The property gives every other node a long timeout of its own."""
    from irgraph import Agent, Transform

    pipeline = Transform("pause", pause).reads("topic").writes("x") >> Agent("b").instruct("{x}")
    conformance.check_run_timeout(backend_with(Scheduler), pipeline, {"topic": "t"}, "b")


def test_the_reference_property_catches_a_skipped_node():
    class Skipping(SkipsANode):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.last_agent = None

        async def scope(self, plan, state, path):
            if not path:
                agents = [s.id for s in plan.steps if s.kind == "agent"]
                self.last_agent = agents[-1] if agents else None
            await super().scope(plan, state, path)

    with pytest.raises(AssertionError, match="Pipeline:"):
        runs_a_property_until_it_fails(backend_with(Skipping))


def test_the_overlap_property_catches_serialised_branches():
    with pytest.raises(AssertionError, match="did not overlap"):
        conformance.check_parallel_overlap(backend_with(SerialisesBranches))


def test_the_correct_scheduler_passes_the_same_checks():
    runs_a_property_until_it_fails(backend_with(Scheduler))
    conformance.check_parallel_overlap(backend_with(Scheduler))


def test_the_export_property_catches_an_exporter_that_drops_nodes(monkeypatch):
    from irgraph import Agent
    from irgraph.backends import dot, mermaid

    pipeline = Agent("a").instruct("x").writes("k") >> Agent("b").instruct("{k}")
    make = backend_with(Scheduler)
    conformance.check_plan_mentions_every_node(make, pipeline, {})
    monkeypatch.setattr(mermaid, "to_mermaid", lambda G, **_: 'graph TD\n  n1["a"]')
    with pytest.raises(AssertionError, match="mermaid export does not mention"):
        conformance.check_plan_mentions_every_node(make, pipeline, {})
    monkeypatch.undo()
    real = dot.to_dot

    def drop_last(G, **options):
        drawing = real(G, **options)
        drawing.del_node(drawing.get_nodes()[-1].get_name())
        return drawing

    monkeypatch.setattr(dot, "to_dot", drop_last)
    with pytest.raises(AssertionError, match="DOT export does not draw"):
        conformance.check_plan_mentions_every_node(make, pipeline, {})


def test_the_export_property_reads_long_names_with_markdown_characters_as_themselves():
    from irgraph import Agent, Loop

    # Long words get <wbr> tags, and then a node's * ` \\ and emphasis _ a backslash before
    # them (#92;#42;): the check must read them back as the names they are, not miss them.
    names = [
        "Review*Draft*AndPublishEverythingNow",
        "parseHTTPServer2024Response\\Headers",
        "a_*starred*_then_a_long_snake_tail_x",
        "Quote`Tick`AndMoreCamelCaseWordsHere",
    ]
    steps = Agent(names[0]).instruct("x")
    for name in names[1:]:
        steps = steps >> Agent(name).instruct("x")
    pipeline = Loop("Loop*With*ALongCamelCaseName").step(steps).max_iterations(1)
    conformance.check_plan_mentions_every_node(backend_with(Scheduler), pipeline, {})


@pytest.mark.parametrize("broken", [BoundIsALock, MapsOneItemAtATime])
def test_the_older_properties_miss_a_bound_that_is_never_reached(broken):
    conformance.check_parallel_overlap(backend_with(broken))
    runs_fuzzed_schedules_until_one_fails(backend_with(broken))


@pytest.mark.parametrize(
    ("broken", "map_over"),
    [(BoundIsALock, False), (BoundIsALock, True), (MapsOneItemAtATime, True)],
)
def test_the_concurrency_property_catches_a_bound_that_is_never_reached(broken, map_over):
    with pytest.raises(AssertionError, match="At most 1 model call was in flight at once, not 3"):
        conformance.check_concurrency_reached(backend_with(broken), 4, 3, map_over=map_over)
    conformance.check_concurrency_reached(backend_with(Scheduler), 4, 3, map_over=map_over)


async def _hiding_run_errors(inner, state, options):
    try:
        return await inner.arun(state, **options)
    except RunError:
        raise RuntimeError("backend failed") from None


#: A backend whose runnable turns every RunError into a RuntimeError.
_HidesRunErrors = wrapping("hides-run-errors", _hiding_run_errors)


def test_the_failure_property_explains_a_backend_raising_another_error():
    """It let the RuntimeError through with no property named and no pipeline shown."""
    from irgraph import Agent

    pipeline = Agent("first").instruct("Go.").writes("x") >> Agent("second").instruct("{x}")
    with pytest.raises(AssertionError) as info:
        conformance.check_failure_is_reported(_HidesRunErrors, pipeline, {}, "second")
    said = str(info.value)
    assert "The injected failure of agent 'second' raised RuntimeError (backend failed)" in said
    assert "Agent('second')" in said  # the pipeline, as code


async def _forgetting_completed_work(inner, state, options):
    try:
        return await inner.arun(state, **options)
    except RunError as error:
        raise RunError(str(error), node=error.node, state={}, completed=[]) from error.__cause__


async def _forgetting_the_state(inner, state, options):
    try:
        return await inner.arun(state, **options)
    except RunError as error:
        raise RunError(
            str(error), node=error.node, state={}, completed=error.completed
        ) from error.__cause__


@pytest.mark.parametrize(
    ("arun", "said"),
    [
        (
            _forgetting_completed_work,
            "['first'] ran before 'second' but are not in RunError.completed",
        ),
        (_forgetting_the_state, "RunError.state lacks ['x'], which completed node 'first' wrote"),
    ],
)
def test_the_failure_property_catches_a_backend_losing_completed_work(arun, said):
    """A backend whose RunError kept nothing of what completed passed the whole suite."""
    from irgraph import Agent

    pipeline = Agent("first").instruct("Go.").writes("x") >> Agent("second").instruct("{x}")
    with pytest.raises(AssertionError, match="RunError lost completed work") as info:
        conformance.check_failure_is_reported(wrapping("forgets", arun), pipeline, {}, "second")
    assert said in str(info.value)


def test_the_failure_property_on_the_dataflow_schedule_counts_data_edges_only():
    """A step the failed agent does not read from may not have finished on the dataflow
    schedule: the check blamed a correct backend for it, and still catches lost work."""
    from irgraph import Agent, Transform
    from irgraph.backends.asyncio_backend import AsyncioBackend

    def dataflow(provider):
        return AsyncioBackend(provider=provider, schedule="dataflow")

    beside = Transform("combine", "irgraph.testing.strategies:join_values").writes("f") >> Agent(
        "researcher"
    ).writes("g")
    conformance.check_failure_is_reported(dataflow, beside, {}, "researcher", control=False)
    read = Agent("first").instruct("Go.").writes("x") >> Agent("second").instruct("{x}")
    with pytest.raises(AssertionError, match="RunError lost completed work"):
        conformance.check_failure_is_reported(
            wrapping("forgets", _forgetting_completed_work), read, {}, "second", control=False
        )


@pytest.mark.parametrize(
    "check", ["check_failure_is_reported", "check_timeouts", "check_run_timeout"]
)
def test_a_property_check_refuses_an_agent_the_pipeline_does_not_have(check):
    """A misspelt agent made the check blame a correct backend."""
    from irgraph import Agent
    from irgraph.backends.asyncio_backend import AsyncioBackend

    pipeline = Agent("a").instruct("{topic}").writes("x")
    with pytest.raises(ValueError, match=r"got agent 'nobody', which is no agent of this pipeline"):
        getattr(conformance, check)(AsyncioBackend, pipeline, {"topic": "t"}, "nobody")
