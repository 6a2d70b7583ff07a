"""An outside trial of routes on structured outputs: a recursive pydantic model (a tree of
itself) gets a schema whose root is a ``$ref`` beside its ``$defs``, and the checks of fields
and enums read nothing through it, so a misspelt field or a value outside the enum passed
``validate`` and failed (or silently took the otherwise) only at run time."""

from __future__ import annotations

import enum
from typing import Any

import pytest
from pydantic import BaseModel

from irgraph import Agent, PipelineError, Route, to_graph, validate


class Category(enum.StrEnum):
    BUG = "bug"
    FEATURE = "feature"


class Verdict(BaseModel):
    category: Category
    reason: str
    follow_up: Verdict | None = None  # recursive: pydantic writes {"$defs", "$ref"}


NON_RECURSIVE = {  # the same shape written by hand, the root a $ref beside its $defs
    "$defs": {
        "Verdict": {
            "type": "object",
            "properties": {"category": {"enum": ["bug", "feature"]}, "reason": {}},
            "required": ["category", "reason"],
        }
    },
    "$ref": "#/$defs/Verdict",
}


def judged(schema: Any, *after: Any) -> Any:
    judge = Agent("judge").instruct("Judge {ticket}.").output(schema).writes("verdict")
    for step in after:
        judge = judge >> step
    return to_graph(judge, inputs={"ticket"})


def fix(instruction: str = "Fix {ticket}.") -> Agent:
    return Agent("fix").instruct(instruction).writes("patch")


def test_pydantic_writes_the_recursive_model_as_a_root_ref() -> None:
    assert Verdict.model_json_schema()["$ref"] == "#/$defs/Verdict"


@pytest.mark.parametrize("schema", [Verdict, NON_RECURSIVE], ids=["recursive", "by-hand"])
def test_a_misspelt_field_of_a_root_ref_schema_is_refused(schema: Any) -> None:
    route = Route("triage").on("verdict.categry").when("bug", fix())
    with pytest.raises(PipelineError, match="declares no field 'categry' in 'verdict'"):
        validate(judged(schema, route.otherwise(Agent("answer").writes("patch"))))


@pytest.mark.parametrize("schema", [Verdict, NON_RECURSIVE], ids=["recursive", "by-hand"])
def test_a_value_outside_the_enum_of_a_root_ref_schema_is_refused(schema: Any) -> None:
    route = Route("triage").on("verdict.category").when("bugs", fix())
    with pytest.raises(PipelineError, match='can only be one of "bug", "feature"'):
        validate(judged(schema, route.otherwise(Agent("answer").writes("patch"))))


def test_a_field_of_the_nested_copy_is_checked_through_the_recursion() -> None:
    route = Route("triage").on("verdict.follow_up.category").when("bugs", fix())
    with pytest.raises(PipelineError, match='can only be one of "bug", "feature"'):
        validate(judged(Verdict, route.otherwise(Agent("answer").writes("patch"))))


def test_a_template_reading_a_misspelt_field_of_a_recursive_model_is_refused() -> None:
    with pytest.raises(PipelineError, match=r"Did you mean \{verdict.reason\}"):
        validate(judged(Verdict, fix("Fix {ticket}: {verdict.reasn}")))


def test_the_right_fields_of_a_recursive_model_pass() -> None:
    route = (
        Route("triage")
        .on("verdict.category")
        .when("bug", fix("Fix {ticket}: {verdict.reason}"))
        .otherwise(Agent("answer").instruct("Answer {ticket}.").writes("patch"))
    )
    assert validate(judged(Verdict, route)) == []
