"""A graph's function references and route cases read back, refused by node and attribute
when they are not the plain data :func:`irgraph.to_graph` writes.

A transform's ``function``, a loop's ``until_function`` and a route's ``test`` cases are
import paths as text; a route's ``cases`` is a list of one dict per branch. A graph edited by
hand (or a file written by another tool) may hold anything there: a number where the path
goes, a case written as the bare value ``"bug"``. Read as they come, those failed far from
the edit (a ``TypeError`` from the IR) or, worse, read as something else (any dict without
``equals`` or ``test`` was an ``otherwise``). So each is checked here, where it is read.

>>> route_cases("triage", ["bug"], frozenset())
Traceback (most recent call last):
...
irgraph.errors.PipelineError: Case 0 of route 'triage' in the graph is 'bug' (a str), ...
"""

from __future__ import annotations

import json
from typing import Any

from irgraph.errors import PipelineError, a_or_an
from irgraph.ir import FunctionRef, RouteCase

__all__ = ["function_ref", "route_cases"]

#: What a case of a route's ``cases`` attribute looks like, for the messages.
CASE_SHAPES = (
    '{"equals": value, "label": ...}, {"test": "module:qualname", "label": ...} or '
    '{"otherwise": true, "label": "otherwise"}'
)

_FUNCTION_ROLES = {
    "function": ("a transform's function is", "the transform its function"),
    "until_function": ("a loop's until_function (when it is not None) is", "the loop .until(fn)"),
}


def _shown(value: Any) -> str:
    text = repr(value)
    kind = type(value).__name__
    return f"{text if len(text) <= 60 else text[:57] + '...'} ({a_or_an(kind)} {kind})"


def function_ref(node: str, attribute: str, ref: Any, allow: frozenset[str]) -> FunctionRef:
    """The function the attribute ``attribute`` of graph node ``node`` names by ``ref``,
    refused unless ``ref`` is text."""
    if not isinstance(ref, str):
        role, builder = _FUNCTION_ROLES[attribute]
        raise PipelineError(
            f"Node {node!r} of the graph has {attribute}={_shown(ref)}, but {role} the "
            "import path of a function as text, 'module:qualname' (such as 'builtins:len').",
            node=node,
            hint=f"Set it as text: G.nodes[{node!r}][{attribute!r}] = 'module:qualname', or "
            f"give {builder} in the builder and build the graph again with to_graph.",
            expected="an import path as text",
            got=ref,
        )
    return FunctionRef(ref, allow=allow)


def route_cases(node: str, cases: Any, allow: frozenset[str]) -> tuple[RouteCase, ...]:
    """The cases of route ``node`` from its ``cases`` attribute: a list of one dict per
    branch, in order, each naming one kind of case."""
    if not isinstance(cases, (list, tuple)):
        raise PipelineError(
            f"Node {node!r} of the graph has cases={_shown(cases)}, but a route's cases are a "
            f"list with one case per branch, each {CASE_SHAPES}.",
            node=node,
            hint="Rebuild the graph with to_graph; to change a route's cases, change them in "
            "the builder (Route(name).on(key).when(value, branch)).",
            expected="a list of route cases",
            got=cases,
        )
    return tuple(_case(node, index, case, allow) for index, case in enumerate(cases))


def _case(node: str, index: int, case: Any, allow: frozenset[str]) -> RouteCase:
    kinds = [kind for kind in _KINDS if isinstance(case, dict) and kind in case]
    kind = kinds[0] if len(kinds) == 1 else None
    if kind == "equals" and _scalar(case["equals"]):
        return RouteCase("equals", case["equals"])
    if kind == "test" and isinstance(case["test"], str):
        return RouteCase("test", FunctionRef(case["test"], allow=allow))
    if kind == "otherwise" and case["otherwise"] is True:
        return RouteCase("otherwise")
    said = "holds " + " and ".join(kinds) if len(kinds) > 1 else f"is {_shown(case)}"
    if kind == "equals":
        said += ", whose value is no JSON scalar (a string, number, boolean or None)"
    meant = f' (for the value {case!r}: {{"equals": {json.dumps(case)}}})' if _scalar(case) else ""
    raise PipelineError(
        f"Case {index} of route {node!r} in the graph {said}, but a case is one of {CASE_SHAPES}.",
        node=node,
        hint=f"Write the case in one of those shapes{meant}, or rebuild the graph with to_graph "
        "from a Route built with .when(value, branch), .when(predicate, branch) and "
        ".otherwise(branch).",
        expected="a route case",
        got=case,
    )


_KINDS = ("equals", "test", "otherwise")


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))
