"""A reference interpreter: the oracle that backends are checked against.

It walks the IR tree one node at a time, in reading order, with one plain dict of state. It
shares no code with the graph builder or the schedulers (it even renders templates with its
own few lines), so a bug there cannot hide by being copied here. Parallel branches run one
after another: validation guarantees that siblings neither read nor write each other's keys,
so any correct concurrent backend must reach the same state.

Issue 17's semantics are written out here on their own, not taken from the code backends
share: a route takes its first case that holds (``equals`` by JSON equality, where ``1 ==
1.0`` but ``True != 1``; a predicate of a read-only view of the state, awaited when async,
which must answer a bool; ``otherwise``); an agent's request carries its system prompt (a
template, rendered like the instruction), settings and output schema; with a schema, the
reply is parsed here (one markdown fence allowed) and validated with ``jsonschema`` directly,
asked again with feedback up to ``output_retries`` times, and the parsed value is written; a
loop with ``until_equals`` stops when its key equals the value.
A run that must fail (a reply still invalid after its retries, a route with no case that
holds) raises :class:`ReferenceFailure`.

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
import re
from collections.abc import Callable, Mapping
from fractions import Fraction
from string import Formatter
from types import MappingProxyType
from typing import Any

import attrs

from irgraph.errors import PipelineError, Problem
from irgraph.gate_answers import answer_problem
from irgraph.ir import (
    AgentNode,
    FunctionRef,
    GateNode,
    LoopNode,
    MapOverNode,
    Node,
    ParallelNode,
    RouteNode,
    SequenceNode,
    TransformNode,
)
from irgraph.ir.identity import handler_name
from irgraph.ir.values import kept_value
from irgraph.providers import ModelRequest

__all__ = ["interpret", "ReferenceResult", "ReferenceFailure", "request_key"]


@attrs.define
class ReferenceResult:
    """Final state, and every model call as ``(agent name, prompt)`` in execution order;
    ``requests`` are the calls' whole requests, ``executed`` the names of the agents,
    transforms, gates and routes run (once per run of each), ``routes`` each route's chosen
    case label, in order."""

    state: dict[str, Any]
    calls: list[tuple[str, str]]
    requests: list[ModelRequest] = attrs.field(factory=list)
    executed: list[str] = attrs.field(factory=list)
    routes: list[tuple[str, str]] = attrs.field(factory=list)


class ReferenceFailure(Exception):
    """The run must fail at ``node`` (a name): a reply still invalid after its retries
    (``reply`` is the last one), or a route with no case that holds."""

    def __init__(self, message: str, *, node: str, reply: str | None = None) -> None:
        super().__init__(message)
        self.node = node
        self.reply = reply


def _truth(holds: Any, node: str) -> bool:
    """A predicate's answer: True or False (a ``numpy.bool_`` too); anything else, ``"no"``
    or ``None`` as much as ``"yes"``, fails the run at route or loop ``node``."""
    numpy = type(holds).__module__ == "numpy" and type(holds).__name__ in ("bool_", "bool")
    if isinstance(holds, bool) or numpy:
        return bool(holds)
    raise ReferenceFailure(f"a predicate of '{node}' returned {holds!r}, no bool", node=node)


def request_key(request: ModelRequest) -> tuple[Any, ...]:
    """What a model call is compared by: everything but the state view, and of the feedback
    only whether there is one (its wording is the backend's)."""
    schema = request.output_schema
    return (
        request.agent,
        request.prompt,
        request.model,
        request.system,
        json.dumps(dict(request.settings), sort_keys=True),
        None if schema is None else json.dumps(dict(schema), sort_keys=True),
        request.attempt,
        request.feedback is not None,
    )


def _same(a: Any, b: Any) -> bool:
    """JSON equality: numbers by value, but a boolean is never a number."""
    return isinstance(a, bool) == isinstance(b, bool) and bool(a == b)


_FENCED = re.compile(r"\A\s*```[A-Za-z0-9_-]*\s*\n(.*?)\n?\s*```\s*\Z", re.DOTALL)


def _parsed(reply: str, schema: Mapping[str, Any]) -> tuple[Any, str | None]:
    """The reply's value and ``None``, or ``None`` and why the reply is refused."""
    import jsonschema

    fenced = _FENCED.match(reply)
    try:
        value = json.loads(fenced.group(1) if fenced else reply)
    except ValueError as exc:
        return None, f"not JSON ({exc})"
    plain = dict(schema)
    errors = [
        error
        for error in jsonschema.validators.validator_for(plain)(plain).iter_errors(value)
        if not _decimal_multiple(error)
    ]
    if errors:
        return None, f"does not match the schema: {errors[0].message}"
    return value, None


def _decimal_multiple(error: Any) -> bool:
    """Whether ``error`` is jsonschema's float arithmetic refusing a number that is a
    multiple of ``multipleOf`` as the decimals both are written as (19.99 of 0.01)."""
    if error.validator != "multipleOf":
        return False
    number, step = error.instance, error.validator_value
    try:
        return Fraction(repr(number)) % Fraction(repr(step)) == 0
    except (ValueError, ZeroDivisionError):
        return False


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
        optional = field.endswith("?")
        found, value = _looked_up(field.removesuffix("?"), state, optional)
        if optional:
            out.append("" if value is None else _text(value))
        elif not found or value is None:  # None means no value: a required field needs one
            raise ValueError(f"the required key {field!r} holds None")
        else:
            out.append(_text(value))
    return "".join(out)


def _looked_up(path: str, state: Mapping[str, Any], optional: bool) -> tuple[bool, Any]:
    """The value at ``path`` (a key, or a key and its fields) in ``state``: ``(False, None)``
    for a field an object lacks; a required key that is not set raises ``KeyError``, a value
    on the way that is no object ``ValueError``."""
    key, *names = path.split(".")
    value = state.get(key) if optional else state[key]
    for name in names:
        if value is None:
            return False, None
        if not isinstance(value, dict):
            raise ValueError(f"{path!r} reads a field of {type(value).__name__}, not an object")
        if name not in value:
            if optional:
                return False, None
            raise ValueError(f"{path!r}: the object has no field {name!r}")
        value = value[name]
    return True, value


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
        self.requests: list[ModelRequest] = []
        self.executed: list[str] = []
        self.routes: list[tuple[str, str]] = []

    async def node(self, node: Node, state: dict[str, Any]) -> None:
        if isinstance(node, (SequenceNode, ParallelNode)):
            for child in node.children:
                await self.node(child, state)
        elif isinstance(node, LoopNode):
            for _ in range(node.max_iterations or 0):  # None refused by _refuse_unrunnable
                for child in node.children:
                    await self.node(child, state)
                held = []
                if isinstance(node.until, str):
                    held = _field(state, node.until.split("."), node.name)
                if isinstance(node.until, str) and node.until_equals:
                    if held and _same(held[0], node.until_equals[0]):
                        break
                elif held and held[0]:
                    break
                if isinstance(node.until, FunctionRef):
                    holds = _load(node.until)(MappingProxyType(dict(state)))
                    if inspect.isawaitable(holds):  # an async predicate, as the runtime does
                        holds = await holds
                    if _truth(holds, node.name):
                        break
        elif isinstance(node, MapOverNode):
            results = []
            over, collect = node.over or "", node.collect or ""  # None: _refuse_unrunnable
            listed = _field(state, over.split("."), node.name)  # a key, or plan.topics
            if not listed or not isinstance(listed[0], (list, tuple)):  # the run must fail
                raise ReferenceFailure(f"'{node.name}' has no list at {node.over}", node=node.name)
            for item in listed[0]:
                local = dict(state)
                local[node.item] = item
                for child in node.children:
                    await self.node(child, local)
                results.append(local[collect])
            if node.writes:
                state[node.writes] = results
        elif isinstance(node, RouteNode):
            self.executed.append(node.name)
            chosen = await self.branch(node, state)
            await self.node(node.children[chosen], state)
        elif isinstance(node, AgentNode):
            self.executed.append(node.name)
            prompt = _render(node.instruction, state)
            answer = await self.agent(node, prompt, _render(node.system, state))
            if node.writes:
                state[node.writes] = answer
        elif isinstance(node, TransformNode):
            self.executed.append(node.name)
            value = _call(_load(node.fn), node.reads, state)
            if inspect.isawaitable(value):
                value = await value
            value = kept_value(value, node.name)
            if node.writes:
                state[node.writes] = value
        elif isinstance(node, GateNode):
            self.executed.append(node.name)
            answer = self.on_gate(  # type: ignore[misc]  # None refused by _refuse_unrunnable
                _GateAsk(node.name, node.name, _render(node.message, state))
            )
            if inspect.isawaitable(answer):
                answer = await answer
            given_by = f"The on_gate handler ({handler_name(self.on_gate)})"  # as the backends
            problem = answer_problem(answer, node.name, node.writes, given_by)
            if problem is not None:  # the backends' rule, so their words are the same
                raise ReferenceFailure(problem, node=node.name)
            if node.writes:
                state[node.writes] = answer

    async def branch(self, node: RouteNode, state: dict[str, Any]) -> int:
        """The index of the first case of ``node`` that holds."""
        found = _field(state, node.on.split("."), node.name) if node.on is not None else []
        for index, case in enumerate(node.cases):
            if case.kind == "equals":
                holds = bool(found) and _same(found[0], case.value)
            elif case.kind == "test":
                holds = _load(case.value)(MappingProxyType(dict(state)))
                if inspect.isawaitable(holds):
                    holds = await holds
                holds = _truth(holds, node.name)
            else:
                holds = True
            if holds:
                label = "otherwise" if case.kind == "otherwise" else case.label
                self.routes.append((node.name, label))
                return index
        if node.on is None:
            raise ReferenceFailure(f"no case of route '{node.name}' held", node=node.name)
        shown = json.dumps(next(iter(found), None), sort_keys=True)
        raise ReferenceFailure(
            f"Route '{node.name}' has no branch for {node.on} = {shown}", node=node.name
        )

    async def agent(self, node: AgentNode, prompt: str, system: str) -> Any:
        """Ask the model (``prompt`` and ``system`` rendered from the state); with an output
        schema, parse the reply, asking again with feedback up to ``output_retries`` times."""
        schema = None if node.output is None else node.output.to_dict()
        feedback = None
        for attempt in range(1, node.output_retries + 2):
            request = ModelRequest(
                node.name,
                node.name,
                prompt,
                node.model,
                system=system,
                settings=node.settings.to_dict(),
                output_schema=schema,
                attempt=attempt,
                feedback=feedback,
            )
            self.calls.append((node.name, prompt))
            self.requests.append(request)
            reply = await self.provider.complete(request)
            if schema is None:
                return reply
            value, problem = _parsed(reply, schema)
            if problem is None:
                return value
            feedback = f"The reply {problem}. Previous reply: {reply!r}."
        raise ReferenceFailure(
            f"'{node.name}' answered {reply!r}, which {problem}", node=node.name, reply=reply
        )


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
    _refuse_unrunnable(ir, on_gate)
    interpreter = _Interpreter(provider, on_gate)
    current = dict(state or {})
    await interpreter.node(ir, current)
    i = interpreter
    return ReferenceResult(current, i.calls, i.requests, i.executed, i.routes)


def _refuse_unrunnable(ir: Node, on_gate: Callable[[Any], Any] | None) -> None:
    """Refuse, before any model call, a pipeline the reference cannot run: a loop with no
    ``max_iterations``, a map-over with no list or nothing to collect (shapes ``validate``
    refuses), a gate with no ``on_gate`` to ask. One :class:`PipelineError` lists them all."""
    checked = "; validate(to_graph(pipeline)) lists every such problem before a run."
    problems: list[Problem] = []
    stack = [ir]
    while stack:
        node = stack.pop()
        stack.extend(reversed(getattr(node, "children", ())))
        said: list[tuple[str, str]] = []
        if isinstance(node, LoopNode) and node.max_iterations is None:
            said.append(
                (
                    f"Loop '{node.name}' has no max_iterations",
                    "Bound it with .max_iterations(n) (or write it as x * n)" + checked,
                )
            )
        if isinstance(node, MapOverNode) and node.over is None:
            said.append(
                (
                    f"MapOver '{node.name}' has no list to iterate",
                    "Name the key holding the list with .over(key)" + checked,
                )
            )
        if isinstance(node, MapOverNode) and node.collect is None:
            said.append(
                (
                    f"MapOver '{node.name}' names no key to collect",
                    "Give it .collect(key), a key its body writes" + checked,
                )
            )
        if isinstance(node, GateNode) and on_gate is None:
            said.append(
                (
                    f"Gate '{node.name}' has no on_gate handler to ask",
                    "Pass interpret(..., on_gate=handler): it gets the gate's request "
                    "and returns the answer.",
                )
            )
        problems += [
            Problem(
                f"{what}, so the reference interpreter cannot run the pipeline.",
                node=node.name,
                hint=hint,
            )
            for what, hint in said
        ]
    if problems:
        raise PipelineError(problems)


def _field(value: Any, names: list[str], node: str) -> list[Any]:
    """``[the value]`` at ``names`` (a key, then the fields of the objects inside), or ``[]``
    when one is missing or a value on the way is no object: written here apart from the
    backends' own lookup, so the reference checks theirs. A pydantic model on the way (a
    step wrote it, not its JSON) fails the run at route or loop ``node``."""
    for depth, name in enumerate(names):
        if depth and hasattr(value, "model_dump") and not isinstance(value, Mapping):
            raise ReferenceFailure(f"'{node}' reads {'.'.join(names)} through a model", node=node)
        if not isinstance(value, Mapping) or name not in value:
            return []
        value = value[name]
    return [value]
