"""The typed IR: one frozen attrs class per node kind.

IR nodes are plain, hashable data. The only behaviour is derived properties: an agent's
``reads`` come from its instruction template (``{key}`` required, ``{key?}`` optional,
``{{``/``}}`` literal braces). Functions (transforms, loop predicates) are held as
:class:`FunctionRef`, an import path plus the live callable when there is one, so the IR can be
written to JSON and read back without ever running code from the file.

Every node has ``inputs``, the state keys a run starts with, declared by the pipeline itself;
only the root's are meaningful (``to_graph`` uses them when it is given no ``inputs=``). A node
may pin its ``id``, the graph node id it gets whatever else the pipeline holds.

>>> node = AgentNode("writer", instruction="Write from {findings}.", writes="report")
>>> node.reads
('findings',)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import attrs

from irgraph import checks
from irgraph.errors import PipelineError
from irgraph.ir.functions import (
    SAFE_FUNCTIONS,
    FunctionRef,
    allowing,
    function_ref,
    refusal,
    resolve_function,
    transform_arguments,
    transform_call_problem,
)
from irgraph.templates import Template, parse_template

__all__ = [
    "AgentNode",
    "SequenceNode",
    "ParallelNode",
    "LoopNode",
    "TransformNode",
    "GateNode",
    "MapOverNode",
    "FunctionRef",
    "Node",
    "NODE_KINDS",
    "function_ref",
    "resolve_function",
    "SAFE_FUNCTIONS",
    "allowing",
    "refusal",
    "set_display_hook",
    "transform_arguments",
    "transform_call_problem",
]

_optional_key = checks.optional(checks.key)
_optional_name = checks.optional(checks.name)
_optional_text = checks.optional(checks.text)
_optional_seconds = checks.optional(checks.seconds())


def _node_tuple(children: Iterable[Node]) -> tuple[Node, ...]:
    return tuple(children)


def _key_tuple(value: Any) -> Any:
    """Keys as a tuple; a lone string (``tuple("topic")`` would be five one-letter keys) or a
    non-iterable is left as it is, for the key rule to refuse."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        return value
    return tuple(value)


def _check_children(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    for child in value:
        if not isinstance(child, NODE_KINDS):
            name = getattr(instance, "name", "?")
            raise PipelineError(
                f"'{name}' contains {child!r} (a {type(child).__name__}), which is not an IR node.",
                node=name,
                hint="Compose Agent, Pipeline, FanOut, Loop, MapOver, Gate or Transform builders.",
            )


def _scope_depth(node: Any) -> int:
    """A scope's depth from its children's (computed once, as each node is built, so no walk
    over a deep tree ever recurses); deeper than :data:`irgraph.checks.MAX_DEPTH` is refused
    where the node is built."""
    depth = 1 + max((getattr(child, "depth", 0) for child in node.children), default=0)
    return checks.nesting(depth, f"{type(node).__name__} {node.name!r}", node=node.name)


_display_hook: list[Callable[[Any, Any, Any], dict[str, Any]]] = []


def set_display_hook(hook: Callable[[Any, Any, Any], dict[str, Any]]) -> None:
    """Install the function that draws an IR node inline in Jupyter (``irgraph.display``
    installs its own on import), so the IR needs no import of the drawing code."""
    _display_hook[:] = [hook]


def _mimebundle(node: Any, include: Any = None, exclude: Any = None) -> dict[str, Any]:
    """Jupyter's inline picture of the pipeline under an IR node."""
    if not _display_hook:
        return {"text/plain": repr(node)}
    return _display_hook[0](node, include, exclude)


class _Drawn:
    """What every IR node shares: its inline picture in Jupyter."""

    __slots__ = ()
    _repr_mimebundle_ = _mimebundle


class _Templated(_Drawn):
    """A node whose reads come from its template (an agent's instruction, a gate's message)."""

    __slots__ = ()
    template: Template

    @property
    def reads(self) -> tuple[str, ...]:
        """Keys the template requires (``{key}``), in order of first use."""
        return self.template.reads

    @property
    def optional_reads(self) -> tuple[str, ...]:
        """Keys the template uses if set (``{key?}``)."""
        return self.template.optional_reads


@attrs.frozen
class AgentNode(_Templated):
    """An LLM call: render ``instruction`` from state, ask the model, store the answer."""

    name: str = attrs.field(validator=checks.name)
    instruction: str = attrs.field(default="", validator=checks.text)
    writes: str | None = attrs.field(default=None, validator=_optional_key)
    model: str | None = attrs.field(default=None, validator=_optional_text)
    description: str = attrs.field(default="", validator=checks.text)
    timeout: float | None = attrs.field(default=None, validator=_optional_seconds)
    inputs: tuple[str, ...] = attrs.field(default=(), converter=_key_tuple, validator=checks.keys)
    id: str | None = attrs.field(default=None, validator=_optional_name)
    depth = 0  # a leaf holds no scope
    template: Template = attrs.field(init=False, eq=False, repr=False)

    @template.default
    def _parse(self) -> Template:
        return parse_template(self.instruction, node=self.name)


@attrs.frozen
class TransformNode(_Drawn):
    """A pure Python function of named state keys; its return value is written to ``writes``."""

    name: str = attrs.field(validator=checks.name)
    fn: FunctionRef = attrs.field(
        validator=checks.Check(
            "a FunctionRef",
            lambda v: isinstance(v, FunctionRef),
            hint="Build it with irgraph.ir.function_ref(fn, node=name).",
        )
    )
    reads: tuple[str, ...] = attrs.field(default=(), converter=tuple, validator=checks.keys)
    writes: str | None = attrs.field(default=None, validator=_optional_key)
    timeout: float | None = attrs.field(default=None, validator=_optional_seconds)
    inputs: tuple[str, ...] = attrs.field(default=(), converter=_key_tuple, validator=checks.keys)
    id: str | None = attrs.field(default=None, validator=_optional_name)
    depth = 0  # a leaf holds no scope

    @property
    def optional_reads(self) -> tuple[str, ...]:
        return ()


@attrs.frozen
class GateNode(_Templated):
    """A pause for a human: show ``message`` (a template), store the answer in ``writes``."""

    name: str = attrs.field(validator=checks.name)
    message: str = attrs.field(default="", validator=checks.text)
    writes: str | None = attrs.field(default=None, validator=_optional_key)
    timeout: float | None = attrs.field(default=None, validator=_optional_seconds)
    inputs: tuple[str, ...] = attrs.field(default=(), converter=_key_tuple, validator=checks.keys)
    id: str | None = attrs.field(default=None, validator=_optional_name)
    depth = 0  # a leaf holds no scope
    template: Template = attrs.field(init=False, eq=False, repr=False)

    @template.default
    def _parse(self) -> Template:
        return parse_template(self.message, node=self.name, field="message")


@attrs.frozen
class SequenceNode(_Drawn):
    """Children run one after another."""

    name: str = attrs.field(validator=checks.name)
    children: tuple[Node, ...] = attrs.field(
        default=(), converter=_node_tuple, validator=_check_children
    )
    inputs: tuple[str, ...] = attrs.field(default=(), converter=_key_tuple, validator=checks.keys)
    id: str | None = attrs.field(default=None, validator=_optional_name)
    #: Levels of scopes from this node down (1: its children are all leaves).
    depth: int = attrs.field(init=False, eq=False, repr=False)

    @depth.default
    def _depth(self) -> int:
        return _scope_depth(self)


@attrs.frozen
class ParallelNode(_Drawn):
    """Children run at the same time; none may read or write what a sibling writes."""

    name: str = attrs.field(validator=checks.name)
    children: tuple[Node, ...] = attrs.field(
        default=(), converter=_node_tuple, validator=_check_children
    )
    inputs: tuple[str, ...] = attrs.field(default=(), converter=_key_tuple, validator=checks.keys)
    id: str | None = attrs.field(default=None, validator=_optional_name)
    #: Levels of scopes from this node down (1: its children are all leaves).
    depth: int = attrs.field(init=False, eq=False, repr=False)

    @depth.default
    def _depth(self) -> int:
        return _scope_depth(self)


@attrs.frozen
class LoopNode(_Drawn):
    """The body runs up to ``max_iterations`` times, stopping early once ``until`` holds.

    ``until`` is either a state key (stop when its value is truthy) or a :class:`FunctionRef`
    to a predicate of the state.
    """

    name: str = attrs.field(validator=checks.name)
    children: tuple[Node, ...] = attrs.field(
        default=(), converter=_node_tuple, validator=_check_children
    )
    max_iterations: int | None = attrs.field(
        default=None, validator=checks.optional(checks.integer)
    )
    until: str | FunctionRef | None = attrs.field(
        default=None,
        validator=checks.Check(
            "a state key or a function",
            lambda v: v is None or checks.is_key(v) or isinstance(v, FunctionRef),
            hint="Stop on a key (.until('done')) or a predicate of the state (.until(fn)).",
        ),
    )
    inputs: tuple[str, ...] = attrs.field(default=(), converter=_key_tuple, validator=checks.keys)
    id: str | None = attrs.field(default=None, validator=_optional_name)
    #: Levels of scopes from this node down (1: its children are all leaves).
    depth: int = attrs.field(init=False, eq=False, repr=False)

    @depth.default
    def _depth(self) -> int:
        return _scope_depth(self)


@attrs.frozen
class MapOverNode(_Drawn):
    """The body runs once per item of the list in state key ``over`` (concurrently).

    Inside the body the item is the key ``item``; the value of ``collect`` after each item's
    run is gathered, in input order, into a list written to ``writes``.
    """

    name: str = attrs.field(validator=checks.name)
    children: tuple[Node, ...] = attrs.field(
        default=(), converter=_node_tuple, validator=_check_children
    )
    over: str | None = attrs.field(default=None, validator=_optional_key)
    item: str = attrs.field(default="item", validator=checks.key)
    collect: str | None = attrs.field(default=None, validator=_optional_key)
    writes: str | None = attrs.field(default=None, validator=_optional_key)
    max_concurrency: int | None = attrs.field(
        default=None, validator=checks.optional(checks.count())
    )
    inputs: tuple[str, ...] = attrs.field(default=(), converter=_key_tuple, validator=checks.keys)
    id: str | None = attrs.field(default=None, validator=_optional_name)
    #: Levels of scopes from this node down (1: its children are all leaves).
    depth: int = attrs.field(init=False, eq=False, repr=False)

    @depth.default
    def _depth(self) -> int:
        return _scope_depth(self)


Node = AgentNode | SequenceNode | ParallelNode | LoopNode | TransformNode | GateNode | MapOverNode
NODE_KINDS: tuple[
    type[AgentNode],
    type[SequenceNode],
    type[ParallelNode],
    type[LoopNode],
    type[TransformNode],
    type[GateNode],
    type[MapOverNode],
] = (AgentNode, SequenceNode, ParallelNode, LoopNode, TransformNode, GateNode, MapOverNode)
