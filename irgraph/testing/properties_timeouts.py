"""The timeout properties of the conformance suite (:mod:`irgraph.testing.conformance`): a
slow agent fails the run at its own timeout, and at the run's ``timeout=`` when it has none of
its own, while its own timeout wins over the run's. Each raises ``AssertionError`` with the
failing pipeline printed as builder code."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from irgraph.builder import Builder
from irgraph.errors import IrgraphError, RunError
from irgraph.events import RunResult
from irgraph.graph import to_graph
from irgraph.testing.fake import FakeProvider
from irgraph.testing.suite_runs import MakeBackend, _fail, _run, known_agent

__all__ = ["check_run_timeout", "check_timeouts"]

#: How long the slow agent takes, and a run timeout short enough to fail it.
_SLOW, _RUN_TIMEOUT = 0.6, 0.25
#: The own timeout :func:`check_run_timeout` gives every other node that has none: the run's
#: timeout bounds each node, and a step that waits for a worker thread or a task runner on a
#: loaded machine may outlast 0.25 s, failing the run at a node the check is not about.
_OTHERS = 60.0


def _with_timeout(node: Any, agent: str, seconds: float | None, others: float | None = None) -> Any:
    """``node``'s IR tree with the timeout of every agent named ``agent`` set to ``seconds``
    and, with ``others``, that of every other agent, transform and gate without one set to it."""
    from irgraph.ir import AgentNode, GateNode, TransformNode

    if isinstance(node, AgentNode) and node.name == agent:
        return attrs.evolve(node, timeout=seconds)
    if isinstance(node, (AgentNode, GateNode, TransformNode)):
        mine = node.timeout
        return node if mine is not None or others is None else attrs.evolve(node, timeout=others)
    children = getattr(node, "children", None)
    if children is None:
        return node
    inner = tuple(_with_timeout(c, agent, seconds, others) for c in children)
    return attrs.evolve(node, children=inner)


def _attempt(
    make_backend: MakeBackend,
    pipeline: Builder,
    state: Mapping[str, Any],
    agent: str,
    own: float | None,
    run_timeout: float | None,
) -> RunResult | RunError:
    """Run ``pipeline`` with ``agent`` slow and its own timeout ``own``, under the run's
    ``run_timeout``: the result, or the RunError."""
    provider = FakeProvider(latency={agent: _SLOW})
    options = {} if run_timeout is None else {"timeout": run_timeout}
    others = _OTHERS if own is None else None  # only the slow agent meets the run's timeout
    ir = _with_timeout(pipeline.to_ir(), agent, own, others)
    try:
        return _run(make_backend, ir, provider, state, **options)
    except RunError as error:
        return error
    except IrgraphError as refused:  # refused before running: a backend without timeouts
        raise _fail(pipeline, _refused(agent, own, run_timeout, refused)) from refused
    except Exception as other:  # what the backend raised instead of a RunError
        raise _fail(
            pipeline,
            f"'{agent}' answers in {_SLOW} s; {_given(own, run_timeout)}, the run raised "
            f"{type(other).__name__} ({other or 'no message'}), not a RunError naming the node: "
            "a timeout fails the run as RunError(..., node=<the node's id>) raised from the "
            "TimeoutError.",
        ) from other


def plain_failure(
    make_backend: MakeBackend, pipeline: Builder, state: Mapping[str, Any]
) -> AssertionError | None:
    """Why a backend fails ``pipeline`` with no slow agent and no timeout at all (``None``
    when the run ends): what a timeout does cannot be judged then. The run never waits for a
    slow agent, so it is told at once, and the suite need not shrink it (for minutes)."""
    try:
        _run(make_backend, pipeline, FakeProvider(), state)
    except Exception as error:
        failure = _fail(
            pipeline,
            f"With no slow agent and no timeout, the run raised {type(error).__name__} "
            f"({error or 'no message'}), where the reference interpreter completes it: the "
            "timeout properties need a backend that runs the pipeline. Fix that first; "
            "test_final_state_and_calls_match_the_reference says what it does differently.",
        )
        failure.__cause__ = error
        return failure
    return None


def _runs_plainly(make_backend: MakeBackend, pipeline: Builder, state: Mapping[str, Any]) -> None:
    """Raise :func:`plain_failure`'s ``AssertionError`` when there is one."""
    failure = plain_failure(make_backend, pipeline, state)
    if failure is not None:
        raise failure


def _given(own: float | None, run_timeout: float | None) -> str:
    """``with a timeout of 0.05 s under run(timeout=30.0)``: the timeouts a run was given."""
    why = f"with a timeout of {own} s" if own is not None else "with no timeout of its own"
    return why if run_timeout is None else f"{why} under run(timeout={run_timeout})"


def _refused(agent: str, own: float | None, run_timeout: float | None, error: Exception) -> str:
    """What to say of a run refused before it started, when ``agent`` was given timeouts."""
    return (
        f"The run was refused before it started, with '{agent}' {_given(own, run_timeout)}: "
        f"{type(error).__name__}: {error} A backend that has no timeouts sets "
        "timeout_examples = 0 in its BackendConformance subclass (then its arun takes no "
        "timeout= and it refuses a node's .timeout() when it compiles); one that has them "
        "takes timeout= in its runnable's arun and honours each node's own."
    )


def _timed_out(
    pipeline: Builder, state: Mapping[str, Any], agent: str, failed: Any, why: str
) -> None:
    """Refuse an outcome that is not a RunError naming ``agent``, caused by a TimeoutError."""
    if not isinstance(failed, RunError):
        raise _fail(pipeline, f"'{agent}' took {_SLOW} s {why}, and the run did not fail.")
    G = to_graph(pipeline, inputs=state.keys())
    if failed.node not in G or G.nodes[failed.node]["label"] != agent:
        raise _fail(pipeline, f"The timeout's RunError names {failed.node!r}, not {agent!r}.")
    if not isinstance(failed.__cause__, TimeoutError):
        raise _fail(
            pipeline,
            f"The timeout's RunError is caused by {type(failed.__cause__).__name__}, not a "
            "TimeoutError.",
        )


def check_timeouts(
    make_backend: MakeBackend, pipeline: Builder, state: Mapping[str, Any], agent: str
) -> None:
    """``agent`` answers slowly. With its own short timeout the run fails naming it (a
    ``RunError`` caused by a ``TimeoutError``, holding only completed work), whatever the run's
    timeout; with its own long timeout a short run timeout does not fail it: the node's own
    timeout wins over the run's."""
    known_agent(to_graph(pipeline, inputs=state.keys()), agent, "check_timeouts")
    _runs_plainly(make_backend, pipeline, state)
    for run_timeout in (None, 30.0):
        failed = _attempt(make_backend, pipeline, state, agent, 0.05, run_timeout)
        why = f"with a timeout of 0.05 s (run timeout={run_timeout})"
        _timed_out(pipeline, state, agent, failed, why)
    kept = _attempt(make_backend, pipeline, state, agent, 30.0, _RUN_TIMEOUT)
    # Another node with no timeout of its own may outlast the run's on a busy machine (a
    # plain transform waits for a worker thread): the run's timeout rightly fails that one,
    # and it says nothing of whether the agent's own timeout wins.
    if isinstance(kept, RunError) and _names(pipeline, state, kept.node, agent):
        raise _fail(
            pipeline,
            f"'{agent}' has its own timeout of 30 s, but the run's timeout of "
            f"{_RUN_TIMEOUT} s failed it: {kept}",
        )


def _names(pipeline: Builder, state: Mapping[str, Any], node: Any, agent: str) -> bool:
    """Whether ``node`` (a RunError's) is ``agent``'s id in the pipeline's graph."""
    G = to_graph(pipeline, inputs=state.keys())
    return node in G and G.nodes[node]["label"] == agent


def check_run_timeout(
    make_backend: MakeBackend, pipeline: Builder, state: Mapping[str, Any], agent: str
) -> None:
    """``agent`` answers slowly and has no timeout of its own: ``run(..., timeout=...)``
    shorter than its answer fails the run naming it, caused by a ``TimeoutError`` (a backend
    that drops the run's timeout lets it finish)."""
    known_agent(to_graph(pipeline, inputs=state.keys()), agent, "check_run_timeout")
    _runs_plainly(make_backend, pipeline, state)
    failed = _attempt(make_backend, pipeline, state, agent, None, _RUN_TIMEOUT)
    why = f"with no timeout of its own under run(timeout={_RUN_TIMEOUT})"
    _timed_out(pipeline, state, agent, failed, why)
