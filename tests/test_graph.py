"""to_graph: node ids and attributes, control and data edges, scopes, inputs."""

from __future__ import annotations

import networkx as nx
import pytest

from irgraph import (
    Agent,
    FanOut,
    Loop,
    MapOver,
    Pipeline,
    PipelineError,
    Transform,
    to_graph,
    validate,
)
from irgraph.ir import AgentNode, SequenceNode
from irgraph.schema import from_graph, lifted_edges, scopes
from irgraph.testing.strategies import make_list


def edge(G: nx.DiGraph, u: str, v: str) -> tuple[bool, list[str]]:
    data = G.edges[u, v]
    return data["control"], data["keys"]


def example() -> Pipeline:
    return (
        Agent("start").instruct("Research {topic}.").writes("x")
        >> (Agent("b").instruct("Use {x}.").writes("y") | Agent("c").writes("z"))
        >> Loop("refine")
        .step(Agent("draft").instruct("{y} {crit?}").writes("d"))
        .step(Agent("critic").instruct("{d}").writes("crit"))
        .max_iterations(2)
        .until("ok")
        >> Transform("mk", make_list).reads("d").writes("xs")
        >> MapOver("each")
        .over("xs", item="paper")
        .step(Agent("sum").instruct("{paper} {z}").writes("s"))
        .writes("ss")
        >> Agent("end").instruct("{ss} {crit}")
    )


@pytest.fixture
def G() -> nx.DiGraph:
    return to_graph(example(), inputs={"topic", "ok"})


def test_a_graph_is_a_plain_networkx_digraph(G):
    assert type(G) is nx.DiGraph
    assert nx.is_directed_acyclic_graph(G)


def test_executable_and_scope_nodes_are_graph_nodes_in_reading_order(G):
    assert list(G.nodes) == [
        "start", "b", "c", "refine", "draft", "critic", "mk", "each", "sum", "end",
    ]  # fmt: skip


def test_nodes_carry_kind_label_parent_and_settings_as_plain_data(G):
    kinds = {n: d["kind"] for n, d in G.nodes(data=True)}
    assert kinds["start"] == "agent"
    assert kinds["mk"] == "transform"
    assert kinds["refine"] == "loop"
    assert kinds["each"] == "map_over"
    parents = {n: d["parent"] for n, d in G.nodes(data=True)}
    assert parents == {
        "start": None, "b": None, "c": None, "refine": None, "draft": "refine",
        "critic": "refine", "mk": None, "each": None, "sum": "each", "end": None,
    }  # fmt: skip
    start = G.nodes["start"]
    assert start["label"] == "start" and start["instruction"] == "Research {topic}."
    assert start["model"] is None and start["timeout"] is None and start["description"] == ""
    assert G.nodes["refine"]["max_iterations"] == 2 and G.nodes["refine"]["until"] == "ok"
    assert G.nodes["mk"]["function"] == "irgraph.testing.strategies:make_list"
    assert G.nodes["each"]["over"] == "xs" and G.nodes["each"]["item"] == "paper"
    assert "op" not in start


def test_nodes_carry_reads_and_writes(G):
    assert G.nodes["draft"]["reads"] == ["y"]
    assert G.nodes["draft"]["optional_reads"] == ["crit"]
    assert G.nodes["draft"]["writes"] == ["d"]
    assert G.nodes["end"]["writes"] == []
    assert G.nodes["mk"]["reads"] == ["d"]


def test_scope_nodes_summarise_their_body(G):
    loop = G.nodes["refine"]
    assert loop["reads"] == ["ok"]  # its until key, from outside
    assert loop["writes"] == ["crit", "d"]
    assert loop["body_reads"] == ["y"]
    assert loop["body_optional_reads"] == ["crit"]
    each = G.nodes["each"]
    assert each["reads"] == ["xs"]
    assert each["writes"] == ["ss"]
    assert each["body_reads"] == ["z"]  # the item is not a read from outside


def test_sequence_steps_are_joined_by_control_edges_carrying_their_keys(G):
    assert edge(G, "start", "b") == (True, ["x"])
    assert edge(G, "start", "c") == (True, [])
    assert edge(G, "draft", "critic") == (True, ["d"])
    assert edge(G, "mk", "each") == (True, ["xs"])


def test_a_parallel_block_fans_out_and_joins(G):
    assert set(G.successors("start")) == {"b", "c"}
    assert set(G.predecessors("refine")) == {"b", "c"}
    assert not G.has_edge("b", "c") and not G.has_edge("c", "b")


def test_data_edges_join_the_real_writer_and_reader_across_scopes(G):
    assert edge(G, "c", "sum") == (False, ["z"])  # into a map-over body
    assert edge(G, "b", "draft") == (False, ["y"])  # into a loop body
    assert edge(G, "critic", "end") == (False, ["crit"])  # out of a loop body
    assert edge(G, "b", "refine") == (True, [])


def test_a_scope_enters_its_body_and_the_body_leads_on(G):
    assert edge(G, "refine", "draft") == (True, [])
    assert edge(G, "critic", "mk") == (True, [])  # the body's exit to what follows the loop
    assert edge(G, "refine", "mk") == (True, [])
    assert edge(G, "each", "sum") == (True, [])
    assert edge(G, "sum", "end") == (True, [])


def test_topological_order_runs_one_iteration_and_ancestors_see_outside(G):
    order = list(nx.topological_sort(G))
    assert order.index("refine") < order.index("draft") < order.index("critic") < order.index("mk")
    assert {"start", "b", "c", "refine"} <= nx.ancestors(G, "draft")
    assert {"critic", "draft", "refine"} <= nx.ancestors(G, "end")
    assert "sum" in nx.dag_longest_path(G)


def test_edges_as_each_scope_sees_them(G):
    lifted = {(u, v): (c, k) for u, v, c, k in lifted_edges(G)}
    assert lifted["b", "refine"] == (True, ["y"])  # the body's read, at the loop's level
    assert lifted["refine", "end"] == (False, ["crit"])
    assert lifted["c", "each"] == (False, ["z"])
    assert ("refine", "draft") not in lifted  # a scope and its own body
    for u, v in lifted:
        assert G.nodes[u]["parent"] == G.nodes[v]["parent"], (u, v)


def test_the_map_over_item_and_declared_inputs_need_no_edge(G):
    assert set(G.predecessors("sum")) == {"each", "c"}  # the scope, and the writer of z
    assert list(G.predecessors("start")) == []


def test_graph_attributes(G):
    assert G.graph["name"] == example().to_ir().name
    assert G.graph["inputs"] == ["ok", "topic"]
    assert from_graph(G) == example().inputs("ok", "topic").to_ir()  # the inputs given
    assert scopes(G) == {
        None: ["start", "b", "c", "refine", "mk", "each", "end"],
        "refine": ["draft", "critic"],
        "each": ["sum"],
    }
    assert G.graph["problems"] == []


def test_a_read_binds_to_the_nearest_writer():
    p = Agent("a").writes("x") >> Agent("b").writes("x") >> Agent("c").instruct("{x}")
    G = to_graph(p)
    assert edge(G, "b", "c") == (True, ["x"])
    assert not G.has_edge("a", "c")


def test_one_edge_per_pair_carries_every_key():
    p = (
        Agent("a").writes("x")
        >> Transform("t", make_list).writes("y")
        >> Agent("c").instruct("{x} {y} {x?}")
    )
    G = to_graph(p)
    assert edge(G, "a", "c") == (False, ["x"])
    assert edge(G, "t", "c") == (True, ["y"])


def test_an_optional_read_is_bound_when_there_is_a_writer():
    G = to_graph(Agent("a").writes("x") >> Agent("b") >> Agent("c").instruct("{x?} {y?}"))
    assert edge(G, "a", "c") == (False, ["x"])
    assert G.in_degree("c") == 2


def test_duplicate_names_get_numbered_ids_in_reading_order():
    a = Agent("a").writes("x")
    G = to_graph(a >> Agent("a").instruct("{x}") >> (a | Agent("b")) * 2)
    assert list(G.nodes) == ["a", "a#2", "a_and_b_x2", "a#3", "b"]
    assert [G.nodes[n]["label"] for n in G] == ["a", "a", "a_and_b_x2", "a", "b"]
    assert edge(G, "a", "a#2") == (True, ["x"])


def test_a_name_that_looks_like_a_numbered_id_does_not_collide():
    G = to_graph(Agent("a") >> Agent("a#2") >> Agent("a") >> Agent("a"))
    assert list(G.nodes) == ["a", "a#2", "a#3", "a#4"]


def test_a_pinned_id_is_the_node_id_and_numbering_skips_pinned_ids():
    G = to_graph(
        Agent("a", id="a#2")
        >> Agent("a")
        >> Agent("a")
        >> Agent("w", id="draft_writer")
        >> Loop("l", id="a#3").step(Agent("draft_writer")).max_iterations(2)
    )
    assert list(G.nodes) == ["a#2", "a", "a#4", "draft_writer", "a#3", "draft_writer#2"]
    assert G.nodes["draft_writer"]["label"] == "w"
    assert G.nodes["draft_writer"]["pinned"] == "draft_writer"
    assert G.nodes["a"]["pinned"] is None
    assert G.nodes["draft_writer#2"]["parent"] == "a#3"


def test_an_unpinned_node_never_takes_an_id_pinned_later_in_the_pipeline():
    G = to_graph(Agent("w") >> Agent("w") >> Agent("x", id="w#2"))
    assert list(G.nodes) == ["w", "w#3", "w#2"]


def test_adding_an_agent_with_a_used_name_leaves_pinned_ids_as_they_are():
    tail = Agent("writer", id="final_writer").instruct("{a}").writes("b")
    before = to_graph(Agent("writer").writes("a") >> tail)
    after = to_graph(Agent("writer").writes("a") >> Agent("writer").writes("c") >> tail)
    assert "final_writer" in before and "final_writer" in after
    assert before.nodes["final_writer"] == after.nodes["final_writer"]
    assert list(after.nodes) == ["writer", "writer#2", "final_writer"]


def test_two_nodes_pinning_one_id_is_one_problem_naming_both():
    G = to_graph(Agent("w", id="draft").writes("x") >> Agent("v", id="draft").instruct("{x}"))
    assert list(G.nodes) == ["draft", "v"]  # the second is numbered by its name
    with pytest.raises(PipelineError) as info:
        validate(G)
    message = str(info.value)
    assert "2 nodes pin the id 'draft': 'w' and 'v'" in message
    assert "id='draft_2'" in message
    assert len(G.graph["problems"]) == 1
    assert (
        from_graph(G)
        == (Agent("w", id="draft").writes("x") >> Agent("v", id="draft").instruct("{x}")).to_ir()
    )


def test_a_composite_id_counts_as_pinned_and_stays_in_the_tree():
    p = Pipeline("intro", id="start").step(Agent("start")).step(Agent("b")) | Agent("c")
    G = to_graph(p)
    assert list(G.nodes) == ["start#2", "b", "c"]
    assert G.graph["tree"]["children"][0]["id"] == "start"
    assert from_graph(G) == p.to_ir()


def test_node_ids_are_the_same_on_every_build():
    first = to_graph(example(), inputs={"topic", "ok"})
    second = to_graph(example().to_ir(), inputs=["ok", "topic"])
    assert list(first.nodes) == list(second.nodes)
    assert list(first.edges(data=True)) == list(second.edges(data=True))


def test_nested_scopes():
    inner = Loop("inner").step(Agent("a").instruct("{item} {x}").writes("y")).max_iterations(2)
    p = Agent("w").writes("x") >> MapOver("m").over("xs").step(inner).writes("ys")
    G = to_graph(p, inputs={"xs"})
    assert G.nodes["a"]["parent"] == "inner"
    assert G.nodes["inner"]["parent"] == "m"
    assert G.nodes["inner"]["body_reads"] == ["item", "x"]
    assert G.nodes["m"]["body_reads"] == ["x"]
    assert edge(G, "w", "a") == (False, ["x"])
    assert ("w", "m", True, ["x"]) in list(lifted_edges(G))
    assert G.nodes["m"]["collect"] == "y"


def test_explicit_composites_flatten_into_edges():
    p = Pipeline("p").step(Agent("a")).step(FanOut("f").branch(Agent("b")).branch(Agent("c")))
    G = to_graph(p)
    assert set(G.edges) == {("a", "b"), ("a", "c")}


def test_inputs_may_be_a_single_key_and_are_bound():
    G = to_graph(Agent("w").instruct("{topic}"), inputs="topic")
    assert G.graph["inputs"] == ["topic"]


@pytest.mark.parametrize("bad", [["not a key"], ["1x"], [3]])
def test_an_invalid_input_key_is_an_error(bad):
    with pytest.raises(PipelineError, match="The declared input .* must be a state key"):
        to_graph(Agent("w"), inputs=bad)


def test_to_graph_accepts_ir_and_rejects_other_things():
    assert list(to_graph(SequenceNode("s", (AgentNode("a"),)))) == ["a"]
    with pytest.raises(PipelineError, match="Expected a pipeline builder or an IR node"):
        to_graph("a >> b")


def test_problems_are_recorded_not_raised():
    G = to_graph(Agent("a").writes("x") | Agent("b").writes("x"))
    assert [p["key"] for p in G.graph["problems"]] == ["x"]
