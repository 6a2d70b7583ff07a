"""How the graph walk (:mod:`irgraph.graph`) handles a route, and finds who wrote a key.

A route is a scope whose body is its branches; each branch walks on a private layer of the
environment (exactly one runs, so branches never race), its nodes carry the ``branch`` index,
and the route's edge to each branch entry carries the case's ``condition``. After the route,
a key written on every branch is written; one written on some is *maybe written*: data edges
come from every possible writer, and a later required read is recorded in
``G.graph["maybe_written"]`` unless something wrote the key before the route (or it is an
input), for :func:`irgraph.validate` to report or a run's initial state to supply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from irgraph.ir import FunctionRef, Node, RouteNode
from irgraph.ir.values import ValueIndex
from irgraph.walk import INPUT, Env, Summary

if TYPE_CHECKING:
    import networkx as nx

    from irgraph.errors import Problem


__all__ = ["Walker", "walk_route", "lookup", "partial", "writers"]


class Walker(Protocol):
    """What the route and scope walks (this module, :mod:`irgraph.graph_scopes`) need of the
    graph walker (:class:`irgraph.graph._Walker`)."""

    G: nx.DiGraph
    added: list[str]
    problems: list[Problem]
    alternatives: dict[tuple[str, str], list[str]]
    maybe: dict[tuple[str, str], tuple[str, list[str]]]
    body_reads: dict[str, dict[str, bool]]
    exits: dict[str, list[str]]
    types: Any  # the walk's irgraph.typing_rules.TypeRules
    warnings: list[str]
    functions: dict[str, Any]  # transform id -> its function, when built in Python

    def walk(self, node: Node, env: Env, parent: str | None) -> Summary: ...
    def sequence(self, children: Any, env: Env, parent: str | None) -> Summary: ...
    def open_scope(self, node: Any, parent: str | None) -> str: ...
    def bind(self, reader: str, key: str, env: Env, optional: bool) -> None: ...
    def control(self, sources: list[str], targets: list[str]) -> None: ...
    def write(self, env: Env, key: str, writer: str, by: str | None = None) -> None: ...
    def problem(self, message: str, **where: Any) -> None: ...
    def importable(self, nid: str, ref: FunctionRef) -> None: ...
    def predicate(self, nid: str, ref: FunctionRef, kind: str) -> None: ...
    def empty(self, node: Any, kind: str, what: str, fix: str, nid: str | None = None) -> None: ...


def walk_route(w: Walker, node: RouteNode, env: Env, parent: str | None) -> Summary:
    """A route's branches each walk on a private layer (one runs, so they never race);
    after it, a key written on every branch is written, and one written on some is
    *maybe written*: data edges come from every possible writer, and a later required
    read of it is a problem unless something wrote it before the route."""
    sid = w.open_scope(node, parent)
    if not node.children:
        w.empty(node, "Route", "branches", ".when(value, step) or .otherwise(step)", sid)
    reads: dict[str, str] = {}
    if node.on is not None:  # (a field's route reads its key: verdict of verdict.category)
        key = node.reads[0]
        w.bind(sid, key, env, optional=False)
        reads[key] = sid
    _route_cases(w, sid, node)
    labels = [case.label for case in node.cases]
    layers: list[dict[str, str]] = []
    exits: list[str] = []
    trees: list[Any] = []
    G = w.G
    for index, child in enumerate(node.children):
        layer = Env(env, scope=sid)
        first = len(w.added)
        part = w.walk(child, layer, sid)
        for nid in w.added[first:]:
            if G.nodes[nid]["parent"] == sid:
                G.nodes[nid]["branch"] = index
        w.control([sid], part.entries)
        for entry in part.entries:
            G.edges[sid, entry]["condition"] = labels[index]
        exits += part.exits
        trees.append(part.tree)
        layers.append(layer.local)
    w.exits[sid] = exits
    w.types.route_on(sid, node)
    written = sorted({key for layer in layers for key in layer})
    G.nodes[sid]["writes"] = written
    for key in written:
        writers = [layer[key] for layer in layers if key in layer]
        before = lookup(key, env)
        if all(key in layer and not partial(w, layer[key], key, before) for layer in layers):
            w.write(env, key, writers[0], by=sid)
            others = writers[1:]
        else:  # a branch may leave the key as it was: no overwrite
            env.local[key] = writers[0]
            others = writers[1:] + ([before] if before is not None else [])
            missing = [labels[i] for i, layer in enumerate(layers) if key not in layer]
            if before is None:  # may be unset: name the branches, or the nested route
                inner = (w.maybe.get((layer[key], key)) for layer in layers if key in layer)
                w.maybe[(writers[0], key)] = (
                    (sid, missing) if missing else next(filter(None, inner))
                )
        if others:  # added to what a route inside a branch recorded, not in its place
            known = w.alternatives.setdefault((writers[0], key), [])
            known += [other for other in others if other not in known]
    reads.update({key: sid for key in w.body_reads[sid]})
    tree = {"node": sid, "children": trees}
    return Summary([sid], [sid], reads, {key: sid for key in written}, tree)


def _route_cases(w: Walker, sid: str, node: RouteNode) -> None:
    """Problems of a route's cases themselves: a value compared twice, a predicate that
    cannot be saved; and the warning for predicates only, with no otherwise (a run in which
    none holds fails at the route)."""
    if node.cases and all(case.kind == "test" for case in node.cases):
        tests = ", ".join(case.label for case in node.cases)
        w.warnings.append(
            f"Route '{sid}' has only predicate branches ({tests}) and no otherwise, so the "
            "run fails if none of them holds; add .otherwise(step) for that case."
        )
    seen = ValueIndex()  # the first case of each value
    for case in node.cases:
        if case.kind == "test":
            w.predicate(sid, case.value, "Route")
        elif case.kind == "equals":
            # Compared as a run compares them, as JSON values: 1 and 1.0 are one value.
            first = seen.add(case.value, case)
            if first is not case:
                same = (
                    ""
                    if first.label == case.label
                    else f" (as JSON values, {first.label} equals {case.label})"
                )
                w.problem(
                    f"Route '{node.name}' has two branches for {case.label}{same}; only the "
                    "first could ever run.",
                    node=sid,
                    hint="Give each value one branch (merge the two, or change a value).",
                )


def partial(w: Walker, writer: str, key: str, before: str | None) -> bool:
    """Whether ``writer``, the last writer of ``key`` in a branch, may stand for a path that
    left the key as it was before (``before``, or unset): a route in the branch writes it on
    only some of its branches."""
    if (writer, key) in w.maybe:
        return True
    seen, todo = {writer}, list(w.alternatives.get((writer, key), ()))
    while todo and before is not None:
        other = todo.pop()
        if other == before:
            return True
        if other not in seen:
            seen.add(other)
            todo += w.alternatives.get((other, key), ())
    return False


def lookup(key: str, env: Env) -> str | None:
    """The nearest writer of ``key`` from ``env`` outward (``INPUT`` for an input), or
    ``None``; a map-over's item counts as written."""
    layer: Env | None = env
    while layer is not None:
        writer = layer.local.get(key)
        if writer is not None:
            return writer
        if layer.scope is not None and layer.item == key:
            return layer.scope
        layer = layer.parent
    return None


def writers(w: Walker, key: str, env: Env) -> list[str]:
    """Every node that may have written the value of ``key`` a reader at ``env`` sees: the
    nearest writer and, transitively, its alternatives (routes one after another that each
    write the key on some branches)."""
    writer = lookup(key, env)
    if writer is None or writer == INPUT:
        return []
    found = [writer]
    for one in found:  # grows as it goes
        found += [other for other in w.alternatives.get((one, key), ()) if other not in found]
    return [writer for writer in found if writer != INPUT]


def partly_collected(w: Walker, sid: str, key: str, body: Env) -> str | None:
    """Why a map-over ``sid`` cannot always collect ``key`` from an item, when a route in its
    body writes it on only some branches (an item's own value is what is collected, so a
    value from outside the map-over does not count), else ``None``."""
    writer = body.local.get(key)
    if writer is None:
        return None
    maybe = w.maybe.get((writer, key))
    outside = [
        other
        for other in w.alternatives.get((writer, key), ())
        if other == INPUT or not _inside(w, other, sid)
    ]
    if maybe is None and not outside:
        return None
    nodes = w.G.nodes
    route = (
        maybe[0]
        if maybe
        else next((p for p in _parents(w, writer) if nodes[p]["kind"] == "route"), writer)
    )
    return (
        f"its body writes '{key}' only on some branches of route '{route}', so an item "
        f"could end with nothing to collect; write it on every branch of '{route}', or collect "
        "a key every item writes"
    )


def _parents(w: Walker, node: str) -> list[str]:
    found = []
    parent = w.G.nodes[node]["parent"]
    while parent is not None:
        found.append(parent)
        parent = w.G.nodes[parent]["parent"]
    return found


def _inside(w: Walker, node: str, scope: str) -> bool:
    return scope in _parents(w, node)
