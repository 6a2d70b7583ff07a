"""Schemas joined into one, for :class:`~irgraph.testing.FakeProvider`'s made-up values: the
parts of an ``allOf`` (or an ``anyOf`` choice and the keywords beside it, or an ``if`` and its
``then``) merged into a single schema whose every value matches each part.

:func:`merge` meets two schemas keyword by keyword: ``type`` and ``enum`` keep what both
allow, bounds the tighter one, ``multipleOf`` the least common multiple, ``required`` both
lists, ``properties`` each property under both (a property one side does not name is under
that side's ``patternProperties`` or ``additionalProperties``), ``items`` both item schemas,
``not`` either refusal, ``anyOf`` every pair of choices, ``pattern`` one that finds both.
Two values it cannot meet (two ``contains``) are an :class:`UnsupportedSchema` naming the
keyword; two that leave no value (types with nothing in common, two different ``const`` s) an
:class:`UnsatisfiableSchema`. A value made from the merge is still checked against the
schema it came from, so a merge that misses a subtlety is an error, never a wrong answer.

>>> merge({"type": "object", "required": ["a"]}, {"properties": {"b": {"type": "integer"}},
...     "required": ["b"]}, lambda ref: {})
{'type': 'object', 'required': ['a', 'b'], 'properties': {'b': {'type': 'integer'}}}
>>> merge({"type": ["string", "integer"]}, {"type": "number", "minimum": 2}, lambda ref: {})
{'type': 'integer', 'minimum': 2}
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Callable, Iterator, Mapping
from fractions import Fraction
from typing import Any

from .fake_patterns import both_patterns

__all__ = [
    "UnsatisfiableSchema",
    "UnsupportedSchema",
    "anchored",
    "merge",
    "property_schema",
    "within",
]

#: Keywords that only describe a value: the first kept. (``format`` is not one: an answer's
#: formats are checked, as a strict consumer of it checks them.)
NOTES = frozenset(
    {"title", "description", "default", "examples", "$schema", "$id", "$comment"}
    | {"$defs", "definitions", "deprecated", "readOnly", "writeOnly", "discriminator"}
)
_LOWER = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties", "minContains")
_UPPER = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties", "maxContains")
#: Keywords merged together with the others of their group, not one by one.
_OBJECT = ("properties", "patternProperties", "additionalProperties")
_ARRAY = ("prefixItems", "items")
_CONDITION = ("if", "then", "else")
#: How many ``anyOf`` pairs a merge may make before it gives up.
_MAX_CHOICES = 64
_MAX_DEPTH = 32

Resolve = Callable[[Any], Any]


class UnsupportedSchema(ValueError):
    """The schema uses something :func:`fake_value` cannot satisfy (``keyword`` says what)."""

    def __init__(self, message: str, keyword: str | None = None) -> None:
        super().__init__(message)
        self.keyword = keyword
        #: Where the part of the schema lies, as the property names and item indexes of the
        #: value down to it (outermost first; empty at the top).
        self.path: list[str | int] = []

    @property
    def place(self) -> str:
        """The :attr:`path` as Python reads it: ``value['tags'][0]``."""
        return "value" + "".join(f"[{step!r}]" for step in self.path)


@contextlib.contextmanager
def within(step: str | int) -> Iterator[None]:
    """Add ``step`` (a property name, an item index) to the front of the :attr:`path` of an
    :class:`UnsupportedSchema` raised inside, as it passes out of that part of the value."""
    try:
        yield
    except UnsupportedSchema as error:
        error.path.insert(0, step)
        raise


class UnsatisfiableSchema(UnsupportedSchema):
    """No value at all matches the schema (its bounds leave none): not a limit of
    :func:`fake_value` but a mistake in the schema, which no model answer could match either."""


def merge(first: Any, second: Any, resolve: Resolve, depth: int = 0) -> Any:
    """A schema whose values match both ``first`` and ``second`` (``resolve`` gives the
    definition a local ``$ref`` names)."""
    if depth > _MAX_DEPTH:
        raise UnsupportedSchema(f"allOf nests more than {_MAX_DEPTH} levels deep", "allOf")
    if first is False or second is False:
        return False
    if first is True or first == second:
        return second
    if second is True:
        return first
    if not isinstance(first, Mapping) or not isinstance(second, Mapping):
        raise UnsupportedSchema(f"no value matches the schema {second!r}", "allOf")
    if _only_notes(second):
        return first
    if _only_notes(first):
        return second
    if isinstance(first.get("$ref"), str) or isinstance(second.get("$ref"), str):
        first, second = _dereferenced(first, resolve, depth), _dereferenced(second, resolve, depth)
        return merge(first, second, resolve, depth + 1)
    merged: dict[str, Any] = {}
    for key in (*first, *(k for k in second if k not in first)):
        if key in _OBJECT or key in _ARRAY or key in _CONDITION:
            continue
        if key not in first or key not in second:
            merged[key] = first[key] if key in first else second[key]
        else:
            merged[key] = _joined(key, first[key], second[key], resolve, depth)
    if any(key in part for part in (first, second) for key in _OBJECT):
        merged.update(_objects(first, second, resolve, depth))
    if any(key in part for part in (first, second) for key in _ARRAY):
        merged.update(_arrays(first, second, resolve, depth))
    _conditions(merged, first, second)
    if "const" in merged and "enum" in merged:
        if not any(_same(merged["const"], member) for member in merged["enum"]):
            raise UnsatisfiableSchema(
                f"allOf asks for const {merged['const']!r} and one of {merged['enum']!r}", "allOf"
            )
        del merged["enum"]
    return merged


def property_schema(schema: Mapping[str, Any], name: str, resolve: Resolve) -> Any:
    """The schema the property ``name`` of an object under ``schema`` must match: its
    ``properties`` entry and every ``patternProperties`` entry whose pattern it holds, or,
    when there is none, ``additionalProperties`` (``True`` when unset)."""
    parts = [schema["properties"][name]] if name in (schema.get("properties") or {}) else []
    for pattern, part in (schema.get("patternProperties") or {}).items():
        try:
            if re.search(pattern, name):
                parts.append(part)
        except re.error:
            raise UnsupportedSchema(
                f"the patternProperties pattern {pattern!r} is no regular expression Python reads",
                "patternProperties",
            ) from None
    if not parts:
        return schema.get("additionalProperties", True)
    joined = parts[0]
    for part in parts[1:]:
        joined = merge(joined, part, resolve)
    return joined


def _only_notes(schema: Any) -> bool:
    return isinstance(schema, Mapping) and NOTES.issuperset(schema)


def _dereferenced(schema: Mapping[str, Any], resolve: Resolve, depth: int) -> Any:
    """``schema`` with a ``$ref`` replaced by what it names, merged with the keywords beside
    it (as JSON Schema 2019 and later read them)."""
    if not isinstance(schema.get("$ref"), str):
        return schema
    rest = {key: value for key, value in schema.items() if key != "$ref"}
    target = resolve(schema["$ref"])
    return merge(target, rest, resolve, depth + 1) if rest else target


def _joined(key: str, first: Any, second: Any, resolve: Resolve, depth: int) -> Any:
    """The value of ``key`` in the merge of two schemas that give it ``first`` and
    ``second``."""
    if first == second or key in NOTES:
        return first
    if key == "type":
        return _types(first, second)
    if key == "enum":
        both = [m for m in first if any(_same(m, other) for other in second)]
        if not both:
            raise UnsatisfiableSchema(
                f"allOf's enums {first!r} and {second!r} share no value", "enum"
            )
        return both
    if key == "const":
        if _same(first, second):
            return first
        raise UnsatisfiableSchema(f"allOf asks for const {first!r} and const {second!r}", "allOf")
    if key in _LOWER:
        return max(first, second)
    if key in _UPPER:
        return min(first, second)
    if key == "multipleOf":
        return _least_multiple(first, second)
    if key == "required":
        return list(dict.fromkeys([*first, *second]))
    if key == "uniqueItems":
        return bool(first or second)
    if key == "pattern" and isinstance(first, str) and isinstance(second, str):
        joined = both_patterns(first, second)
        if joined is not None:
            return joined
    if key in ("propertyNames", "additionalItems"):
        return merge(first, second, resolve, depth + 1)
    if key == "not":
        return {"anyOf": [first, second]}
    if key == "allOf":
        return [*first, *second]
    if key in ("anyOf", "oneOf"):
        return _choices(key, first, second, resolve, depth)
    raise UnsupportedSchema(
        f"allOf gives {key!r} two different values ({first!r} and {second!r}), which "
        "FakeProvider cannot meet in one value",
        key,
    )


def _types(first: Any, second: Any) -> Any:
    """The JSON types both type lists allow (an integer is a number too)."""
    ones = [first] if isinstance(first, str) else list(first)
    others = [second] if isinstance(second, str) else list(second)
    both: list[str] = []
    for kind in ones:
        if kind in others:
            both.append(kind)
        elif {kind, *others} >= {"number", "integer"} and kind in ("number", "integer"):
            both.append("integer")  # an integer is a number: what both allow
    both = list(dict.fromkeys(both))
    if not both:
        raise UnsatisfiableSchema(f"allOf asks for type {first!r} and type {second!r}", "type")
    return both[0] if len(both) == 1 else both


def _least_multiple(first: Any, second: Any) -> int | float:
    """The least common multiple of two ``multipleOf`` steps, as the decimals they are."""
    ones, others = Fraction(repr(first)), Fraction(repr(second))
    numerator = math.lcm(ones.numerator, others.numerator)
    denominator = math.gcd(ones.denominator, others.denominator)
    step = Fraction(numerator, denominator)
    return int(step) if step.denominator == 1 else float(step)


def _choices(key: str, first: list[Any], second: list[Any], resolve: Resolve, depth: int) -> Any:
    """Every pair of the two choice lists merged (those that leave a value)."""
    if len(first) * len(second) > _MAX_CHOICES:
        raise UnsupportedSchema(
            f"allOf joins two {key} lists with {len(first)} and {len(second)} choices, more "
            f"than the {_MAX_CHOICES} pairs FakeProvider tries",
            key,
        )
    pairs = []
    for one in first:
        for other in second:
            try:
                pairs.append(merge(one, other, resolve, depth + 1))
            except UnsatisfiableSchema:
                continue
    if not pairs:
        raise UnsatisfiableSchema(f"no choice of one {key} list matches one of the other", key)
    return pairs


def _objects(
    first: Mapping[str, Any], second: Mapping[str, Any], resolve: Resolve, depth: int
) -> dict[str, Any]:
    """The merged ``properties``, ``patternProperties`` and ``additionalProperties``."""
    merged: dict[str, Any] = {}
    names = dict.fromkeys([*(first.get("properties") or {}), *(second.get("properties") or {})])
    if names:
        merged["properties"] = {
            name: merge(
                property_schema(first, name, resolve),
                property_schema(second, name, resolve),
                resolve,
                depth + 1,
            )
            for name in names
        }
    patterns = dict(first.get("patternProperties") or {})
    for pattern, part in (second.get("patternProperties") or {}).items():
        patterns[pattern] = merge(patterns.get(pattern, True), part, resolve, depth + 1)
    if patterns:
        merged["patternProperties"] = patterns
    if "additionalProperties" in first or "additionalProperties" in second:
        merged["additionalProperties"] = merge(
            first.get("additionalProperties", True),
            second.get("additionalProperties", True),
            resolve,
            depth + 1,
        )
    return merged


def _arrays(
    first: Mapping[str, Any], second: Mapping[str, Any], resolve: Resolve, depth: int
) -> dict[str, Any]:
    """The merged ``prefixItems`` and ``items``: each place under both."""
    for part in (first, second):
        if isinstance(part.get("items"), list):
            raise UnsupportedSchema("an items list (draft 4 tuples) in allOf", "items")
    longest = max(len(first.get("prefixItems") or ()), len(second.get("prefixItems") or ()))

    def at(part: Mapping[str, Any], index: int) -> Any:
        prefix = part.get("prefixItems") or []
        return prefix[index] if index < len(prefix) else part.get("items", True)

    merged: dict[str, Any] = {}
    if longest:
        merged["prefixItems"] = [
            merge(at(first, i), at(second, i), resolve, depth + 1) for i in range(longest)
        ]
    if "items" in first or "items" in second:
        merged["items"] = merge(
            first.get("items", True), second.get("items", True), resolve, depth + 1
        )
    return merged


def _conditions(
    merged: dict[str, Any], first: Mapping[str, Any], second: Mapping[str, Any]
) -> None:
    """Keep each side's ``if``/``then``/``else``: one in place, the other as an ``allOf``
    part the value is made under next (two cannot share the keywords)."""
    sides = [
        {key: part[key] for key in _CONDITION if key in part}
        for part in (first, second)
        if "if" in part
    ]
    if sides:
        merged.update(sides[0])
    if len(sides) == 2:
        merged["allOf"] = [*merged.get("allOf", []), sides[1]]


def _same(one: Any, other: Any) -> bool:
    """Whether two JSON values are equal as JSON Schema says (``True`` is not ``1``)."""
    if isinstance(one, bool) or isinstance(other, bool):
        return isinstance(one, bool) and isinstance(other, bool) and one == other
    if isinstance(one, list) and isinstance(other, list):
        return len(one) == len(other) and all(map(_same, one, other))
    if isinstance(one, dict) and isinstance(other, dict):
        return one.keys() == other.keys() and all(_same(one[k], other[k]) for k in one)
    return bool(one == other)


def anchored(root: Any, ref: str) -> Any:
    """The part of ``root`` whose ``$anchor`` is the name ``ref`` (``#name``) gives, or
    ``None``."""
    parts = [root]
    while parts:
        part = parts.pop()
        if isinstance(part, Mapping):
            if part.get("$anchor") == ref[1:]:
                return part
            parts.extend(part.values())
        elif isinstance(part, list):
            parts.extend(part)
    return None
