"""Reaching definitions: which writers of a key may have made the last write before a node.

The graph walk (:mod:`irgraph.graph`) tracks one nearest writer per key; the checks of what a
route compares, or what a map-over's item holds, need every writer whose value may still be
there when the node runs, and only those. This module follows the control structure recorded
in ``G.graph["tree"]``: a sequence in order; parallel branches each from the state before the
block (after it, a key any branch writes holds one of those branches' values, and the value from
before only if every branch may leave it alone, as every one of them narrowed it); a route's
branches each from the state before it (one of them runs); a loop's body from the state
before the loop joined with the state at the end of its body (the next pass's start, unless
``max_iterations`` is 1), until nothing changes; a map-over's body once per item, from the
state before it with the item written by the map-over, and after it only the list of results.
``INPUT`` stands for the initial state: a path on which nothing wrote the key. A key of
interest may be a field of one (``"verdict.category"``, what a route compares): a write of the
key (``verdict``) writes it, and only routes on that same field narrow it.

>>> from irgraph import Agent, Route, to_graph
>>> first = Agent("a").writes("k") >> Agent("b").instruct("{k}") >> Agent("c").writes("k")
>>> G = to_graph(first >> Route("r").on("k").when("x", Agent("d")).otherwise(Agent("e")))
>>> reaching(G, G.graph["tree"], {"r": "k"})
{'r': frozenset({'c'})}
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from irgraph.ir.key_paths import path_root
from irgraph.ir.values import ValueIndex, ValueKeys, distinct_values, same_value
from irgraph.schema import EXECUTABLE_KINDS
from irgraph.walk import INPUT

if TYPE_CHECKING:
    from collections.abc import Callable

    import networkx as nx

__all__ = ["reaching", "narrowed", "narrowed_ends", "Narrowed", "source_of"]


class Narrowed(NamedTuple):
    """A value of ``source`` (a writer, ``INPUT``) that routes compared on its way: it is one
    of ``values`` (``None``: of any value), as ``route`` (the last such route) took a branch
    for it, and none of the values in ``without``, each with the route whose earlier branch
    took it (the value came to a later branch of that route: its otherwise, or a predicate's).
    ``earlier`` holds each route before ``route`` on the way that let only some values through,
    with those values, first first: a value it kept out was kept out by it too."""

    source: Any
    route: str | None
    values: tuple[Any, ...] | None
    without: tuple[tuple[Any, str], ...] = ()
    earlier: tuple[tuple[str, tuple[Any, ...]], ...] = ()

    def admits(self, value: Any) -> bool:
        """Whether the value may be ``value``."""
        if self.values is not None and not any(same_value(value, v) for v in self.values):
            return False
        return not any(same_value(value, other) for other, _ in self.without)

    def kept_out_by(self, value: Any) -> list[str]:
        """Every route on the way that let only values other than ``value`` through, first
        first (empty when ``values`` holds it)."""
        chain = [*self.earlier, *([(self.route, self.values)] if self.route else [])]
        return [
            route
            for route, values in chain
            if values is not None and not any(same_value(value, v) for v in values)
        ]


class _Before:
    """Stands, in a parallel block's branches, for the value a key held before the block: its
    ``state`` gathers every state the block was met with (on each pass of a loop around it).
    The branches run from these marks alone, so they are followed once, whatever came before,
    and what a node in them was reached by is told once the whole tree is followed."""

    __slots__ = ("state",)

    def __init__(self, keys: frozenset[str]) -> None:
        self.state: dict[str, set[Any]] = {key: set() for key in keys}


State = dict[str, frozenset[Any]]  # key -> writer ids (and _Before marks) of its value


def reaching(G: nx.DiGraph, tree: Any, wanted: dict[str, str]) -> dict[str, frozenset[str]]:
    """For each node id of ``wanted``, the writers of its key (``wanted[node]``) whose write
    may be the last one before that node runs, ``INPUT`` included when some path reaches it
    with no write (the key is then what the initial state holds, if anything)."""
    found = narrowed(G, tree, wanted, narrow=False)
    return {node: frozenset(writers) for node, writers in found.items()}


def narrowed(
    G: nx.DiGraph, tree: Any, wanted: dict[str, str], *, narrow: bool = True
) -> dict[str, frozenset[Any]]:
    """:func:`reaching`, with each writer whose value passed a route comparing the key as
    :class:`Narrowed`: in a route's branch for a value, the key holds that value; in a later
    branch (its otherwise, a predicate's), none of the values its earlier branches take; and
    after a route with no ``otherwise`` and no predicate (any other value fails the run there)
    one of its values, unless a branch wrote it; after one with them, one of the values of its
    branches that leave it alone, when every other branch writes it."""
    return narrowed_ends(G, tree, wanted, {}, narrow=narrow)[0]


def narrowed_ends(
    G: nx.DiGraph, tree: Any, wanted: dict[str, str], ends: dict[str, str], *, narrow: bool = True
) -> tuple[dict[str, frozenset[Any]], dict[str, frozenset[Any]]]:
    """:func:`narrowed`, and for each loop id of ``ends``, what its key (``ends[loop]``) may
    hold when a pass of its body ends (where the loop's ``until`` looks at it)."""
    keys = frozenset(wanted.values()) | frozenset(ends.values())
    flow = _Flow(G, keys, wanted, narrow)
    flow.ends = ends
    flow.ended = {loop: set() for loop in ends}
    flow.part(tree, {key: frozenset({INPUT}) for key in keys})
    found = {node: _resolved(found, wanted[node]) for node, found in flow.found.items()}
    return found, {loop: _resolved(found, ends[loop]) for loop, found in flow.ended.items()}


class _Flow:
    """One forward pass over the tree, for the keys of interest only."""

    def __init__(
        self, G: nx.DiGraph, keys: frozenset[str], wanted: dict[str, str], narrow: bool
    ) -> None:
        self.nodes = G.nodes
        self.narrow = narrow
        self.keys = keys
        self.paths: dict[str, list[str]] = {}  # a written key -> the keys of interest it sets
        for key in sorted(keys):  # (itself, and fields of it: "verdict.category")
            self.paths.setdefault(path_root(key), []).append(key)
        self.wanted = wanted
        self.found: dict[str, set[Any]] = {node: set() for node in wanted}
        #: Per parallel block (its branches' id): its mark, and the states its branches end in.
        self.blocks: dict[int, tuple[_Before, list[State]]] = {}
        #: (loop body, the state it starts from) -> the state after the loop: a loop's passes
        #: re-run its body, and nested loops would otherwise multiply them.
        self.loops: dict[tuple[int, Any], State] = {}
        self.ends: dict[str, str] = {}  # loop id -> the key its until reads
        self.ended: dict[str, set[Any]] = {}  # loop id -> what that key holds as a pass ends

    def part(self, tree: Any, state: State) -> State:
        """The state after the part ``tree`` of the walk's tree runs from ``state``."""
        if isinstance(tree, str):
            self.note(tree, state)
            data = self.nodes[tree]
            if data["kind"] in EXECUTABLE_KINDS:
                for key in data["writes"]:
                    for held in self.paths.get(key, ()):
                        state = {**state, held: frozenset({tree})}
            return state
        if isinstance(tree, list):
            for child in tree:
                state = self.part(child, state)
            return state
        if "node" not in tree:  # a sequence or a parallel block
            if tree["kind"] == "parallel":
                return self.parallel(tree["children"], state)
            return self.part(tree["children"], state)
        sid = tree["node"]
        self.note(sid, state)
        kind = self.nodes[sid]["kind"]
        if kind == "route":
            return self.route(sid, tree["children"], state)
        if kind != "loop":
            return self.map_over(sid, tree["children"], state)
        if self.nodes[sid].get("max_iterations") == 1:
            state = self.part(tree["children"], state)  # no next pass
        else:  # (what a loop leaves is what any of its passes may end with)
            state = self.loop(tree["children"], state)
        if sid in self.ends:
            self.ended[sid] |= state[self.ends[sid]]
        return state

    def note(self, node: str, state: State) -> None:
        """Record what reaches ``node``, when it is wanted."""
        key = self.wanted.get(node)
        if key is not None:
            self.found[node] |= state[key]

    def parallel(self, branches: list[Any], state: State) -> State:
        """Each branch from the state before the block; after it, a key holds a value some
        branch wrote, or the value from before when every branch may leave it alone (as each
        of them narrowed it: a route in a branch compares the value from before only when no
        branch writes it, else what it compares is written over, whenever the write lands)."""
        if not branches:
            return state
        block = self.blocks.get(id(branches))
        if block is None:
            before = _Before(self.keys)
            start = {key: frozenset({before}) for key in self.keys}
            block = self.blocks[id(branches)] = (before, [self.part(b, start) for b in branches])
        before, ends = block
        for key in self.keys:
            before.state[key] |= state[key]
        after: State = {}
        for key in self.keys:
            left = [frozenset(i for i in end[key] if source_of(i) is before) for end in ends]
            written = frozenset(i for end in ends for i in end[key] if source_of(i) is not before)
            after[key] = written | _kept(state[key], left) if all(left) else written
        return after

    def route(self, sid: str, branches: list[Any], state: State) -> State:
        """One branch runs: after the route, a key holds what any branch left in it. In the
        branch for a value, the key the route compares holds that value, and in a later one
        none of the values its earlier branches take (when narrowing)."""
        if not branches:
            return state
        key, cases = self.nodes[sid].get("on"), self.nodes[sid].get("cases") or ()
        ends = []
        for index, branch in enumerate(branches):
            start = state
            case = cases[index] if index < len(cases) else {}
            if self.narrow and key in self.keys and "equals" in case:
                start = {**state, key: _narrow(state[key], sid, case["equals"])}
            elif self.narrow and key in self.keys:  # the earlier branches took their values
                taken = tuple((c["equals"], sid) for c in cases[:index] if "equals" in c)
                start = {**state, key: _within_all(state[key], None, None, taken)}
            end = self.part(branch, start)  # walked even when it never runs: its nodes noted
            if start is state or start[key] or not state[key]:
                ends.append(end)  # (no value can take the branch otherwise: it leaves nothing)
        after = {k: frozenset().union(*(end[k] for end in ends)) for k in self.keys}
        if not self.narrow or key not in self.keys:
            return after
        if any("equals" not in case for case in cases):  # other values get past it
            after[key] = _past(after[key], sid, state[key])
        return {**after, key: _gathered(after[key])}

    def loop(self, body: list[Any], state: State) -> State:
        """The body runs at least once; each pass starts from what the last one left. What
        was found from a start already met is not looked for again."""
        key, met, start = (id(body), _frozen(state)), [], state
        while key not in self.loops:
            met.append(key)
            end = self.part(body, start)
            joined = {k: start[k] | end[k] for k in self.keys}
            if joined == start:
                self.loops[key] = end
                break
            start, key = joined, (id(body), _frozen(joined))
        for seen in met:  # each start met leads to the same last pass
            self.loops[seen] = self.loops[key]
        return self.loops[key]

    def map_over(self, sid: str, body: list[Any], state: State) -> State:
        """Each item's run starts from the state before the map-over, with the item written
        by the map-over; after it, the map-over has written its list of results."""
        data = self.nodes[sid]
        item, writes = data.get("item"), data.get("writes", ())
        inner = {**state, **{key: frozenset({sid}) for key in self.paths.get(item, ())}}
        self.part(body, inner)
        return {**state, **{key: frozenset({sid}) for w in writes for key in self.paths.get(w, ())}}


def source_of(item: Any) -> Any:
    """The writer (``INPUT``, or a parallel block's mark) of an item of what reaches a node,
    narrowed (:class:`Narrowed`) or not."""
    return item.source if isinstance(item, Narrowed) else item


def _kept(held: frozenset[Any], left: list[frozenset[Any]]) -> frozenset[Any]:
    """What a key holds after a parallel block none of whose branches wrote it: what it held
    before (``held``), narrowed as every branch narrowed it (``left``: per branch, what it
    may leave of the block's mark, narrowed or not); a value one of them keeps out is gone."""
    out = held
    for items in left:
        narrowed = (
            item if not isinstance(mark, Narrowed) else _applied(item, mark)
            for item in out
            for mark in items
        )
        out = frozenset(item for item in narrowed if item is not _NOTHING)
    return out


def _frozen(state: State) -> Any:
    """``state`` as a key of a dict."""
    return tuple(sorted(state.items(), key=lambda item: item[0]))


def _narrow(values: frozenset[Any], route: str, value: Any) -> frozenset[Any]:
    """``values`` in the branch of ``route`` for ``value``: each one that may equal it."""
    return _within_all(values, route, (value,), ())


def _within_all(
    values: frozenset[Any],
    route: str | None,
    only: tuple[Any, ...] | None,
    without: tuple[tuple[Any, str], ...],
) -> frozenset[Any]:
    """:func:`_within` of each of ``values``, those with no value left dropped."""
    out = (_within(item, route, only, without) for item in values)
    return frozenset(item for item in out if item is not _NOTHING)


_NOTHING = object()  # what :func:`_within` gives when no value is left


def _within(
    item: Any,
    route: str | None,
    only: tuple[Any, ...] | None,
    without: tuple[tuple[Any, str], ...],
) -> Any:
    """``item`` (a source, or a :class:`Narrowed` one) where the key is also one of ``only``
    (unless ``None``; as ``route`` took a branch for them) and none of ``without``; a plain
    source when nothing narrows it, ``_NOTHING`` when no value is left. A value left out
    twice is told as the later route left it out (the one the node is nearer)."""
    base = item if isinstance(item, Narrowed) else Narrowed(item, None, None)
    kept: tuple[tuple[Any, str], ...] = ()
    earlier = base.earlier
    if only is not None:  # (what ``item`` left out is not in ``values`` then)
        values: tuple[Any, ...] | None = tuple(v for v in only if base.admits(v))
        if not values:
            return _NOTHING
        if base.route is not None and base.values is not None and base.route != route:
            earlier = (*earlier, (base.route, base.values))  # it let only those through too
    else:
        route, values, kept = base.route, base.values, base.without
    keys = ValueKeys()  # a value left out again moves to the end, as the later route's
    out = {keys.of(v): (v, r) for v, r in kept}
    among = None if values is None else {keys.of(v) for v in values}
    for value, by in without:
        key = keys.of(value)
        if among is None or key in among:
            out.pop(key, None)
            out[key] = (value, by)
    if among is not None and among <= out.keys():
        return _NOTHING
    if values is None and not out:
        return base.source
    return Narrowed(base.source, route, values, tuple(out.values()), earlier)


def _applied(item: Any, mark: Narrowed) -> Any:
    """``item`` narrowed as ``mark`` was (a parallel block's mark, or what a mark met): by
    each route of its ``earlier`` in turn, then as its route and ``without`` narrowed it."""
    for route, values in mark.earlier:
        item = _within(item, route, values, ())
        if item is _NOTHING:
            return item
    return _within(item, mark.route, mark.values, mark.without)


def _past(values: frozenset[Any], route: str, before: frozenset[Any]) -> frozenset[Any]:
    """``values`` after ``route``, which lets values none of its cases take get past (an
    otherwise, a predicate): a value its branch for one value left as it was, and that a
    route before it (``before``) already let through only as some values, is told as that
    route narrowed it, which fails a run with any other value (``route`` takes the others to
    branches that write the key, or stop them); else as ``route`` narrowed it."""
    out = set()
    for item in values:
        earlier = [
            old
            for old in before
            if isinstance(old, Narrowed) and isinstance(item, Narrowed) and item.route == route
            if old.source == item.source and old.values is not None
            if any(old.admits(v) for v in item.values or ())
        ]
        out |= {_within(old, old.route, item.values, ()) for old in earlier} or {item}
    return frozenset(out)


def _resolved(found: set[Any], key: str) -> frozenset[Any]:
    """``found`` with each mark of a parallel block replaced by what ``key`` held before it
    (narrowed as the mark was), and the values each route let through gathered."""
    out: set[Any] = set()
    todo: list[tuple[Any, Narrowed | None]] = [(item, None) for item in found]
    seen = set()
    while todo:
        item, outer = todo.pop()
        if isinstance(item, Narrowed):
            inner = item if outer is None else _applied(item, outer)
            if isinstance(inner, Narrowed):
                todo.append((inner.source, inner._replace(source=None)))
            elif inner is not _NOTHING:
                todo.append((inner, None))
        elif not isinstance(item, _Before):
            out.add(item if outer is None else outer._replace(source=item))
        elif (item, outer) not in seen:
            seen.add((item, outer))
            todo.extend((before, outer) for before in item.state[key])
    return _gathered(out)


def _gathered(found: frozenset[Any] | set[Any]) -> frozenset[Any]:
    """One :class:`Narrowed` per writer and route, with every value the route let through;
    none for a writer whose value may also have come by no route at all, and one for a writer
    some path only left values out of: any value but those no path lets through."""
    plain = {item for item in found if not isinstance(item, Narrowed)}
    if len(plain) == len(found):
        return frozenset(found)
    by_source: dict[Any, list[Narrowed]] = {}
    for item in sorted(set(found) - plain, key=_order):
        if item.source not in plain:  # some path left it as it was: any of its values
            by_source.setdefault(item.source, []).append(item)
    out: set[Any] = set(plain)
    for source, items in by_source.items():
        groups: dict[str | None, list[Narrowed]] = {}
        if any(item.values is None for item in items):
            groups[None] = items  # (the others' values are among its values)
        else:
            for item in items:
                groups.setdefault(item.route, []).append(item)
        for route, group in groups.items():
            values: tuple[Any, ...] | None = None
            if route is not None:
                values = tuple(distinct_values(v for item in group for v in item.values or ()))
            without = ValueIndex()  # left out on every path, as first told
            admitted = _admitted(group)
            for item in group:
                for value, by in item.without:
                    if without.get(value) is None and not admitted(value):
                        without.add(value, (value, by))
            if route is None and not without.items():
                out.add(source)
            else:
                out.add(Narrowed(source, route, values, without.items(), _earlier(group)))
    return frozenset(out)


def _admitted(group: list[Narrowed]) -> Callable[[Any], bool]:
    """Whether some item of ``group`` admits a value (:meth:`Narrowed.admits`), found by
    hash: asking each item for each value made a route of many cases quadratic to check."""
    keys = ValueKeys()
    listed: set[Any] = set()  # admitted by an item that lists its values
    open_items = [item for item in group if item.values is None]
    kept_out: dict[Any, int] = {}  # by how many of the open items
    for item in group:
        out = {keys.of(value) for value, _ in item.without}
        if item.values is None:
            for key in out:
                kept_out[key] = kept_out.get(key, 0) + 1
        else:
            listed.update(key for key in map(keys.of, item.values) if key not in out)

    def admitted(value: Any) -> bool:
        key = keys.of(value)
        return key in listed or kept_out.get(key, 0) < len(open_items)

    return admitted


def _earlier(group: list[Narrowed]) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    """The routes before the last of any item of ``group``, in the order met, each with every
    value it let through on any of their ways."""
    found: dict[str, list[Any]] = {}
    for item in group:
        for route, values in item.earlier:
            found.setdefault(route, []).extend(values)
    return tuple((route, tuple(distinct_values(values))) for route, values in found.items())


def _order(item: Narrowed) -> tuple[str, str, str, str]:
    """A sort key of an item that does not name its source (a parallel block's mark)."""
    return str(item.route), repr(item.values), repr(item.without), repr(item.earlier)
