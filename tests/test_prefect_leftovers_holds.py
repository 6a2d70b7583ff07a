"""``holds()``, which flow modules an older irgraph generated call for a loop's until
predicate, refuses a value that is not a bool as every other predicate call does.

Before, it returned ``bool(value)``: a predicate answering ``"no"`` stopped the loop as if it
had said yes, where the scheduler and ``until_holds`` refuse it naming the predicate.
"""

from __future__ import annotations

from typing import Any

import pytest

from irgraph.backends.predicates import not_a_bool
from irgraph.backends.prefect_runtime import holds

REF = f"{__name__}:verdict"


def verdict(state: Any) -> Any:
    return state["verdict"]


def test_holds_refuses_a_value_that_is_not_a_bool_with_the_schedulers_words() -> None:
    for value in ("no", None, 0, ["x"]):
        with pytest.raises(TypeError) as refused:
            holds(REF, {"verdict": value})
        assert str(refused.value) == not_a_bool(value, "its until predicate 'verdict'", "loop")
        assert "not True or False" in str(refused.value)


def test_holds_answers_a_bool_as_it_is() -> None:
    assert holds(REF, {"verdict": True}) is True
    assert holds(REF, {"verdict": False}) is False
