"""What the route checks (:mod:`irgraph.route_check`) say: the problem of a compared value no
source of the key can produce, or that the routes before never let through, each naming the
nodes to change and how.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from irgraph.ir.key_paths import path_root
from irgraph.ir.outputs import AllowedValues
from irgraph.ir.values import canonical
from irgraph.ir.values import same_value as _same
from irgraph.route_values import (
    NONE,
    Refusals,
    field_holding,
    inside,
    names,
    respelled,
    routes_named,
    scalar_choices,
    to_change,
)

if TYPE_CHECKING:
    from irgraph.graph_routes import Walker

__all__ = ["RouteMessages", "Source", "let_through", "every_one", "names_of"]


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


class RouteMessages:
    """The messages of the route checks of one graph walk."""

    w: Walker
    refusals: Refusals
    _order: dict[str, int]
    _nested: dict[str, str]  # map-over id -> the one whose item it iterates

    def _not_let_through(
        self, sid: str, key: str, value: Any, found: frozenset[Any], never: list[str]
    ) -> None:
        """The problem of a compared ``value`` that the routes before ``sid`` comparing
        ``key`` too never let through (``found``: what reaches ``sid`` of the writers that may
        write it, each narrowed), and that the writers ``never`` whose value gets there
        never write."""
        told = canonical(value)
        let = let_through(found, value)
        every = every_one(found, value)
        apart = [by for item in found for v, by in item.without if _same(v, value)]
        apart = sorted(set(apart), key=self._order.__getitem__)
        whys, hints = [], [f"Remove the branch for {told} from '{sid}'"]
        if apart:
            whys += [self._taken_before(sid, key, route, told) for route in apart]
            if any(self._inside(sid, route) for route in apart):
                hints.append(f"move '{sid}' out of that branch")
        if let is not None:
            why, hint = self._only_why(sid, value, *let, every=every)
            whys.append(why)
            hints += [hint] if not apart else []
        if never:  # their value gets there, but never as this one
            kind = "agent" if len(never) == 1 else "agents"
            writes = "writes" if len(never) == 1 else "write"
            whys.append(f"{kind} {names(never)} never {writes} {told} to '{key}'")
        head = f"cannot be {told}"
        if let is not None and not apart and not never:
            values = let[1]
            shown = ", ".join(canonical(v) for v in values)
            head = f"can only be {'one of ' if len(values) > 1 else ''}{shown}"
        self.w.problem(
            f"Route '{sid}' has a branch for {told}, but '{key}' {head} when '{sid}' runs: "
            f"{', and '.join(whys)}; so that branch can never run.",
            node=sid,
            key=key,
            hint=f"{', or '.join(hints)}.",
        )

    def _taken_before(self, sid: str, key: str, route: str, told: str) -> str:
        """Why ``route`` keeps the value ``told`` of ``key`` from ``sid``: an earlier branch
        of it takes that value (``sid`` is in a later one, or after it, when that branch
        writes ``key``)."""
        if not self._inside(sid, route):
            return (
                f"route '{route}' before it takes {told} to its branch for it, which writes "
                f"'{path_root(key)}'"
            )
        nodes = self.w.G.nodes
        step = sid
        while nodes[step]["parent"] != route:
            step = nodes[step]["parent"]
        label = nodes[route]["cases"][nodes[step]["branch"]]["label"]
        branch = "the otherwise branch" if label == "otherwise" else f"the branch for {label}"
        return (
            f"'{sid}' is in {branch} of route '{route}', which takes {told} to a branch of its own"
        )

    def _only_why(
        self, sid: str, value: Any, routes: list[str], values: list[Any], every: bool = False
    ) -> tuple[str, str]:
        """Why only ``values`` reach ``sid`` (the ``routes`` before it let only those through),
        and the fix for a compared ``value`` among the others (``every``: each of the routes
        must let it through, as they are all on its one way)."""
        cases = [c["equals"] for r in routes for c in self.w.G.nodes[r]["cases"] if "equals" in c]
        values[:] = sorted(
            values, key=lambda v: next(i for i, c in enumerate(cases) if _same(v, c))
        )
        shown = ", ".join(canonical(v) for v in values)
        within = [route for route in routes if self._inside(sid, route)]
        if within:
            branches = "the branch" if len(within) == 1 else "the branches"
            why = f"'{sid}' is in {branches} of {routes_named(within)} for {shown}"
            hint = f"move '{sid}' out of that branch"
            strict = [r for r in within if all("equals" in c for c in self.w.G.nodes[r]["cases"])]
            if strict:  # after such a route, the key holds one of its cases' values too
                enclosing = names(strict)
                hint += f" to after {enclosing}, and give {enclosing} .when({value!r}, step)"
                hint += " or .otherwise(step)"
            return why, hint
        strict, loose = self._strict(routes)
        whys, hints = [], []
        if strict:
            whys.append(
                f"{routes_named(strict)} before it {'has' if len(strict) == 1 else 'have'} no "
                "branch for any other value and no otherwise, so a run with another value "
                "fails there"
            )
            change = to_change(strict, every)
            hints.append(f"give {change} .when({value!r}, step) or .otherwise(step)")
        if loose:  # (every other value its branches meet, they write the key over, or stop)
            key = self.w.G.nodes[loose[0]]["on"]
            whys.append(
                f"{routes_named(loose)} before it {'takes' if len(loose) == 1 else 'take'} any "
                f"other value to a branch that writes '{key}'"
            )
            hints.append(
                f"give {to_change(loose, every)} .when({value!r}, step) with a step that "
                f"leaves '{key}' as it is"
            )
        return ", and ".join(whys), ", or ".join(hints)

    def _strict(self, routes: list[str]) -> tuple[list[str], list[str]]:
        """``routes`` split: those with no otherwise and no predicate (a run with a value no
        branch takes fails there), and the others (their other branches write the key)."""
        strict = [r for r in routes if all("equals" in c for c in self.w.G.nodes[r]["cases"])]
        return strict, [r for r in routes if r not in strict]

    def _list_named(self, mid: str) -> str:
        """The list map-over ``mid`` iterates, as a message names it."""
        over = f"'{self.w.G.nodes[mid]['over']}'"
        outer = self._nested.get(mid)
        return over if outer is None else f"{over}, an item of {self._list_named(outer)}"

    def _inside(self, node: str, scope: str) -> bool:
        """Whether ``node`` is in the body of ``scope`` (at any depth)."""
        parent = self.w.G.nodes[node]["parent"]
        while parent is not None and parent != scope:
            parent = self.w.G.nodes[parent]["parent"]
        return bool(parent == scope)

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
            over, levels, outer = self._list_named(source.node), 1, source.node
            while outer in self._nested:  # a list in a list: the items of its items
                levels, outer = levels + 1, self._nested[outer]
            return f"the items agent '{source.lister}' writes to {over}", (
                f"{'the items of ' * levels}'{source.lister}'"
            )
        return f"agent '{source.node}'", f"'{source.node}'"

    def _by_sources(
        self,
        sources: list[Source],
        one: tuple[str, str],
        item: tuple[str, str],
        items: tuple[str, str],
        agents: tuple[str, str],
        **said: str,
    ) -> tuple[str, str]:
        """The (what refuses, what to change) wording that fits ``sources``: ``one`` for a
        single agent, ``item`` for the items of one agent's list, ``items`` for those of
        several agents' lists, ``agents`` for several agents. Each may name {whose} and
        {where} (:meth:`_whose`, of a single source), {listed} ('a' and 'b'), {either} ('a'
        or 'b'), {over} (the list), {lister} and what ``said`` gives."""
        first = sources[0]
        fields = {
            "listed": names(names_of(sources)),
            "either": names(names_of(sources), "or"),
            "lister": str(first.lister),
            "over": self._list_named(first.node) if first.kind == "item" else "",
            **said,
        }
        if len(sources) == 1:
            fields["whose"], fields["where"] = self._whose(sources)
            chosen = item if first.kind == "item" else one
        else:
            chosen = items if first.kind == "item" else agents
        source, change = chosen
        return source.format(**fields), change.format(**fields)

    def _never_valid(self, sid: str, key: str, value: Any, sources: list[Source], why: str) -> None:
        """The problem of a compared ``value`` of the right type that every source's schema
        refuses by a constraint."""
        change = "change the output schema of {where} to allow it"
        source, change = self._by_sources(
            sources,
            one=("the output schema of {whose} refuses it: {why}", change),
            item=(
                "the item schema of the list that agent '{lister}' writes to {over} refuses it: "
                "{why}",
                change,
            ),
            items=(
                "the item schemas of the lists that agents {listed} write to {over} refuse it "
                "(the first: {why})",
                "change the output schema of the items of {either} to allow it",
            ),
            agents=(
                "the output schemas of agents {listed} refuse it (the first: {why})",
                "change the output schema of {either} to allow it",
            ),
            why=why,
        )
        self.w.problem(
            f"Route '{sid}' has a branch for {canonical(value)}, but {source}; a structured "
            "answer is checked against its schema before it is written, so that branch can "
            "never run.",
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
        single = ("the output schema of {whose}", "change the output schema of {where} to allow it")
        if len(sources) == 1 and isinstance(sources[0].schema.get("enum"), list):
            single = ("the enum of {whose}", "add {told} to the enum of {where}")
            if "." in key:  # the field's enum: where in the writer's schema to add the value
                field = key.rpartition(".")[2]
                single = (
                    f"the enum of the field '{field}' of {{whose}}",
                    f"add {{told}} to the enum of the field '{field}' of {{where}}",
                )
        source, change = self._by_sources(
            sources,
            one=single,
            item=single,
            items=(
                "what the items of the lists agents {listed} write to {over} may hold",
                "add {told} to the output schema of the items of {either}",
            ),
            agents=(
                "what agents {listed} may write there",
                "add {told} to the output schema of {either}",
            ),
            told=told,
        )
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
            look = f"to look inside it, use a predicate: {inside(key, value, allowed, schema)}"
            if (holding := field_holding(value, allowed, schema)) is not None:
                look = f"to compare its field '{holding}', route on it: .on('{key}.{holding}')"
            hint = (
                f"A route compares '{key}' as a whole, with a string, number, boolean or None; "
                f"{look}. Or {change}."
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


def let_through(found: frozenset[Any], value: Any) -> tuple[list[str], list[Any]] | None:
    """The routes that let only some values through to the node (``found``: what reaches it)
    and those values, when one of them keeps ``value`` out; else ``None``. Each route on the
    way that keeps ``value`` out is named, not only the last."""
    routes: list[str] = []
    values: list[Any] = []
    for item in sorted(found, key=lambda item: str(item.route)):
        if item.values is None or any(_same(value, v) for v in item.values):
            continue
        routes += [route for route in item.kept_out_by(value) if route not in routes]
        admitted = [v for v in item.values if item.admits(v)]
        values += [v for v in admitted if not any(_same(v, old) for old in values)]
    return (routes, values) if routes else None


def every_one(found: frozenset[Any], value: Any) -> bool:
    """Whether ``value`` gets through only when each route :func:`let_through` names lets it
    through: they are all on one way (each item of ``found`` keeping ``value`` out is kept out
    by the same routes); else any one of them letting it through may do."""
    kept = {tuple(item.kept_out_by(value)) for item in found if item.values is not None}
    kept.discard(())
    return len(kept) == 1


def names_of(sources: list[Source]) -> list[str]:
    """The node each of ``sources`` is named by in a message."""
    return [source.name for source in sources]
