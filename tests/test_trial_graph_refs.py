"""An outside trial of saved graphs edited by hand: a route's ``cases`` and a function
reference (a transform's ``function``, a loop's ``until_function``) of the wrong shape are
refused by ``validate`` and ``from_graph`` with a ``PipelineError`` naming the node and the
attribute, where a bare case value read as an ``otherwise`` and a number where the import path
goes came out as a ``TypeError``."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import networkx as nx
import pytest

from irgraph import Agent, Loop, PipelineError, Route, Transform, from_graph, to_graph, validate


def is_done(state: Any) -> bool:
    return bool(state.get("done"))


PIPELINE = (
    Agent("classify")
    .instruct("Classify {ticket}.")
    .output({"type": "string", "enum": ["bug", "question"]})
    .writes("category")
    >> Route("triage")
    .on("category")
    .when("bug", Agent("fix").instruct("Fix {ticket}.").writes("patch"))
    .otherwise(Agent("answer").instruct("Answer {ticket}.").writes("patch"))
    >> Transform("size", len).reads("patch").writes("n")
    >> Transform("size", len).reads("ticket").writes("m")
    >> Loop("review").step(Agent("judge").instruct("Judge {patch}.").writes("done")).until(is_done)
)


def edited(change: Callable[[dict[str, Any]], None]) -> nx.DiGraph:
    """The pipeline's graph saved as node-link JSON, with one node's attributes changed."""
    data = json.loads(json.dumps(nx.node_link_data(to_graph(PIPELINE, inputs={"ticket"}))))
    nodes = {node["id"]: node for node in data["nodes"]}
    change(nodes)
    return nx.node_link_graph(data)


def refusals(G: nx.DiGraph) -> list[PipelineError]:
    found = []
    for read in (validate, from_graph):
        with pytest.raises(PipelineError) as caught:
            read(G)
        found.append(caught.value)
    return found


@pytest.mark.parametrize(
    ("cases", "said"),
    [
        (["bug", "otherwise"], "Case 0 of route 'triage' in the graph is 'bug' (a str)"),
        ([{"equal": "bug", "label": '"bug"'}, {"otherwise": True}], "Case 0 of route 'triage'"),
        ([{"equals": "bug"}, {"label": "otherwise"}], "Case 1 of route 'triage'"),
        ([{"equals": "bug"}, {"otherwise": "yes"}], "Case 1 of route 'triage'"),
        ([{"equals": ["bug"]}, {"otherwise": True}], "whose value is no JSON scalar"),
        ([{"test": 3}, {"otherwise": True}], "Case 0 of route 'triage' in the graph is"),
        ([{"equals": "bug", "test": "m:f"}, {"otherwise": True}], "holds equals and test"),
    ],
)
def test_a_route_case_of_the_wrong_shape_is_named_not_read_as_an_otherwise(
    cases: list[Any], said: str
) -> None:
    G = edited(lambda nodes: nodes["triage"].__setitem__("cases", cases))
    for error in refusals(G):
        assert said in str(error)
        assert "otherwise branch before its last" not in str(error)
        assert error.node == "triage"
        assert '{"equals": value, "label": ...}' in str(error)


def test_a_bare_case_value_is_shown_as_the_case_to_write() -> None:
    G = edited(lambda nodes: nodes["triage"].__setitem__("cases", ["bug", {"otherwise": True}]))
    assert 'for the value \'bug\': {"equals": "bug"}' in str(refusals(G)[0])


@pytest.mark.parametrize("cases", [None, 3, "bug"])
def test_route_cases_that_are_no_list_name_the_route_and_the_attribute(cases: Any) -> None:
    G = edited(lambda nodes: nodes["triage"].__setitem__("cases", cases))
    for error in refusals(G):
        assert f"Node 'triage' of the graph has cases={cases!r}" in str(error)
        assert "TypeError" not in str(error)


@pytest.mark.parametrize(
    ("node", "attribute", "value"),
    [
        ("size", "function", 3),
        ("size", "function", None),
        ("size#2", "function", ["builtins:len"]),
        ("review", "until_function", 3),
        ("review", "until_function", ["tests:is_done"]),
    ],
)
def test_a_function_reference_that_is_no_text_is_a_pipeline_error(
    node: str, attribute: str, value: Any
) -> None:
    G = edited(lambda nodes: nodes[node].__setitem__(attribute, value))
    for error in refusals(G):
        assert f"Node {node!r} of the graph has {attribute}={value!r}" in str(error)
        assert "'module:qualname'" in str(error)
        assert error.node == node
