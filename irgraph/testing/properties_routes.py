"""Conformance properties of issue 17: routes run exactly the branch the reference takes, and
structured outputs are asked again as the reference says (re-exported by
:mod:`irgraph.testing.conformance`).

- :func:`check_executions_match`: the trace holds exactly the executions the reference makes
  (each agent, transform, gate and route as often as the reference runs it, so a branch a
  route did not take has no events), and each route's output is a case label the reference
  chose for it.
- :func:`check_output_retries`: with a model that answers one structured agent with text that
  is not JSON for its first ``failures`` attempts (then a fenced valid answer), a run either
  matches the reference (state and calls, and every retry's feedback quotes the refused
  reply) or, when the retries run out, fails as the reference does: a ``RunError`` at that
  agent whose message quotes the raw reply.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from irgraph.builder import Builder
from irgraph.errors import RunError
from irgraph.events import RunResult
from irgraph.graph import to_graph
from irgraph.ir import AgentNode, Node
from irgraph.providers import ModelRequest
from irgraph.run import run_coroutine
from irgraph.testing.differences import count_differences
from irgraph.testing.fake import FakeProvider
from irgraph.testing.properties import compare
from irgraph.testing.reference import ReferenceFailure, ReferenceResult, interpret
from irgraph.testing.suite_runs import MakeBackend, _fail, _reference, _run, gate_answer

__all__ = [
    "check_executions_match",
    "check_output_retries",
    "InvalidReplies",
    "structured_agents",
]

_RUN_KINDS = ("agent", "transform", "gate", "route")


def check_executions_match(
    pipeline: Builder,
    state: Mapping[str, Any],
    result: RunResult,
    expected: ReferenceResult | None = None,
) -> None:
    """Every agent, transform, gate and route ran as often as in the reference run (none of
    a branch the route did not take), and each route's output is a label the reference's
    route of that name chose."""
    expected = expected or _reference(pipeline, state)
    G = to_graph(pipeline, inputs=state.keys())
    label = {n: G.nodes[n]["label"] for n in G if G.nodes[n]["kind"] in _RUN_KINDS}
    ran = Counter(label[e.node] for e in result.trace if e.event == "start" and e.node in label)
    want = Counter(expected.executed)
    if ran != want:
        raise _fail(
            pipeline,
            "The trace's executions differ from the reference's (a step's start events, by "
            f"its name):\n{count_differences(ran, want, 'started')}",
        )
    chosen: dict[str, set[str]] = {}
    for name, case in expected.routes:
        chosen.setdefault(name, set()).add(case)
    for nid, output in result.outputs.items():
        if G.nodes[nid]["kind"] == "route" and output not in chosen.get(label[nid], ()):
            raise _fail(
                pipeline,
                f"Route '{nid}' output {output!r}; the reference chose "
                f"{sorted(chosen.get(label[nid], ()))!r}.",
            )


class InvalidReplies(FakeProvider):
    """The fake model, except that agent ``agent`` with an output schema answers text that is
    not JSON for its first ``failures`` attempts of each call, then its valid answer inside a
    markdown fence (which a parser must accept)."""

    def __init__(self, agent: str, failures: int, **options: Any) -> None:
        super().__init__(**options)
        self.agent = agent
        self.failures = failures

    @staticmethod
    def refused(attempt: int) -> str:
        """The reply to attempt ``attempt`` while it fails."""
        return f"Sure! Here it is (attempt {attempt}): not JSON"

    def _answer(self, request: ModelRequest, index: int) -> str:
        text = super()._answer(request, index)
        if request.agent != self.agent or request.output_schema is None:
            return text
        if request.attempt <= self.failures:
            return self.refused(request.attempt)
        return f"```json\n{text}\n```"


def structured_agents(ir: Node) -> list[str]:
    """The names of the agents in ``ir`` that declare an output schema, sorted."""
    found, stack = set(), [ir]
    while stack:
        node = stack.pop()
        if isinstance(node, AgentNode) and node.output is not None:
            found.add(node.name)
        stack.extend(getattr(node, "children", ()))
    return sorted(found)


def check_output_retries(
    make_backend: MakeBackend,
    pipeline: Builder,
    state: Mapping[str, Any],
    agent: str,
    failures: int,
) -> None:
    """``agent`` answers text that is not JSON ``failures`` times per call: the backend asks
    again exactly as the reference does, telling the model what it refused, and fails as the
    reference does when the retries run out."""
    try:
        expected: ReferenceResult | None = run_coroutine(
            interpret(
                pipeline.to_ir(),
                InvalidReplies(agent, failures),
                dict(state),
                on_gate=gate_answer,
            )
        )
        failure = None
    except ReferenceFailure as exc:
        expected, failure = None, exc
    provider = InvalidReplies(agent, failures)
    try:
        result = _run(make_backend, pipeline, provider, state)
    except RunError as error:
        if failure is None:
            raise _fail(
                pipeline, f"'{agent}' failing {failures} time(s) failed the run: {error}"
            ) from error
        G = to_graph(pipeline, inputs=state.keys())
        if error.node not in G or G.nodes[error.node]["label"] != failure.node:
            raise _fail(
                pipeline, f"The RunError names {error.node!r}, not {failure.node!r}."
            ) from error
        # The failed node's own last reply: when several nodes share the agent's name, the
        # one that fails first depends on the schedule (the dataflow schedule runs them side
        # by side), and each refuses its last attempt's reply.
        retries = G.nodes[error.node].get("output_retries")
        reply = failure.reply
        if reply is not None and retries is not None:
            reply = InvalidReplies.refused(retries + 1)
        if reply is not None and reply not in str(error):
            raise _fail(
                pipeline, f"The RunError does not quote the raw reply {reply!r}: {error}"
            ) from error
        return
    if failure is not None:
        raise _fail(
            pipeline,
            f"'{agent}' answered no JSON {failures} time(s), past its retries, and the run "
            f"did not fail (the reference: {failure}).",
        )
    assert expected is not None
    compare(pipeline, result.state, provider.calls, expected, f"{failures} refused replies: ")
    for call in provider.calls:
        if call.agent != agent or call.attempt == 1 or call.output_schema is None:
            continue
        quoted = repr(InvalidReplies.refused(call.attempt - 1))
        if quoted not in (call.feedback or ""):
            raise _fail(
                pipeline,
                f"Attempt {call.attempt} of '{agent}' does not quote the refused reply "
                f"{quoted} in its feedback: {call.feedback!r}",
            )
