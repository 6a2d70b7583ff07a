"""A route's compared values, checked against what may be in its key when it runs.

The sources of the value are the writers whose write may be the last one before the route
(:func:`irgraph.reaching.reaching`: a writer always overwritten before the route is not one,
and in a loop a writer later in the body is, from the second pass on). A value no source can
produce (by its schema's ``enum``, ``const`` or ``type``, or a constraint such as ``pattern``
or ``maximum``) is a problem: its branch can never run; values the sources may produce that no
case takes, without an ``otherwise``, are a warning. In a map-over's body the item's sources
are the items of each list that may reach the map-over (in a map-over over the item of
another, the items of that list's items). When a source may write anything (an input or a path
with no write, a transform, a gate, an agent without a schema, a list of unknown items) nothing
is refused and nothing is said to be uncovered.

What reaches a node is narrowed by the routes on its way (:func:`irgraph.reaching.narrowed`):
a compared value those routes never let through is a problem too, and so is a map-over whose
list key they let through only as the values they compare (never a list). A loop's stop value
is checked the same way, against what a pass may end with (:mod:`irgraph.typing_rules`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from irgraph.ir.outputs import AllowedValues, value_type
from irgraph.ir.over_paths import list_schema
from irgraph.ir.values import canonical
from irgraph.ir.values import same_value as _same
from irgraph.list_fields import field_list
from irgraph.reaching import Narrowed, narrowed_ends, source_of
from irgraph.route_fields import field_sources
from irgraph.route_messages import RouteMessages, Source, names_of
from irgraph.route_values import Refusals, names
from irgraph.walk import INPUT

if TYPE_CHECKING:
    from irgraph.graph_routes import Walker
    from irgraph.ir import LoopNode, RouteNode

__all__ = ["RouteChecks", "Source"]


class RouteChecks(RouteMessages):
    """The route value checks of one graph walk, made once the whole graph is known."""

    def __init__(self, walker: Walker) -> None:
        self.w = walker
        #: (route id, its IR node, and where its messages go in the problems and warnings)
        self.routes: list[tuple[str, RouteNode, int, int]] = []
        #: (map-over id, its list's key, the writers the walk checked, where its problems go,
        #: and how many routes and lists were added before it)
        self.lists: list[tuple[str, str, list[str], int, int]] = []
        #: (loop id, its IR node, where its messages go, how many checks were added before)
        self.loops: list[tuple[str, LoopNode, int, int, int]] = []
        self._met: list[int] = []  # per route, how many checks were added before it
        self.refusals = Refusals()  # one validator per schema, for every check of the walk
        self._items: dict[str, list[tuple[str, Any]] | None] = {}
        self._nested: dict[str, str] = {}  # map-over id -> the one whose item it iterates
        self._reach: dict[str, frozenset[str]] = {}
        self._found: dict[str, frozenset[Any]] = {}  # with the values routes let through
        self._order: dict[str, int] = {}

    def add(self, sid: str, node: RouteNode) -> None:
        """Check route ``sid`` once the graph is known, its messages told where it is read."""
        if node.on is not None:
            self._met.append(len(self.routes) + len(self.lists) + len(self.loops))
            self.routes.append((sid, node, len(self.w.problems), len(self.w.warnings)))

    def add_loop(self, sid: str, node: LoopNode) -> None:
        """Check loop ``sid``'s stop key once the graph is known, told where it is read."""
        met = len(self.routes) + len(self.lists) + len(self.loops)
        self.loops.append((sid, node, len(self.w.problems), len(self.w.warnings), met))

    def run(
        self,
        tree: Any,
        not_a_list: Callable[[str, str, str, Any], None],
        loop_stop: Callable[[str, LoopNode, frozenset[Any]], None],
    ) -> None:
        """Check every route added, with what reaches it (``tree``: ``G.graph["tree"]``),
        each map-over's list against the writers the walk could not see (later in an
        enclosing loop's body: the next pass starts with their value), by ``not_a_list``, and
        against the routes before that let only their values through; and each loop's stop
        key by what it may hold as a pass ends, by ``loop_stop``."""
        if not self.routes and not self.lists and not self.loops:
            return
        nodes = self.w.G.nodes
        wanted = {sid: node.on for sid, node, _, _ in self.routes if node.on is not None}
        for nid in self.w.added:
            if nodes[nid]["kind"] == "map_over" and nodes[nid].get("over") is not None:
                wanted[nid] = nodes[nid]["over"]
        stops = {sid: str(node.until) for sid, node, *_ in self.loops}
        self._found, ended = narrowed_ends(self.w.G, tree, wanted, stops)
        self._reach = {node: _sources_of(found) for node, found in self._found.items()}
        self._order = {nid: index for index, nid in enumerate(self.w.added)}
        problems, warnings = self.w.problems, self.w.warnings
        # Told where the walk met each, the last first, so the places before stay right.
        later = [(r[2], self._met[i], 1, i) for i, r in enumerate(self.routes)]
        later += [(at, met, 0, i) for i, (_, _, _, at, met) in enumerate(self.lists)]
        later += [(at, met, 2, i) for i, (_, _, at, _, met) in enumerate(self.loops)]
        for at_problem, _, kind, index in sorted(later, reverse=True):
            told, warned = len(problems), len(warnings)
            if kind == 1:
                sid, node, _, at_warning = self.routes[index]
                self._check(sid, node)
                _move(warnings, warned, at_warning)
            elif kind == 2:
                sid, loop, _, at_warning, _ = self.loops[index]
                loop_stop(sid, loop, ended[sid])
                _move(warnings, warned, at_warning)
            else:
                sid, over, seen, _, _ = self.lists[index]
                for writer in sorted(
                    self._reach[sid] - {INPUT, *seen}, key=self._order.__getitem__
                ):
                    if nodes[writer]["kind"] == "agent":
                        not_a_list(sid, over, writer, nodes[writer]["output"])
                    elif nodes[writer]["kind"] == "map_over" and self._inside(sid, writer):
                        for lister, schema in self._items_of(writer) or ():
                            self._items_no_lists(sid, over, writer, lister, schema)
                self._scalar_list(sid, over, self._found[sid])
            _move(problems, told, at_problem)

    def _items_no_lists(self, sid: str, over: str, outer: str, lister: str, items: Any) -> None:
        """The problem of map-over ``sid`` iterating ``over``, the item of map-over ``outer``,
        when agent ``lister`` writes the outer list with ``items`` that are not lists (or, for
        a path, ``item.topics``, hold no list there)."""
        if "." in over:
            who = f"the items of the list agent '{lister}' writes"
            items = field_list(self.w, sid, over, who, lister, items)
        kind = value_type(items) if items is not None else None
        if kind in (None, "array"):
            return
        self.w.problem(
            f"MapOver '{sid}' iterates over '{over}', an item of {self._list_named(outer)}, "
            f"but agent '{lister}' writes each of those items as a JSON {kind}, not a list.",
            node=sid,
            key=over,
            hint=f"Give '{lister}' an output schema whose items are arrays (e.g. {{'type': "
            "'array', 'items': {'type': 'array', 'items': {'type': 'string'}}}), or iterate "
            f"{self._list_named(outer)} itself.",
        )

    def _scalar_list(self, sid: str, over: str, found: frozenset[Any]) -> None:
        """The problem of map-over ``sid`` when the routes before it let only the values they
        compare with (numbers, strings ..., never a list) reach its list key ``over``."""
        if not found or not all(isinstance(i, Narrowed) and i.values for i in found):
            return
        routes = sorted({i.route for i in found if i.route}, key=self._order.__getitem__)
        values: list[Any] = []
        for item in found:
            values += [
                v
                for v in item.values or ()
                if item.admits(v) and not any(_same(v, o) for o in values)
            ]
        why, _ = self._only_why(sid, None, routes, values)
        within = [route for route in routes if self._inside(sid, route)]
        strict, loose = self._strict(routes)
        hints = [f"give {names(strict, 'or')} .otherwise(step)"] if strict else []
        if loose:  # (it has one, or a predicate: they write the key)
            hints.append(f"give {names(loose, 'or')} a branch that leaves '{over}' as it is")
        hint = f"G{', or '.join(hints)[1:]}, so that a list gets past it"
        if within:
            hint = f"Move '{sid}' out of that branch, to where '{over}' holds a list"
        self.w.problem(
            f"MapOver '{sid}' iterates over '{over}', but '{over}' can only be "
            f"{'one of ' if len(values) > 1 else ''}{', '.join(map(canonical, values))} when "
            f"'{sid}' runs, not a list: {why}; so '{sid}' can never run without failing.",
            node=sid,
            key=over,
            hint=f"{hint}.",
        )

    def _check(self, sid: str, node: RouteNode) -> None:
        """The problems and warnings of route ``sid``'s compared values, told by its sources:
        a free-text writer, a value none of them produces, values none of its cases take."""
        key = node.on
        assert key is not None
        sources = self._sources(sid, node.reads[0])
        compared = [c.value for c in node.cases if c.kind == "equals"]
        if compared and sources and all(s.kind == "map_over" for s in sources):
            self._listed(sid, key, compared, [s.node for s in sources])
            return
        found = self._found[sid]
        if "." in key:  # a field: its sources by the field's schema (narrowed, as a key is,
            takes_all = any(c.kind in ("otherwise", "test") for c in node.cases)
            held = field_sources(self.w, sid, key, sources, takes_all)  # by routes on it)
            if held is None:
                return
            sources = held
        if found:  # a value no writer allows is told so: that is the first fix
            kept = []
            for value in compared:
                if self._possible(value, found, sources) or not self._writable(value, sources):
                    kept.append(value)  # (told below if no writer allows it)
                    continue
                able = {s.node for s in sources if self._writable(value, _of(s.node, sources))}
                never: list[str] = []  # sources whose value gets there, but never as this
                for s in sources:
                    if s.node not in able and reaches(_items_of(s.node, found), value):
                        never += [s.name] if s.name not in never else []
                kept_out = frozenset(item for item in found if source_of(item) in able)
                self._not_let_through(sid, key, value, kept_out, never)
            compared = kept
        for source in sources if compared else ():
            if source.kind == "agent" and source.schema is None:
                self.w.warnings.append(
                    f"Route '{sid}' compares '{key}' with exact values, but agent "
                    f"'{source.node}' writes it as free text, which rarely equals a value "
                    f"exactly; give '{source.node}' .output({{'type': 'string', 'enum': [...]}})."
                )
        if not _all_schemas(sources):
            return
        allowed = _allowed(sources, self.refusals)
        if allowed is None:  # schemas whose values cannot be listed: their constraints only
            for value in compared:
                if (why := self._refused(value, sources)) is not None:
                    self._never_valid(sid, key, value, sources, why)
            return
        for value in compared:
            if not allowed.admits(value):
                self._never_matches(sid, key, value, sources, allowed)
            elif (why := self._refused(value, sources)) is not None:
                self._never_valid(sid, key, value, sources, why)
        kinds = {c.kind for c in node.cases}
        finite = [a for a in allowed.values if self._refused(a, sources) is None]
        finite = finite if not allowed.types else []
        finite = [a for a in finite if self._possible(a, found, sources)]
        uncovered = [a for a in finite if not any(_same(a, v) for v in compared)]
        if uncovered and "otherwise" not in kinds and "test" not in kinds:
            missing = ", ".join(canonical(v) for v in uncovered)
            if sources[0].kind == "item":
                over = self._list_named(sources[0].node)
                values = f"values the items of {over} may hold as '{key}'"
            else:
                who = "agent" if len(sources) == 1 else "agents"
                values = f"values {who} {names(names_of(sources))} may write to '{key}'"
            self.w.warnings.append(
                f"Route '{sid}' has no branch for {missing} ({values}) and no otherwise, so "
                "the run fails if it gets one; add .when(...) for each, or .otherwise(step)."
            )

    def _listed(self, sid: str, key: str, compared: list[Any], lists: list[str]) -> None:
        """The problem of route ``sid`` comparing ``key``, which only map-overs ``lists``
        write (a list, always), with the values ``compared``."""
        which = "that branch" if len(compared) == 1 else "those branches"
        self.w.problem(
            f"Route '{sid}' compares '{key}' with {', '.join(map(canonical, compared))}, but "
            f"map-over {names(lists, 'or')} writes '{key}' as the list of what its items "
            "give, which never equals a string, number, boolean or None, so "
            f"{which} can never run.",
            node=sid,
            key=key,
            hint=f"To look inside the list, use a predicate: .when(lambda state: "
            f"{compared[0]!r} in state['{key}'], ...), or route on a key a step writes from "
            "the list.",
        )

    def _writable(self, value: Any, sources: list[Source]) -> bool:
        """Whether some source's schema may allow ``value`` (it is not told out of range)."""
        if not _all_schemas(sources):
            return True
        allowed = _allowed(sources, self.refusals)
        if allowed is not None and not allowed.admits(value):
            return False
        return self._refused(value, sources) is None

    def _possible(self, value: Any, found: frozenset[Any], sources: list[Source]) -> bool:
        """Whether ``value`` may be in the key, by what reaches the node (``found``): the
        value of a writer that may write it, which the routes before may let through."""
        return any(
            reaches(frozenset({item}), value)
            and self._writable(value, _of(source_of(item), sources))
            for item in found
        )

    def _sources(self, sid: str, key: str) -> list[Source]:
        """What may be in ``key`` when route ``sid`` runs, in reading order."""
        nodes = self.w.G.nodes
        found: list[Source] = []
        for writer in sorted(self._reach[sid], key=lambda n: self._order.get(n, -1)):
            kind = "input" if writer == INPUT else nodes[writer]["kind"]
            if kind == "agent":
                found.append(Source(writer, kind, nodes[writer]["output"]))
            elif kind == "map_over" and self._inside(sid, writer):
                items = self._items_of(writer)
                if items is None:
                    found.append(Source(writer, "item"))
                else:
                    found += [Source(writer, "item", schema, lister) for lister, schema in items]
            else:
                found.append(Source(writer, kind))
        return found

    def _items_of(self, mid: str) -> list[tuple[str, Any]] | None:
        """The agents that may have written the list map-over ``mid`` iterates, each with the
        schema of its items (with the list's definitions, so a local ``$ref`` resolves), or
        ``None`` when some writer's items are not known."""
        if mid in self._items:
            return self._items[mid]
        nodes = self.w.G.nodes
        found: list[tuple[str, Any]] | None = []
        for writer in sorted(self._reach.get(mid, ()), key=lambda n: self._order.get(n, -1)):
            data = nodes[writer] if writer != INPUT else {}
            listed = [(writer, data.get("output"))] if data.get("kind") == "agent" else None
            if data.get("kind") == "map_over" and self._inside(mid, writer):
                self._nested[mid] = writer  # the list is an item of the outer one's list
                listed = self._items_of(writer)
            for lister, whole in listed or [(writer, None)]:
                schema = list_schema(whole, nodes[mid]["over"])  # (a path: plan.topics)
                # prefixItems: the first items have schemas of their own (not read here)
                if (
                    found is None
                    or not isinstance(schema, dict)
                    or not isinstance(schema.get("items"), dict)
                    or "prefixItems" in schema
                ):
                    found = None
                    break
                defs = {k: schema[k] for k in ("$defs", "definitions", "$schema") if k in schema}
                found.append((lister, {**defs, **schema["items"]}))
        self._items[mid] = found or None
        return self._items[mid]


def reaches(found: frozenset[Any], value: Any) -> bool:
    """Whether ``value`` may be in the key, by what reaches the node (``found``)."""
    return any(not isinstance(item, Narrowed) or item.admits(value) for item in found)


def _sources_of(found: frozenset[Any]) -> frozenset[str]:
    return frozenset(map(source_of, found))


def _of(writer: Any, sources: list[Source]) -> list[Source]:
    """The sources of ``writer`` (the items of a map-over: one per list writer)."""
    return [source for source in sources if source.node == writer]


def _items_of(writer: Any, found: frozenset[Any]) -> frozenset[Any]:
    """The items of ``found`` that are ``writer``'s value."""
    return frozenset(item for item in found if source_of(item) == writer)


def _move(said: list[Any], start: int, to: int) -> None:
    """Move the items of ``said`` from index ``start`` on to index ``to``."""
    new = said[start:]
    del said[start:]
    said[to:to] = new


def _all_schemas(sources: list[Source]) -> bool:
    """Whether every source writes by a schema: all agents with an output schema, or all the
    items, of known schemas, of one map-over's lists (not an input, a transform, a gate, free
    text, a map-over's results, or items and other writers at once)."""
    kinds = {source.kind for source in sources}
    if kinds not in ({"agent"}, {"item"}) or len({s.node for s in sources if s.lister}) > 1:
        return False
    return all(source.schema is not None for source in sources)


def _allowed(sources: list[Source], refusals: Refusals) -> AllowedValues | None:
    """The values any of ``sources`` may write, or ``None`` when one may write anything."""
    allowed: AllowedValues | None = None
    for source in sources:
        values = refusals.values(source.schema)
        if values is None:
            return None
        allowed = values if allowed is None else allowed.union(values)
    return allowed
