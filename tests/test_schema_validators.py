"""A pydantic output model's validators do not run (the IR holds its JSON Schema only):
``.output(Model)`` says so once per model, naming each, where an outside trial found the
refused value stored silently."""

from __future__ import annotations

import warnings
from typing import Annotated

import pytest
from pydantic import AfterValidator, BaseModel, Field, field_validator, model_validator

from irgraph import Agent


def small(value: int) -> int:
    if value > 2:
        raise ValueError("too big")
    return value


class Item(BaseModel):
    k: Annotated[int, AfterValidator(small)]


class Review(BaseModel):
    score: int
    items: list[Item]

    @field_validator("score")
    @classmethod
    def odd(cls, value: int) -> int:
        return value

    @model_validator(mode="after")
    def whole(self) -> Review:
        return self


class Plain(BaseModel):
    score: int = Field(ge=1, le=5)
    items: list[str]


def test_output_model_with_validators_warns_once_naming_each_at_the_users_line() -> None:
    with pytest.warns(UserWarning) as caught:
        Agent("a").instruct("Review.").output(Review).writes("r")
    (warning,) = [w for w in caught if "validators" in str(w.message)]
    message = str(warning.message)
    assert message.startswith("The output model of 'a', Review, has validators that irgraph")
    assert "Review.odd (@field_validator), Review.whole (@model_validator)" in message
    assert "Item.k (AfterValidator)" in message and "Review.model_validate(value)" in message
    assert warning.filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said once per model, not once per agent
        Agent("b").instruct("Review.").output(Review).writes("r")


def test_output_model_whose_rules_are_all_in_its_schema_does_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Agent("a").instruct("Review.").output(Plain).writes("r")
