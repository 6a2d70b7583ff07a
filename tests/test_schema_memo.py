"""An output schema is checked once per content: the same schema given to many agents is not
checked by ``jsonschema`` again, while a refused one is refused, with the same words, every
time, and a dict changed after it passed is checked anew."""

from __future__ import annotations

import uuid
import warnings
from typing import Any

import jsonschema
import pydantic
import pytest

from irgraph import Agent, PipelineError
from irgraph.ir.schema_memo import SchemaMemo


def _fresh(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with a title no other test uses, so no earlier check is remembered."""
    return {**schema, "title": f"t{uuid.uuid4().hex}"}


@pytest.fixture
def schema_checks(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The schemas ``jsonschema``'s 2020-12 ``check_schema`` is asked to check."""
    seen: list[Any] = []
    library = jsonschema.Draft202012Validator.check_schema

    def spy(cls: Any, schema: Any, *args: Any, **kwargs: Any) -> None:
        seen.append(schema)
        library(schema, *args, **kwargs)

    monkeypatch.setattr(jsonschema.Draft202012Validator, "check_schema", classmethod(spy))
    return seen


def _refusal(schema: Any, node: str) -> str:
    with pytest.raises(PipelineError) as caught:
        Agent(node).output(schema)
    return str(caught.value)


def test_a_schema_given_to_many_agents_is_checked_by_jsonschema_once(schema_checks):
    schema = _fresh({"type": "object", "properties": {"a": {"type": "string"}}})
    agents = [Agent(f"a{i}").output(dict(schema)).writes(f"k{i}") for i in range(5)]
    nodes = [agent.to_ir() for agent in agents]  # the IR node's own check too
    assert len(schema_checks) == 1
    assert all(node.output == schema for node in nodes)


def test_a_pydantic_model_given_again_is_checked_once(schema_checks):
    Model = pydantic.create_model(f"M{uuid.uuid4().hex}", a=(int, ...))
    first = Agent("a").output(Model).writes("x").to_ir()
    second = Agent("b").output(Model).writes("y").to_ir()
    assert len(schema_checks) == 1
    assert first.output == second.output == Model.model_json_schema()


@pytest.mark.parametrize(
    ("schema", "words"),
    [
        ({"type": "strng"}, "is not a valid JSON Schema"),  # jsonschema's check
        ({"$ref": "#/$defs/Missing"}, "'#/$defs/Missing'"),  # a $ref that does not resolve
        ({"type": "integer", "minimum": 5, "maximum": 1}, "at least 5 (minimum)"),
        ({"type": "string", "enum": [1]}, "allows no value at all"),
    ],
)
def test_a_refused_schema_is_refused_the_same_way_every_time(schema, words):
    first, second = _refusal(schema, "c"), _refusal(dict(schema), "c")
    assert words in first
    assert second == first
    assert _refusal(schema, "d") == first.replace("'c'", "'d'")


def test_a_schema_changed_after_it_passed_is_checked_again():
    schema = _fresh({"type": "string"})
    Agent("a").output(schema)
    schema["type"] = "strng"
    assert "Did you mean 'string'?" in _refusal(schema, "a")
    schema["type"] = "string"
    schema["minLength"], schema["maxLength"] = 3, 1
    assert "at least 3 (minLength)" in _refusal(schema, "a")


def test_a_schema_with_a_likely_mistake_is_warned_of_for_each_agent():
    schema = _fresh({"type": "string", "enums": ["bug"]})
    for node in ("a", "b", "a"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            Agent(node).output(schema)
        assert [f"'{node}' has 'enums'" in str(w.message) for w in caught] == [True]


def test_a_memo_keeps_the_most_recently_used_schemas_up_to_its_size():
    memo = SchemaMemo(size=3)
    texts = [f'{{"title":"{i}"}}' for i in range(5)]
    for text in texts[:3]:
        memo.add(text)
    assert memo.has(texts[0])  # now the newest of the three
    memo.add(texts[3])
    memo.add(texts[4])
    assert len(memo) == 3
    assert [memo.has(t) for t in texts] == [True, False, False, True, True]


def test_a_memo_tells_apart_texts_that_differ_anywhere():
    memo = SchemaMemo()
    memo.add('{"type":"string"}')
    memo.add('{"title":"\ud800"}')  # a lone surrogate, which JSON text may hold
    others = ['{"type":"strinG"}', '{"type":"string"} ', '{"title":"\udfff"}', ""]
    assert [memo.has(text) for text in others] == [False] * 4
    assert memo.has('{"type":"string"}') and memo.has('{"title":"\ud800"}')
