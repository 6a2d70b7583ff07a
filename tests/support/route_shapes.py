"""Small pipelines of every kind of block, for the properties that hold the route analysis
(:mod:`irgraph.reaching`) to every execution of them.

Agents write 'k' or 'j' (or, with ``probes``, a leaf is a route comparing 'k' with "x" and
an otherwise); blocks are sequences, parallel blocks (whose branches may race: the graph is
built all the same), routes on ``route_key`` comparing it with some of ``values`` (with a
predicate's branch, an otherwise, or neither), loops of one to three iterations, and
map-overs over 't' whose item is 'k' and which collect and write 'k' (with ``rewrite_item``,
the last step of the body writes 'k' again).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

from irgraph import Agent, Loop, MapOver, Route
from irgraph.testing.predicates import always

__all__ = ["route_shapes"]


def route_shapes(
    *,
    route_key: str,
    values: Sequence[str],
    probes: bool = False,
    rewrite_item: bool = False,
    max_leaves: int = 10,
) -> Any:
    """A strategy of such pipelines (each node named once: w, n, p, r, l, m and a number)."""
    names = itertools.count()

    def agent(key: str = "k") -> Agent:
        return Agent(f"{'w' if key == 'k' else 'n'}{next(names)}").instruct("W.").writes(key)

    def probe() -> Route:
        name = f"p{next(names)}"
        return Route(name).on("k").when("x", Agent(f"{name}a")).otherwise(Agent(f"{name}b"))

    def route(parts: list[Any], compared: list[str], guess: bool, otherwise: bool) -> Route:
        made, equals = Route(f"r{next(names)}").on(route_key), iter(compared)
        for index, part in enumerate(parts):
            if otherwise and index == len(parts) - 1:
                made = made.otherwise(part)
            elif guess and index == len(parts) // 2:
                made = made.when(always, part)
            else:
                made = made.when(next(equals, None) or always, part)
        return made

    def chain(parts: list[Any]) -> Any:
        return functools.reduce(lambda a, b: a >> b, parts)

    def mapped(parts: list[Any]) -> MapOver:
        body = chain(parts) >> agent() if rewrite_item else chain(parts)
        return MapOver(f"m{next(names)}").over("t", item="k").step(body).collect("k").writes("k")

    kinds = ["k", "j", "probe"] if probes else ["k", "j"]
    leaves = st.sampled_from(kinds).map(lambda kind: probe() if kind == "probe" else agent(kind))

    def blocks(children: Any) -> Any:
        parts = st.lists(children, min_size=1, max_size=3)
        return st.one_of(
            parts.map(chain),
            st.lists(children, min_size=2, max_size=3).map(
                lambda p: functools.reduce(lambda a, b: a | b, p)
            ),
            st.tuples(
                parts,
                st.lists(st.sampled_from(values), min_size=1, max_size=3, unique=True),
                st.booleans(),
                st.booleans(),
            ).map(lambda c: route(*c)),
            st.tuples(parts, st.sampled_from([1, 2, 3])).map(
                lambda c: Loop(f"l{next(names)}").step(chain(c[0])).max_iterations(c[1])
            ),
            parts.map(mapped),
        )

    return st.recursive(leaves, blocks, max_leaves=max_leaves)
