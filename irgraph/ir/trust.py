"""Which functions a pipeline read from data may run.

A pipeline built in Python runs the functions its code names. A pipeline read from a JSON file
or a saved graph names functions by import path, and importing a path runs code, so those
paths are imported only from modules the caller allows (``allow=[...]`` on load or run,
``--allow-module`` on the command line). These walks widen what a loaded pipeline may import
and list what it may not, naming each node, before anything runs.

>>> from irgraph.ir import from_json
>>> loaded = from_json('{"format": "irgraph-ir", "version": 1, "root": {"kind": '
...     '"TransformNode", "name": "t", "fn": {"function": "os:system"}, "reads": ["cmd"]}}')
>>> [problem.node for problem in refused_functions(loaded)]
['t']
>>> refused_functions(with_allowed(loaded, ["os"]))
[]
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

from irgraph.errors import PipelineError, Problem, refused_calls
from irgraph.ir.functions import (
    FunctionRef,
    allowing,
    misspelt_as,
    predicate_problem,
    refusal,
    resolve_function,
    transform_call_problem,
)
from irgraph.ir.nodes import LoopNode, Node, RouteCase, RouteNode, TransformNode

__all__ = [
    "refused_functions",
    "unimportable_functions",
    "unrunnable_functions",
    "with_allowed",
    "functions_of",
    "unused_modules",
    "misspelt_modules",
]


def functions_of(node: Node) -> list[tuple[str, FunctionRef]]:
    """Every function ``node``'s tree calls, as ``(node name, ref)`` in reading order."""
    return [(name, ref) for name, ref, _ in _calls_of(node)]


@refused_calls
def refused_functions(node: Node) -> list[Problem]:
    """One problem per module whose functions the pipeline names but may not import (see
    :attr:`FunctionRef.permitted`), naming each step that calls one; empty for a pipeline
    built in Python."""
    by_module: dict[str, list[tuple[str, FunctionRef]]] = {}
    for name, ref in functions_of(node):
        if not ref.permitted:
            by_module.setdefault(ref.module, []).append((name, ref))
    problems: list[Problem] = []
    for calls in by_module.values():
        (name, ref), *more = calls
        problems += refusal(ref, name, [(n, r.ref) for n, r in more]).problems
    return problems


def unimportable_functions(node: Node) -> list[Problem]:
    """One problem per function the pipeline may import but cannot (its module or name is
    missing, or the module fails), or that its node cannot call (a transform's parameters
    against its reads, a predicate taking other than the state): found before anything runs
    rather than when its node is reached after others paid for their model calls. Importing
    runs the allowed modules' code, as the run would; a pipeline built in Python (its
    functions in hand, checked where they were given) imports and checks nothing here."""
    problems: list[Problem] = []
    for name, ref, call in _calls_of(node):
        if ref.fn is not None or not ref.permitted:
            continue
        try:
            fn = resolve_function(ref)
        except PipelineError as error:
            why = error.problems[0]
            problems.append(
                Problem(
                    f"'{name}' calls {ref.ref!r}, which cannot be imported: {why.message}",
                    node=name,
                    hint=why.hint,
                )
            )
            continue
        if isinstance(call, tuple):  # a transform's reads
            problem = transform_call_problem(name, fn, call)
            if problem is not None:
                problems.append(problem)
        else:
            refused = predicate_problem(ref, kind=call, node=name)
            if refused is not None:
                problems += refused.problems
    return problems


def _calls_of(node: Node) -> list[tuple[str, FunctionRef, tuple[str, ...] | str]]:
    """Each function of ``node``'s tree with how it is called: a transform's reads, or the
    kind (``"Route"``, ``"Loop"``) of the predicate."""
    found: list[tuple[str, FunctionRef, tuple[str, ...] | str]] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, TransformNode):
            found.append((current.name, current.fn, current.reads))
        elif isinstance(current, LoopNode) and isinstance(current.until, FunctionRef):
            found.append((current.name, current.until, "Loop"))
        elif isinstance(current, RouteNode):
            found += [(current.name, c.value, "Route") for c in current.cases if c.kind == "test"]
        stack.extend(reversed(getattr(current, "children", ())))
    return found


def unrunnable_functions(node: Node) -> list[Problem]:
    """:func:`refused_functions` and :func:`unimportable_functions`: what a run here would
    refuse, for ``irgraph check`` to warn of."""
    return refused_functions(node) + unimportable_functions(node)


def unused_modules(node: Node, modules: Iterable[str]) -> list[str]:
    """The ``modules`` (in order, once each) that no function of ``node``'s tree is in, nor in
    a module under them: allowing them changes nothing.

    >>> from irgraph import Transform
    >>> step = Transform("t", "os.path:basename").to_ir()
    >>> unused_modules(step, ["os", "json", "os.path"])
    ['json']
    """
    called = {ref.module for _, ref in functions_of(node)}
    return [
        name
        for name in dict.fromkeys(modules)
        if not any(module == name or module.startswith(f"{name}.") for module in called)
    ]


def misspelt_modules(node: Node) -> set[str]:
    """The allowed modules that :func:`refused_functions`' problems name as a refused module
    misspelt: their refusal already says so.

    >>> from irgraph.ir import from_json
    >>> loaded = from_json('{"format": "irgraph-ir", "version": 1, "root": {"kind": '
    ...     '"TransformNode", "name": "t", "fn": {"function": "os.path:basename"}}}')
    >>> misspelt_modules(with_allowed(loaded, ["os.pth", "json"]))
    {'os.pth'}
    """
    refused = (ref for _, ref in functions_of(node) if not ref.permitted)
    return {near for ref in refused if (near := misspelt_as(ref)) is not None}


@refused_calls
def with_allowed(node: Node, modules: Iterable[str]) -> Node:
    """``node``'s tree with ``modules`` added to what its loaded functions may import.

    Returns ``node`` itself when nothing changes (no modules, or a pipeline built in Python).
    """
    extra = frozenset(modules)
    if not extra or not any(ref.allow is not None for _, ref in functions_of(node)):
        return node
    # Rebuild bottom-up without recursion: children before their parents.
    order: list[Node] = []
    stack = [node]
    while stack:
        current = stack.pop()
        order.append(current)
        stack.extend(getattr(current, "children", ()))
    rebuilt: dict[int, Node] = {}
    for current in reversed(order):
        changes: dict[str, Any] = {}
        if isinstance(current, TransformNode):
            changes["fn"] = allowing(current.fn, extra)
        elif isinstance(current, LoopNode) and isinstance(current.until, FunctionRef):
            changes["until"] = allowing(current.until, extra)
        elif isinstance(current, RouteNode):
            changes["cases"] = tuple(
                RouteCase("test", allowing(c.value, extra)) if c.kind == "test" else c
                for c in current.cases
            )
        if hasattr(current, "children"):
            changes["children"] = tuple(rebuilt[id(c)] for c in current.children)
        rebuilt[id(current)] = attrs.evolve(current, **changes) if changes else current
    return rebuilt[id(node)]
