"""Types along data edges, checked by the graph walk where they are known.

An agent with ``.output(schema)`` writes values of that schema; one without writes free text.
The walk (:mod:`irgraph.graph`) asks these rules at the three places a type matters before
anything runs: a map-over's list (text cannot be iterated as items), a route's compared key
(a value that no possible writer's schema allows, by its ``enum``, ``const`` or ``type`` or by
a constraint such as ``pattern`` or ``maximum``, can never match; values the routes leave
uncovered without an ``otherwise`` would fail the run), and a loop's stop key (free text is
truthy whatever it says, so ``until(key)`` alone stops on "no"). The stop key is checked once
the whole graph is known, against what a pass may end with: the writers whose value may be
there, narrowed by the routes of the body (:func:`irgraph.reaching.narrowed_ends`).
"""

from __future__ import annotations

import difflib
import json
from typing import TYPE_CHECKING, Any

from irgraph.graph_routes import writers
from irgraph.ir import LoopNode, RouteNode
from irgraph.ir.key_paths import path_fields, path_root
from irgraph.ir.outputs import schema_enum, value_type
from irgraph.ir.values import canonical, respells
from irgraph.ir.values import same_value as _same
from irgraph.list_fields import field_list, unfielded
from irgraph.reaching import Narrowed, source_of
from irgraph.route_check import RouteChecks
from irgraph.route_fields import stops_on_field
from irgraph.route_values import names, refusal, routes_named, to_change
from irgraph.walk import INPUT

if TYPE_CHECKING:
    from irgraph.graph_routes import Walker
    from irgraph.walk import Env

__all__ = ["TypeRules"]


class TypeRules:
    """The type checks of one graph walk."""

    def __init__(self, walker: Walker) -> None:
        self.w = walker
        self.routes = RouteChecks(walker)
        self._named: dict[str, list[str]] = {}  # loop id -> its stop key's writers, in order
        #: loop id -> the keys its body writes, for a loop whose body never writes its stop key
        self._unwritten: dict[str, list[str]] = {}

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
        told = []
        for writer, schema in self._agents(path_root(over), env):  # (plan of plan.topics)
            told.append(writer)
            self.not_a_list(sid, over, writer, schema)
        if "." in over:  # a field: a map-over's results or a model returned have none
            unfielded(self.w, sid, over, writers(self.w, path_root(over), env))
        # An enclosing loop's next pass may bring a writer later in its body: checked once
        # the whole graph is known.
        checks = self.routes
        met = len(checks.routes) + len(checks.lists) + len(checks.loops)
        checks.lists.append((sid, over, told, len(self.w.problems), met))

    def not_a_list(self, sid: str, over: str, writer: str, schema: Any) -> None:
        """The problem of map-over ``sid`` iterating ``over``, which agent ``writer`` writes
        by ``schema``, when that is not a list (at the field, for a path: ``plan.topics``)."""
        if "." in over:
            schema = field_list(self.w, sid, over, f"agent '{writer}'", writer, schema)
            if schema is None:  # told, or it cannot say
                return
        kind = value_type(schema)
        if kind in (None, "array"):
            return
        shown = "free text" if kind == "text" else f"a JSON {kind}"
        array = "{'type': 'array', 'items': {'type': 'string'}}"
        self.w.problem(
            f"MapOver '{sid}' iterates over '{over}', but agent '{writer}' writes "
            f"{'it' if '.' not in over else repr(over)} as {shown}, not a list.",
            node=sid,
            key=path_root(over),
            hint=f"Give '{writer}' .output({array}) so it answers with a list, or split the "
            f"text into a list with a Transform that reads '{over}'."
            if "." not in over
            else f"Declare '{path_fields(over)[-1]}' as an array in the output schema of "
            f"'{writer}' ({array}), or map over a field that holds a list.",
        )

    def route_on(self, sid: str, node: RouteNode) -> None:
        """Every compared value must be one some possible writer of the key can produce;
        values nobody takes without an otherwise are a warning (the run would fail on them).
        Checked once the whole graph is known (:mod:`irgraph.route_check`): what reaches the
        route may come from later in an enclosing loop's body."""
        self.routes.add(sid, node)

    def finish(self, tree: Any) -> None:
        """The checks that need the whole graph (``tree``: its ``G.graph["tree"]``)."""
        self.routes.run(tree, self.not_a_list, self.stops_when)

    def loop_stop(self, sid: str, node: LoopNode, env: Env) -> None:
        """Check loop ``sid``'s stop key once the whole graph is known (:meth:`stops_when`):
        what a pass ends with may come from later in an enclosing loop's body. Its writers
        are named in the order the walk meets them from the end of the body (``env``)."""
        assert isinstance(node.until, str)
        self._named[sid] = writers(self.w, path_root(node.until), env)
        self.routes.add_loop(sid, node)

    def stop_unwritten(self, sid: str, written: list[str]) -> None:
        """Loop ``sid``'s body never writes its stop key (it writes ``written``): warned of
        once the whole graph is known (:meth:`stops_when`), with what the key holds."""
        self._unwritten[sid] = written

    def stops_when(self, sid: str, node: LoopNode, found: frozenset[Any]) -> None:
        """``until(key)`` on free text stops on any answer; ``equals=`` a value that no pass
        can end with (outside the writers' enum or schema, no string on free text, or kept
        out by a route in the body) never stops the loop early. ``found``: what the key may
        hold as a pass ends (:func:`irgraph.reaching.narrowed_ends`)."""
        key = node.until
        assert isinstance(key, str)
        nodes = self.w.G.nodes
        named, order = self._named[sid], {nid: i for i, nid in enumerate(self.w.added)}
        if "." in key:  # a field of a key: by the field's schema, and routes on the field
            if (unwritten := self._unwritten.get(sid)) is not None:
                self.w.warnings.append(stop_key_unwritten(node, sid, unwritten, []))
            else:
                stops_on_field(self, sid, node, key, found)
            return

        def ranked(item: Any) -> tuple[int, int]:  # the walk's writers first, as it met them
            source = source_of(item)
            return (0, named.index(source)) if source in named else (1, -order.get(source, 0))

        items = sorted(found, key=ranked)
        agents: dict[str, Any] = {}  # (an agent, the nearest first, with its output schema)
        for source in map(source_of, items):
            if source != INPUT and nodes[source]["kind"] == "agent":
                agents.setdefault(source, nodes[source]["output"])
        # Free text, unless the routes before let it through only as the values they compare.
        free = [
            writer
            for writer, schema in agents.items()
            if schema is None
            if not all(isinstance(i, Narrowed) and i.values for i in _written_by(writer, items))
        ]
        unwritten = self._unwritten.get(sid)
        if unwritten is not None:
            self.w.warnings.append(
                stop_key_unwritten(node, sid, unwritten, [] if node.until_equals else free)
            )
        if not node.until_equals:
            for writer in free if unwritten is None else ():
                self.w.warnings.append(
                    f"Loop '{sid}' stops once '{key}' is truthy, but agent '{writer}' "
                    "writes it as free text, so any answer (even 'no') stops it; write "
                    f".until('{key}', equals='...') or give '{writer}' "
                    ".output({'type': 'boolean'})."
                )
            if unwritten is None and items:
                self._always_truthy(sid, key, items)
            return
        target = node.until_equals[0]
        reasons: dict[str, str] = {}
        kept_out: list[Narrowed] = []
        never: dict[str, str] = {}  # kept out by a route, and never written by its writer
        for item in items:
            source = source_of(item)
            why = None
            if source != INPUT and nodes[source]["kind"] == "agent":
                why = self._never_equals(sid, node, key, source, agents[source], target)
            if isinstance(item, Narrowed) and not item.admits(target):
                if why:  # a route in the way of a value its writer never writes anyway
                    never.setdefault(source, why)
                else:
                    kept_out.append(item)  # a route in the way
            elif why:
                reasons.setdefault(source, why)
            else:
                return  # an input, a transform, an agent that may write it ...
        if not kept_out:
            # No route keeps out a value some writer may write: the writers are the reason,
            # and a branch for the value (what a route-centred warning would say) never runs.
            reasons = {**never, **reasons}
        if kept_out:
            self.w.warnings.append(self._kept_out(sid, key, target, kept_out, list(reasons)))
        elif len(reasons) == 1:
            self.w.warnings.append(next(iter(reasons.values())))
        elif reasons:
            self.w.warnings.append(
                f"Loop '{sid}' stops when '{key}' equals {canonical(target)}, but none of its "
                f"writers can write it ({names(list(reasons), 'or')}), so it never stops early. "
                "Stop on a value they write, or let their output schemas allow it."
            )

    def _always_truthy(self, sid: str, key: str, items: list[Any]) -> None:
        """The warning of loop ``sid``, stopping once ``key`` is truthy, when the routes of its
        body let a pass end only with values they compare (``items``), each of them truthy."""
        if not all(isinstance(item, Narrowed) and item.values for item in items):
            return
        values: list[Any] = []
        for item in items:
            values += [v for v in item.values if item.admits(v) and not _among(v, values)]
        if not values or not all(values):
            return
        routes = sorted({str(item.route) for item in items}, key=self.w.added.index)
        nodes = self.w.G.nodes
        cases = [c["equals"] for r in routes for c in nodes[r]["cases"] if "equals" in c]
        values.sort(key=lambda v: next((i for i, c in enumerate(cases) if _same(v, c)), 0))
        shown = ", ".join(map(canonical, values))
        self.w.warnings.append(
            f"Loop '{sid}' stops once '{key}' is truthy, but a pass can only end with '{key}' "
            f"as {'one of ' if len(values) > 1 else ''}{shown} (what route {names(routes)} "
            f"{'lets' if len(routes) == 1 else 'let'} through), all truthy, so the loop always "
            f"stops after its first pass; stop on one of them: .until('{key}', "
            f"equals={values[0]!r})."
        )

    def _kept_out(
        self, sid: str, key: str, target: Any, kept_out: list[Narrowed], agents: list[str]
    ) -> str:
        """The warning of loop ``sid``, whose ``target`` the routes ``kept_out`` names keep
        from the end of a pass (and the ``agents`` never write)."""
        told, nodes = canonical(target), self.w.G.nodes
        parts, fixes = [], []
        for item in kept_out:
            taken = next((by for v, by in item.without if _same(v, target)), None)
            if taken is not None:
                part = f"route '{taken}' takes {told} to its branch for it, which writes "
                part += f"'{path_root(key)}'"
                parts += [part] if part not in parts else []
                continue
            for route in item.kept_out_by(target) or [str(item.route)]:  # each on the way
                if all("equals" in case for case in nodes[route]["cases"]):
                    part = ""  # told once, of every such route (below)
                    fixes += [route] if route not in fixes else []
                else:
                    part = f"route '{route}' takes any other value to a branch that writes "
                    part += f"'{path_root(key)}'"
                parts += [part] if part not in parts else []
        if fixes:
            has = "has" if len(fixes) == 1 else "have"
            parts[parts.index("")] = (
                f"{routes_named(fixes)} {has} no branch for {told} and no otherwise, so a run "
                "that gets it fails there"
            )
        parts += [f"agent '{agent}' never writes {told} to '{key}'" for agent in agents]
        fix = ""
        if fixes:
            every = len({tuple(item.kept_out_by(target)) for item in kept_out} - {()}) == 1
            fix = f" (give {to_change(fixes, every)} .when({target!r}, step) or "
            fix += ".otherwise(step) to let it through)"
        return (
            f"Loop '{sid}' stops when '{key}' equals {told}, but no pass can end with it: "
            f"{'; '.join(parts)}; so it never stops early{fix}."
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
            # The value written the other way ("true" for True, 1 for "1"), when it is allowed.
            meant = [a for a in allowed if respells(target, a)]
            fix = (
                f" Write .until('{key}', equals={meant[0]!r}): a loop compares JSON values, "
                f"so {target!r} never equals {meant[0]!r}."
                if meant
                else f" Stop on one of them (.until('{key}', equals={allowed[0]!r})), or add "
                f"{target!r} to the enum of '{writer}'."
            )
            near = [a for a in allowed if isinstance(a, str) and isinstance(target, str)]
            near = difflib.get_close_matches(target, near, n=1) if near and not meant else []
            if near:  # "aproved" for "approved"
                fix = f" Did you mean .until('{key}', equals={near[0]!r})?"
            writes = f"writes '{key}' as" if "." in key else "writes"  # a field of its answer
            return (
                f"Loop '{sid}' stops when '{key}' equals {canonical(target)}, but agent "
                f"'{writer}' only {writes} one of {', '.join(map(canonical, allowed))}, so "
                f"it never stops early.{fix}"
            )
        if (why := refusal(target, schema)) is not None:
            return (
                f"Loop '{sid}' stops when '{key}' equals {canonical(target)}, but the "
                f"output schema of agent '{writer}' refuses it ({why}), so it never stops "
                f"early. Stop on a value the schema allows, or change the output schema of "
                f"'{writer}' to allow {canonical(target)}."
            )
        return None

    def _text_never_equals(
        self, sid: str, node: LoopNode, key: str, writer: str, target: Any
    ) -> str | None:
        """The warning for ``until(key, equals=target)`` where ``target`` is no string but
        ``writer`` answers free text: a string never equals it as JSON values compare."""
        told = canonical(target)
        runs = f"all {node.max_iterations} iterations" if node.max_iterations else "every time"
        if isinstance(target, str):
            return None
        if target is None:  # no answer is None, and an agent answering only null is no fix
            return (
                f"Loop '{sid}' stops when '{key}' equals None, but agent '{writer}' writes "
                f"'{key}' as free text (a string), which is never None, so the loop runs "
                f"{runs}. Stop on the answer that means done, e.g. .until('{key}', "
                f"equals='approved') with the instruction asking for that word; or give "
                f"'{writer}' .output({{'type': ['string', 'null']}}) if it should answer null "
                f"to stop. (Leaving equals= out stops once '{key}' is truthy, which any answer "
                "but an empty one is.)"
            )
        kind = {bool: "boolean", int: "integer", float: "number", list: "array"}.get(
            type(target), "object"
        )
        output = f".output({{'type': '{kind}'}})"
        if isinstance(target, (list, dict)):  # a model's text is no list or object
            fix = f"give '{writer}' {output} so it answers with one"
        else:
            fix = f"write .until('{key}', equals={told!r}) or give '{writer}' {output}"
        return (
            f"Loop '{sid}' stops when '{key}' equals {told}, but agent '{writer}' writes "
            f"'{key}' as free text (a string), so it never equals {told} (the answer "
            f"{json.dumps(told)} is a string) and the loop runs {runs}; {fix}."
        )


def stop_key_unwritten(node: LoopNode, sid: str, written: list[str], free: list[str]) -> str:
    """The warning of loop ``sid``, which stops on a key its body never writes (it writes
    ``written``): every pass ends with the value the loop started with, so it stops after one
    pass or never early; after the first when agents ``free`` wrote it as free text."""
    key = node.until
    root = path_root(key) if isinstance(key, str) else key  # a field's key: what is written
    runs = f"all {node.max_iterations}" if node.max_iterations else "all its"
    others = ", ".join(f"'{k}'" for k in written)
    instead = f", or stop on a key the body writes ({others})" if others else ""
    if not free:
        return (
            f"Loop '{sid}' stops on '{key}', but nothing in its body writes '{root}', so every "
            "pass ends with the value it had before the loop: the loop stops after its first "
            f"pass or runs {runs} iterations, whatever the body answers. Write '{root}' in the "
            f"body (.writes('{root}') on a body step){instead}."
        )
    who = f"agent {names(free)} writes" if len(free) == 1 else f"agents {names(free)} write"
    return (
        f"Loop '{sid}' stops once '{key}' is truthy, but nothing in its body writes '{root}', "
        f"and {who} it before the loop as free text, where any answer (even 'no') is "
        "truthy: every pass ends with that answer, so the loop always stops after its first "
        f"pass, whatever the body answers. Write '{root}' in the body (.writes('{root}') on a "
        f"body step) and compare it with .until('{key}', equals='...'){instead}."
    )


def _among(value: Any, values: list[Any]) -> bool:
    return any(_same(value, other) for other in values)


def _written_by(writer: str, items: list[Any]) -> list[Any]:
    """The items that are ``writer``'s value."""
    return [item for item in items if source_of(item) == writer]
