"""A graph read back, copied or edited is checked as the pipeline it holds before validate or
an exporter trusts its derived attributes (irgraph.graph_foreign)."""

from __future__ import annotations

import json
import re

import networkx as nx
import pytest

from irgraph import (
    Agent,
    Loop,
    PipelineError,
    Route,
    Transform,
    from_graph,
    run,
    to_graph,
    validate,
)
from irgraph.analysis import critical_path
from irgraph.backends.dot import to_dot
from irgraph.backends.mermaid import to_mermaid
from irgraph.testing import FakeProvider

PIPELINE = Agent("researcher").instruct("Research {topic}.").writes("findings") >> Agent(
    "writer"
).instruct("Write from {findings}.")
LOOPED = Agent("a").writes("x") >> Loop("L").step(
    Agent("b").instruct("{x}").writes("y")
).max_iterations(2)


def saved(G: nx.DiGraph) -> dict:
    return json.loads(json.dumps(nx.node_link_data(G)))


def test_a_graph_read_back_or_copied_validates_as_it_did():
    G = to_graph(PIPELINE, inputs={"topic"})
    assert validate(nx.node_link_graph(saved(G))) == [] == validate(G.copy())


def test_an_edited_instruction_is_checked_as_the_run_would_see_it():
    data = saved(to_graph(PIPELINE, inputs={"topic"}))
    data["nodes"][1]["instruction"] = "Write from {findngs}."
    G = nx.node_link_graph(data)
    with pytest.raises(PipelineError) as info:
        validate(G)
    text = str(info.value)
    assert "Node 'writer' says reads=['findings'], but its pipeline gives reads=['findngs']" in text
    assert "'writer' reads {findngs}" in text and "to_graph(from_graph(G, check=False))" in text
    with pytest.raises(PipelineError, match="findngs"):  # what running it says
        run(from_graph(G), provider=FakeProvider(), state={"topic": "owls"})


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        # two keys: the node cannot be rebuilt, which says which key to keep
        ("writes", ["findings", "not a key"], "of agent 'researcher' holds 2 state keys"),
        ("reads", "topic", "Node 'researcher' says reads='topic'"),
        ("parent", "writer", "Node 'researcher' says parent='writer'"),
    ],
)
def test_a_derived_attribute_that_no_longer_follows_is_a_problem(field, value, shown):
    data = saved(to_graph(PIPELINE, inputs={"topic"}))
    data["nodes"][0][field] = value
    with pytest.raises(PipelineError, match=re.escape(shown)) as caught:
        validate(nx.node_link_graph(data))
    assert "'researcher'" in str(caught.value)


def test_an_added_edge_is_a_problem():
    G = to_graph(PIPELINE, inputs={"topic"}).copy()
    G.add_edge("writer", "researcher", control=True, keys=[])
    with pytest.raises(PipelineError, match="'writer' -> 'researcher' is not in the pipeline"):
        validate(G)


@pytest.mark.parametrize("use", [validate, to_mermaid, to_dot, critical_path])
def test_a_subgraph_is_refused_naming_the_node_it_lacks(use):
    G = to_graph(LOOPED)
    with pytest.raises(PipelineError, match="has node 'a', which the graph does not"):
        use(G.subgraph(["b", "L"]))


@pytest.mark.parametrize("use", [validate, to_mermaid, to_dot, critical_path])
def test_a_plain_networkx_graph_is_refused(use):
    with pytest.raises(PipelineError, match="The DiGraph of 2 nodes given has no 'tree' graph"):
        use(nx.DiGraph([(1, 2)]))


@pytest.mark.parametrize("use", [validate, to_mermaid, to_dot])
@pytest.mark.parametrize("how", ["copied", "read back"])
def test_a_node_without_its_kind_is_named(use, how):
    G = to_graph(LOOPED).copy()
    del G.nodes["a"]["kind"]
    if how == "read back":  # a copy is checked as a saved graph is: both say the same
        G = nx.node_link_graph(saved(G))
    with pytest.raises(PipelineError, match="Node 'a' (of the graph )?has kind None"):
        use(G)


@pytest.mark.parametrize("use", [to_mermaid, to_dot, critical_path])
def test_a_node_without_its_parent_is_named_not_a_key_error(use):
    G = to_graph(LOOPED)
    del G.nodes["a"]["parent"]
    with pytest.raises(PipelineError, match="Node 'a' has no 'parent' attribute"):
        use(G)


def test_a_copy_is_checked_as_the_pipeline_it_holds_like_a_saved_graph():
    G = to_graph(Agent("r").writes("f") >> Transform("t", lambda f: f).reads("f").writes("g"))
    assert validate(G) != []  # a warning: a saved copy cannot run the lambda
    for copy in (G.copy(), nx.node_link_graph(saved(G))):
        with pytest.raises(PipelineError, match="keeps only that name"):
            validate(copy)


def test_a_class_is_not_a_pipeline():
    with pytest.raises(PipelineError, match="got the class Agent itself") as info:
        to_graph(Agent)
    assert "Agent('name')" in str(info.value)


def test_running_a_graph_says_how_to_get_its_pipeline():
    with pytest.raises(PipelineError, match="got a graph") as info:
        run(to_graph(PIPELINE), provider=FakeProvider(), state={"topic": "owls"})
    assert "from_graph(G)" in str(info.value)


def test_nodes_renamed_in_place_are_refused_by_validate_as_by_from_graph():
    """``nx.relabel_nodes(G, ..., copy=False)`` on the very graph to_graph made kept its
    counts of nodes and edges, so validate trusted it and passed it, while from_graph (and so
    a run) refused it."""
    G = to_graph(PIPELINE, inputs={"topic"})
    nx.relabel_nodes(G, {"writer": "w"}, copy=False)
    with pytest.raises(PipelineError) as refused:
        from_graph(G)
    with pytest.raises(PipelineError) as checked:
        validate(G)
    assert "node ids were renamed" in str(refused.value)
    assert str(checked.value) == str(refused.value)


@pytest.mark.parametrize("use", [to_mermaid, to_dot, critical_path])
def test_the_very_graph_edited_in_place_is_not_drawn_or_analysed_as_if_it_ran(use):
    """An edge removed from the graph to_graph made (or its nodes renamed in place) was drawn
    and analysed as it was, a picture of something no run does, while validate refused it."""
    G = to_graph(PIPELINE, inputs={"topic"})
    G.remove_edge("researcher", "writer")
    with pytest.raises(PipelineError, match="no edge researcher -> writer"):
        use(G)
    H = to_graph(PIPELINE, inputs={"topic"})
    nx.relabel_nodes(H, {"writer": "w"}, copy=False)
    with pytest.raises(PipelineError, match="node ids were renamed"):
        use(H)


def test_from_graph_refuses_the_very_graph_edited_in_place_as_validate_does():
    """An instruction edited in place on the graph to_graph made was refused by validate but
    taken by from_graph, so a run ran a pipeline validate had refused."""
    G = to_graph(PIPELINE, inputs={"topic"})
    G.nodes["writer"]["instruction"] = "Write from {findngs}."
    with pytest.raises(PipelineError) as checked:
        validate(G)
    with pytest.raises(PipelineError) as refused:
        from_graph(G)
    assert str(refused.value) == str(checked.value)
    assert "says reads=['findings'], but its pipeline gives reads=['findngs']" in str(refused.value)
    again = to_graph(from_graph(G, check=False), inputs={"topic"})  # the documented way out
    assert again.nodes["writer"]["reads"] == ["findngs"]


def _routed() -> nx.DiGraph:
    classify = Agent("c").instruct("C {t}").output({"enum": ["a", "b"]}).writes("k")
    first, other = Agent("A").instruct("A {t}").writes("o"), Agent("B").instruct("B {t}")
    route = Route("r").on("k").when("a", first).otherwise(other.writes("o"))
    return to_graph(classify >> route >> Agent("f").instruct("F {o}").writes("z"), inputs={"t"})


@pytest.mark.parametrize(
    ("edit", "said"),
    [
        (lambda G: G.nodes["r"].__setitem__("on", "t"), "Node 'r' says reads=['k']"),
        (lambda G: G.nodes["r"]["cases"][0].__setitem__("equals", "b"), "condition='\"a\"'"),
        (lambda G: G.nodes["f"].__setitem__("parent", "r"), "Node 'f' says parent='r'"),
        (lambda G: G.nodes["c"].__setitem__("writes", ["kk"]), "The edge c -> r says"),
        (lambda G: G.edges["c", "r"].__setitem__("keys", []), "The edge c -> r says"),
    ],
)
def test_the_very_graph_with_a_setting_edited_in_place_is_checked_before_it_runs(edit, said):
    """A route's ``on`` or a case's value edited in place on the graph to_graph made (or a
    node's parent, its writes, an edge's keys) left the graph trusted as it was built:
    validate passed it, the picture showed the old route, and a run of from_graph(G) compared
    another key or value than the graph said."""
    G = _routed()
    edit(G)
    with pytest.raises(PipelineError, match=re.escape(said)):
        validate(G)
    with pytest.raises(PipelineError, match=re.escape(said)):
        from_graph(G)
    with pytest.raises(PipelineError, match=re.escape(said)):
        to_mermaid(G)


def test_the_very_graph_with_attributes_added_to_draw_with_stays_trusted():
    """A colour or a weight added to the graph to_graph made, as networkx users annotate a
    graph to draw it, is no edit of its pipeline: a pipeline with a lambda (which no rebuilt
    graph can hold) still validates, and is not checked again."""
    counted = Transform("n", lambda x: len(x)).reads("x").writes("c")
    G = to_graph(Agent("a").instruct("A {t}").writes("x") >> counted, inputs={"t"})
    G.nodes["a"]["color"] = "red"
    G.edges["a", "n"]["weight"] = 2
    assert [w for w in validate(G) if "no import path" not in w] == []
    assert "a" in to_mermaid(G)


def test_the_very_graph_with_only_an_instruction_reworded_stays_trusted():
    G = _routed()
    G.nodes["f"]["instruction"] = "Finish {o}."  # the same reads
    assert validate(G) == [] and "Finish {o}." in str(from_graph(G))


@pytest.mark.parametrize("use", [validate, to_mermaid, critical_path])
def test_a_graph_without_its_pipeline_is_refused_in_the_words_of_the_call_made(use):
    """A GEXF graph read back (no 'tree') given to validate or to_mermaid was told that
    "from_graph() needs a pipeline graph", a function the user never called."""
    import irgraph

    G = irgraph.portable(to_graph(PIPELINE, inputs={"topic"}))
    del G.graph["tree"]  # what GEXF drops
    with pytest.raises(PipelineError) as refused:
        use(irgraph.from_portable(G))
    message = str(refused.value)
    assert "from_graph()" not in message
    assert "has no 'tree' graph attribute, so it holds no pipeline" in message


def test_a_reversed_graph_is_told_as_reversed_in_one_problem():
    """``G.reverse()`` was told edge by edge, one 'no edge' and one 'not in the pipeline'
    problem for each, and never that every edge runs backwards."""
    G = to_graph(LOOPED >> Agent("c").instruct("{y}"))
    with pytest.raises(PipelineError) as refused:
        validate(G.reverse())
    (problem,) = refused.value.problems
    assert "runs backwards" in problem.message and "G.reverse()" in problem.message
    assert "to_graph(pipeline)" in problem.hint
    with pytest.raises(PipelineError, match="runs backwards"):
        from_graph(G.reverse())


@pytest.mark.parametrize("use", [from_graph, validate, to_mermaid])
def test_a_graph_read_back_from_dot_is_told_as_dot_not_gexf(use):
    """A round trip through nx.nx_pydot was told it was 'saved in a format that drops graph
    attributes (GEXF)'."""
    dot = nx.nx_pydot.to_pydot(to_graph(PIPELINE, inputs={"topic"}))
    with pytest.raises(PipelineError) as refused:
        use(nx.nx_pydot.from_pydot(dot))
    message = str(refused.value)
    assert "it was read back from DOT (nx.nx_pydot.from_pydot, read_dot)" in message
    assert "GEXF" not in message and "json.dumps(nx.node_link_data(G))" in message


def test_a_gexf_graph_read_back_without_decoding_is_still_told_as_gexf(tmp_path):
    import irgraph

    path = tmp_path / "p.gexf"
    nx.write_gexf(irgraph.portable(to_graph(PIPELINE, inputs={"topic"})), path)
    with pytest.raises(PipelineError, match=r"drops graph attributes \(GEXF\)"):
        from_graph(nx.read_gexf(path))


@pytest.mark.parametrize(
    "new_graph",
    [nx.transitive_reduction, lambda G: nx.DiGraph(list(G.edges))],
    ids=["transitive_reduction", "DiGraph(G.edges)"],
)
@pytest.mark.parametrize("use", [from_graph, validate, to_mermaid])
def test_a_new_graph_networkx_made_without_the_attributes_is_told_so(new_graph, use):
    """from_graph(nx.transitive_reduction(G)) was told the graph was not made by to_graph or
    was saved as GEXF; the fix told (copy the attributes back) works."""
    G = to_graph(PIPELINE)
    H = new_graph(G)
    with pytest.raises(PipelineError) as refused:
        use(H)
    message = str(refused.value)
    assert "GEXF" not in message
    assert "a networkx function that returns a new graph" in message
    assert "drops the attributes to_graph put on them" in message
    assert "H.add_nodes_from(G.nodes(data=True))" in message
    H.graph.update(G.graph)
    H.add_nodes_from(G.nodes(data=True))
    H.add_edges_from((u, v, G.edges[u, v]) for u, v in H.edges)
    assert to_graph(from_graph(H)).nodes(data=True) == G.nodes(data=True)


@pytest.mark.parametrize(
    ("write", "read"),
    [
        (nx.write_edgelist, lambda path: nx.read_edgelist(path, create_using=nx.DiGraph)),
        (nx.write_adjlist, lambda path: nx.read_adjlist(path, create_using=nx.DiGraph)),
    ],
    ids=["edgelist", "adjlist"],
)
def test_a_graph_read_back_from_a_file_of_edges_is_told_so(tmp_path, write, read):
    """A graph saved as an edge list and read back was told only that a networkx function
    made it anew, which the user had not called, and not how to save it whole."""
    path = tmp_path / "pipeline.txt"
    write(to_graph(PIPELINE), path)
    with pytest.raises(PipelineError) as refused:
        from_graph(read(path))
    message = str(refused.value)
    assert "read back from a file of edges only (an edge list, an adjacency list)" in message
    assert "save it whole: json.dumps(nx.node_link_data(G))" in message


def test_a_node_removed_by_hand_is_told_with_every_missing_node_and_the_way_to_remove_one():
    """A subgraph said only the first node it lacked, and a node removed by hand was told to
    pass the whole graph, with no word of how to remove a step; the way the hint gives now
    makes the graph without it."""
    steps = [Agent(n).instruct(f"{n} {{t}}").writes(n.lower()) for n in ("A", "B", "C", "D")]
    G = to_graph(steps[0] >> steps[1] >> steps[2] >> steps[3], inputs={"t"})
    with pytest.raises(PipelineError, match="has nodes 'B', 'C', 'D', which the graph does not"):
        validate(G.subgraph(["A"]))
    H = G.copy()
    H.remove_node("B")
    with pytest.raises(PipelineError, match=re.escape("drop its id from G.graph['tree']")):
        validate(H)
    H.graph["tree"]["children"].remove("B")
    assert list(to_graph(from_graph(H, check=False))) == ["A", "C", "D"]


def test_a_node_added_by_hand_is_told_every_attribute_it_lacks_and_how_to_add_one():
    """A node added with a few attributes was refused one missing attribute at a time (its
    writes, then model, description, timeout) and last with a bare ``KeyError: 'label'``."""
    G = to_graph(Agent("a").instruct("A {t}.").writes("x"), inputs={"t"})
    H = G.copy()
    H.graph["tree"] = {"kind": "sequence", "name": "p", "inputs": [], "id": None}
    H.graph["tree"]["children"] = ["a", "c"]
    H.add_node("c", kind="agent", instruction="C {x}.")
    said = "Node 'c' of the graph has no 'label', 'writes', 'model', 'description', 'timeout' "
    with pytest.raises(PipelineError, match=re.escape(said + "attributes, which an agent")):
        from_graph(H, check=False)
    H.add_node("c", **to_graph(Agent("c").instruct("C {x}.")).nodes["c"])  # as the hint says
    again = to_graph(from_graph(H, check=False))
    assert list(again.edges) == [("a", "c")] and validate(again) == []


def test_the_very_graph_with_its_tree_set_anew_is_checked_as_the_pipeline_it_now_holds():
    """``G.graph['tree']`` set anew on the graph to_graph made (two steps swapped) left the
    graph trusted as it was built: validate passed it and the picture showed the old order,
    while from_graph(G), and so a run, took the new one, a pipeline nothing had checked."""
    a = Agent("a").instruct("A {t}").writes("x")
    b, c = Agent("b").instruct("B {x}").writes("y"), Agent("c").instruct("C {x}").writes("z")
    G = to_graph(a >> b >> c, inputs={"t"})
    swapped = json.loads(json.dumps(G.graph["tree"]))
    swapped["children"][1:] = reversed(swapped["children"][1:])
    G.graph["tree"] = swapped
    said = "The graph has no edge c -> b, which its pipeline has"
    for use in (validate, from_graph, to_mermaid, critical_path):
        with pytest.raises(PipelineError, match=re.escape(said)):
            use(G)
    kept = to_graph(a >> b >> c, inputs={"t"})
    kept.graph["tree"] = kept.graph["tree"]  # the same tree given again: no edit
    assert validate(kept) == [] and from_graph(kept) == (a >> b >> c).inputs("t").to_ir()
