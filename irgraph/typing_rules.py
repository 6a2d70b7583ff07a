"""Types along data edges, checked by the graph walk where they are known.

An agent with ``.output(schema)`` writes values of that schema; one without writes free text.
The walk (:mod:`irgraph.graph`) asks these rules at the three places a type matters before
anything runs: a map-over's list (text cannot be iterated as items), a route's compared key
(a value that no possible writer's schema allows, by its ``enum``, ``const`` or ``type`` or by
a constraint such as ``pattern`` or ``maximum``, can never match; values the routes leave
uncovered without an ``otherwise`` would fail the run), and a loop's stop key (free text is
truthy whatever it says, so ``until(key)`` alone stops on "no").
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from irgraph.graph_routes import lookup, writers
from irgraph.ir import LoopNode, RouteNode
from irgraph.ir.outputs import (
    AllowedValues,
    allows_nothing,
    schema_enum,
    schema_values,
    value_type,
)
from irgraph.ir.values import canonical
from irgraph.ir.values import same_value as _same
from irgraph.route_values import NONE, Refusals, inside, refusal, respelled, scalar_choices
from irgraph.schema import EXECUTABLE_KINDS
from irgraph.walk import INPUT

if TYPE_CHECKING:
    from irgraph.graph_routes import Walker
    from irgraph.walk import Env

__all__ = ["TypeRules"]


class TypeRules:
    """The type checks of one graph walk."""

    def __init__(self, walker: Walker) -> None:
        self.w = walker
        self._order: dict[str, int] = {}  # node id -> place in reading order, filled lazily
        #: Routes inside a loop, checked by :meth:`finish` once the whole body is known (on a
        #: later pass the key may hold what a writer after the route wrote).
        self._in_loops: list[tuple[str, RouteNode, list[str]]] = []
        #: Per map-over: the agent that writes its list and the schema of the list's items,
        #: when one agent alone writes it as an array of known items (else ``None``).
        self._items: dict[str, tuple[str, Any] | None] = {}
        self.refusals = Refusals()  # one validator per schema, for every route of the walk

    def _agents(self, key: str, env: Env) -> list[tuple[str, Any]]:
        """The agents that may have written ``key`` as seen from ``env``, with their output
        schema (``None``: free text)."""
        nodes = self.w.G.nodes
        return [
            (nid, nodes[nid]["output"])
            for nid in writers(self.w, key, env)
            if nodes[nid]["kind"] == "agent"
        ]

    def map_list(self, sid: str, over: str, env: Env) -> None:
        """A map-over iterates a list: refuse a key its writer writes as text or as a
        non-array value."""
        for writer, schema in self._agents(over, env):
            kind = value_type(schema)
            if kind in (None, "array"):
                continue
            shown = "free text" if kind == "text" else f"a JSON {kind}"
            self.w.problem(
                f"MapOver '{sid}' iterates over '{over}', but agent '{writer}' writes it as "
                f"{shown}, not a list.",
                node=sid,
                key=over,
                hint=f"Give '{writer}' .output({{'type': 'array', 'items': {{'type': "
                "'string'}}) so it answers with a list, or split the text into a list with a "
                f"Transform that reads '{over}'.",
            )

    def route_on(self, sid: str, node: RouteNode, env: Env) -> None:
        """Every compared value must be one some possible writer of the key can produce;
        values nobody takes without an otherwise are a warning (the run would fail on them).

        The possible writers are all the graph walk knows of (the nearest writer and its
        ``alternatives``: a route's other branches, the writer before a route that writes the
        key on some branches); when one of them may write anything (an input, a transform, a
        gate, an agent without a schema, or the initial state where a route may leave the
        key unset), no value is refused and none is said to be uncovered."""
        key = node.on
        if key is None:
            return
        sources = self._possible_writers(key, env)
        for source in sources:
            if source != INPUT and self.w.G.nodes[source]["kind"] == "map_over":
                self._item_schema(source, env)
        if self._loops_around(sid):
            self._in_loops.append((sid, node, sources))
            return
        self._check_route(sid, node, key, sources)

    def finish(self) -> None:
        """Check the routes inside loops, now that every writer of each loop's body is known:
        the key a route compares may hold, from the second pass on, what any writer in an
        enclosing loop's body wrote."""
        nodes = self.w.G.nodes
        for sid, node, sources in self._in_loops:
            key = node.on
            assert key is not None
            for source in sources:
                if source != INPUT and nodes[source]["kind"] == "map_over":
                    self._rewritten_list(source)
            loops = set(self._loops_around(sid))
            later = [
                n
                for n in self.w.added
                if key in nodes[n].get("writes", ())
                and nodes[n]["kind"] in EXECUTABLE_KINDS
                and n not in sources
                and loops.intersection(self._loops_around(n))
            ]
            self._check_route(sid, node, key, sources + later)

    def _rewritten_list(self, mid: str) -> None:
        """Forget the item schema of map-over ``mid`` when a node in a loop around it writes
        its list again: from the second pass on, the items may be that writer's."""
        item = self._items.get(mid)
        if item is None:
            return
        nodes = self.w.G.nodes
        over, loops = nodes[mid]["over"], set(self._loops_around(mid))
        for n in self.w.added:
            data = nodes[n]
            if n != item[0] and over in data.get("writes", ()) and data["kind"] in EXECUTABLE_KINDS:
                if loops.intersection(self._loops_around(n)):
                    self._items[mid] = None
                    return

    def _loops_around(self, nid: str) -> list[str]:
        """The loops that hold node ``nid``, innermost first."""
        nodes = self.w.G.nodes
        found = []
        parent = nodes[nid]["parent"]
        while parent is not None:
            if nodes[parent]["kind"] == "loop":
                found.append(parent)
            parent = nodes[parent]["parent"]
        return found

    def _check_route(self, sid: str, node: RouteNode, key: str, sources: list[str]) -> None:
        compared = [c.value for c in node.cases if c.kind == "equals"]
        nodes = self.w.G.nodes
        for writer in sources if compared else ():
            if writer == INPUT:
                continue
            if nodes[writer]["kind"] == "agent" and nodes[writer]["output"] is None:
                self.w.warnings.append(
                    f"Route '{sid}' compares '{key}' with exact values, but agent "
                    f"'{writer}' writes it as free text, which rarely equals a value exactly; "
                    f"give '{writer}' .output({{'type': 'string', 'enum': [...]}})."
                )
        allowed = self._allowed(key, sources)
        if allowed is None:
            if self._all_schemas(key, sources):  # schemas whose values the walk cannot list
                sources = self._in_reading_order(sources) if len(sources) > 1 else sources
                for value in compared:
                    if (why := self._refused(value, sources)) is not None:
                        self._never_valid(sid, key, value, sources, why)
            return
        if len(sources) > 1:  # all agents: name them, and their values, in reading order
            sources = self._in_reading_order(sources)
            allowed = self._allowed(key, sources)
            assert allowed is not None
        for value in compared:
            if not allowed.admits(value):
                self._never_matches(sid, key, value, sources, allowed)
            elif (why := self._refused(value, sources)) is not None:
                self._never_valid(sid, key, value, sources, why)
        kinds = {c.kind for c in node.cases}
        finite = [a for a in allowed.values if self._refused(a, sources) is None]
        finite = finite if not allowed.types else []
        uncovered = [a for a in finite if not any(_same(a, v) for v in compared)]
        if uncovered and "otherwise" not in kinds and "test" not in kinds:
            missing = ", ".join(canonical(v) for v in uncovered)
            if len(sources) == 1 and sources[0] in self._items:
                over = self.w.G.nodes[sources[0]]["over"]
                values = f"values the items of '{over}' may hold as '{key}'"
            else:
                who = f"agent '{sources[0]}'" if len(sources) == 1 else f"agents {_names(sources)}"
                values = f"values {who} may write to '{key}'"
            self.w.warnings.append(
                f"Route '{sid}' has no branch for {missing} ({values}) and no otherwise, so "
                "the run fails if it gets one; add .when(...) for each, or .otherwise(step)."
            )

    def _item_schema(self, mid: str, env: Env) -> None:
        """Record what map-over ``mid`` hands its body as the item (seen from ``env``, inside
        its body): the items of the list its one agent writer gives, by that agent's schema."""
        if mid in self._items:
            return
        layer: Env | None = env
        while layer is not None and layer.scope != mid:
            layer = layer.parent
        over = self.w.G.nodes[mid]["over"]
        found = None
        if layer is not None and layer.parent is not None and over is not None:
            writers = self._possible_writers(over, layer.parent)
            if len(writers) == 1 and (writers[0], over) not in self.w.maybe:
                (writer,) = writers
                data = self.w.G.nodes.get(writer, {})
                schema = data.get("output") if data.get("kind") == "agent" else None
                # prefixItems: the first items have schemas of their own (not read here)
                if (
                    isinstance(schema, dict)
                    and isinstance(schema.get("items"), dict)
                    and "prefixItems" not in schema
                ):
                    # the list's definitions go with its items, so a local $ref still resolves
                    defs = {
                        k: schema[k] for k in ("$defs", "definitions", "$schema") if k in schema
                    }
                    found = (writer, {**defs, **schema["items"]})
        self._items[mid] = found

    def _schema(self, writer: str) -> Any:
        """The schema of what ``writer`` (an agent, or a map-over handing out its items)
        writes to the key a route compares: ``None`` for free text or unknown items."""
        data = self.w.G.nodes[writer]
        if data["kind"] == "map_over":
            item = self._items.get(writer)
            return None if item is None else item[1]
        return data["output"]

    def _source(self, writer: str) -> tuple[str, str]:
        """How a message names ``writer``'s values, and where to change them."""
        item = self._items.get(writer)
        if self.w.G.nodes[writer]["kind"] == "map_over" and item is not None:
            over = self.w.G.nodes[writer]["over"]
            return f"the items agent '{item[0]}' writes to '{over}'", f"the items of '{item[0]}'"
        return f"agent '{writer}'", f"'{writer}'"

    def _possible_writers(self, key: str, env: Env) -> list[str]:
        """Every writer whose value of ``key`` a reader at ``env`` may see, ``INPUT`` included:
        the nearest one and, transitively, its alternatives (a route that writes the key on
        some branches records the writer before it, which may itself be one of several)."""
        first = lookup(key, env)
        if first is None:
            return []
        found = [first]
        for writer in found:  # grows as it goes: the alternatives of alternatives
            for other in self.w.alternatives.get((writer, key), ()):
                if other not in found:
                    found.append(other)
        return found

    def _in_reading_order(self, ids: list[str]) -> list[str]:
        """``ids`` in the order the walk added them (the places are filled in as needed, so
        a big graph pays once, not per route)."""
        added = self.w.added
        for index in range(len(self._order), len(added)):
            self._order[added[index]] = index
        return sorted(ids, key=self._order.__getitem__)

    def _all_schemas(self, key: str, sources: list[str]) -> bool:
        """Whether each of ``sources`` writes ``key`` by a schema: an agent with an output
        schema, or a map-over handing out items of a known schema (not an input, a transform,
        a gate, free text, or a key a route may leave unset)."""
        nodes = self.w.G.nodes
        for writer in sources:
            if writer == INPUT or (writer, key) in self.w.maybe:
                return False
            kind = nodes[writer]["kind"]
            if kind == "map_over" and (
                len(sources) > 1 or not self._items.get(writer) or nodes[writer]["item"] != key
            ):  # a list of unknown items, items and other writers at once, or the results
                return False
            if kind not in ("agent", "map_over") or self._schema(writer) is None:
                return False
        return bool(sources)

    def _allowed(self, key: str, sources: list[str]) -> AllowedValues | None:
        """The values of ``key`` any of ``sources`` may write, or ``None`` when one of them
        may write anything (or there is none)."""
        if not self._all_schemas(key, sources):
            return None
        allowed: AllowedValues | None = None
        for writer in sources:
            values = schema_values(self._schema(writer))
            if values is None:
                return None
            allowed = values if allowed is None else allowed.union(values)
        return allowed

    def _refused(self, value: Any, sources: list[str]) -> str | None:
        """Why no writer among ``sources`` can write ``value`` once their schemas' constraints
        (``pattern``, ``minimum``, ``maxLength``, ...) are counted, or ``None`` when one can:
        the runtime validates each structured answer, so such a value never reaches state."""
        reasons = []
        for writer in sources:
            schema = self._schema(writer)
            why = None if schema is None or allows_nothing(schema) else self.refusals(value, schema)
            if why is None:
                return None
            reasons.append(why)
        return reasons[0] if reasons else None

    def _never_valid(self, sid: str, key: str, value: Any, sources: list[str], why: str) -> None:
        """The problem of a compared ``value`` of the right type that every writer's schema
        refuses by a constraint."""
        told = canonical(value)
        if len(sources) == 1:
            whose, where = self._source(sources[0])
            item = self._items.get(sources[0])
            if item is not None and self.w.G.nodes[sources[0]]["kind"] == "map_over":
                over = self.w.G.nodes[sources[0]]["over"]
                whose = f"the list that agent '{item[0]}' writes to '{over}'"
                source = f"the item schema of {whose} refuses it: {why}"
            else:
                source = f"the output schema of {whose} refuses it: {why}"
            change = f"change the output schema of {where} to allow it"
        else:
            source = f"the output schemas of agents {_names(sources)} refuse it (the first: {why})"
            change = f"change the output schema of {_names(sources, 'or')} to allow it"
        self.w.problem(
            f"Route '{sid}' has a branch for {told}, but {source}; a structured answer is "
            "checked against its schema before it is written, so that branch can never run.",
            node=sid,
            key=key,
            hint=f"Compare with a value the schema allows, or {change}.",
        )

    def _never_matches(
        self, sid: str, key: str, value: Any, sources: list[str], allowed: AllowedValues
    ) -> None:
        """The problem of a compared ``value`` no possible writer of ``key`` can produce."""
        shown = allowed.describe()
        told = canonical(value)
        if len(sources) == 1:
            (writer,) = sources
            whose, where = self._source(writer)
            if isinstance(self._schema(writer).get("enum"), list):
                source = f"the enum of {whose}"
                change = f"add {told} to the enum of {where}"
            else:
                source = f"the output schema of {whose}"
                change = f"change the output schema of {where} to allow it"
        else:
            source = f"what agents {_names(sources)} may write there"
            change = f"add {told} to the output schema of {_names(sources, 'or')}"
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
            schema = self._schema(sources[0]) if len(sources) == 1 else None
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

    def loop_stop(self, sid: str, node: LoopNode, env: Env) -> None:
        """``until(key)`` on free text stops on any answer; ``equals=`` a value that no writer
        of the key can write (outside its enum or schema, or no string on free text) never
        stops the loop early."""
        key = node.until
        assert isinstance(key, str)
        agents = self._agents(key, env)
        if not node.until_equals:
            for writer, schema in agents:
                if schema is None:
                    self.w.warnings.append(
                        f"Loop '{sid}' stops once '{key}' is truthy, but agent '{writer}' "
                        "writes it as free text, so any answer (even 'no') stops it; write "
                        f".until('{key}', equals='...') or give '{writer}' "
                        ".output({'type': 'boolean'})."
                    )
            return
        target = node.until_equals[0]
        reasons = [self._never_equals(sid, node, key, w, schema, target) for w, schema in agents]
        if not reasons or not all(reasons) or len(agents) < len(writers(self.w, key, env)):
            return  # some writer may write it (a transform, an input: anything)
        if len(reasons) == 1:
            self.w.warnings.append(str(reasons[0]))
            return
        names = _names([w for w, _ in agents], "or")
        self.w.warnings.append(
            f"Loop '{sid}' stops when '{key}' equals {canonical(target)}, but none of its "
            f"writers can write it ({names}), so it never stops early."
        )

    def _never_equals(
        self, sid: str, node: LoopNode, key: str, writer: str, schema: Any, target: Any
    ) -> str | None:
        """Why ``writer`` (with output ``schema``) never writes ``target`` to ``key``, as the
        warning of loop ``sid`` says it, or ``None`` when it may."""
        if schema is None:
            return self._text_never_equals(sid, node, key, writer, target)
        allowed = schema_enum(schema)
        if allowed is not None and not any(_same(target, a) for a in allowed):
            return (
                f"Loop '{sid}' stops when '{key}' equals {canonical(target)}, but agent "
                f"'{writer}' only writes one of {', '.join(map(canonical, allowed))}, so "
                "it never stops early."
            )
        if (why := refusal(target, schema)) is not None:
            return (
                f"Loop '{sid}' stops when '{key}' equals {canonical(target)}, but the "
                f"output schema of agent '{writer}' refuses it ({why}), so it never stops "
                "early."
            )
        return None

    def _text_never_equals(
        self, sid: str, node: LoopNode, key: str, writer: str, target: Any
    ) -> str | None:
        """The warning for ``until(key, equals=target)`` where ``target`` is no string but
        ``writer`` answers free text: a string never equals it as JSON values compare."""
        told = canonical(target)
        runs = f"all {node.max_iterations} iterations" if node.max_iterations else "every time"
        kind = {bool: "boolean", int: "integer", float: "number", list: "array"}.get(
            type(target), "object" if isinstance(target, dict) else "null"
        )
        if isinstance(target, str):
            return None
        return (
            f"Loop '{sid}' stops when '{key}' equals {told}, but agent '{writer}' writes "
            f"'{key}' as free text (a string), so it never equals {told} (the answer "
            f"{json.dumps(told)} is a string) and the loop runs {runs}; write "
            f".until('{key}', equals={told!r}) or give '{writer}' "
            f".output({{'type': '{kind}'}})."
        )


def _names(ids: list[str], last: str = "and") -> str:
    """``'a' and 'b'``, ``'a', 'b' and 'c'`` (or ``or``)."""
    quoted = [f"'{i}'" for i in ids]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} {last} {quoted[-1]}"
