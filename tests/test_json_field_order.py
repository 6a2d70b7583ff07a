"""``from_json`` of a node with two bad fields said only one, and the second in the file first
(the node's class checks its fields in its own order): every mistake is said, in the order the
file holds them."""

from __future__ import annotations

import json

import pytest

from irgraph.errors import PipelineError
from irgraph.ir import from_json
from irgraph.ir.json import FORMAT, VERSION


def read(root: dict[str, object]) -> list[str]:
    with pytest.raises(PipelineError) as caught:
        from_json(json.dumps({"format": FORMAT, "version": VERSION, "root": root}))
    return [problem.message for problem in caught.value.problems]


def test_two_bad_fields_of_a_node_are_both_said_in_the_files_order():
    said = read({"kind": "AgentNode", "name": "w", "timeout": -1, "writes": "bad key"})
    assert [m.split(" of ")[0] for m in said] == [
        "Invalid IR JSON at root: The timeout",
        "Invalid IR JSON at root: The writes",
    ]


def test_a_bad_shape_and_a_refused_value_are_said_in_the_files_order():
    said = read({"kind": "AgentNode", "name": "w", "instruction": 5, "settings": [1]})
    assert len(said) == 2
    assert "The instruction of 'w' must be a string" in said[0]
    assert said[1] == "Invalid IR JSON at root.settings: expected an object."


def test_an_unknown_field_is_said_in_its_place():
    said = read({"kind": "AgentNode", "name": "w", "instruction": 5, "wrtes": "x"})
    assert "The instruction of 'w'" in said[0] and "no field(s) 'wrtes'" in said[1]


def test_the_mistakes_of_two_children_are_both_said():
    bad = {"kind": "AgentNode", "name": "a", "timeout": -1}
    said = read({"kind": "SequenceNode", "name": "s", "children": [bad, {**bad, "name": "b"}]})
    assert [m.split(":")[0] for m in said] == [
        "Invalid IR JSON at root.children[0]",
        "Invalid IR JSON at root.children[1]",
    ]
