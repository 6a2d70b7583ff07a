"""The route checks find values by hash (``ValueIndex``, ``ValueKeys``, ``distinct_values``)
where they compared each value with every other: the same answers as :func:`same_value`
compared one by one, for any JSON values (``1`` and ``1.0`` one value, ``True`` not ``1``,
lists and objects as Python compares them)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from irgraph.ir.values import ValueIndex, ValueKeys, distinct_values, same_value

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([0.0, 1.0, -1.0, 2.5]),
    st.sampled_from(["", "a", "b", "1", "true"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("xy"), inner),
    max_leaves=4,
)


def distinct_by_hand(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for value in values:
        if not any(same_value(value, kept) for kept in out):
            out.append(value)
    return out


@given(st.lists(VALUES, max_size=12))
def test_distinct_values_keeps_what_comparing_one_by_one_keeps(values: list[Any]) -> None:
    assert distinct_values(values) == distinct_by_hand(values)
    assert [type(v) for v in distinct_values(values)] == [type(v) for v in distinct_by_hand(values)]


@given(st.lists(VALUES, max_size=12), VALUES)
def test_an_index_finds_the_first_item_kept_under_an_equal_value(
    values: list[Any], asked: Any
) -> None:
    def first(value: Any) -> tuple[str, int] | None:
        return next((("at", i) for i, v in enumerate(values) if same_value(v, value)), None)

    index = ValueIndex()
    for place, value in enumerate(values):
        assert index.add(value, ("at", place)) == first(value)
    assert index.get(asked) == first(asked)
    firsts = sorted({first(v) for v in values}, key=lambda found: found[1] if found else -1)
    assert list(index.items()) == firsts


@given(VALUES, VALUES)
def test_keys_are_equal_exactly_when_the_values_are(a: Any, b: Any) -> None:
    keys = ValueKeys()
    assert (keys.of(a) == keys.of(b)) == same_value(a, b)
