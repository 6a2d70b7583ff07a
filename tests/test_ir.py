"""The IR: frozen, hashable data with a JSON form that never runs code when read."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import attrs
import pytest

from irgraph import Agent, Loop, MapOver, PipelineError, Transform, portable, to_graph
from irgraph.ir import (
    AgentNode,
    FunctionRef,
    GateNode,
    LoopNode,
    MapOverNode,
    ParallelNode,
    SequenceNode,
    TransformNode,
    from_json,
    resolve_function,
    to_json,
    transform_arguments,
    transform_call_problem,
)
from irgraph.testing.strategies import join_values, make_list, stop_after_first
from tests.support.modules import importable
from tests.support.pipelines import MAIN_FUNCTIONS_SCRIPT


def every_kind() -> SequenceNode:
    return SequenceNode(
        "all",
        (
            AgentNode("a", "Go {topic}.", writes="x", model="m", description="d", timeout=2.5),
            TransformNode("t", FunctionRef("irgraph.testing.strategies:make_list"), ("x",), "xs"),
            ParallelNode("p", (GateNode("g", "OK {x}?", writes="ok"), AgentNode("b"))),
            LoopNode("l", (AgentNode("c", writes="done"),), max_iterations=3, until="done"),
            LoopNode("l2", (AgentNode("d"),), 2, FunctionRef("irgraph.testing.strategies:f")),
            MapOverNode(
                "m",
                (AgentNode("e", "{paper}", writes="s"),),
                over="xs",
                item="paper",
                collect="s",
                writes="ss",
                max_concurrency=2,
            ),
        ),
    )


def test_nodes_are_frozen():
    node = AgentNode("a")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        node.name = "b"  # type: ignore[misc]
    changed = attrs.evolve(node, writes="x")
    assert (node.writes, changed.writes) == (None, "x")


def test_equal_nodes_are_equal_and_hash_alike():
    one = every_kind()
    two = every_kind()
    assert one == two
    assert hash(one) == hash(two)
    assert len({one, two, AgentNode("a")}) == 2
    assert AgentNode("a", writes="x") != AgentNode("a", writes="y")
    assert AgentNode("a") != GateNode("a")


def test_function_refs_compare_by_path_only():
    live = FunctionRef("irgraph.testing.strategies:make_list", make_list)
    assert live == FunctionRef("irgraph.testing.strategies:make_list")
    assert hash(live) == hash(FunctionRef("irgraph.testing.strategies:make_list"))
    assert live != FunctionRef("irgraph.testing.strategies:join_values", join_values)


def test_children_are_stored_as_tuples():
    node = SequenceNode("s", [AgentNode("a")])
    assert node.children == (AgentNode("a"),)
    assert TransformNode("t", FunctionRef("m:f"), reads=["a"]).reads == ("a",)


def test_json_has_the_documented_shape():
    data = json.loads(to_json(AgentNode("writer", "Write {x}.", writes="report")))
    assert data == {
        "format": "irgraph-ir",
        "version": 1,
        "root": {
            "kind": "AgentNode",
            "name": "writer",
            "instruction": "Write {x}.",
            "writes": "report",
            "model": None,
            "description": "",
            "timeout": None,
        },
    }


def test_every_kind_ends_its_init_fields_with_inputs_then_the_pinned_id():
    for cls in (AgentNode, SequenceNode, ParallelNode, LoopNode, TransformNode, GateNode):
        *_, inputs, pinned = [field for field in attrs.fields(cls) if field.init]
        assert (inputs.name, inputs.default, pinned.name, pinned.default) == (
            "inputs",
            (),
            "id",
            None,
        )
    assert [f.name for f in attrs.fields(MapOverNode) if f.init][-2:] == ["inputs", "id"]
    assert SequenceNode("s", [AgentNode("a")], ["topic"]).inputs == ("topic",)
    assert AgentNode("a", "Go.", "x", "m", "d", 2.0).inputs == ()


@pytest.mark.parametrize("bad", [("topic", "not a key"), ("2nd",), "topic", 5, None])
def test_inputs_follow_the_key_rule(bad):
    with pytest.raises(PipelineError) as info:
        SequenceNode("s", inputs=bad)
    message = str(info.value)
    assert "The inputs of SequenceNode 's' must be a list of state keys" in message
    assert f"(got {bad!r}" in message
    assert info.value.node == "s"


def test_json_writes_declared_inputs_as_a_list_and_reads_them_back():
    root = SequenceNode("s", (AgentNode("a", "Go {topic}."),), inputs=("topic", "audience"))
    data = json.loads(to_json(root))
    assert data["root"]["inputs"] == ["topic", "audience"]
    assert "inputs" not in data["root"]["children"][0]  # none declared: not written
    assert from_json(to_json(root)) == root


def test_a_node_may_pin_its_id_and_positional_construction_is_unchanged():
    assert (
        AgentNode("w", "Go.", "x", "m", "d", 2.0, ("topic",), "draft_writer").id == "draft_writer"
    )
    assert AgentNode("w", "Go.", "x", "m", "d", 2.0).id is None
    assert SequenceNode("s", (), id="intro") != SequenceNode("s", ())


@pytest.mark.parametrize("bad", ["", "  ", 5, ("a",)])
def test_a_pinned_id_must_be_a_non_empty_string(bad):
    with pytest.raises(PipelineError) as info:
        AgentNode("w", id=bad)
    message = str(info.value)
    assert "The id of AgentNode 'w' must be a non-empty string, or None" in message
    assert f"(got {bad!r}" in message
    assert info.value.node == "w"


def test_json_writes_a_pinned_id_only_when_set_and_reads_it_back():
    root = SequenceNode("s", (AgentNode("a", id="draft_writer"), AgentNode("b")), id="intro")
    data = json.loads(to_json(root))
    assert data["root"]["id"] == "intro"
    assert data["root"]["children"][0]["id"] == "draft_writer"
    assert "id" not in data["root"]["children"][1]  # none pinned: not written
    assert from_json(to_json(root)) == root
    assert from_json(wrap({**AGENT, "id": None})) == AgentNode("a")


def test_json_without_inputs_loads_with_none_declared():
    text = wrap({"kind": "SequenceNode", "name": "s", "children": [AGENT]})
    assert from_json(text) == SequenceNode("s", (AgentNode("a"),))
    assert from_json(text).inputs == ()


def test_json_written_with_the_retired_engine_field_still_loads():
    text = to_json(AgentNode("writer", "Write {x}.", writes="report"))
    data = json.loads(text)
    data["root"]["engine"] = None
    assert from_json(json.dumps(data)) == AgentNode("writer", "Write {x}.", writes="report")


def test_json_names_every_kind_by_class_and_writes_functions_as_paths():
    data = json.loads(to_json(every_kind()))
    kinds = [child["kind"] for child in data["root"]["children"]]
    assert kinds == [
        "AgentNode",
        "TransformNode",
        "ParallelNode",
        "LoopNode",
        "LoopNode",
        "MapOverNode",
    ]
    assert data["root"]["children"][1]["fn"] == {"function": "irgraph.testing.strategies:make_list"}
    assert data["root"]["children"][4]["until"] == {"function": "irgraph.testing.strategies:f"}


def test_json_round_trip_gives_an_equal_tree():
    root = every_kind()
    assert from_json(to_json(root)) == root
    assert from_json(to_json(root, indent=None)) == root
    assert from_json(to_json(root).encode()) == root


def test_json_round_trip_of_a_builder_with_live_functions():
    p = (
        Transform("t", make_list).writes("xs")
        >> MapOver("m").over("xs").step(Agent("a").instruct("{item}").writes("s")).writes("ss")
        >> Loop("l").step(Agent("b")).max_iterations(2).until(stop_after_first)
    )
    back = from_json(to_json(p.to_ir()), allow=["irgraph.testing"])  # a package: its modules
    assert back == p.to_ir()
    assert back.children[0].fn.fn is None
    assert resolve_function(back.children[0].fn) is make_list


def test_json_is_deterministic():
    assert to_json(every_kind()) == to_json(every_kind())


def test_a_lambda_cannot_be_written_to_json():
    node = Transform("clean", lambda text: text.strip()).reads("text").writes("x").to_ir()
    with pytest.raises(PipelineError, match="'clean'.*lambda") as info:
        to_json(node)
    assert info.value.node == "clean"
    assert "top level of a module" in str(info.value)


def test_a_local_function_cannot_be_written_to_json():
    def local(state: object) -> bool:
        return True

    node = SequenceNode("s", (Loop("again").step(Agent("a")).until(local).to_ir(),))
    with pytest.raises(PipelineError, match="'again'.*<locals>"):
        to_json(node)


SAVER = """
import networkx as nx
from irgraph import Agent, Loop, Route, Transform, portable, to_graph
from irgraph.ir import to_json

"""
SAVER += MAIN_FUNCTIONS_SCRIPT
SAVER += """open("p.json", "w").write(to_json(pipeline.to_ir()))
nx.write_graphml(portable(to_graph(pipeline)), "p.graphml")
"""


def test_saving_a_function_of_a_script_run_as_main_warns_naming_the_node_and_function(tmp_path):
    """A script run as ``python saver.py`` saves its functions as ``__main__:name``, which
    only that script can import: the save says so, where it happens, for each function."""
    (tmp_path / "saver.py").write_text(SAVER)
    done = subprocess.run(
        [sys.executable, "saver.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    said = [line for line in done.stderr.splitlines() if "UserWarning" in line]
    for saving in ("to_json()", "portable()"):
        for node, function in (("loud", "shout"), ("triage", "is_long"), ("again", "done")):
            line = 20 if saving == "to_json()" else 21  # the caller's line: the save
            warning = (
                f"saver.py:{line}: UserWarning: {saving} saves '{node}', which calls "
                f"'__main__:{function}', a function of the script or notebook running now"
            )
            assert any(warning in line for line in said), (warning, done.stderr)
    assert "Move shout into an importable module" in done.stderr
    assert len(said) == 6  # one per function and save, none for anything else


def test_saving_functions_of_importable_modules_warns_of_nothing():
    node = Transform("t", make_list).writes("xs").to_ir()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        to_json(node)
        portable(to_graph(node))


def test_to_json_rejects_a_builder_and_says_to_call_to_ir():
    with pytest.raises(PipelineError, match=r"\.to_ir\(\)"):
        to_json(Agent("a"))  # type: ignore[arg-type]


def test_from_json_never_imports_the_functions_it_names(tmp_path, monkeypatch):
    marker = tmp_path / "imported.txt"
    module = importable(
        tmp_path,
        monkeypatch,
        "irgraph_sidefx_probe",
        f"with open({str(marker)!r}, 'a') as f:\n    f.write('imported')\n"
        "def fn(**kw):\n    return 1\n"
        "def stop(state):\n    return True\n",
    )
    root = SequenceNode(
        "s",
        (
            TransformNode("t", FunctionRef(f"{module}:fn"), writes="x"),
            LoopNode("l", (AgentNode("a"),), max_iterations=1, until=FunctionRef(f"{module}:stop")),
        ),
    )
    back = from_json(to_json(root), allow=[module])
    assert back == root
    assert not marker.exists()
    assert module not in sys.modules
    # Only resolve_function imports, and only when asked: the probe itself works.
    assert resolve_function(back.children[0].fn)() == 1
    assert marker.read_text() == "imported"


def test_resolve_function_reports_a_missing_module_or_attribute():
    with pytest.raises(PipelineError, match="Cannot import the function 'no_such_mod_xyz:f'"):
        resolve_function(FunctionRef("no_such_mod_xyz:f"))
    with pytest.raises(PipelineError, match="Cannot import"):
        resolve_function(FunctionRef("irgraph.testing.strategies:no_such_function"))


def wrap(root: object, **extra: object) -> str:
    return json.dumps({"format": "irgraph-ir", "version": 1, "root": root, **extra})


def seq(*children: object) -> dict[str, object]:
    return {"kind": "SequenceNode", "name": "s", "children": list(children)}


AGENT = {"kind": "AgentNode", "name": "a"}

MALFORMED = [
    ("not json at all", "Invalid IR JSON"),
    ("[1, 2]", '"format": "irgraph-ir"'),
    (json.dumps({"format": "other", "version": 1, "root": AGENT}), '"format": "irgraph-ir"'),
    (json.dumps({"format": "irgraph-ir", "version": 2, "root": AGENT}), "version 2"),
    (json.dumps({"format": "irgraph-ir", "root": AGENT}), "version None"),
    (json.dumps({"format": "irgraph-ir", "version": 1}), 'no "root"'),
    (wrap([AGENT]), "at root: expected an object"),
    (wrap({"name": "a"}), "at root: unknown node kind None"),
    (wrap(seq(AGENT, {"kind": "SwitchNode", "name": "r"})), "at root.children[1]: unknown"),
    (wrap(seq(AGENT, {"kind": 3})), "at root.children[1]: unknown node kind 3"),
    (wrap(seq({**AGENT, "colour": "red"})), "at root.children[0]: AgentNode has no field"),
    (wrap({**AGENT, "reads": ["x"]}), "AgentNode has no field(s) 'reads'"),
    (wrap({"kind": "AgentNode"}), "at root: AgentNode needs a 'name'"),
    (
        wrap({"kind": "AgentNode", "name": 3}),
        "at root: AgentNode.name must be a non-empty string (got 3 of type int)",
    ),
    (wrap({**AGENT, "instruction": 5}), "at root: The instruction of 'a' must be a string"),
    (wrap({**AGENT, "instruction": "{x:>3}"}), "at root: The instruction of 'a' uses"),
    (wrap({**AGENT, "writes": ["x"]}), "at root.writes: expected a scalar"),
    (
        wrap({**AGENT, "writes": "not a key"}),
        "at root: The writes of AgentNode 'a' must be a state key",
    ),
    (
        wrap({**AGENT, "timeout": "soon"}),
        "The timeout of AgentNode 'a' must be a positive, finite number of seconds, or None "
        "(got 'soon'",
    ),
    (wrap({**AGENT, "timeout": True}), "(got True of type bool)"),
    (
        wrap({**AGENT, "timeout": -1}),
        "must be a positive, finite number of seconds, or None (got -1 of type int)",
    ),
    (wrap({"kind": "SequenceNode", "name": "s", "children": AGENT}), "at root.children: expected"),
    (wrap(seq(seq("nope"))), "at root.children[0].children[0]: expected an object"),
    (wrap({"kind": "TransformNode", "name": "t"}), "a TransformNode needs 'fn'"),
    (wrap({"kind": "TransformNode", "name": "t", "fn": "m:f"}), "at root.fn: a function must"),
    (wrap({"kind": "TransformNode", "name": "t", "fn": {"function": "nocolon"}}), "root.fn"),
    (wrap({"kind": "TransformNode", "name": "t", "fn": {"function": "m:f", "x": 1}}), "root.fn"),
    (
        wrap({"kind": "TransformNode", "name": "t", "fn": {"function": "m:f"}, "reads": "x"}),
        "at root.reads: expected a list of key strings",
    ),
    (
        wrap({"kind": "TransformNode", "name": "t", "fn": {"function": "m:f"}, "reads": [1]}),
        "at root.reads: expected a list of key strings",
    ),
    (wrap({**AGENT, "inputs": "topic"}), "at root.inputs: expected a list of key strings"),
    (wrap(seq({**AGENT, "inputs": [1]})), "at root.children[0].inputs: expected a list of key"),
    (
        wrap({**AGENT, "inputs": ["not a key"]}),
        "at root: The inputs of AgentNode 'a' must be a list of state keys",
    ),
    (wrap({**AGENT, "id": 7}), "at root.id: expected the pinned id as a string, got int"),
    (wrap(seq({**AGENT, "id": ["w"]})), "at root.children[0].id: expected the pinned id as a"),
    (wrap({**AGENT, "id": ""}), "at root: The id of AgentNode 'a' must be a non-empty string"),
    (
        wrap({"kind": "LoopNode", "name": "l", "max_iterations": "3"}),
        "The max_iterations of LoopNode 'l' must be a whole number, or None (got '3'",
    ),
    (
        wrap({"kind": "LoopNode", "name": "l", "until": 5}),
        "The until of LoopNode 'l' must be a state key (or a key and its fields, "
        "'review.verdict') or a function (got 5 of type int)",
    ),
    (
        wrap({"kind": "MapOverNode", "name": "m", "item": None}),
        "The item of MapOverNode 'm' must be a state key (ASCII letters, digits and "
        "underscores, not starting with a digit) (got None",
    ),
    (
        wrap({"kind": "MapOverNode", "name": "m", "max_concurrency": 0}),
        "The max_concurrency of MapOverNode 'm' must be a whole number of at least 1, or None "
        "(got 0 of type int)",
    ),
]


@pytest.mark.parametrize(("text", "expected"), MALFORMED)
def test_malformed_json_raises_pipeline_error_with_the_json_path(text, expected):
    with pytest.raises(PipelineError) as info:
        from_json(text)
    assert expected in str(info.value)


def keywords_only(a, b):
    return a + b


def text_and_count(text, n=3):
    return text[:n]


def anything(**values):
    return values


class Unhashable:
    __eq__ = object.__eq__
    __hash__ = None  # type: ignore[assignment]

    def __call__(self, text):
        return text


def test_from_json_of_a_node_link_graph_file_a_file_name_or_parsed_data_says_what_to_pass():
    import networkx as nx

    from irgraph import to_graph

    saved = json.dumps(nx.node_link_data(to_graph(Agent("a").instruct("{x}"))))
    with pytest.raises(PipelineError) as graph:
        from_json(saved)
    assert "this is a node-link graph" in str(graph.value)
    assert "from_graph(nx.node_link_graph(json.loads(text)))" in str(graph.value)
    with pytest.raises(PipelineError) as name:
        from_json("pipeline.json")
    assert "from_json takes a file's text, not its name" in str(name.value)
    assert "from_json(Path('pipeline.json').read_text())" in str(name.value)
    with pytest.raises(PipelineError) as parsed:
        from_json(json.loads(to_json(Agent("a").to_ir())))
    assert "json.dumps(data)" in str(parsed.value)


@pytest.mark.parametrize(
    ("fn", "reads", "expected"),
    [
        (str.strip, ("findings",), (("v",), {})),
        (len, ("items",), (("v",), {})),
        (lambda text: text, ("findings",), (("v",), {})),
        (lambda text: text, ("text",), (("v",), {})),
        (int, ("count",), (("v",), {})),  # no readable signature
        (text_and_count, ("findings",), (("v",), {})),
        (text_and_count, ("n",), ((), {"n": "v"})),  # names the other parameter
        (keywords_only, ("a", "b"), ((), {"a": "v", "b": "v"})),
        (anything, ("x",), ((), {"x": "v"})),
        (anything, ("x", "y"), ((), {"x": "v", "y": "v"})),
        (lambda: 1, (), ((), {})),
        (Unhashable(), ("findings",), (("v",), {})),
    ],
)
def test_transform_arguments_are_keywords_except_one_read_of_one_positional_parameter(
    fn, reads, expected
):
    values = dict.fromkeys(("findings", "items", "text", "count", "n", "a", "b", "x", "y"), "v")
    assert transform_arguments(fn, reads, values) == expected


@pytest.mark.parametrize(
    ("fn", "reads"),
    [
        (str.strip, ("findings",)),
        (len, ("items",)),
        (max, ("items",)),  # its signature cannot be read: accepted
        (lambda text: text, ("findings",)),
        (text_and_count, ("findings",)),
        (text_and_count, ("text", "n")),
        (keywords_only, ("b", "a")),
        (anything, ("x", "y", "z")),
        (anything, ()),
    ],
)
def test_a_transform_that_can_be_called_has_no_problem(fn, reads):
    assert transform_call_problem("t", fn, reads) is None


def test_an_unread_required_parameter_is_a_problem_naming_the_function_and_the_fix():
    problem = transform_call_problem("join", keywords_only, ("a",))
    assert problem.node == "join"
    assert problem.message == (
        "Transform 'join' calls keywords_only(a, b) with the key it reads, 'a', as a keyword "
        "argument, which fails: missing a required argument: 'b'."
    )
    assert problem.hint.startswith("Read the keys the function takes with .reads('a', 'b')")


def test_a_read_key_that_is_not_a_parameter_is_a_problem_with_the_nearest_parameter():
    problem = transform_call_problem("cut", text_and_count, ("text", "count"))
    assert problem.key == "count"
    assert "text_and_count(text, n=3)" in problem.message
    assert "the keys it reads, 'text', 'count', as keyword arguments" in problem.message
    assert "unexpected keyword argument 'count'" in problem.message
    problem = transform_call_problem("cut", keywords_only, ("a", "bb"))
    assert problem.key == "bb"
    assert problem.suggestion == ("b",)
    assert "Did you mean 'b'?" in str(problem)


def test_one_read_named_after_an_optional_parameter_is_passed_by_name_and_checked():
    problem = transform_call_problem("cut", text_and_count, ("n",))
    assert "missing a required argument: 'text'" in problem.message
    assert ".reads('text')" in problem.hint


def test_a_builtin_given_two_keys_is_a_problem_with_a_fix_that_needs_no_names():
    problem = transform_call_problem("clean", str.strip, ("findings", "chars"))
    assert "str.strip(self, chars=None, /)" in problem.message
    assert problem.hint.startswith("Read the key it takes with .reads(key)")


def test_a_builtin_that_reads_no_key_is_told_to_read_one():
    # Transform("shout", str.upper).writes("loud") without .reads(): the hint only said to
    # change the function's parameters, which a builtin's cannot be.
    problem = transform_call_problem("shout", str.upper, ())
    assert "with no arguments, as it reads no keys" in problem.message
    assert problem.hint.startswith("Read the key it takes with .reads(key)")
    assert "gets a single read key positionally" in problem.hint


def test_a_transform_of_no_keys_whose_function_needs_one_is_a_problem():
    problem = transform_call_problem("make", lambda text: text, ())
    assert "with no arguments, as it reads no keys" in problem.message
    assert problem.key is None


def test_portable_warns_that_a_lambda_cannot_run_from_the_file_without_naming_a_move():
    node = Transform("shout", lambda text: text.upper()).reads("text").writes("loud").to_ir()
    with pytest.warns(UserWarning) as told:
        portable(to_graph(node))
    (said,) = [str(warning.message) for warning in told]
    assert "portable() saves 'shout', which calls '" in said
    assert "a function with no import path (a lambda" in said
    assert "from steps import" not in said  # no 'from steps import <lambda>#1f2e'
