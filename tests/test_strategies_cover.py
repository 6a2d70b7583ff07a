"""The pipeline strategies draw every field of every node kind, so every property over them
(JSON round trips, graph round trips, conformance) covers every field: a serializer that
drops a field of some kind is caught.

One run of drawn pipelines checks that each survives JSON and the graph field for field, and
counts, per (kind, field), the drawn nodes whose field differs from its default; every pair
must be drawn. The run is derandomized, so the count cannot flake.
"""

from __future__ import annotations

import collections
import json
from typing import Any

import attrs
import networkx as nx
from hypothesis import HealthCheck, given, settings

from irgraph import from_graph, to_graph
from irgraph.ir import NODE_KINDS, Node, from_json, to_json
from irgraph.testing.strategies import pipelines

# Derived from the classes, so a new field is covered (or fails here) without editing this.
FIELDS = [
    (cls, field.name)
    for cls in NODE_KINDS
    for field in attrs.fields(cls)
    if field.init and field.name != "name"
]


def nodes(root: Node) -> list[Node]:
    found, stack = [], [root]
    while stack:
        node = stack.pop()
        found.append(node)
        stack.extend(getattr(node, "children", ()))
    return found


def fields_equal(before: Node, after: Node) -> None:
    assert type(before) is type(after)
    for field in attrs.fields(type(before)):
        if field.init and field.name != "children":
            assert getattr(before, field.name) == getattr(after, field.name), field.name


def test_every_field_of_every_kind_is_drawn_and_survives_json_and_the_graph() -> None:
    drawn: collections.Counter[tuple[str, str]] = collections.Counter()
    defaults = {(cls, name): attrs.fields_dict(cls)[name].default for cls, name in FIELDS}

    @settings(
        max_examples=400,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(pipelines(with_gates=True, inputs={"topic"}, list_inputs={"sources"}))
    def check(pipeline: Any) -> None:
        ir = pipeline.to_ir()
        through_json = from_json(to_json(ir))
        saved = json.dumps(nx.node_link_data(to_graph(pipeline)))
        through_graph = from_graph(nx.node_link_graph(json.loads(saved)))
        assert through_json == ir and through_graph == ir
        for before, a, b in zip(nodes(ir), nodes(through_json), nodes(through_graph), strict=True):
            fields_equal(before, a)
            fields_equal(before, b)
            for cls, name in FIELDS:
                value = getattr(before, name) if type(before) is cls else None
                if value not in (defaults[cls, name], (), None):
                    drawn[cls.__name__, name] += 1

    check()
    never = [f"{cls.__name__}.{name}" for cls, name in FIELDS if not drawn[cls.__name__, name]]
    assert not never, f"the strategies never draw {never}"


def test_every_number_of_children_is_drawn() -> None:
    """Children are drawn as a list, stop or one more (so the shrinker can drop one): each
    count from the fewest a composite takes to ``max_width`` still comes."""
    counts: collections.defaultdict[str, set[int]] = collections.defaultdict(set)

    @settings(max_examples=200, derandomize=True, database=None, deadline=None)
    @given(pipelines(max_depth=1, max_width=3, with_optional_reads=False))
    def check(pipeline: Any) -> None:
        for node in nodes(pipeline.to_ir()):
            counts[type(node).__name__].add(len(getattr(node, "children", ())))

    check()
    # (a map-over's body is up to max_width - 1 steps and the step reading the item)
    assert counts["ParallelNode"] >= {2, 3}
    assert counts["LoopNode"] >= {1, 2, 3}
    assert counts["MapOverNode"] >= {1, 2, 3}
    assert max(counts["RouteNode"]) >= 3  # routes' branches, one for each condition


def test_a_map_over_over_a_field_of_an_object_is_drawn_and_validates() -> None:
    """``.over("record.tags")``: the list in a field of the object an agent writes."""
    from irgraph import validate

    paths: list[str] = []

    @settings(max_examples=300, derandomize=True, database=None, deadline=None)
    @given(pipelines(inputs={"topic"}))
    def check(pipeline: Any) -> None:
        found = [n.over for n in nodes(pipeline.to_ir()) if "." in str(getattr(n, "over", ""))]
        if found:
            validate(to_graph(pipeline, inputs={"topic"}))
        paths.extend(found)

    check()
    assert paths and all(path.endswith(".tags") for path in paths)
