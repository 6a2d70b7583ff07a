"""The keywords that choose among schemas, for :class:`~irgraph.testing.FakeProvider`'s
made-up values: ``if``/``then``/``else``, ``not``, an ``anyOf``/``oneOf`` option with the
keywords beside the list, and an ``enum`` member the rest of the schema allows.

An ``if`` is made as its ``then`` branch (the rest of the schema, the ``if`` and the ``then``
merged), or, when that leaves no value, as its ``else`` branch with ``not: <if>``. A ``not``
is made from the rest of the schema and checked against the refused schema, trying a few
other values (``maker.varied``) while they are refused; a ``not`` that refuses types narrows
the type at once, one that refuses ``required`` properties leaves one of them out. A ``oneOf``
value is checked to match one option only, other values (and options) tried while it matches
several, then a value outside the other options (past a bound of theirs, of another type, with
a property their schema refuses: :func:`outside`, which a ``not`` tries too). Each function
takes the maker of :mod:`~irgraph.testing.fake_values` (which makes, merges and checks values)
and the ``depth, seen, smallest`` it makes at.

>>> types_besides(None, "string")
['object', 'array', 'integer', 'number', 'boolean', 'null']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .fake_merge import NOTES, UnsatisfiableSchema, UnsupportedSchema

__all__ = ["CONDITION", "TYPES", "choice", "conditional", "member", "negated", "types_besides"]

#: The keywords of a condition, set aside to make the rest of its schema.
CONDITION = ("if", "then", "else")
TYPES = ("object", "array", "string", "integer", "number", "boolean", "null")
#: How many different values a ``not`` tries before it gives up.
_TRIES = 16


def conditional(maker: Any, schema: Mapping[str, Any], *where: Any) -> Any:
    """A value of a schema with an ``if``: under the ``if`` and the ``then``, or, when those
    leave none, under the ``else`` and outside the ``if``."""
    rest = {key: value for key, value in schema.items() if key not in CONDITION}
    test = schema["if"]
    branches = [
        [rest, test, schema.get("then", True)],
        [rest, schema.get("else", True), {"not": test}],
    ]
    condition = {key: schema[key] for key in CONDITION if key in schema}
    first: UnsupportedSchema | None = None
    for branch in branches:
        try:
            value = maker.make(maker.merged(branch), *_deeper(where))
        except UnsupportedSchema as error:
            first = first or error
            continue
        if maker.valid(value, condition):
            return value
    if first is None or isinstance(first, UnsatisfiableSchema):
        told: UnsupportedSchema = UnsatisfiableSchema(
            "neither the 'then' nor the 'else' branch of the schema's 'if' leaves a value"
            + (f" ({first})" if first else ""),
            "if",
        )
    else:
        told = UnsupportedSchema(
            f"{first} (in a branch of the schema's 'if')", first.keyword or "if"
        )
    told.path = list(first.path) if first else []
    raise told


def negated(maker: Any, schema: Mapping[str, Any], *where: Any) -> Any:
    """A value of the schema without its ``not`` that the ``not`` schema refuses: the
    simplest, else the first of a few others."""
    rest = {key: value for key, value in schema.items() if key != "not"}
    refused = schema["not"]
    if refused is True or refused == {}:
        raise UnsatisfiableSchema("the schema's 'not' refuses every value", "not")
    if isinstance(refused, Mapping) and set(refused) - NOTES == {"type"}:
        rest = {**rest, "type": types_besides(rest.get("type"), refused["type"])}
    if isinstance(refused, Mapping) and set(refused) - NOTES == {"required"}:
        # "never both": leave out one refused property the rest does not require.
        needed = set(rest.get("required") or ())
        out = next((name for name in refused["required"] if name not in needed), None)
        if out is not None:
            rest = {**rest, "properties": {**(rest.get("properties") or {}), out: False}}
    value = maker.make(rest, *_deeper(where))
    if maker.valid(value, {"not": refused}):
        return value
    for side in outside(refused, rest.get("type")):  # a value past a bound the not sets
        try:
            value = maker.make(maker.merged([rest, side]), *_deeper(where))
        except UnsupportedSchema:
            continue
        if maker.valid(value, {"not": refused}):
            return value
    for attempt in range(1, _TRIES):
        value = maker.varied(attempt).make(rest, *_deeper(where))
        if maker.valid(value, {"not": refused}):
            return value
    raise UnsupportedSchema(
        f"none of the {_TRIES} values FakeProvider tried for the schema lies outside its "
        f"'not' schema {refused!r}",
        "not",
    )


#: Each bound and the schema of the values past it.
_PAST: dict[str, Any] = {
    "maximum": lambda n: {"exclusiveMinimum": n},
    "exclusiveMaximum": lambda n: {"minimum": n},
    "minimum": lambda n: {"exclusiveMaximum": n},
    "exclusiveMinimum": lambda n: {"maximum": n},
    "maxLength": lambda n: {"minLength": n + 1},
    "minLength": lambda n: {"maxLength": n - 1},
    "maxItems": lambda n: {"minItems": n + 1},
    "minItems": lambda n: {"maxItems": n - 1},
    "maxProperties": lambda n: {"minProperties": n + 1},
}


def outside(refused: Any, given: Any = None) -> list[Any]:
    """Schemas whose values ``refused`` refuses (some of them): another type than its
    ``type`` (of those ``given`` allows), past one of its bounds, a property it names with a
    value its schema refuses. For an ``anyOf`` of several, values outside every choice."""
    if not isinstance(refused, Mapping):
        return []
    if set(refused) - NOTES == {"anyOf"} and isinstance(refused["anyOf"], list):
        sides: list[Any] = [True]
        for part in refused["anyOf"]:  # outside each: one side of each, merged later
            sides = [[*_listed(s), o] for s in sides for o in outside(part, given)][:_TRIES]
        return [{"allOf": s} for s in sides]
    found: list[Any] = []
    if "type" in refused:
        try:
            found.append({"type": types_besides(given, refused["type"])})
        except UnsatisfiableSchema:
            pass
    found += [past(refused[key]) for key, past in _PAST.items() if key in refused]
    properties = refused.get("properties")
    for name, sub in (properties if isinstance(properties, Mapping) else {}).items():
        found.append({"required": [name], "properties": {name: {"not": sub}}})
    return found


def _listed(side: Any) -> list[Any]:
    return side if isinstance(side, list) else []


def member(maker: Any, schema: Mapping[str, Any]) -> Any:
    """The ``enum`` member the seed picks, or the next one the rest of the schema allows."""
    members = schema["enum"]
    rest = {key: value for key, value in schema.items() if key != "enum"}
    order = [members[(maker.seed + i) % len(members)] for i in range(len(members))]
    if NOTES.issuperset(rest):
        return order[0]
    return next((m for m in order if maker.valid(m, rest)), order[0])


def choice(maker: Any, schema: Mapping[str, Any], keyword: str, *where: Any) -> Any:
    """A value of one ``anyOf``/``oneOf`` option (``maker.choose``'s) and the keywords
    beside the list; when those leave it none, of the next option that has one."""
    options = schema[keyword]
    depth, seen, smallest = _deeper(where)
    picked = maker.choose(options, smallest)
    rest = {key: value for key, value in schema.items() if key != keyword}
    alone = NOTES.issuperset(rest)
    if alone and (keyword == "anyOf" or len(options) == 1):
        return maker.make(picked, depth, seen, smallest)
    # A oneOf value must match its option only: other values of it while it matches more,
    # then one outside the other options.
    tries = _TRIES if keyword == "oneOf" else 1
    first: UnsupportedSchema | None = None
    for option in [picked, *(o for o in options if o is not picked)]:
        others = {"anyOf": [o for o in options if o is not option]}
        # A merge reads an option's $ref: the reference is met here, so recursion ends.
        ref = option.get("$ref") if isinstance(option, Mapping) else None
        met = (seen | {ref}, smallest or ref in seen) if isinstance(ref, str) else (seen, smallest)
        for attempt in range(tries + (keyword == "oneOf")):
            try:
                part = option if alone else maker.merged([rest, option])
                if attempt == tries:
                    part = maker.merged([part, {"not": others}])
                made = maker.varied(attempt) if 0 < attempt < tries else maker
                at = (seen, smallest) if alone and attempt < tries else met
                value = made.make(part, depth, *at)
            except UnsupportedSchema as error:
                if attempt < tries:  # not the made-up "not": the oneOf's message says more
                    first = first or error
                break
            if maker.valid(value, {keyword: options}):
                return value
    raise first or UnsupportedSchema(
        f"none of the values FakeProvider tried for the schema's {keyword} options matches "
        + ("exactly one of them (each matched several)" if keyword == "oneOf" else "the schema"),
        keyword,
    )


def types_besides(given: Any, refused: Any) -> list[str]:
    """The types of ``given`` (every type when ``None``) that a ``not`` refusing the types
    ``refused`` leaves (an integer is a number: refusing numbers refuses integers)."""
    kinds = list(TYPES) if given is None else [given] if isinstance(given, str) else list(given)
    out = {refused} if isinstance(refused, str) else set(refused)
    left = [k for k in kinds if k not in out and not (k == "integer" and "number" in out)]
    if not left:
        raise UnsatisfiableSchema(
            f"the schema's 'not' refuses every type it allows ({', '.join(kinds)})", "not"
        )
    return left


def _deeper(where: tuple[Any, ...]) -> tuple[Any, ...]:
    """The ``depth, seen, smallest`` of a part one level below ``where``'s."""
    depth, seen, smallest = where
    return depth + 1, seen, smallest
