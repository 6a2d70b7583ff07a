"""compile()'s capability warnings, tried from outside: a backend that runs one step at a
time is warned of parallel branches only where the pipeline has some."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings

from irgraph import Agent, Route
from irgraph.backends.asyncio_backend import AsyncioBackend
from irgraph.compile import EngineCapabilities, compile
from irgraph.ir import Node
from irgraph.ir.nodes import ParallelNode
from irgraph.testing import FakeProvider
from irgraph.testing.strategies import pipelines_with_inputs

PARALLEL_WARNING = "parallel branches will run one at a time"


class OneStepAtATime:
    """The asyncio scheduler with room for one model call, claiming no capability."""

    name = "one-step"
    capabilities = EngineCapabilities()

    def __init__(self, provider: Any = None) -> None:
        self.inner = AsyncioBackend(provider=provider, max_concurrency=1)

    def compile(self, ir: Node, *, inputs: Any = None) -> Any:
        return self.inner.compile(ir, inputs=inputs)


def warned_of_parallel(pipeline: Any, inputs: Any = None) -> bool:
    warnings = compile(pipeline, backend=OneStepAtATime(FakeProvider()), inputs=inputs).warnings
    return any(PARALLEL_WARNING in warning for warning in warnings)


def test_a_chain_whose_last_step_reads_the_first_steps_key_has_no_parallel_branches():
    # The data edge a -> c is no branch: a is followed by b alone.
    chain = (
        Agent("a").instruct("Start {topic}.").writes("x")
        >> Agent("b").instruct("Then {x}.").writes("y")
        >> Agent("c").instruct("End {x} {y}.")
    )
    assert not warned_of_parallel(chain, inputs={"topic"})


def test_a_loop_followed_by_a_step_has_no_parallel_branches():
    # The loop's edge to its body and its edge to the step after it are not two branches.
    loop = (Agent("a").instruct("Draft.").writes("k") * 2) >> Agent("x").instruct("Use {k}.")
    assert not warned_of_parallel(loop)


def test_a_route_branch_that_starts_with_parallel_steps_is_warned_of():
    route = Agent("classify").instruct("Classify.").writes("kind") >> (
        Route("route")
        .on("kind")
        .when("bug", Agent("fix").instruct("Fix.") | Agent("log").instruct("Log."))
        .otherwise(Agent("reply").instruct("Reply."))
    )
    assert warned_of_parallel(route)


def _has_parallel(node: Node) -> bool:
    if isinstance(node, ParallelNode):
        return True
    return any(_has_parallel(child) for child in getattr(node, "children", ()) or ())


@settings(
    max_examples=40, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(pipelines_with_inputs(with_gates=True))
def test_parallel_branches_are_warned_of_exactly_when_the_pipeline_has_some(case):
    pipeline, state = case
    assert warned_of_parallel(pipeline, inputs=state.keys()) == _has_parallel(pipeline.to_ir())
