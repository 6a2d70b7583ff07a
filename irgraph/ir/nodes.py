"""The typed IR: one frozen attrs class per node kind.

IR nodes are plain, hashable data. The only behaviour is derived properties: an agent's
``reads`` come from its instruction and system prompt, both templates (``{key}`` required,
``{key?}`` optional, ``{{``/``}}`` literal braces). Functions (transforms, loop predicates)
are held as :class:`FunctionRef`, an import path plus the live callable when there is one, so
the IR can be written to JSON and read back without ever running code from the file.

Every node has ``inputs``, the state keys a run starts with, declared by the pipeline itself;
only the root's are meaningful (``to_graph`` uses them when it is given no ``inputs=``). A node
may pin its ``id``, the graph node id it gets whatever else the pipeline holds.

>>> node = AgentNode("writer", instruction="Write from {findings}.", writes="report")
>>> node.reads
('findings',)
"""

from __future__ import annotations

from typing import Any

import attrs

from irgraph import checks
from irgraph.errors import PipelineError, refused_calls
from irgraph.ir.agent_node import AGENT_FIELDS, AgentNode, checked_agent_node
from irgraph.ir.base import (
    _check_children,
    _Drawn,
    _key_tuple,
    _keys,
    _node_tuple,
    _optional_key,
    _optional_name,
    _optional_seconds,
    _scope_depth,
    _Templated,
    _tuple,
    set_display_hook,
)
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
from irgraph.ir.key_paths import is_key_path
from irgraph.ir.over_paths import OVER_PATH
from irgraph.ir.routes import RouteCase, RouteNode
from irgraph.ir.values import JsonObject, is_json, json_key, plain
from irgraph.templates import Template, parse_template

__all__ = [
    "AgentNode",
    "checked_agent_node",
    "AGENT_FIELDS",
    "BARE_INIT",
    "SequenceNode",
    "ParallelNode",
    "LoopNode",
    "TransformNode",
    "GateNode",
    "MapOverNode",
    "RouteNode",
    "RouteCase",
    "JsonObject",
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


@refused_calls
@attrs.frozen
class TransformNode(_Drawn):
    """A pure Python function of named state keys; its return value is written to ``writes``."""

    name: str = attrs.field(validator=checks.name.validator)
    fn: FunctionRef = attrs.field(
        validator=checks.Check(
            "a FunctionRef",
            lambda v: isinstance(v, FunctionRef),
            hint="Build it with irgraph.ir.function_ref(fn, node=name).",
        )
    )
    reads: tuple[str, ...] = attrs.field(default=(), converter=_tuple, validator=_keys)
    writes: str | None = attrs.field(default=None, validator=_optional_key)
    timeout: float | None = attrs.field(default=None, validator=_optional_seconds)
    inputs: tuple[str, ...] = attrs.field(default=(), converter=_key_tuple, validator=_keys)
    id: str | None = attrs.field(default=None, validator=_optional_name)
    depth = 0  # a leaf holds no scope

    @property
    def optional_reads(self) -> tuple[str, ...]:
        return ()


@refused_calls
@attrs.frozen
class GateNode(_Templated):
    """A pause for a human: show ``message`` (a template), store the answer in ``writes``."""

    name: str = attrs.field(validator=checks.name.validator)
    message: str = attrs.field(default="", validator=checks.text.validator)
    writes: str | None = attrs.field(default=None, validator=_optional_key)
    timeout: float | None = attrs.field(default=None, validator=_optional_seconds)
    inputs: tuple[str, ...] = attrs.field(default=(), converter=_key_tuple, validator=_keys)
    id: str | None = attrs.field(default=None, validator=_optional_name)
    depth = 0  # a leaf holds no scope
    template: Template = attrs.field(init=False, eq=False, repr=False)

    @template.default
    def _parse(self) -> Template:
        return parse_template(self.message, node=self.name, field="message")


@refused_calls
@attrs.frozen
class SequenceNode(_Drawn):
    """Children run one after another."""

    name: str = attrs.field(validator=checks.name.validator)
    children: tuple[Node, ...] = attrs.field(
        default=(), converter=_node_tuple, validator=_check_children
    )
    inputs: tuple[str, ...] = attrs.field(default=(), converter=_key_tuple, validator=_keys)
    id: str | None = attrs.field(default=None, validator=_optional_name)
    #: Levels of scopes from this node down (1: its children are all leaves).
    depth: int = attrs.field(init=False, eq=False, repr=False)

    @depth.default
    def _depth(self) -> int:
        return _scope_depth(self)


@refused_calls
@attrs.frozen
class ParallelNode(_Drawn):
    """Children run at the same time; none may read or write what a sibling writes."""

    name: str = attrs.field(validator=checks.name.validator)
    children: tuple[Node, ...] = attrs.field(
        default=(), converter=_node_tuple, validator=_check_children
    )
    inputs: tuple[str, ...] = attrs.field(default=(), converter=_key_tuple, validator=_keys)
    id: str | None = attrs.field(default=None, validator=_optional_name)
    #: Levels of scopes from this node down (1: its children are all leaves).
    depth: int = attrs.field(init=False, eq=False, repr=False)

    @depth.default
    def _depth(self) -> int:
        return _scope_depth(self)


def _plain_tuple(values: Any) -> Any:
    """A loop's ``until_equals`` as a tuple of plain values (a ``str`` enum's member as the
    string it is): what the graph and its JSON hold. Anything but a list or tuple is left as
    it is, for the validator to name (``tuple("ok")`` would be ``('o', 'k')``)."""
    return tuple(map(plain, values)) if isinstance(values, (list, tuple)) else values


@refused_calls
@attrs.frozen
class LoopNode(_Drawn):
    """The body runs up to ``max_iterations`` times, stopping early once ``until`` holds.

    ``until`` is either a state key (stop when its value equals ``until_equals[0]``, or with
    no ``until_equals`` when it is truthy) or a :class:`FunctionRef`
    to a predicate of the state.
    """

    name: str = attrs.field(validator=checks.name.validator)
    children: tuple[Node, ...] = attrs.field(
        default=(), converter=_node_tuple, validator=_check_children
    )
    max_iterations: int | None = attrs.field(
        default=None, validator=checks.optional(checks.integer).validator
    )
    until: str | FunctionRef | None = attrs.field(
        default=None,
        validator=checks.Check(
            "a state key (or a key and its fields, 'review.verdict') or a function",
            lambda v: v is None or is_key_path(v) or isinstance(v, FunctionRef),
            hint="Stop on a key (.until('done')) or a predicate of the state (.until(fn)).",
        ),
    )
    #: ``(value,)``: stop once ``until`` (a key) equals ``value``; ``()``: once it is truthy.
    until_equals: tuple[Any, ...] = attrs.field(
        default=(), converter=_plain_tuple, kw_only=True, eq=json_key
    )
    inputs: tuple[str, ...] = attrs.field(default=(), converter=_key_tuple, validator=_keys)
    id: str | None = attrs.field(default=None, validator=_optional_name)
    #: Levels of scopes from this node down (1: its children are all leaves).
    depth: int = attrs.field(init=False, eq=False, repr=False)

    @depth.default
    def _depth(self) -> int:
        return _scope_depth(self)

    @until_equals.validator
    def _check_equals(self, attribute: attrs.Attribute[Any], value: tuple[Any, ...]) -> None:
        if not isinstance(value, tuple):
            raise PipelineError(
                f"The until_equals of Loop '{self.name}' must be a list of one JSON value, "
                f"such as ['approved'], or [] (got {value!r} of type {type(value).__name__}).",
                node=self.name,
                hint="Stop on a value with .until('verdict', equals='approved'); a saved "
                "graph's until_equals holds [value], or [] for a loop that stops on a truthy "
                "key.",
            )
        if not value:
            return
        if len(value) != 1 or not is_json(value[0]):
            raise PipelineError(
                f"The until_equals of Loop '{self.name}' must hold one JSON value (got {value!r}).",
                node=self.name,
                hint="Stop on a value with .until('verdict', equals='approved').",
            )
        if not isinstance(self.until, str):
            raise PipelineError(
                f"Loop '{self.name}' compares with equals= but does not stop on a state key.",
                node=self.name,
                hint="Name the key: .until('verdict', equals='approved').",
            )


@refused_calls
@attrs.frozen
class MapOverNode(_Drawn):
    """The body runs once per item of the list in state key ``over``, or in a field of one
    (``plan.topics``), concurrently.

    Inside the body the item is the key ``item``; the value of ``collect`` after each item's
    run is gathered, in input order, into a list written to ``writes``.
    """

    name: str = attrs.field(validator=checks.name.validator)
    children: tuple[Node, ...] = attrs.field(
        default=(), converter=_node_tuple, validator=_check_children
    )
    over: str | None = attrs.field(default=None, validator=checks.optional(OVER_PATH).validator)
    item: str = attrs.field(default="item", validator=checks.key.validator)
    collect: str | None = attrs.field(default=None, validator=_optional_key)
    writes: str | None = attrs.field(default=None, validator=_optional_key)
    max_concurrency: int | None = attrs.field(
        default=None, validator=checks.optional(checks.count()).validator
    )
    inputs: tuple[str, ...] = attrs.field(default=(), converter=_key_tuple, validator=_keys)
    id: str | None = attrs.field(default=None, validator=_optional_name)
    #: Levels of scopes from this node down (1: its children are all leaves).
    depth: int = attrs.field(init=False, eq=False, repr=False)

    @depth.default
    def _depth(self) -> int:
        return _scope_depth(self)


Node = (
    AgentNode
    | SequenceNode
    | ParallelNode
    | LoopNode
    | TransformNode
    | GateNode
    | MapOverNode
    | RouteNode
)
NODE_KINDS: tuple[
    type[AgentNode],
    type[SequenceNode],
    type[ParallelNode],
    type[LoopNode],
    type[TransformNode],
    type[GateNode],
    type[MapOverNode],
    type[RouteNode],
] = (
    AgentNode,
    SequenceNode,
    ParallelNode,
    LoopNode,
    TransformNode,
    GateNode,
    MapOverNode,
    RouteNode,
)

#: Each node class's attrs ``__init__`` without :func:`~irgraph.errors.refused_calls`' wrapper,
#: for code building nodes in bulk from keywords it took from the class's fields (from_json,
#: from_graph), where forwarding them through the wrapper cost 2% of the read.
BARE_INIT: dict[type, Any] = {
    cls: cls.__init__.__wrapped__  # type: ignore[union-attr]
    for cls in NODE_KINDS
}
