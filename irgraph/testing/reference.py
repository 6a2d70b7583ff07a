"""A reference interpreter: the oracle that backends are checked against.

It walks the IR tree one node at a time, in reading order, with one plain dict of state. It
shares no code with the graph builder or the schedulers (it even renders templates with its
own few lines), so a bug there cannot hide by being copied here. Parallel branches run one
after another: validation guarantees that siblings neither read nor write each other's keys,
so any correct concurrent backend must reach the same state.

>>> import asyncio
>>> from irgraph import Agent
>>> from irgraph.testing import FakeProvider
>>> pipeline = Agent("a").instruct("Hi {who}.").writes("x") >> Agent("b").instruct("{x}!")
>>> result = asyncio.run(interpret(pipeline.to_ir(), FakeProvider(), {"who": "Ada"}))
>>> result.state["x"], result.calls
('<a: Hi Ada.>', [('a', 'Hi Ada.'), ('b', '<a: Hi Ada.>!')])
"""

from __future__ import annotations

import importlib
import inspect
import json
from collections.abc import Callable, Mapping
from string import Formatter
from typing import Any

import attrs

from irgraph.ir import (
    AgentNode,
    FunctionRef,
    GateNode,
    LoopNode,
    MapOverNode,
    Node,
    ParallelNode,
    SequenceNode,
    TransformNode,
)
from irgraph.providers import ModelRequest

__all__ = ["interpret", "ReferenceResult"]


@attrs.define
class ReferenceResult:
    """Final state, and every model call as ``(agent name, prompt)`` in execution order."""

    state: dict[str, Any]
    calls: list[tuple[str, str]]


def _text(value: Any) -> str:
    """Structured values read as JSON in a prompt, everything else as str()."""
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _render(text: str, state: Mapping[str, Any]) -> str:
    out = []
    for literal, field, _, _ in Formatter().parse(text):
        out.append(literal)
        if field is None:
            continue
        if field.endswith("?"):
            value = state.get(field[:-1])
            out.append("" if value is None else _text(value))
        elif state[field] is None:  # None means no value: a required field needs one
            raise ValueError(f"the required key {field!r} holds None")
        else:
            out.append(_text(state[field]))
    return "".join(out)


def _load(ref: FunctionRef) -> Callable[..., Any]:
    if ref.fn is not None:
        return ref.fn
    module, _, name = ref.ref.partition(":")
    target: Any = importlib.import_module(module)
    for part in name.split("."):
        target = getattr(target, part)
    return target  # type: ignore[no-any-return]


def _call(fn: Callable[..., Any], reads: tuple[str, ...], state: Mapping[str, Any]) -> Any:
    """Keywords, except one read of a function with one required positional parameter (not
    named after another parameter), or of a builtin whose signature cannot be read."""
    if len(reads) == 1:
        try:
            parameters = inspect.signature(fn).parameters.values()
        except (TypeError, ValueError):
            return fn(state[reads[0]])
        required = [
            p.name for p in parameters if p.kind < p.VAR_POSITIONAL and p.default is p.empty
        ]
        others = {p.name for p in parameters} - set(required)
        if len(required) == 1 and reads[0] not in others:
            return fn(state[reads[0]])
    return fn(**{key: state[key] for key in reads})


class _Interpreter:
    def __init__(self, provider: Any, on_gate: Callable[[Any], Any] | None) -> None:
        self.provider = provider
        self.on_gate = on_gate
        self.calls: list[tuple[str, str]] = []

    async def node(self, node: Node, state: dict[str, Any]) -> None:
        if isinstance(node, (SequenceNode, ParallelNode)):
            for child in node.children:
                await self.node(child, state)
        elif isinstance(node, LoopNode):
            assert node.max_iterations is not None
            for _ in range(node.max_iterations):
                for child in node.children:
                    await self.node(child, state)
                if isinstance(node.until, str) and state.get(node.until):
                    break
                if isinstance(node.until, FunctionRef) and _load(node.until)(dict(state)):
                    break
        elif isinstance(node, MapOverNode):
            assert node.over is not None and node.collect is not None
            results = []
            for item in state[node.over]:
                local = dict(state)
                local[node.item] = item
                for child in node.children:
                    await self.node(child, local)
                results.append(local[node.collect])
            if node.writes:
                state[node.writes] = results
        elif isinstance(node, AgentNode):
            prompt = _render(node.instruction, state)
            self.calls.append((node.name, prompt))
            answer = await self.provider.complete(
                ModelRequest(node.name, node.name, prompt, node.model)
            )
            if node.writes:
                state[node.writes] = answer
        elif isinstance(node, TransformNode):
            value = _call(_load(node.fn), node.reads, state)
            if inspect.isawaitable(value):
                value = await value
            if node.writes:
                state[node.writes] = value
        elif isinstance(node, GateNode):
            assert self.on_gate is not None, f"gate {node.name!r} needs an on_gate handler"
            answer = self.on_gate(_GateAsk(node.name, node.name, _render(node.message, state)))
            if inspect.isawaitable(answer):
                answer = await answer
            if node.writes:
                state[node.writes] = answer


@attrs.frozen
class _GateAsk:
    node: str
    name: str
    message: str = ""
    state: Mapping[str, Any] = attrs.field(factory=dict)


async def interpret(
    ir: Node,
    provider: Any,
    state: Mapping[str, Any] | None = None,
    *,
    on_gate: Callable[[Any], Any] | None = None,
) -> ReferenceResult:
    """Run ``ir`` sequentially with ``provider``; return the final state and the calls made.

    ``ModelRequest.node`` is the agent's name here (the reference knows no graph ids).
    """
    interpreter = _Interpreter(provider, on_gate)
    current = dict(state or {})
    await interpreter.node(ir, current)
    return ReferenceResult(current, interpreter.calls)
