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

from irgraph.graph_routes import writers
from irgraph.ir import LoopNode, RouteNode
from irgraph.ir.outputs import schema_enum, value_type
from irgraph.ir.values import canonical
from irgraph.ir.values import same_value as _same
from irgraph.route_check import RouteChecks
from irgraph.route_values import names, refusal

if TYPE_CHECKING:
    from irgraph.graph_routes import Walker
    from irgraph.walk import Env

__all__ = ["TypeRules"]


class TypeRules:
    """The type checks of one graph walk."""

    def __init__(self, walker: Walker) -> None:
        self.w = walker
        self.routes = RouteChecks(walker)

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
        for writer, schema in self._agents(over, env):
            told.append(writer)
            self.not_a_list(sid, over, writer, schema)
        # An enclosing loop's next pass may bring a writer later in its body: checked once
        # the whole graph is known.
        checks = self.routes
        checks.lists.append(
            (sid, over, told, len(self.w.problems), len(checks.routes + checks.lists))
        )

    def not_a_list(self, sid: str, over: str, writer: str, schema: Any) -> None:
        """The problem of map-over ``sid`` iterating ``over``, which agent ``writer`` writes
        by ``schema``, when that is not a list."""
        kind = value_type(schema)
        if kind in (None, "array"):
            return
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

    def route_on(self, sid: str, node: RouteNode) -> None:
        """Every compared value must be one some possible writer of the key can produce;
        values nobody takes without an otherwise are a warning (the run would fail on them).
        Checked once the whole graph is known (:mod:`irgraph.route_check`): what reaches the
        route may come from later in an enclosing loop's body."""
        self.routes.add(sid, node)

    def finish(self, tree: Any) -> None:
        """The checks that need the whole graph (``tree``: its ``G.graph["tree"]``)."""
        self.routes.run(tree, self.not_a_list)

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
        listed = names([w for w, _ in agents], "or")
        self.w.warnings.append(
            f"Loop '{sid}' stops when '{key}' equals {canonical(target)}, but none of its "
            f"writers can write it ({listed}), so it never stops early."
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
