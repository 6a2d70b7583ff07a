"""Diff findings of trial 2 (moves out of removed scopes, renumbering on insertion, order
changes that are a neighbour's move, edge attribute changes)."""

from __future__ import annotations

import pytest

from irgraph import Agent, Loop, MapOver, Pipeline, Route, to_graph
from irgraph.analysis import diff


def _agents():
    a = Agent("a").instruct("Do {t}.").writes("a_out")
    b = Agent("b").instruct("B {t}.").writes("b_out")
    c = Agent("c").instruct("C {t}.").writes("c_out")
    return a, b, c


def _diff(old, new, inputs=frozenset({"t"})):
    return diff(to_graph(old, inputs=set(inputs)), to_graph(new, inputs=set(inputs)))


@pytest.mark.parametrize(
    ("scope", "wrap"),
    [
        ("L", lambda b: Loop("L").step(b).max_iterations(2)),
        ("m", lambda b: MapOver("m").over("t", item="t2").step(b).writes("bs")),
        ("r", lambda b: Route("r").on("a_out").when("x", b)),
    ],
)
def test_step_out_of_a_removed_scope_is_a_parent_move(scope, wrap):
    a, b, _ = _agents()
    d = _diff(a >> wrap(b), a >> b)
    text = str(d).splitlines()
    assert f"- node {scope}" in text
    assert f"~ node b: parent ({scope} -> top level)" in text
    assert d.moves == {"b": {"parent": (scope, "top level")}}
    assert not any("order" in line for line in text)


def test_step_into_a_new_scope_is_still_a_parent_move():
    a, b, _ = _agents()
    d = _diff(a >> b, a >> Loop("L").step(b).max_iterations(2))
    assert d.moves == {"b": {"parent": ("top level", "L")}}


def _reviser():
    w1 = Agent("w").instruct("Draft {t}.").writes("draft")
    cr = Agent("c").instruct("Critique {draft}.").writes("notes")
    w2 = Agent("w").instruct("Revise {draft} with {notes}.").writes("draft")
    return w1, cr, w2


def test_inserting_a_same_named_step_before_one_reports_its_new_id():
    w1, cr, w2 = _reviser()
    d = _diff(cr >> w2, w1 >> cr >> w2, {"t", "draft"})
    assert d.added == ["w"]
    assert d.renumbered == {"w#2": "w"}
    assert "~ node w#2: id (w -> w#2)" in str(d).splitlines()


def test_removing_a_same_named_step_still_reports_its_new_id():
    w1, cr, w2 = _reviser()
    d = _diff(w1 >> cr >> w2, cr >> w2, {"t", "draft"})
    assert d.renumbered == {"w": "w#2"}
    assert "~ node w: id (w#2 -> w)" in str(d).splitlines()


def test_a_plain_rename_is_not_a_renumbering():
    a, b, _ = _agents()
    d = _diff(a >> b, a >> Agent("z").instruct("B {t}.").writes("b_out"))
    assert d.renumbered == {}
    assert d.changed == {"z": ["label"]}
    assert "~ node z: label (b -> z)" in str(d).splitlines()  # the old name is shown too


def test_a_neighbour_moving_into_a_new_loop_does_not_move_the_next_step():
    a, b, c = _agents()
    d = _diff(a >> b >> c, a >> Loop("L").step(b).max_iterations(2) >> c)
    assert d.moves == {"b": {"parent": ("top level", "L")}}
    assert d.changed == {"b": ["parent"]}
    assert not any("node c" in line for line in str(d).splitlines())


def test_a_loop_unwrapped_before_a_step_does_not_move_it():
    a, b, c = _agents()
    d = _diff(a >> Loop("L").step(b).max_iterations(2) >> c, a >> b >> c)
    assert d.moves == {"b": {"parent": ("L", "top level")}}


def test_a_step_leaving_a_kept_loop_does_not_move_the_one_after_it():
    a, b, c = _agents()
    loop = Loop("L").step(b).step(c).max_iterations(2)
    d = _diff(a >> loop, a >> Loop("L").step(c).max_iterations(2) >> b)
    assert d.moves == {"b": {"parent": ("L", "top level")}}


def test_real_reorders_are_still_reported():
    a, b, c = _agents()
    swapped = _diff(a >> b >> c, a >> c >> b)
    assert swapped.moves == {
        "b": {"order": ("after a", "after c")},
        "c": {"order": ("after b", "after a")},
    }
    joined = _diff(a >> b >> c, a >> (b | c))
    assert joined.moves == {"c": {"order": ("after b", "after a")}}
    # A step moved after a new loop: it now runs after the loop that holds its old predecessor.
    looped = _diff(a >> b >> c, a >> c >> Loop("L").step(b).max_iterations(2))
    assert looped.moves["c"] == {"order": ("after b", "after a")}


def test_a_parallel_branch_added_or_removed_before_a_step_does_not_move_it():
    # Looking through the added or removed branch ``e`` reaches ``a`` (or route ``r``),
    # which ``d`` runs after anyway through the kept branches: not a change of ``d``'s
    # order (the property test_one_mutation_anywhere_is_exactly_one_change found it).
    a, b, c = _agents()
    d, e = Agent("d").instruct("D {t}."), Agent("e").instruct("E {t}.")
    routed = Route("r").on("a_out").when("x", Agent("x").instruct("X."))
    for first in (a, a >> routed):
        two, three = first >> (b | c) >> d, first >> (b | c | e) >> d
        assert _diff(three, two).changed == {}
        assert _diff(two, three).changed == {}
    # A real change of what ``d`` runs right after is still one.
    moved = _diff(a >> (b | c) >> d, a >> b >> (c | d))
    assert moved.moves == {
        "c": {"order": ("after a", "after b")},
        "d": {"order": ("after b, c", "after b")},
    }


def test_an_edge_becoming_a_control_edge_is_a_changed_edge():
    a, _, _ = _agents()
    b = Agent("b").instruct("B {a_out}.").writes("b_out")
    d = _diff(a >> Loop("L").step(b).max_iterations(2), a >> b)
    assert d.edges_changed == {("a", "b"): {"control": ("data only", "control")}}
    assert "~ edge a -> b: control (data only -> control)" in str(d).splitlines()
    back = _diff(a >> b, a >> Loop("L").step(b).max_iterations(2))
    assert back.edges_changed == {("a", "b"): {"control": ("control", "data only")}}


def test_an_edge_losing_or_changing_its_route_condition_is_a_changed_edge():
    a, b, c = _agents()
    routed = a >> Route("r").on("a_out").when("x", b).when("y", c)
    d = _diff(routed, a >> Route("r").on("a_out").when("y", c) >> b)
    assert d.edges_changed == {("r", "b"): {"condition": ('"x"', "none")}}
    assert '~ edge r -> b: condition ("x" -> none)' in str(d).splitlines()
    renamed = _diff(routed, a >> Route("r").on("a_out").when("z", b).when("y", c))
    assert renamed.edges_changed == {("r", "b"): {"condition": ('"x"', '"z"')}}


def test_a_case_value_written_as_another_equal_json_number_is_no_change():
    a, b, c = _agents()

    def routed(value: object) -> object:
        return a >> Route("r").on("a_out").when(value, b).otherwise(c)

    same = _diff(routed(1), routed(1.0))  # JSON holds 1 and 1.0 equal: the route takes both
    assert same.empty and str(same) == "No differences."
    for other, shown in ((True, "true"), ("1", '"1"'), (2, "2")):  # these route otherwise
        d = _diff(routed(1), routed(other))
        assert d.edges_changed == {("r", "b"): {"condition": ("1", shown)}}, other


def test_unchanged_edges_are_not_changed_edges():
    a, b, c = _agents()
    d = _diff(a >> b >> c, a >> b >> c)
    assert d.empty and d.edges_changed == {}
    assert str(d) == "No differences."


def test_cli_diff_shows_changed_edges(tmp_path, monkeypatch, capsys):
    from irgraph.cli import main

    (tmp_path / "pipes_t2.py").write_text(
        "from irgraph import Agent, Loop\n"
        "a = Agent('a').instruct('Do {t}.').writes('a_out')\n"
        "b = Agent('b').instruct('B {a_out}.').writes('b_out')\n"
        "old = a >> Loop('L').step(b).max_iterations(2)\n"
        "new = a >> b\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["diff", "pipes_t2:old", "pipes_t2:new"]) == 1
    assert "~ edge a -> b: control (data only -> control)" in capsys.readouterr().out


def test_a_loop_whose_count_and_so_its_generated_name_changed_is_that_loop_changed():
    """(a >> b) * 2 against * 3: the loop's generated id follows its count, so the diff said
    one loop was removed, another added, and a and b moved between them."""
    a, b, _ = _agents()
    d = _diff((a >> b) * 2, (a >> b) * 3, {"t"})
    assert d.added == [] and d.removed == [] and d.moves == {}
    assert d.changed == {"a_then_b_x3": ["label", "max_iterations"]}
    assert str(d) == (
        "~ node a_then_b_x3: label (a_then_b_x2 -> a_then_b_x3), max_iterations (2 -> 3)"
    )


def test_a_scope_is_not_paired_with_one_that_held_other_nodes():
    a, b, c = _agents()
    d = _diff((a >> b) * 2, a >> (b >> c) * 3, {"t"})
    assert "b_then_c_x3" in d.added and "a_then_b_x2" in d.removed


def test_what_no_node_holds_is_a_change_too_inputs_and_block_names():
    """A root sequence's declared inputs, a FanOut's or Pipeline's name and a pinned id gave
    "No differences." (and exit 0 on the command line); a root agent's inputs already showed."""
    from irgraph import FanOut, Pipeline

    def made(name: str, inputs: list[str], fan: str, pin: str | None = None) -> Pipeline:
        branches = FanOut(fan).branch(Agent("b").instruct("{x}").writes("y"))
        branches = branches.branch(Agent("c").instruct("{x}").writes("z"))
        first = Agent("a").instruct("{t}").writes("x")
        return Pipeline(name, inputs=inputs, id=pin).step(first).step(branches)

    same = diff(to_graph(made("one", ["t"], "fan")), to_graph(made("one", ["t"], "fan")))
    assert same.empty and str(same) == "No differences."
    change = diff(to_graph(made("one", ["t"], "fan")), to_graph(made("two", ["t", "u"], "f2", "P")))
    assert not change.empty
    assert str(change).splitlines() == [
        "~ pipeline: inputs (t -> t, u)",
        "~ pipeline: sequence #1 (one -> two (id P))",
        "~ pipeline: parallel #2 (fan -> f2)",
    ]
    alone = Agent("a").instruct("{t}").writes("x")
    assert str(diff(to_graph(alone.inputs("t")), to_graph(alone.inputs("t", "u")))) == (
        "~ node a: inputs (t -> t, u)"
    )


def test_a_changed_short_setting_shows_its_old_and_new_value_a_long_one_its_name():
    def made(instruction: str, model: str, times: int) -> Loop:
        step = Agent("a").instruct(instruction).writes("y").model(model)
        return Loop("l").step(step).max_iterations(times)

    long = "Summarise {x} " + "at great length " * 5
    d = diff(to_graph(made("hi {x}", "m1", 3)), to_graph(made(long, "m2", 5)))
    assert str(d).splitlines() == [
        "~ node l: max_iterations (3 -> 5)",
        '~ node a: instruction, model ("m1" -> "m2")',
    ]
    assert d.values["l"] == {"max_iterations": ("3", "5")}


@pytest.mark.parametrize(("one", "other"), [(1, True), (0, False), (True, "true")])
def test_a_value_that_differs_only_as_json_does_is_a_change(one, other):
    """``until(equals=1)`` and ``until(equals=True)`` run differently (a reply ``true`` stops
    only the second), yet diff said "No differences." and the two IRs were equal."""

    def loop(value):
        step = Agent("a").instruct("A {t}").output({"enum": [value]}).settings(custom=value)
        return Loop("l").step(step.writes("x")).max_iterations(3).until("x", equals=value)

    def route(value):
        return Agent("w").writes("k") >> Route("r").on("k").when(value, Agent("p")).otherwise(
            Agent("q")
        )

    d = diff(to_graph(loop(one)), to_graph(loop(other)))
    assert d.changed == {"l": ["until_equals"], "a": ["settings", "output"]}
    assert loop(one).to_ir() != loop(other).to_ir()
    assert diff(to_graph(route(one)), to_graph(route(other))).changed == {"r": ["cases"]}
    assert route(one).to_ir() != route(other).to_ir()
    assert hash(route(one).to_ir()) != hash(route(other).to_ir())
    # Numbers still compare by value, as the run compares them.
    assert route(1).to_ir() == route(1.0).to_ir()


def test_a_node_whose_kind_changed_under_its_name_is_that_node_changed():
    """A MapOver turned into a Loop of the same name read as one node removed and another
    added, its body's step as moved out of one and into the other."""
    mapped = MapOver("each").over("xs", item="x").step(Agent("r").instruct("{x}").writes("s"))
    looped = Loop("each").step(Agent("r").instruct("{x}").writes("s")).max_iterations(2)
    d = diff(
        to_graph(Agent("w").writes("xs") >> mapped), to_graph(Agent("w").writes("xs") >> looped)
    )
    assert d.added == [] and d.removed == [] and d.moves == {}
    assert d.changed == {"each": ["kind"]}
    assert "~ node each: kind (map_over -> loop)" in str(d).splitlines()


def test_a_diff_left_as_a_notebook_cells_value_shows_its_lines_not_its_fields():
    """Jupyter's plain-text output of ``diff(old, new)`` was the attrs repr
    (``GraphDiff(added=[...], removed=[...], ...)``), not the lines ``print`` gives."""
    from IPython.core.formatters import PlainTextFormatter

    from irgraph import Agent, to_graph
    from irgraph.analysis import diff

    old = Agent("a").instruct("Say {topic}.").writes("x") >> Agent("b").instruct("{x}")
    new = old >> Agent("c").instruct("Check {x}.")
    change = diff(to_graph(old, inputs={"topic"}), to_graph(new, inputs={"topic"}))
    shown = PlainTextFormatter()(change)
    assert shown == str(change)
    assert shown.splitlines()[0] == "+ node c"
    same = diff(to_graph(old, inputs={"topic"}), to_graph(old, inputs={"topic"}))
    assert PlainTextFormatter()(same) == "No differences."


def _no(state):
    return False


def _yes(state):
    return True


def test_a_changed_function_shows_as_the_graph_attribute_with_its_import_paths():
    """A transform given another function was ``~ node clean: fn ("FunctionRef(ref='m:f')"
    -> ...)``: the IR's field name and a Python repr, where the graph says ``function`` and
    the docs show ``"module:qualname"``; a loop's stop predicate too."""
    from irgraph import Transform

    def build(fn, stop):
        return Transform("clean", fn).reads("t").writes("u") >> Loop("l").step(
            Agent("b").instruct("{u}").writes("v")
        ).until(stop).max_iterations(2)

    lines = str(_diff(build(str.strip, _no), build(str.lower, _yes))).splitlines()
    assert '~ node clean: function ("builtins:str.strip" -> "builtins:str.lower")' in lines
    assert f'~ node l: until ("{__name__}:_no" -> "{__name__}:_yes")' in lines


def test_inputs_given_to_to_graph_are_a_change_of_the_pipeline():
    """Two graphs of one pipeline made with other ``inputs=`` hold other pipelines (each root
    declares its graph's inputs, as ``from_graph`` shows), but the diff said "No differences."
    since it looked only at the inputs the root block declares itself."""
    from irgraph import from_graph

    one = Agent("a").instruct("{t}").writes("x") >> Agent("b").instruct("{x} {u?}")
    for pipeline in (one, Agent("a").instruct("{t} {u?}")):
        old, new = to_graph(pipeline, inputs={"t"}), to_graph(pipeline, inputs={"t", "u"})
        assert from_graph(old) != from_graph(new)
        assert str(diff(old, new)) == "~ pipeline: inputs (t -> t, u)"
        assert diff(old, to_graph(pipeline, inputs={"t"})).empty


def test_swapped_parallel_branches_are_a_change_as_a_keyed_batch_counts_them():
    """diff said "No differences." while a keyed batch refused the pipeline as changed."""
    from irgraph.batch_pipeline import difference, pipeline_description

    a, b, _ = _agents()
    w = Agent("w").instruct("Use {a_out} and {b_out}.")
    old, new = (a | b) >> w, (b | a) >> w
    found = _diff(old, new)
    assert str(found) == "~ pipeline: parallel #2 branches (a, b -> b, a)" and found
    assert "another order" in difference(pipeline_description(old), pipeline_description(new))
    assert not _diff(old, (a | b) >> w)


def test_two_nodes_whose_names_were_swapped_read_as_renamed_not_as_both_edited():
    """They read as two nodes each given the other's instruction and key."""
    a, b, _ = _agents()
    w = Agent("w").instruct("Use {a_out} and {b_out}.")
    a_as_b = Agent("b").instruct("Do {t}.").writes("a_out")
    b_as_a = Agent("a").instruct("B {t}.").writes("b_out")
    found = _diff((a | b) >> w, (a_as_b | b_as_a) >> w)
    assert str(found) == "~ node b: label (a -> b)\n~ node a: label (b -> a)"
    # An edit that gives one node another's settings is an edit, not a swap.
    copied = Agent("a").instruct("B {t}.").writes("b_out")
    assert str(_diff(a >> b, copied >> Agent("b").instruct("B {t}.").writes("b_out"))).startswith(
        '~ node a: instruction ("Do {t}." -> "B {t}."), writes ("a_out" -> "b_out")'
    )


def test_a_kept_edge_whose_keys_changed_is_a_changed_edge():
    """A key moved to another writer (``a`` no longer writes it, ``b`` does) was told as
    the writers changed and the edge a -> c removed, but not where ``c`` now takes the key
    from: the edge b -> c, kept, carried it and the diff said nothing of it."""
    a, b = Agent("a").instruct("A {t}."), Agent("b").instruct("B {t}.")
    c = Agent("c").instruct("C {k}.")
    d = _diff(a.writes("k") >> b >> c, a >> b.writes("k") >> c)
    assert d.edges_changed == {("b", "c"): {"keys": ("none", "k")}}
    assert d.edges_removed == [("a", "c")]
    assert "~ edge b -> c: keys (none -> k)" in str(d).splitlines()
    swapped = _diff(
        a.writes("k") >> b.instruct("B {k}.").writes("m") >> c.instruct("C {k} {m}."),
        a.writes("m") >> b.instruct("B {m}.").writes("k") >> c.instruct("C {k} {m}."),
    )
    assert swapped.edges_changed == {
        ("a", "b"): {"keys": ("k", "m")},
        ("a", "c"): {"keys": ("k", "m")},
        ("b", "c"): {"keys": ("m", "k")},
    }


def test_inputs_declared_in_another_order_are_no_change_on_a_lone_agent_as_on_a_sequence():
    """A lone agent's ``.inputs("topic", "audience")`` against ``.inputs("audience",
    "topic")`` was told as a change (``~ node w: inputs (topic, audience -> audience,
    topic)``), while the same two inputs on a sequence were, rightly, none."""
    w = Agent("w").instruct("{topic} {audience}")
    assert _diff(w.inputs("topic", "audience"), w.inputs("audience", "topic"), ()).empty
    assert _diff(w.inputs("topic"), w.inputs("topic", "topic"), ()).empty
    d = _diff(w.inputs("topic", "audience"), w.inputs("audience"), ())
    assert str(d) == "~ node w: inputs (audience, topic -> audience)"


def test_swapped_branches_that_hold_blocks_of_their_own_are_a_change_too():
    """Two branches swapped, one holding a parallel block (in a loop) and the other a
    sequence, moved those blocks to each other's place in the pipeline's tree, and the diff
    said "No differences." (it compared blocks by place only)."""
    a, b, c = _agents()
    d = Agent("d").instruct("D {t}.").writes("d_out")
    looped = Loop("L").step(a | b).max_iterations(2)
    found = _diff(looped | (c >> d), (c >> d) | looped)
    assert str(found) == "~ pipeline: parallel #1 branches (L, c -> c, L)" and found
    renamed = _diff(looped | (c >> d), Pipeline("cd").step(c).step(d) | looped)
    assert str(renamed).splitlines() == [
        "~ pipeline: parallel #1 branches (L, c -> c, L)",
        "~ pipeline: sequence #2 ((made) -> cd)",
    ]


def test_a_pin_removed_is_told_as_pinned_apart_from_the_node_id_it_moved():
    """A pin removed from the first of two ``w`` agents was told as two lines both named
    ``id``: ``~ node w: id ("p" -> null)`` (the pin) and ``~ node w: id (p -> w)`` (its node
    id), the graph's own name for the pin, ``pinned``, nowhere."""
    first, second = Agent("w").instruct("{t}").writes("a"), Agent("w").instruct("{a}")
    pinned = Agent("w", id="p").instruct("{t}").writes("a")
    d = _diff(pinned >> second, first >> second)
    assert str(d).splitlines() == [
        '~ node w: pinned ("p" -> null)',
        "~ node w: id (p -> w)",
        "~ node w#2: id (w -> w#2)",
    ]
    assert d.changed == {"w": ["pinned"]}
