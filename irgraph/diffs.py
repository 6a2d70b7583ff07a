"""Differences between two pipeline graphs that do not lie: nodes paired by structure, so ids
that shift when a node is inserted are not reported as changes.

>>> from irgraph import Agent, to_graph
>>> old = Agent("a").instruct("x").writes("k") >> Agent("b").instruct("{k}")
>>> new = Agent("a").instruct("x").writes("k") >> Agent("b").instruct("{k}!")
>>> diff(to_graph(old), to_graph(new)).changed
{'b': ['instruction']}
"""

from __future__ import annotations

import difflib
import json
from typing import TYPE_CHECKING, Any

import attrs

from irgraph.diffs_moves import moves
from irgraph.diffs_parts import changed_parts
from irgraph.diffs_pipeline import pipeline_fields
from irgraph.errors import keyword_options
from irgraph.ir.functions import FunctionRef
from irgraph.ir.routes import RouteCase
from irgraph.ir.values import json_key, same_value
from irgraph.schema import settings

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["GraphDiff", "diff", "match_nodes"]


def _graph(G_or_pipeline: Any) -> nx.DiGraph:
    """The graph to compare: ``G`` itself, the graph of a builder or IR node, or the graph a
    compiled pipeline holds."""
    from irgraph.analysis_schedule import analysed_graph

    return analysed_graph(G_or_pipeline, "diff")


@attrs.frozen
class GraphDiff:
    """What changed from one pipeline graph to another."""

    added: list[str]
    removed: list[str]
    changed: dict[str, list[str]]
    edges_added: list[tuple[str, str]]
    edges_removed: list[tuple[str, str]]
    keys_added: list[str]
    keys_removed: list[str]
    new: Any = attrs.field(repr=False, eq=False)
    old: Any = attrs.field(repr=False, eq=False)
    #: For each node ``changed`` lists as moved (``parent``, ``branch``, ``order``), by new id:
    #: each of those fields' old and new place, as the text shows them.
    moves: dict[str, dict[str, tuple[str, str]]] = attrs.field(factory=dict)
    #: Kept nodes whose new id named another node before, or whose old id names another
    #: node now (new id -> old id): a node removed or added before them shifted their number
    #: (``w#3`` is now ``w#2``, or ``w`` is now ``w#2``).
    renumbered: dict[str, str] = attrs.field(factory=dict)
    #: Kept edges (by new ids) whose kind (``control``: a control edge or one that only
    #: carries data), ``keys`` or route ``condition`` changed: each field's old and new
    #: value as text (``keys (none -> draft)``).
    edges_changed: dict[tuple[str, str], dict[str, tuple[str, str]]] = attrs.field(factory=dict)
    #: For each changed node whose name (``label``), ``kind`` or a short setting changed, by
    #: new id: the old and new value, as the text shows them (``~ node z: label (b -> z)``,
    #: a rename; ``max_iterations (3 -> 5)``; a longer object setting by the parts of it that
    #: changed, ``output (properties.n.type="string" -> properties.n.type="integer")``, or
    #: ``output (free text -> JSON Schema)``; a setting whose change is longer still is named
    #: without its values).
    values: dict[str, dict[str, tuple[str, str]]] = attrs.field(factory=dict)
    #: What changed of the pipeline itself, old and new as text: the ``inputs`` a root block
    #: declares, and the names (and pinned ids) of its sequences and parallel blocks, which
    #: are no nodes (``~ pipeline: inputs (t -> t, u)``, ``parallel #2 (fan -> fan2)``).
    pipeline: dict[str, tuple[str, str]] = attrs.field(factory=dict)

    @property
    def empty(self) -> bool:
        """Whether nothing changed (``bool(change)`` is its opposite)."""
        return not (
            self.added
            or self.removed
            or self.changed
            or self.edges_added
            or self.edges_removed
            or self.edges_changed
            or self.keys_added
            or self.keys_removed
            or self.pipeline
        )

    def __bool__(self) -> bool:
        """True when something changed, so ``if diff(old, new):`` asks what it reads as."""
        return not self.empty

    def __str__(self) -> str:
        if self.empty:
            return "No differences."
        moves = {_shown(n): found for n, found in self.moves.items()}

        def field(node: str, name: str) -> str:
            found = {**self.values.get(node, {}), **moves.get(_shown(node), {})}
            old, new = found.get(name, (None, None))
            return name if old is None else f"{name} ({old} -> {new})"

        lines = [f"~ pipeline: {f} ({old} -> {new})" for f, (old, new) in self.pipeline.items()]
        lines += [f"+ node {_shown(n)}" for n in self.added]
        lines += [f"- node {_shown(n)}" for n in self.removed]
        lines += [
            f"~ node {_shown(n)}: {', '.join(field(n, f) for f in fields)}"
            for n, fields in self.changed.items()
        ]
        lines += [
            f"~ node {_shown(n)}: id ({_shown(o)} -> {_shown(n)})"
            for n, o in self.renumbered.items()
        ]
        lines += [f"+ edge {_shown(u)} -> {_shown(v)}" for u, v in self.edges_added]
        lines += [f"- edge {_shown(u)} -> {_shown(v)}" for u, v in self.edges_removed]
        lines += [
            f"~ edge {_shown(u)} -> {_shown(v)}: "
            + ", ".join(f"{f} ({old} -> {new})" for f, (old, new) in fields.items())
            for (u, v), fields in self.edges_changed.items()
        ]
        lines += [f"+ key {k}" for k in self.keys_added] + [f"- key {k}" for k in self.keys_removed]
        return "\n".join(lines)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """In Jupyter and IPython, the lines ``print`` gives, not the fields."""
        printer.text(str(self))


#: A changed setting whose old and new values both print within this many characters is
#: shown with them (``max_iterations (3 -> 5)``); a longer one by its name alone.
_SHORT = 60


def _setting_text(name: str, value: Any) -> str:
    """A setting's value as a diff line shows it: a loop's stop value as JSON (``"1"`` and
    ``1`` apart; ``truthy`` when it stops on any true value), a route's cases by their labels
    (``"bug", otherwise``), a list of keys as the pipeline's inputs show (``t, u``; ``none``),
    anything else as JSON (a string quoted)."""
    if name == "until_equals":
        return _json_text(value[0]) if value else "truthy"
    if name == "cases":  # by their labels, as the route's edges show them: "bug", otherwise
        return _shown(", ".join(case.label for case in value))
    if isinstance(value, tuple) and all(isinstance(v, str) for v in value):
        return _shown(", ".join(value) or "none")
    return _json_text(value)


def _json_text(value: Any) -> str:
    return _shown(json.dumps(value, sort_keys=True, ensure_ascii=False, default=_plain))


def _plain(value: Any) -> Any:
    """A part of a setting that is no JSON, as the graph holds it: a function by its import
    path, a route case as ``{"equals": value}``, ``{"test": path}`` or ``{"otherwise": true}``."""
    if isinstance(value, FunctionRef):
        return value.ref
    if isinstance(value, RouteCase):
        # A value case's value is JSON already: 1 and "1" must not both print as "1".
        shown = value.value if value.kind == "equals" else _plain(value.value)
        return {value.kind: True if value.kind == "otherwise" else shown}
    return str(value)


def _shown(name: str) -> str:
    """A node id as a line shows it: as it is, or its ``repr`` when it does not print (the
    command line's rule, so a line stays one line)."""
    return name if name.isprintable() else repr(name)


def _edge_fields(old: dict[str, Any], new: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """How a kept edge changed: whether it orders its nodes (``control``), the state keys
    that flow along it (``keys``: a reader that now takes a key from another writer, or a
    key renamed) and the route case it is taken on (``condition``), each as old and new
    text."""
    kinds = {True: "control", False: "data only"}
    found: dict[str, tuple[str, str]] = {}
    if bool(old.get("control")) != bool(new.get("control")):
        found["control"] = (kinds[bool(old.get("control"))], kinds[bool(new.get("control"))])
    keys = [sorted(map(str, data.get("keys") or ())) for data in (old, new)]
    if keys[0] != keys[1]:
        found["keys"] = (
            _setting_text("keys", tuple(keys[0])),
            _setting_text("keys", tuple(keys[1])),
        )
    if not _same_condition(old.get("condition"), new.get("condition")):
        found["condition"] = (old.get("condition") or "none", new.get("condition") or "none")
    return found


def _same_condition(old: str | None, new: str | None) -> bool:
    """Whether two route-case labels take the same values: equal text, or values JSON holds
    equal (a case ``1`` edited to ``1.0`` routes as before; ``1`` and ``true`` do not)."""
    if old == new:
        return True
    try:
        return same_value(json.loads(old), json.loads(new))  # type: ignore[arg-type]
    except (TypeError, ValueError):  # a predicate's name, otherwise, or no case at all
        return False


def _depth(G: nx.DiGraph, node: str) -> int:
    depth, parent = 0, G.nodes[node]["parent"]
    while parent is not None:
        depth, parent = depth + 1, G.nodes[parent]["parent"]
    return depth


def _token(G: nx.DiGraph, node: str) -> tuple[str, str, int, str]:
    data = G.nodes[node]
    return data["kind"], data["label"], _depth(G, node), repr(settings(data))


@keyword_options
def match_nodes(G1: nx.DiGraph, G2: nx.DiGraph) -> dict[str, str]:
    """Pair the nodes of two pipeline graphs by structure, not by id: the two reading orders
    are aligned on (kind, name, scope depth, settings), so an insertion or removal pairs
    everything around it; where nodes take others' places, a new node is paired with an old
    one of its kind that has its name (its settings changed) or, failing that, its settings
    (it was renamed). Returns old id -> new id."""
    G1, G2 = _graph(G1), _graph(G2)
    old, new = list(G1), list(G2)
    tokens1 = [_token(G1, n) for n in old]
    tokens2 = [_token(G2, n) for n in new]
    pairs: dict[str, str] = {}
    matcher = difflib.SequenceMatcher(None, tokens1, tokens2, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            pairs.update(zip(old[i1:i2], new[j1:j2], strict=True))
        elif tag == "replace":
            free, todo = list(range(i1, i2)), list(range(j1, j2))
            _pair_swapped(tokens1, tokens2, free, todo, old, new, pairs)
            # By kind and name first (of several, the one most alike), for every new node
            # before any is paired by settings: a renamed node must not take the old node a
            # node of its name still has.
            for j in list(todo):
                same = [i for i in free if tokens1[i][:2] == tokens2[j][:2]]
                if same:
                    i = max(same, key=lambda i: _alike(G1, old[i], G2, new[j]))
                    pairs[old[i]] = new[j]
                    free.remove(i)
                    todo.remove(j)
            for j in todo:
                same = [
                    i
                    for i in free
                    if (tokens1[i][0], tokens1[i][3]) == (tokens2[j][0], tokens2[j][3])
                ]
                if same:
                    pairs[old[same[0]]] = new[j]
                    free.remove(same[0])
    _pair_moved(G1, G2, pairs)
    _pair_scopes(G1, G2, pairs)
    # Last, a node whose kind changed under its name (a MapOver made a Loop) is that node.
    left = [n for n in G1 if n not in pairs]
    for node in [n for n in G2 if n not in set(pairs.values())] if left else ():
        named = [n for n in left if G1.nodes[n]["label"] == G2.nodes[node]["label"]]
        if named:
            pairs[named[0]] = node
            left.remove(named[0])
    return pairs


def _pair_swapped(
    tokens1: list[Any],
    tokens2: list[Any],
    free: list[int],
    todo: list[int],
    old: list[str],
    new: list[str],
    pairs: dict[str, str],
) -> None:
    """Pair a new node with the one old node of its kind and settings, of another name,
    when no other node of the block has those settings and the old node of its name had
    others: two nodes whose names were swapped (each doing what the other did) were
    renamed, not both edited. Pairs go to ``pairs``; the paired leave ``free`` and ``todo``."""

    def count(tokens: list[Any], places: list[int], token: Any) -> int:
        return sum(1 for i in places if (tokens[i][0], tokens[i][3]) == token)

    for j in list(todo):
        kind, name, _, setting = tokens2[j]
        same = [i for i in free if (tokens1[i][0], tokens1[i][3]) == (kind, setting)]
        if len(same) != 1 or tokens1[same[0]][1] == name:
            continue
        if count(tokens1, free, (kind, setting)) != 1 or count(tokens2, todo, (kind, setting)) != 1:
            continue
        named = [i for i in free if tokens1[i][:2] == (kind, name)]
        if named and tokens1[same[0]][1] in {tokens2[k][1] for k in todo if k != j}:
            pairs[old[same[0]]] = new[j]
            free.remove(same[0])
            todo.remove(j)


def _alike(G1: nx.DiGraph, a: str, G2: nx.DiGraph, b: str) -> tuple[int, float]:
    """How alike two nodes of a kind and name are: their settings that are equal, and their
    scope depth; between as many, how alike the settings that differ read (of two writers
    both edited, the new "Revise {topic}." is the old "Revise {draft}.", not "Draft
    {topic}."); the first of several as alike is taken."""
    one, other = settings(G1.nodes[a]), settings(G2.nodes[b])
    same = sum(1 for f in one if json_key(one[f]) == json_key(other[f]))
    differ = [f for f in one if json_key(one[f]) != json_key(other[f])]
    texts = (repr([one[f] for f in differ]), repr([other[f] for f in differ]))
    return same + int(_depth(G1, a) == _depth(G2, b)), difflib.SequenceMatcher(None, *texts).ratio()


def _pair_scopes(G1: nx.DiGraph, G2: nx.DiGraph, pairs: dict[str, str]) -> None:
    """Pair a scope left over with the old scope of its kind that held what it holds: a
    scope whose settings and name changed together (a loop's ``max_iterations`` and so its
    generated name ``a_then_b_x2``) is still that scope. Deepest first, so a paired inner
    scope counts for the one around it. Pairs are added to ``pairs``."""
    paired = set(pairs.values())
    left = [n for n in G1 if n not in pairs]
    if not left:
        return
    held1: dict[str, set[str]] = {}
    held2: dict[str, set[str]] = {}
    for G, held in ((G1, held1), (G2, held2)):
        for node, data in G.nodes(data=True):
            if data["parent"] is not None:
                held.setdefault(data["parent"], set()).add(node)
    unpaired = sorted((n for n in held2 if n not in paired), key=lambda n: -_depth(G2, n))
    for node in unpaired:
        kind, inside = G2.nodes[node]["kind"], held2[node]
        for old in left:
            if G1.nodes[old]["kind"] != kind or old not in held1:
                continue
            kept = {pairs[n] for n in held1[old] if n in pairs}
            if kept and kept <= inside and 2 * len(kept) > max(len(inside), len(held1[old])):
                pairs[old] = node
                left.remove(old)
                break


def _pair_moved(G1: nx.DiGraph, G2: nx.DiGraph, pairs: dict[str, str]) -> None:
    """Pair what the aligned reading orders left over, wherever it now sits: a node that
    moved (swapped with another, or into another scope or branch) is paired with an old node
    of its kind and name (of its settings too, first), or, failing that, with an old node of
    its kind that had its id. Pairs are added to ``pairs``."""
    paired = set(pairs.values())
    left = [n for n in G1 if n not in pairs]
    for node in [n for n in G2 if n not in paired]:
        token = _token(G2, node)
        same = [n for n in left if _token(G1, n)[:2] == token[:2]]
        best = [n for n in same if _token(G1, n)[3] == token[3]] or same
        best = best or [n for n in left if n == node and G1.nodes[n]["kind"] == token[0]]
        if best:
            pairs[best[0]] = node
            left.remove(best[0])


@keyword_options
def diff(G1: nx.DiGraph, G2: nx.DiGraph) -> GraphDiff:
    """Nodes, edges and keys added, removed or changed from ``G1`` to ``G2``. Nodes are paired
    by structure (:func:`match_nodes`), so ids that shift (``writer#2`` becoming
    ``writer#3`` when a writer is added before it) are not changes. A node is changed when its
    name (``label``), kind or a setting (instruction, model, writes, function, ...) differs,
    and when it moved (:mod:`irgraph.diffs_moves`): into another scope (``parent``), onto
    another route case (``branch``) or after other nodes of its scope (``order``), with the
    old and new place in ``moves``. Changes and additions are named by their new ids,
    removed nodes by their old ones; a removed edge names a kept node by its new id and a
    removed one by its old id, marked ``(removed)`` when that id names another node now
    (``renumbered`` lists kept nodes whose id now names, or before named, another node),
    so no line is both added and removed. A kept edge that became a control edge or a
    data-only one, whose keys changed, or whose route condition changed, is in
    ``edges_changed``."""
    G1, G2 = _graph(G1), _graph(G2)
    pairs = match_nodes(G1, G2)
    paired = set(pairs.values())
    added = [n for n in G2 if n not in paired]
    removed = [n for n in G1 if n not in pairs]
    changed: dict[str, list[str]] = {}
    values: dict[str, dict[str, tuple[str, str]]] = {}
    moves_of = moves(G1, G2, pairs)
    for node_old, node in pairs.items():
        a, b = G1.nodes[node_old], G2.nodes[node]
        fields = [f for f in ("label", "kind") if a[f] != b[f]]
        if fields:
            values[node] = {f: (_shown(str(a[f])), _shown(str(b[f]))) for f in fields}
        if a["kind"] == b["kind"]:
            # Every IR field but the name (the label) and children (nodes of their own).
            old, new = _compared(settings(a)), _compared(settings(b))
            for f in old:
                if json_key(old[f]) != json_key(new[f]):
                    name = _GRAPH_NAMES.get(f, f)  # the graph's name for it
                    fields.append(name)
                    shown = _setting_text(f, old[f]), _setting_text(f, new[f])
                    long = max(map(len, shown)) > _SHORT
                    texts = changed_parts(f, old, new, _SHORT) if long else shown
                    if texts is not None:
                        values.setdefault(node, {})[name] = texts
        fields += list(moves_of.get(node, ()))
        if fields:
            changed[node] = fields
    kept = {(pairs[u], pairs[v]) for u, v in G1.edges if u in pairs and v in pairs}
    edges2 = set(G2.edges)
    keys1 = {k for _, data in G1.nodes(data=True) for k in data.get("writes", ())}
    keys2 = {k for _, data in G2.nodes(data=True) for k in data.get("writes", ())}

    def now(node: str) -> str:
        """An old node as a removed edge names it: by its new id if it was kept, else by its
        old id, marked when that id names another node now."""
        if node in pairs:
            return pairs[node]
        return f"{node} (removed)" if node in G2 else node

    return GraphDiff(
        added,
        removed,
        changed,
        [e for e in G2.edges if e not in kept],
        [(now(u), now(v)) for u, v in G1.edges if (pairs.get(u), pairs.get(v)) not in edges2],
        sorted(keys2 - keys1),
        sorted(keys1 - keys2),
        G2,
        G1,
        moves_of,
        {
            new: old
            for old, new in pairs.items()
            if old != new and (new in G1 or old in G2) and not _renamed(G1, old, G2, new)
        },
        {
            (pairs[u], pairs[v]): how
            for u, v, data in G1.edges(data=True)
            if (pairs.get(u), pairs.get(v)) in edges2
            and (how := _edge_fields(data, G2.edges[pairs[u], pairs[v]]))
        },
        values,
        pipeline_fields(G1, G2, pairs),
    )


#: IR fields the graph names otherwise, as a diff line names them: a transform's function,
#: and the id a node pins (``~ node w: pinned ("p" -> null)``), which is not its node id
#: (``~ node w: id (p -> w)``, a node whose id moved).
_GRAPH_NAMES = {"fn": "function", "id": "pinned"}


def _compared(found: dict[str, Any]) -> dict[str, Any]:
    """A node's settings as a diff compares them: its declared ``inputs`` as the keys they
    are, sorted and once each (a run starts with a set of keys: ``.inputs("a", "b")`` and
    ``.inputs("b", "a")`` declare the same, as the pipeline's own line compares them)."""
    if "inputs" in found:
        found = {**found, "inputs": tuple(sorted(set(found["inputs"])))}
    return found


def _renamed(G1: nx.DiGraph, old: str, G2: nx.DiGraph, new: str) -> bool:
    """Whether a kept node's id changed only as its name did (its ids are its names): the
    rename says it, and no ``id`` line need say it again."""
    return (G1.nodes[old]["label"], G2.nodes[new]["label"]) == (old, new)
