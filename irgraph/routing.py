"""The ``Route`` builder: run one of several branches, chosen by the state.

``Route("triage").on("category").when("bug", fix).when("feature", spec).otherwise(reply)``
runs ``fix`` when ``category`` equals ``"bug"``, ``spec`` for ``"feature"``, else ``reply``.
``.when(predicate, branch)`` takes a function of the state instead of a value. The first case
that holds wins; with no ``otherwise`` and no case holding, the run fails naming the value.
A key written on only some branches is *maybe written*: reading it later as ``{key}`` is an
error before the run (see :mod:`irgraph.graph`).

>>> from irgraph import Agent
>>> r = Route("triage").on("category").when("bug", Agent("fix")).otherwise(Agent("reply"))
>>> [case.label for case in r.to_ir().cases]
['"bug"', 'otherwise']
"""

from __future__ import annotations

import math
from typing import Any

from irgraph.builder import Builder, _as_node, _checked_depth, _ir, _items
from irgraph.builder_chain import Chain
from irgraph.errors import PipelineError
from irgraph.ir import FunctionRef, Node, RouteCase, RouteNode, function_ref
from irgraph.ir.functions import predicate_problem
from irgraph.ir.key_paths import KEY_PATH
from irgraph.ir.values import enum_value

__all__ = ["Route"]

_SCALARS = (str, int, float, bool, type(None))


class Route(Builder):
    """Pick one branch by a state key's value (``.on(key).when(value, branch)``) or by a
    predicate of the state (``.when(fn, branch)``), with an ``.otherwise(branch)`` default."""

    _kind = "Route"

    def on(self, key: str) -> Route:
        """The state key whose value ``.when(value, ...)`` cases compare with (one key), or a
        field of the object in one: ``.on("verdict.category")``."""
        earlier = self._config.get("on")
        if earlier is not None and earlier != key:
            raise PipelineError(
                f"Route '{self._name}' already compares '{earlier}' (.on('{earlier}')); a route "
                f"compares one key, and .on('{key}') would silently replace it.",
                node=self._name,
                hint="Keep one .on(...); route on another key with a Route of its own, or "
                "with .when(lambda state: ..., branch).",
            )
        return self._with(on=self._arg(KEY_PATH, "on", key))

    def when(self, condition: Any, branch: Builder | Node) -> Route:
        """Add a branch taken when the ``on`` key equals ``condition`` (a string, number,
        boolean or None), or when ``condition(state)`` is true (a function)."""
        condition = enum_value(condition)  # Severity.HIGH compares as its value, "high"
        if isinstance(condition, FunctionRef) or callable(condition):
            test = function_ref(condition, node=self._name)
            problem = predicate_problem(test, kind="Route", node=self._name)
            if problem is not None:
                raise problem
            case = RouteCase("test", test)
        elif isinstance(condition, float) and not math.isfinite(condition):
            path = str(self._config.get("on") or "n").split(".")
            value = "state" + "".join(f"[{part!r}]" for part in path)
            infinity = "math.inf" if condition > 0 else "-math.inf"  # the test for it, not NaN's
            check = f"math.isnan({value})" if math.isnan(condition) else f"{value} == {infinity}"
            raise PipelineError(
                f"'{self._name}'.when() got {condition!r}, which is no JSON value: a reply can "
                "never equal it.",
                node=self._name,
                hint=f"Compare with a finite number, or use a predicate such as "
                f".when(lambda state: {check}, branch).",
            )
        elif isinstance(condition, _SCALARS):
            case = RouteCase("equals", condition)
        else:
            hint = "Write .when('bug', branch), or .when(lambda state: ..., branch)."
            if isinstance(condition, Builder) and isinstance(branch, _SCALARS):
                hint = (
                    f"The value comes first and the branch second: write .when({branch!r}, "
                    f"{condition!r})."
                )
            raise PipelineError(
                f"'{self._name}'.when() compares with a string, number, boolean or None, or "
                f"takes a predicate of the state (got {condition!r} of type "
                f"{type(condition).__name__}).",
                node=self._name,
                hint=hint,
            )
        node = _as_node(self, "when", branch)
        new = self._with(branches=Chain(self._config.get("branches"), (case, node)))
        return _checked_depth(new)

    def otherwise(self, branch: Builder | Node) -> Route:
        """The branch taken when no ``when`` case holds (always last, wherever written); a
        route has one."""
        node = _as_node(self, "otherwise", branch)
        earlier = self._config.get("_otherwise")
        if earlier is not None:
            first = _items(earlier)[0][1]
            raise PipelineError(
                f"Route '{self._name}' already has an otherwise branch "
                f"({_shown_branch(first)}); a route takes one, and a second would silently "
                "replace it.",
                node=self._name,
                hint="Keep one .otherwise(...); give another branch a case with .when(...).",
            )
        return _checked_depth(self._with(_otherwise=Chain(None, (RouteCase("otherwise"), node))))

    def _pairs(self) -> list[tuple[RouteCase, Builder | Node]]:
        return _items(self._config.get("branches")) + _items(self._config.get("_otherwise"))

    def _nesting(self) -> int:
        deepest = max((_depth_of(node) for _, node in self._pairs()), default=0)
        return 1 + deepest

    def _fields(self) -> dict[str, Any]:
        return {k: v for k, v in self._config.items() if k[0] != "_" and k != "branches"}

    def to_ir(self) -> RouteNode:
        pairs = self._pairs()
        return RouteNode(
            self._name,
            tuple(_ir(node) for _, node in pairs),
            cases=tuple(case for case, _ in pairs),
            **self._fields(),
        )


def _shown_branch(branch: Builder | Node) -> str:
    name = branch.name if isinstance(branch, Builder) else getattr(branch, "name", None)
    return f"'{name}'" if name else type(branch).__name__


def _depth_of(item: Any) -> int:
    if isinstance(item, Builder):
        return item._nesting()
    return int(getattr(item, "depth", 0))
