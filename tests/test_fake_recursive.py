"""FakeProvider answers output schemas that refer to themselves (trees, linked items, nested
comments) with finite values valid under them, and calls a schema unsatisfiable only when no
finite value matches it (the async trial's finding 1)."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from irgraph import Agent, RunError, run
from irgraph.ir.outputs import schema_error
from irgraph.providers import ModelRequest
from irgraph.testing import FakeProvider
from irgraph.testing.fake import FakeProviderError
from irgraph.testing.fake_values import UnsatisfiableSchema, fake_value


class Item(BaseModel):
    name: str
    next: Optional[Item] = None  # noqa: UP045 - the spelling of the trial's repro


class Node(BaseModel):
    value: int
    children: list[Node] = []


class Linked(BaseModel):
    next: Item | None  # required, but null ends it


class Comment(BaseModel):
    text: str
    thread: Thread | None = None


class Thread(BaseModel):
    first: Comment  # mutual recursion: a thread needs a comment, a comment may have a thread
    replies: list[Comment] = []


class Endless(BaseModel):
    value: int
    children: list[Endless] = Field(min_length=1)  # every node needs a child: no finite tree


for _model in (Item, Node, Linked, Comment, Thread, Endless):
    _model.model_rebuild()


@pytest.mark.parametrize("model", [Item, Node, Linked, Comment, Thread])
def test_a_run_answers_a_recursive_pydantic_model(model):
    result = run(Agent("x").instruct("go").output(model).writes("v"), provider=FakeProvider())
    value = result.state["v"]
    assert schema_error(value, model.model_json_schema()) is None
    model.model_validate(value)


def test_the_values_are_small_and_still_show_the_recursion_once():
    assert fake_value(Item.model_json_schema()) == {"name": "text", "next": {"name": "text"}}
    assert fake_value(Node.model_json_schema()) == {"value": 1, "children": [{"value": 1}]}
    linked = {"next": {"name": "text", "next": {"name": "text"}}}
    assert fake_value(Linked.model_json_schema()) == linked


def test_a_hand_written_tree_referring_to_its_root_shows_the_recursion_once():
    """``{"$ref": "#"}`` is how hand-written schemas recur: as a definition's reference."""
    tree = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "children": {"items": {"$ref": "#"}}},
        "required": ["name"],
    }
    assert fake_value(tree) == {"name": "text", "children": [{"name": "text"}]}
    listed = {**tree, "properties": {"next": {"anyOf": [{"$ref": "#"}, {"type": "null"}]}}}
    assert fake_value({**listed, "required": ["next"]}) == {"next": {"next": None}}


def test_a_schema_with_no_finite_value_is_called_unsatisfiable():
    with pytest.raises(UnsatisfiableSchema, match="refers to itself without end"):
        fake_value(Endless.model_json_schema())
    request = ModelRequest("t", "tree", "Go.", output_schema=Endless.model_json_schema())
    with pytest.raises(FakeProviderError, match="agent 'tree'.*without end.*fix the schema"):
        asyncio.run(FakeProvider().complete(request))


def test_an_optional_property_that_could_never_end_is_left_out():
    schema = {
        "$defs": {
            "Loop": {
                "type": "object",
                "properties": {"again": {"$ref": "#/$defs/Loop"}},
                "required": ["again"],
            }
        },
        "type": "object",
        "properties": {"name": {"type": "string"}, "loop": {"$ref": "#/$defs/Loop"}},
        "required": ["name"],
    }
    assert fake_value(schema) == {"name": "text"}
    with pytest.raises(RunError) as info:
        run(
            Agent("x").instruct("go").output({**schema, "required": ["name", "loop"]}),
            provider=FakeProvider(),
        )
    assert "without end" in str(info.value.__cause__)


_SELF = {"$ref": "#/$defs/Self"}
_OTHER = {"$ref": "#/$defs/Other"}
_LEAVES = st.sampled_from(
    [
        {"type": "string"},
        {"type": "integer", "minimum": 2},
        {"enum": ["a", "b"]},
        {"type": "boolean"},
    ]
)


def _ways_out(ref: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A place for ``ref`` that a finite value can leave empty."""
    return st.sampled_from(
        [
            {"anyOf": [ref, {"type": "null"}]},
            {"anyOf": [{"type": "null"}, ref]},
            {"oneOf": [ref, {"type": "integer"}]},
            {"type": "array", "items": ref},
            {"type": "array", "items": ref, "maxItems": 2},
            {"type": ["object", "null"], "properties": {"inner": ref}, "required": ["inner"]},
        ]
    )


@st.composite
def _objects(draw: st.DrawFn, refs: list[dict[str, Any]]) -> dict[str, Any]:
    """An object whose required properties are leaves or refs behind a way out, and whose
    optional ones may be bare refs."""
    names = draw(st.lists(st.sampled_from("abcdef"), min_size=1, max_size=4, unique=True))
    properties: dict[str, Any] = {}
    required = []
    for name in names:
        ref = draw(st.sampled_from(refs))
        choice = draw(st.integers(0, 2))
        if choice == 0:
            properties[name] = draw(_LEAVES)
        elif choice == 1:
            properties[name] = draw(_ways_out(ref))
        else:
            properties[name] = ref  # a bare ref: optional, so it can be left out
            continue
        if draw(st.booleans()):
            required.append(name)
    return {"type": "object", "properties": properties, "required": required}


@st.composite
def recursive_schemas(draw: st.DrawFn) -> dict[str, Any]:
    mutual = draw(st.booleans())
    refs = [_SELF, _OTHER] if mutual else [_SELF]
    definitions = {"Self": draw(_objects(refs))}
    if mutual:
        definitions["Other"] = draw(_objects(refs))
    return {"$defs": definitions, "$ref": "#/$defs/Self"}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recursive_schemas(), st.integers(0, 2**32))
def test_every_recursive_schema_with_a_way_out_gets_a_valid_value(schema, seed):
    value = fake_value(schema, seed)
    assert schema_error(value, schema) is None, (json.dumps(schema), value)
    assert fake_value(schema, seed) == value  # deterministic


def test_a_recursive_discriminated_union_ends_with_the_option_that_does():
    """An expression tree as pydantic writes it (a oneOf of $refs with a discriminator and a
    title beside it, the Add option first): the tree stops at numbers instead of trying
    ever deeper trees."""
    from typing import Annotated, Literal, Union

    from pydantic import BaseModel, Field, TypeAdapter

    class Num(BaseModel):
        op: Literal["num"]
        value: float

    class Add(BaseModel):
        op: Literal["add"]
        left: Expr
        right: Expr

    Expr = Annotated[Union[Add, Num], Field(discriminator="op")]  # noqa: UP007
    Add.model_rebuild()

    class Calc(BaseModel):
        expr: Expr
        steps: list[Expr] = Field(min_length=3)

    value = fake_value(Calc.model_json_schema())
    TypeAdapter(Calc).validate_json(json.dumps(value))
    assert value["expr"]["op"] == "add" and value["expr"]["left"]["left"]["op"] == "num"


def test_a_recursive_one_of_with_a_type_beside_it_ends():
    union = {"oneOf": [{"$ref": "#/$defs/Add"}, {"$ref": "#/$defs/Num"}], "type": "object"}
    add = {"properties": {"op": {"const": "add"}, "left": union, "right": union}}
    num = {"properties": {"op": {"const": "num"}, "value": {"type": "number"}}}
    schema = {
        "$defs": {
            "Add": {"type": "object", **add, "required": ["op", "left", "right"]},
            "Num": {"type": "object", **num, "required": ["op", "value"]},
        },
        "type": "object",
        "properties": {"e": union},
        "required": ["e"],
    }
    value = fake_value(schema)
    assert schema_error(value, schema) is None and value["e"]["left"]["left"]["op"] == "num"
