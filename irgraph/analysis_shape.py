"""How many times each scope of a simulated run runs its body, and which branch each route
takes (:class:`Shape`): what :func:`irgraph.analysis.makespan` and
:func:`~irgraph.analysis.parallelizable` cannot read from the graph.

The counts come per node from ``items=`` (a map-over's items), ``iterations=`` (a loop's) and
``branches=`` (a route's case), else from a finished run, else from the initial state. Each
argument names nodes of its one kind; a name of another kind is refused with the argument it
belongs in (a loop in ``items=`` is pointed to ``iterations=``), and an unknown name with the
closest node names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from irgraph import checks
from irgraph.analysis_runs import Path, run_counts
from irgraph.errors import PipelineError, a_or_an, closest_keys, did_you_mean
from irgraph.ir.key_paths import path_root, path_value
from irgraph.ir.values import same_value

if TYPE_CHECKING:
    import networkx as nx

    from irgraph.events import RunResult

__all__ = ["Shape"]


class Shape:
    """How many times each scope runs its body, and which branch each route takes.

    Per instance of a scope (the node and the path of enclosing iterations and items, as in
    the trace's events), first found in: the counts given per node (``items``,
    ``iterations``, ``branches``, for every instance), the finished run ``run``, the initial
    ``state`` (a map-over whose list is in it and which no node writes; a route comparing
    such a key, or a field of one, by its value there). Otherwise a
    map-over has **one** item, a loop runs ``max_iterations`` and a route takes the branch
    that takes longest (``None``: the simulation picks it).
    """

    def __init__(
        self,
        G: nx.DiGraph,
        *,
        items: Mapping[str, int] | None = None,
        iterations: Mapping[str, int] | None = None,
        branches: Mapping[str, str | int] | None = None,
        state: Mapping[str, Any] | None = None,
        run: RunResult | None = None,
    ) -> None:
        self.G = G
        self.given: dict[str, Any] = {}
        for label, counts, kind in (
            ("items", items, "map_over"),
            ("iterations", iterations, "loop"),
            ("branches", branches, "route"),
        ):
            for node, value in _checked_mapping(G, counts, label, kind).items():
                if kind == "route":
                    self.given[node] = _case_index(G, node, value)
                elif kind == "loop":
                    self.given[node] = _iterations(G, node, value)
                else:
                    hint = f"Give how many items it runs over as an int: items={{{node!r}: 3}}."
                    rule = attrs.evolve(checks.count(0), hint=hint)
                    self.given[node] = rule.check(value, f"the {label} of {node!r}", node=node)
        self.seen: dict[tuple[str, Path], int] = {} if run is None else run_counts(G, run)
        self.lists: dict[str, int] = {}
        self.branch: dict[str, int] = {}  # a route on a key of state=: the case it takes
        if state is not None:
            _check_state(G, state)
            written = {k for _, data in G.nodes(data=True) for k in data.get("writes", ())}
            written |= {item for _, item in G.nodes(data="item") if item}  # an item's name
            for node, data in G.nodes(data=True):
                over = data.get("over")
                if data["kind"] != "map_over" or node in self.given:
                    continue
                if over is None or path_root(over) in written:
                    continue
                if any(seen == node for seen, _ in self.seen):  # counted in the run
                    continue
                at = "state" + "".join(f"[{name!r}]" for name in over.split("."))
                if path_root(over) not in state:
                    raise PipelineError(
                        f"MapOver '{node}' iterates over '{over}', which state= does not "
                        "hold and no step writes: a run with this state would be refused, "
                        f"so its number of items is unknown.{did_you_mean(path_root(over), state)}",
                        node=node,
                        key=path_root(over),
                        hint=f"Put the list in {at}, or give items={{'{node}': n}}.",
                    )
                value = path_value(state, over)[1]
                if not isinstance(value, (list, tuple)):
                    raise PipelineError(
                        f"MapOver '{node}' iterates over '{over}', and state= holds a "
                        f"{type(value).__name__} there, not a list: a run would fail "
                        "before its first item.",
                        node=node,
                        key=path_root(over),
                        hint=f"Put a list in {at}, or give items={{'{node}': n}}.",
                    )
                self.lists[node] = len(value)
            self.branch = _branches_by_state(G, state, written | set(self.given))

    def count(self, node: str, path: Path) -> int | None:
        """Items of a map-over, iterations of a loop, the branch index of a route (``None``:
        the longest) at this instance."""
        if node in self.given:
            return int(self.given[node])
        if (node, path) in self.seen:
            return self.seen[node, path]
        data = self.G.nodes[node]
        if data["kind"] == "loop":
            return int(data["max_iterations"] or 1)
        if data["kind"] == "map_over":
            return self.lists.get(node, 1)
        return self.branch.get(node)

    def most(self, node: str) -> int:
        """The largest count of ``node`` over its instances (1 for a route)."""
        if self.G.nodes[node]["kind"] == "route":
            return 1
        found = [c for (n, _), c in self.seen.items() if n == node]
        return max([self.count(node, ()) or 0, *found])


def _check_state(G: nx.DiGraph, state: Any) -> None:
    """Refuse a ``state=`` that is no mapping (a list of keys, the name of one), naming the
    keys the analysis reads from it."""
    if isinstance(state, Mapping):
        return
    read = [path_root(d["over"]) for _, d in G.nodes(data=True) if d["kind"] == "map_over"]
    read += [path_root(on) for _, on in G.nodes(data="on") if on]
    example = ", ".join(f"{key!r}: ..." for key in dict.fromkeys(read)) or "'topic': 'owls'"
    raise PipelineError(
        f"state= must be the initial state, a dict of state key -> value (got "
        f"{type(state).__name__} {state!r:.60}); the analysis reads the lists map-overs iterate "
        "over and the values routes compare from it.",
        hint=f"Pass the dict a run would take: state={{{example}}}.",
    )


def _branches_by_state(G: nx.DiGraph, state: Mapping[str, Any], skip: set[str]) -> dict[str, int]:
    """The case each route takes by ``state``, the initial state, when it compares a key (or
    a field of one) that no node writes and ``state`` holds: the first value case equal to it,
    or the ``otherwise``; not known when a predicate comes first (only a run can tell)."""
    chosen: dict[str, int] = {}
    for node, data in G.nodes(data=True):
        on = data.get("on") if data["kind"] == "route" else None
        if on is None or node in skip or path_root(on) in skip or path_root(on) not in state:
            continue
        found, value = path_value(state, on)
        for index, case in enumerate(data["cases"]):
            if "equals" in case and not (found and same_value(case["equals"], value)):
                continue
            if "test" not in case:
                chosen[node] = index
            break
    return chosen


#: Each argument that counts a kind of node, and what it gives each such node.
_ARGUMENTS = {
    "map_over": ("items", "a map-over its number of items", "n"),
    "loop": ("iterations", "a loop its number of iterations", "n"),
    "route": ("branches", "a route the case it takes", "CASE"),
}


def _checked_mapping(
    G: nx.DiGraph, counts: Mapping[str, Any] | None, label: str, kind: str
) -> Mapping[str, Any]:
    if counts is None:
        return {}
    if not isinstance(counts, Mapping):
        raise PipelineError(
            f"{label} must be a dict of node id -> value (got {counts!r} of type "
            f"{type(counts).__name__}).",
            hint=f"e.g. {label}={{'my_node': 3}}.",
        )
    nodes = [str(n) for n, data in G.nodes(data=True) if data["kind"] == kind]
    for node, value in counts.items():
        if node not in nodes:
            raise _misplaced(G, str(node), value, label, kind, nodes)
    return counts


def _misplaced(
    G: nx.DiGraph, node: str, value: Any, label: str, kind: str, nodes: list[str]
) -> PipelineError:
    """The refusal of ``label=`` naming ``node``, no node of its ``kind``: a node of another
    kind is pointed to the argument that counts it (or the scope around it that ``label=``
    counts), an unknown name to the closest names."""
    word = kind.replace("_", "-")
    listed = f"Its {word}s: {', '.join(nodes) or 'none'}."
    if node in G:
        other = G.nodes[node]["kind"]
        said = f"{label} names {node!r}, which is {a_or_an(other)} {other.replace('_', '-')}"
        if other in _ARGUMENTS:
            right, gives, example = _ARGUMENTS[other]
            count = value if right != "branches" and _whole(value) else example
            return PipelineError(
                f"{said}, not {a_or_an(word)} {word}: {label}= gives {_ARGUMENTS[kind][1]}, "
                f"and {right}= gives {gives}.",
                node=node,
                hint=f"Give it in {right}= instead: {right}={{{node!r}: {count}}}"
                + (" (a case's value, label or index)." if right == "branches" else "."),
            )
        inner, around = node, G.nodes[node]["parent"]
        while around is not None and G.nodes[around]["kind"] != kind:
            inner, around = around, G.nodes[around]["parent"]
        if around is not None:
            count = value if _whole(value) else _ARGUMENTS[kind][2]
            if kind == "route":  # the case whose branch holds the node
                case = G.nodes[around]["cases"][G.nodes[inner]["branch"]]
                count = repr(case["equals"] if "equals" in case else case["label"])
            return PipelineError(
                f"{said}, not {a_or_an(word)} {word}; it runs inside {word} {around!r}, and "
                f"{label}= names the {word} itself.",
                node=node,
                hint=f"Name the {word}: {label}={{{around!r}: {count}}}.",
            )
        return PipelineError(f"{said}, not {a_or_an(word)} {word}.", node=node, hint=listed)
    meant = did_you_mean(node, nodes)
    if not meant:  # a node of another kind named nearly: the argument it belongs in too
        for other, (right, _, example) in _ARGUMENTS.items():
            close = closest_keys(node, (str(n) for n, k in G.nodes(data="kind") if k == other))
            if close and other != kind:
                count = value if right != "branches" and _whole(value) else example
                meant = (
                    f" Did you mean {other.replace('_', '-')} {close[0]!r}? It is counted by "
                    f"{right}=: {right}={{{close[0]!r}: {count}}}."
                )
                break
    return PipelineError(
        f"{label} names {node!r}, which is not {a_or_an(word)} {word} of the pipeline.{meant}",
        node=node,
        hint=listed,
    )


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _iterations(G: nx.DiGraph, node: str, value: Any) -> int:
    """A loop's given iteration count: a loop runs its body at least once and at most
    ``max_iterations`` times."""
    most = int(G.nodes[node]["max_iterations"] or 1)
    hint = f"Give iterations={{'{node}': n}} with n from 1 to {most}, an int."
    rule = attrs.evolve(checks.integer, hint=hint)
    count = rule.check(value, f"the iterations of {node!r}", node=node)
    if not 1 <= count <= most:
        raise PipelineError(
            f"Loop '{node}' runs its body 1 to {most} times (max_iterations={most}), so it "
            f"cannot run {count} iterations.",
            node=node,
            hint=f"Give iterations={{'{node}': n}} with n from 1 to {most}, or raise "
            "the loop's max_iterations.",
        )
    return int(count)


def _case_index(G: nx.DiGraph, node: str, value: Any) -> int:
    """The index of the case of route ``node`` named by ``value``: its label (``'"bug"'``),
    its index, or the value it compares (``"bug"``, as ``.when("bug", ...)`` wrote it)."""
    cases = G.nodes[node]["cases"]
    labels = [str(case.get("label", "")) for case in cases]
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(labels):
        return value
    if value in labels:
        return labels.index(value)
    for index, case in enumerate(cases):
        if "equals" in case and same_value(case["equals"], value):
            return index
    values = [case["equals"] for case in cases if "equals" in case]
    close = did_you_mean(str(value), [str(v) for v in values if isinstance(v, str)] + labels)
    listed = ", ".join(f"{index}: {label}" for index, label in enumerate(labels))
    example = repr(values[0]) if values else "0"
    raise PipelineError(
        f"branches names {value!r} for route {node!r}, which has no such case.{close}",
        node=node,
        hint=f"Name a case by its label, its value or its index (of {listed}): "
        f"branches={{{node!r}: {example}}}.",
    )
