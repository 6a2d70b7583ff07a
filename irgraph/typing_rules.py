"""Types along data edges, checked by the graph walk where they are known.

An agent with ``.output(schema)`` writes values of that schema; one without writes free text.
The walk (:mod:`irgraph.graph`) asks these rules at the three places a type matters before
anything runs: a map-over's list (text cannot be iterated as items), a route's compared key
(a value outside the writer's ``enum`` can never match; values the routes leave uncovered
without an ``otherwise`` would fail the run), and a loop's stop key (free text is truthy
whatever it says, so ``until(key)`` alone stops on "no").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from irgraph.graph_routes import writers
from irgraph.ir import LoopNode, RouteNode
from irgraph.ir.outputs import schema_enum, value_type
from irgraph.ir.values import canonical
from irgraph.ir.values import same_value as _same

if TYPE_CHECKING:
    from irgraph.graph_routes import Walker
    from irgraph.walk import Env

__all__ = ["TypeRules"]


class TypeRules:
    """The type checks of one graph walk."""

    def __init__(self, walker: Walker) -> None:
        self.w = walker

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
        """Every compared value must be one the writer can produce; values nobody takes
        without an otherwise are a warning (the run would fail on them)."""
        if node.on is None:
            return
        compared = [c.value for c in node.cases if c.kind == "equals"]
        kinds = {c.kind for c in node.cases}
        for writer, schema in self._agents(node.on, env):
            allowed = schema_enum(schema)
            if schema is None and compared:
                self.w.warnings.append(
                    f"Route '{sid}' compares '{node.on}' with exact values, but agent "
                    f"'{writer}' writes it as free text, which rarely equals a value exactly; "
                    f"give '{writer}' .output({{'type': 'string', 'enum': [...]}})."
                )
                continue
            if allowed is None:
                continue
            shown = ", ".join(canonical(v) for v in allowed)
            for value in compared:
                if not any(_same(value, a) for a in allowed):
                    self.w.problem(
                        f"Route '{sid}' has a branch for {canonical(value)}, but '{node.on}' "
                        f"can only be one of {shown} (the enum of agent '{writer}'), so that "
                        "branch can never run.",
                        node=sid,
                        key=node.on,
                        hint=f"Use one of {shown}, or add {canonical(value)} to the enum of "
                        f"'{writer}'.",
                    )
            uncovered = [a for a in allowed if not any(_same(a, v) for v in compared)]
            if uncovered and "otherwise" not in kinds and "test" not in kinds:
                missing = ", ".join(canonical(v) for v in uncovered)
                self.w.warnings.append(
                    f"Route '{sid}' has no branch for {missing} (values agent '{writer}' may "
                    f"write to '{node.on}') and no otherwise, so the run fails if it gets "
                    "one; add .when(...) for each, or .otherwise(step)."
                )

    def loop_stop(self, sid: str, node: LoopNode, env: Env) -> None:
        """``until(key)`` on free text stops on any answer; ``equals=`` a value outside the
        writer's enum never stops the loop early."""
        key = node.until
        assert isinstance(key, str)
        for writer, schema in self._agents(key, env):
            if not node.until_equals:
                if schema is None:
                    self.w.warnings.append(
                        f"Loop '{sid}' stops once '{key}' is truthy, but agent '{writer}' "
                        "writes it as free text, so any answer (even 'no') stops it; write "
                        f".until('{key}', equals='...') or give '{writer}' "
                        ".output({'type': 'boolean'})."
                    )
                continue
            allowed = schema_enum(schema)
            target = node.until_equals[0]
            if allowed is not None and not any(_same(target, a) for a in allowed):
                self.w.warnings.append(
                    f"Loop '{sid}' stops when '{key}' equals {canonical(target)}, but agent "
                    f"'{writer}' only writes one of {', '.join(map(canonical, allowed))}, so "
                    "it never stops early."
                )
