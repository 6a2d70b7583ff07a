"""The route node: one of several branches runs, chosen by the state.

>>> from irgraph.ir import AgentNode
>>> node = RouteNode("triage", (AgentNode("fix"), AgentNode("reply")), on="category",
...                  cases=(RouteCase("equals", "bug"), RouteCase("otherwise")))
>>> [case.label for case in node.cases], node.reads
(['"bug"', 'otherwise'], ('category',))
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

from irgraph import checks
from irgraph.errors import PipelineError, refused_calls
from irgraph.ir.base import (
    _check_children,
    _Drawn,
    _key_tuple,
    _keys,
    _node_tuple,
    _optional_name,
    _scope_depth,
)
from irgraph.ir.functions import FunctionRef
from irgraph.ir.key_paths import optional_key_path, path_root
from irgraph.ir.values import canonical, is_json, json_key, plain

Node = Any  # any IR node class (irgraph.ir.nodes.Node; named here without importing it)

__all__ = ["CASE_KINDS", "RouteCase", "RouteNode"]

#: The kinds of route case: a value the ``on`` key must equal, a predicate, or the default.
CASE_KINDS = ("equals", "test", "otherwise")


def _is_scalar(value: Any) -> bool:
    return value is None or (isinstance(value, (str, int, float, bool)) and is_json(value))


@refused_calls
@attrs.frozen
class RouteCase:
    """When a route takes one branch: its ``on`` key equals ``value`` (``"equals"``), the
    predicate ``value`` of the state holds (``"test"``), or no earlier case held
    (``"otherwise"``)."""

    kind: str = attrs.field(validator=checks.one_of(*CASE_KINDS))
    #: Compared as JSON values (``.when(True)`` is not ``.when(1)``).
    value: Any = attrs.field(default=None, eq=json_key, converter=plain)

    @value.validator
    def _check_value(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        if self.kind == "equals" and not _is_scalar(value):
            raise PipelineError(
                f"A route compares its key with a JSON scalar (a string, number, boolean or "
                f"None), not {value!r} of type {type(value).__name__}.",
                hint="Write .when('bug', branch), or .when(predicate, branch) for anything else.",
            )
        if self.kind == "test" and not isinstance(value, FunctionRef):
            raise PipelineError(
                f"A route's test must be a FunctionRef (got {value!r}).",
                hint="Build it with .when(predicate, branch) on a Route builder.",
            )

    @property
    def label(self) -> str:
        """How diagrams and messages show the case: the value as JSON, the predicate's name,
        or ``otherwise``."""
        if self.kind == "equals":
            return canonical(self.value)
        if self.kind == "test":
            return str(self.value.ref.rpartition(":")[2])
        return "otherwise"


def _case_tuple(value: Any) -> Any:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        return value
    return tuple(value)


@refused_calls
@attrs.frozen
class RouteNode(_Drawn):
    """One branch runs, chosen by the state: the first case that holds (``on`` equals its
    value, or its predicate of the state is true), else the ``otherwise`` case. ``children``
    are the branches, one per case, in the same order."""

    name: str = attrs.field(validator=checks.name.validator)
    children: tuple[Node, ...] = attrs.field(
        default=(), converter=_node_tuple, validator=_check_children
    )
    #: The key compared, or a field of one: ``"verdict.category"`` (:mod:`irgraph.ir.key_paths`).
    on: str | None = attrs.field(default=None, validator=optional_key_path)
    cases: tuple[RouteCase, ...] = attrs.field(default=(), converter=_case_tuple)
    inputs: tuple[str, ...] = attrs.field(default=(), converter=_key_tuple, validator=_keys)
    id: str | None = attrs.field(default=None, validator=_optional_name)
    #: Levels of scopes from this node down (1: its children are all leaves).
    depth: int = attrs.field(init=False, eq=False, repr=False)

    @depth.default
    def _depth(self) -> int:
        return _scope_depth(self)

    @cases.validator
    def _check_cases(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        where = f"Route '{self.name}'"
        if not isinstance(value, tuple) or not all(isinstance(c, RouteCase) for c in value):
            raise PipelineError(
                f"The cases of {where} must be RouteCase values (got {value!r}).",
                node=self.name,
                hint="Build routes with Route(name).on(key).when(value, branch).",
            )
        if len(value) != len(self.children):
            raise PipelineError(
                f"{where} has {len(value)} case(s) for {len(self.children)} branch(es); each "
                "branch needs its case.",
                node=self.name,
                hint="Build routes with Route(name).on(key).when(value, branch).",
            )
        kinds = [case.kind for case in value]
        if "otherwise" in kinds[:-1]:
            raise PipelineError(
                f"{where} has an otherwise branch before its last; no case after it could run.",
                node=self.name,
                hint="Put the otherwise branch last (the Route builder does).",
            )
        if "equals" in kinds and self.on is None:
            raise PipelineError(
                f"{where} compares values but names no key to compare.",
                node=self.name,
                hint="Name the key: Route(name).on('category').when('bug', branch).",
            )

    @property
    def reads(self) -> tuple[str, ...]:
        """The key the route compares, or whose field it compares (its branches' reads are
        their own)."""
        return (path_root(self.on),) if self.on is not None else ()
