"""A route's compared values, checked against what may be in its key when it runs.

The sources of the value are the writers whose write may be the last one before the route
(:func:`irgraph.reaching.reaching`: a writer always overwritten before the route is not one,
and in a loop a writer later in the body is, from the second pass on). A value no source can
produce (by its schema's ``enum``, ``const`` or ``type``, or a constraint such as ``pattern``
or ``maximum``) is a problem: its branch can never run; values the sources may produce that no
case takes, without an ``otherwise``, are a warning. In a map-over's body the item's sources
are the items of each list that may reach the map-over. When a source may write anything (an
input or a path with no write, a transform, a gate, an agent without a schema, a list of
unknown items) nothing is refused and nothing is said to be uncovered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

from irgraph.ir.outputs import AllowedValues
from irgraph.ir.values import canonical
from irgraph.ir.values import same_value as _same
from irgraph.reaching import Narrowed, narrowed
from irgraph.route_values import NONE, Refusals, inside, names, respelled, scalar_choices
from irgraph.walk import INPUT

if TYPE_CHECKING:
    from irgraph.graph_routes import Walker
    from irgraph.ir import RouteNode

__all__ = ["RouteChecks", "Source"]


@attrs.frozen
class Source:
    """One possible origin of the value a route compares: a writer (``INPUT``: the initial
    state), or, for a map-over's item, the items of the list one agent (``lister``) writes."""

    node: str
    kind: str  # "input", "agent", "transform", "gate", "map_over" (its results) or "item"
    schema: Any = None  # what it writes by (None: free text, or anything)
    lister: str | None = None

    @property
    def name(self) -> str:
        """The node a message names for it."""
        return self.lister or self.node


class RouteChecks:
    """The route value checks of one graph walk, made once the whole graph is known."""

    def __init__(self, walker: Walker) -> None:
        self.w = walker
        #: (route id, its IR node, and where its messages go in the problems and warnings)
        self.routes: list[tuple[str, RouteNode, int, int]] = []
        #: (map-over id, its list's key, the writers the walk checked, where its problems go,
        #: and how many routes and lists were added before it)
        self.lists: list[tuple[str, str, list[str], int, int]] = []
        self._met: list[int] = []  # per route, how many routes and lists were added before it
        self.refusals = Refusals()  # one validator per schema, for every check of the walk
        self._items: dict[str, list[tuple[str, Any]] | None] = {}
        self._reach: dict[str, frozenset[str]] = {}
        self._found: dict[str, frozenset[Any]] = {}  # with the values routes let through
        self._order: dict[str, int] = {}

    def add(self, sid: str, node: RouteNode) -> None:
        """Check route ``sid`` once the graph is known, its messages told where it is read."""
        if node.on is not None:
            self._met.append(len(self.routes) + len(self.lists))
            self.routes.append((sid, node, len(self.w.problems), len(self.w.warnings)))

    def run(self, tree: Any, not_a_list: Callable[[str, str, str, Any], None]) -> None:
        """Check every route added, with what reaches it (``tree``: ``G.graph["tree"]``), and
        each map-over's list against the writers the walk could not see (later in an
        enclosing loop's body: the next pass starts with their value), by ``not_a_list``."""
        if not self.routes and not self.lists:
            return
        nodes = self.w.G.nodes
        wanted = {sid: node.on for sid, node, _, _ in self.routes if node.on is not None}
        for nid in self.w.added:
            if nodes[nid]["kind"] == "map_over" and nodes[nid].get("over") is not None:
                wanted[nid] = nodes[nid]["over"]
        self._found = narrowed(self.w.G, tree, wanted)
        self._reach = {node: _sources_of(found) for node, found in self._found.items()}
        self._order = {nid: index for index, nid in enumerate(self.w.added)}
        problems, warnings = self.w.problems, self.w.warnings
        # Told where the walk met each, the last first, so the places before stay right.
        later = [(r[2], self._met[i], 1, i) for i, r in enumerate(self.routes)]
        later += [(at, met, 0, i) for i, (_, _, _, at, met) in enumerate(self.lists)]
        for at_problem, _, is_route, index in sorted(later, reverse=True):
            told, warned = len(problems), len(warnings)
            if is_route:
                sid, node, _, at_warning = self.routes[index]
                self._check(sid, node)
                _move(warnings, warned, at_warning)
            else:
                sid, over, seen, _, _ = self.lists[index]
                for writer in sorted(
                    self._reach[sid] - {INPUT, *seen}, key=self._order.__getitem__
                ):
                    if nodes[writer]["kind"] == "agent":
                        not_a_list(sid, over, writer, nodes[writer]["output"])
            _move(problems, told, at_problem)

    def _check(self, sid: str, node: RouteNode) -> None:
        """The problems and warnings of route ``sid``'s compared values, told by its sources:
        a free-text writer, a value none of them produces, values none of its cases take."""
        key = node.on
        assert key is not None
        sources = self._sources(sid, key)
        compared = [c.value for c in node.cases if c.kind == "equals"]
        let = let_through(self._found[sid])
        if let is not None:  # a value no writer allows is told so: that is the first fix
            passed = [any(_same(v, o) for o in let[1]) for v in compared]
            kept = []
            for value, through in zip(compared, passed, strict=True):
                if through or not self._writable(value, sources):
                    kept.append(value)  # (told below if no writer allows it)
                else:
                    self._not_let_through(sid, key, value, *let)
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
        if let is not None:
            finite = [a for a in finite if any(_same(a, v) for v in let[1])]
        uncovered = [a for a in finite if not any(_same(a, v) for v in compared)]
        if uncovered and "otherwise" not in kinds and "test" not in kinds:
            missing = ", ".join(canonical(v) for v in uncovered)
            if sources[0].kind == "item":
                over = self.w.G.nodes[sources[0].node]["over"]
                values = f"values the items of '{over}' may hold as '{key}'"
            else:
                who = "agent" if len(sources) == 1 else "agents"
                values = f"values {who} {names(_names(sources))} may write to '{key}'"
            self.w.warnings.append(
                f"Route '{sid}' has no branch for {missing} ({values}) and no otherwise, so "
                "the run fails if it gets one; add .when(...) for each, or .otherwise(step)."
            )

    def _writable(self, value: Any, sources: list[Source]) -> bool:
        """Whether some source's schema may allow ``value`` (it is not told out of range)."""
        if not _all_schemas(sources):
            return True
        allowed = _allowed(sources, self.refusals)
        if allowed is not None and not allowed.admits(value):
            return False
        return self._refused(value, sources) is None

    def _not_let_through(
        self, sid: str, key: str, value: Any, routes: list[str], values: list[Any]
    ) -> None:
        """The problem of a compared ``value`` that the ``routes`` before ``sid``, comparing
        ``key`` too, never let through (they let through ``values``)."""
        cases = [c["equals"] for r in routes for c in self.w.G.nodes[r]["cases"] if "equals" in c]
        values = sorted(values, key=lambda v: next(i for i, c in enumerate(cases) if _same(v, c)))
        told, shown = canonical(value), ", ".join(canonical(v) for v in values)
        within = [route for route in routes if self._inside(sid, route)]
        if within:
            why = f"'{sid}' is in the branch of route {names(within)} for {shown}"
            hint = f"Remove the branch for {told} from '{sid}', or move '{sid}' out of that branch"
            strict = [r for r in within if all("equals" in c for c in self.w.G.nodes[r]["cases"])]
            if strict:  # after such a route, the key holds one of its cases' values too
                enclosing = names(strict)
                hint += f" to after {enclosing}, and give {enclosing} .when({value!r}, step)"
                hint += " or .otherwise(step)"
            hint += "."
        else:
            why = (
                f"route {names(routes)} before it {'has' if len(routes) == 1 else 'have'} no "
                "branch for any other value and no otherwise, so a run with another value "
                "fails there"
            )
            hint = (
                f"Remove the branch for {told} from '{sid}', or give {names(routes, 'or')} "
                f".when({value!r}, step) or .otherwise(step)."
            )
        self.w.problem(
            f"Route '{sid}' has a branch for {told}, but '{key}' can only be "
            f"{'one of ' if len(values) > 1 else ''}{shown} when '{sid}' runs: {why}; so that "
            "branch can never run.",
            node=sid,
            key=key,
            hint=hint,
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

    def _inside(self, node: str, scope: str) -> bool:
        """Whether ``node`` is in the body of ``scope`` (at any depth)."""
        parent = self.w.G.nodes[node]["parent"]
        while parent is not None and parent != scope:
            parent = self.w.G.nodes[parent]["parent"]
        return bool(parent == scope)

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
            schema = data.get("output") if data.get("kind") == "agent" else None
            # prefixItems: the first items have schemas of their own (not read here)
            if (
                found is None
                or not isinstance(schema, dict)
                or not isinstance(schema.get("items"), dict)
                or "prefixItems" in schema
            ):
                found = None
                continue
            defs = {k: schema[k] for k in ("$defs", "definitions", "$schema") if k in schema}
            found.append((writer, {**defs, **schema["items"]}))
        self._items[mid] = found or None
        return self._items[mid]

    def _refused(self, value: Any, sources: list[Source]) -> str | None:
        """Why no source can write ``value`` once their schemas' constraints (``pattern``,
        ``minimum``, ``maxLength``, ...) are counted, or ``None`` when one can: the runtime
        validates each structured answer, so such a value never reaches state."""
        reasons = []
        for source in sources:
            schema = source.schema
            refuses = schema is not None and not self.refusals.nothing(schema)
            why = self.refusals(value, schema) if refuses else None
            if why is None:
                return None
            reasons.append(why)
        return reasons[0] if reasons else None

    def _whose(self, sources: list[Source]) -> tuple[str, str]:
        """How a message names the one source's values, and where to change them."""
        (source,) = sources
        if source.kind == "item":
            over = self.w.G.nodes[source.node]["over"]
            return f"the items agent '{source.lister}' writes to '{over}'", (
                f"the items of '{source.lister}'"
            )
        return f"agent '{source.node}'", f"'{source.node}'"

    def _never_valid(self, sid: str, key: str, value: Any, sources: list[Source], why: str) -> None:
        """The problem of a compared ``value`` of the right type that every source's schema
        refuses by a constraint."""
        told = canonical(value)
        listed = names(_names(sources))
        over = self.w.G.nodes[sources[0].node].get("over")
        if len(sources) == 1:
            whose, where = self._whose(sources)
            if sources[0].kind == "item":
                whose = f"the list that agent '{sources[0].lister}' writes to '{over}'"
                source = f"the item schema of {whose} refuses it: {why}"
            else:
                source = f"the output schema of {whose} refuses it: {why}"
            change = f"change the output schema of {where} to allow it"
        elif sources[0].kind == "item":
            source = (
                f"the item schemas of the lists that agents {listed} write to '{over}' refuse "
                f"it (the first: {why})"
            )
            change = f"change the output schema of the items of {names(_names(sources), 'or')}"
            change += " to allow it"
        else:
            source = f"the output schemas of agents {listed} refuse it (the first: {why})"
            change = f"change the output schema of {names(_names(sources), 'or')} to allow it"
        self.w.problem(
            f"Route '{sid}' has a branch for {told}, but {source}; a structured answer is "
            "checked against its schema before it is written, so that branch can never run.",
            node=sid,
            key=key,
            hint=f"Compare with a value the schema allows, or {change}.",
        )

    def _never_matches(
        self, sid: str, key: str, value: Any, sources: list[Source], allowed: AllowedValues
    ) -> None:
        """The problem of a compared ``value`` no source of ``key`` can produce."""
        shown = allowed.describe()
        told = canonical(value)
        either = names(_names(sources), "or")
        if len(sources) == 1:
            whose, where = self._whose(sources)
            if isinstance(sources[0].schema.get("enum"), list):
                source = f"the enum of {whose}"
                change = f"add {told} to the enum of {where}"
            else:
                source = f"the output schema of {whose}"
                change = f"change the output schema of {where} to allow it"
        elif sources[0].kind == "item":
            over = self.w.G.nodes[sources[0].node]["over"]
            listed = names(_names(sources))
            source = f"what the items of the lists agents {listed} write to '{over}' may hold"
            change = f"add {told} to the output schema of the items of {either}"
        else:
            source = f"what agents {names(_names(sources))} may write there"
            change = f"add {told} to the output schema of {either}"
        other = respelled(value, allowed)
        if other is not NONE and self._refused(other, sources) is not None:
            other = NONE  # the other spelling is refused by a constraint too: not offered
        if value is None:  # the string "null" is never what a .when(None, ...) meant
            if source.startswith("the output schema"):
                kinds = [*sorted(allowed.types or {"string"}), "null"]
                change = f"add \"null\" to its type (e.g. 'type': {kinds!r})"
            hint = (
                f"No writer gives '{key}' null: to let it be null, {change}; to test whether "
                f"it is null or unset, use a predicate: .when(lambda state: state.get('{key}') "
                "is None, ...)."
            )
        elif not scalar_choices(allowed):  # .when() takes no list or dict to compare with
            schema = sources[0].schema if len(sources) == 1 else None
            hint = (
                f"A route compares '{key}' as a whole, with a string, number, boolean or None; "
                f"to look inside it, use a predicate: {inside(key, value, allowed, schema)}. "
                f"Or {change}."
            )
        elif other is NONE:
            hint = f"Use {shown}, or {change}."
        else:
            hint = (
                f"Write .when({other!r}, ...): a route compares JSON values, so "
                f"{value!r} never equals {other!r}. Or {change}."
            )
        self.w.problem(
            f"Route '{sid}' has a branch for {told}, but '{key}' can only be {shown} "
            f"({source}), so that branch can never run.",
            node=sid,
            key=key,
            hint=hint,
        )


def let_through(found: frozenset[Any]) -> tuple[list[str], list[Any]] | None:
    """When every value in ``found`` passed a route comparing it, those routes and the values
    they let through; else ``None``."""
    if not found or not all(isinstance(item, Narrowed) for item in found):
        return None
    routes: list[str] = []
    values: list[Any] = []
    for item in sorted(found, key=lambda item: item.route):
        routes += [item.route] if item.route not in routes else []
        values += [v for v in item.values if not any(_same(v, old) for old in values)]
    return routes, values


def _sources_of(found: frozenset[Any]) -> frozenset[str]:
    return frozenset(item.source if isinstance(item, Narrowed) else item for item in found)


def _move(said: list[Any], start: int, to: int) -> None:
    """Move the items of ``said`` from index ``start`` on to index ``to``."""
    new = said[start:]
    del said[start:]
    said[to:to] = new


def _names(sources: list[Source]) -> list[str]:
    """The node each of ``sources`` is named by in a message."""
    return [source.name for source in sources]


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
