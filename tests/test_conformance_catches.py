"""The conformance suite must be able to fail: each deliberately broken backend is caught."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings

from irgraph.backends.asyncio_backend import AsyncioBackend
from irgraph.backends.scheduler import Scheduler
from irgraph.templates import parse_template
from irgraph.testing import conformance
from irgraph.testing.strategies import pipelines_with_inputs


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

    async def agent(self, step, state, path):
        original = step.op.template
        object.__setattr__(step.op, "template", parse_template("{{raw}}"))
        try:
            return await super().agent(step, state, path)
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


def backend_with(scheduler: type[Scheduler]):
    class Broken(AsyncioBackend):
        scheduler_class = scheduler

    def make(provider):
        backend = Broken(provider=provider)
        return backend

    return make


def runs_a_property_until_it_fails(make) -> None:
    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @given(pipelines_with_inputs(with_gates=True))
    def check(case):
        pipeline, state = case
        result = conformance.check_matches_reference(make, pipeline, state)
        conformance.check_trace_respects_edges(pipeline, result)

    check()


@pytest.mark.parametrize("broken", [IgnoresEdges, DropsSubstitution, CallsTwice])
def test_the_reference_property_catches_a_broken_scheduler(broken):
    with pytest.raises(AssertionError, match="Pipeline:"):
        runs_a_property_until_it_fails(backend_with(broken))


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
