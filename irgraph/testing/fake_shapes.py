"""Arrays and objects past their simplest value, for :class:`~irgraph.testing.FakeProvider`'s
made-up values: items that differ (``uniqueItems``), the item an array ``contains``, and
properties added for ``minProperties`` or for the properties they depend on.

Each function takes the maker of :mod:`~irgraph.testing.fake_values` (``maker``), which makes
the value of a part of the schema, merges schemas and checks a value against one. An item
that repeats another is made again as other values (``maker.varied``) until it differs; when
its items can take too few values for ``minItems`` (booleans, a small ``enum``), no array
matches, which is an :class:`UnsatisfiableSchema` naming ``uniqueItems``.
Properties another one depends on (``dependentRequired``, ``dependentSchemas``, draft 7's
``dependencies``) are added, and the object made again under the schemas they bring.

>>> unique_key(1.0) == unique_key(1), unique_key(True) == unique_key(1)
(True, False)
>>> finite_values({"type": "boolean"}), finite_values({"type": "integer", "minimum": 0})
([False, True], None)
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Mapping
from typing import Any

from .fake_merge import UnsatisfiableSchema, UnsupportedSchema, property_schema, within
from .fake_patterns import text_matching

__all__ = [
    "add_dependent",
    "add_properties",
    "dependent",
    "finite_values",
    "unique_items",
    "unique_key",
    "with_contained",
]

#: More tries than items for an array whose items must differ, or names for an object.
_SPARE_TRIES = 16
#: What no try gave: no value unlike those before it.
_NONE = object()
#: The largest number of whole numbers between bounds counted as a small set of values.
_MAX_FINITE = 1000


def unique_key(value: Any) -> str:
    """A text equal for values JSON Schema's ``uniqueItems`` counts as equal (``1`` and
    ``1.0``; not ``True`` and ``1``)."""
    return json.dumps(_plain(value), sort_keys=True)


def _plain(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def finite_values(schema: Any) -> list[Any] | None:
    """Every value ``schema``'s type, ``const`` or ``enum`` allows, when they are few
    (``None`` otherwise): what bounds how many items of an array can differ."""
    if not isinstance(schema, Mapping):
        return None if schema is not False else []
    if "const" in schema:
        return [schema["const"]]
    if isinstance(schema.get("enum"), list):
        return list({unique_key(member): member for member in schema["enum"]}.values())
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else kinds
    if not isinstance(kinds, list) or not kinds:
        return None
    if set(kinds) <= {"boolean", "null"}:
        return [
            v
            for kind, v in (("boolean", False), ("boolean", True), ("null", None))
            if kind in kinds
        ]
    if kinds == ["integer"] and isinstance(schema.get("minimum"), int):
        low, high = schema["minimum"], schema.get("maximum")
        if isinstance(high, int) and not isinstance(high, bool) and high - low < _MAX_FINITE:
            return list(range(low, high + 1))
    return None


def unique_items(maker: Any, schema: Mapping[str, Any], parts: list[Any], *where: Any) -> list[Any]:
    """The items of ``parts`` (their schemas), each unlike those before it."""
    items = schema.get("items", True)
    plain = (
        maker.resolve(items["$ref"]) if isinstance(items, Mapping) and "$ref" in items else items
    )
    choices = finite_values(plain)
    prefix = len(schema.get("prefixItems") or ())
    if choices is not None and len(parts) - prefix > len(choices):
        raise UnsatisfiableSchema(
            f"the array must hold {len(parts)} different items (uniqueItems, with minItems "
            f"{schema.get('minItems', 0)}), but its items can only be one of {choices!r}, so no "
            "array matches",
            "uniqueItems",
        )
    values: list[Any] = []
    keys: set[str] = set()
    for index, part in enumerate(parts):
        with within(index):
            value = _unlike(maker, part, keys, choices, len(parts), where)
        keys.add(unique_key(value))
        values.append(value)
    return values


def _unlike(
    maker: Any, part: Any, keys: set[str], choices: list[Any] | None, count: int, where: Any
) -> Any:
    """A value of ``part`` whose :func:`unique_key` is none of ``keys``."""
    tries = (
        (maker.varied(attempt) if attempt else maker).make(part, *_deeper(where))
        for attempt in range(count + _SPARE_TRIES)
    )
    others = (c for c in choices or () if maker.valid(c, part))  # ``null`` of a type list
    value = next((v for v in itertools.chain(tries, others) if unique_key(v) not in keys), _NONE)
    if value is _NONE:
        raise UnsupportedSchema(
            f"FakeProvider made no item unlike the {len(keys)} before it for an array "
            "whose items must differ (uniqueItems)",
            "uniqueItems",
        )
    return value


def with_contained(maker: Any, schema: Mapping[str, Any], parts: list[Any]) -> list[Any]:
    """``parts`` (the schemas of an array's items) with as many of them as ``minContains``
    asks for (one by default) also under ``contains``: the first that can be, else added."""
    wanted = schema["contains"]
    need = int(schema.get("minContains", 1))
    out = list(parts)
    placed = 0
    for index, part in enumerate(out):
        if placed == need:
            return out
        try:
            out[index] = maker.merged([part, wanted])
        except UnsupportedSchema:
            continue
        placed += 1
    high = schema.get("maxItems")
    while placed < need:
        if high is not None and len(out) >= high:
            raise UnsatisfiableSchema(
                f"the array must contain {need} item(s) matching its 'contains' schema, "
                f"which its items or maxItems {high} leave no room for",
                "contains",
            )
        out.append(maker.merged([schema.get("items", True), wanted]))
        placed += 1
    return out


def add_properties(
    maker: Any, schema: Mapping[str, Any], value: dict[str, Any], *where: Any
) -> None:
    """Add properties to ``value`` until it has ``minProperties``: names its
    ``patternProperties`` match, or, where ``additionalProperties`` allows any, ``property_1``
    and so on (each within ``propertyNames``)."""
    low = int(schema["minProperties"])
    named = schema.get("properties") or {}
    for name in itertools.islice(_names(maker, schema, where), low + len(named) + _SPARE_TRIES):
        if len(value) >= low:
            return
        if name in value or name in named:
            continue
        if "propertyNames" in schema and not maker.valid(name, schema["propertyNames"]):
            continue
        part = property_schema(schema, name, maker.resolve)
        if part is not False:
            with within(name):
                value[name] = maker.make(part, *_deeper(where))
    if len(value) < low:
        closed = schema.get("additionalProperties", True) is False
        error = (
            UnsatisfiableSchema
            if closed and not schema.get("patternProperties")
            else UnsupportedSchema
        )
        raise error(
            f"the object must have {low} properties (minProperties), but FakeProvider found "
            f"only {len(value)} names the schema allows",
            "minProperties",
        )


def _names(maker: Any, schema: Mapping[str, Any], where: tuple[Any, ...]) -> Iterator[str]:
    """Names to try for added properties: texts of each ``patternProperties`` pattern (ever
    longer), texts of a ``propertyNames`` pattern, values made for the ``propertyNames``
    schema (the members of pydantic's ``dict[Color, int]`` enum), then, unless
    ``additionalProperties`` is ``false``, ``property_1``..."""
    for pattern in schema.get("patternProperties") or {}:
        name = text_matching(pattern)
        for _ in range(_SPARE_TRIES):
            if name is None:
                break
            yield name
            name = text_matching(pattern, len(name) + 1)
    names = schema.get("propertyNames")
    if isinstance(names, Mapping) and isinstance(names.get("pattern"), str):
        low, high = names.get("minLength", 0), names.get("maxLength")
        for variant in range(_SPARE_TRIES):  # names the pattern allows: AA, BA, CA...
            name = text_matching(names["pattern"], low, high, variant=variant)
            if name is not None:
                yield name
    if isinstance(names, Mapping) and "pattern" not in names:
        for variant in range(_SPARE_TRIES):  # an enum's members, in turn
            try:
                made = maker.varied(variant).make(names, *_deeper(where))
            except UnsupportedSchema:
                break
            if isinstance(made, str):
                yield made
    if schema.get("additionalProperties", True) is not False:
        yield from (f"property_{n}" for n in itertools.count(1))


def _deeper(where: tuple[Any, ...]) -> tuple[Any, ...]:
    """The ``depth, seen, smallest`` of a part one level below ``where``'s."""
    depth, seen, smallest = where
    return depth + 1, seen, smallest


def dependent(maker: Any, schema: Mapping[str, Any], *where: Any) -> Any:
    """A value of a schema with ``dependentSchemas`` or ``dependencies``: made without them,
    then again under the schemas of the properties it has, until those stay the same."""
    lists = dict(schema.get("dependentRequired") or {})
    schemas = dict(schema.get("dependentSchemas") or {})
    for name, needs in (schema.get("dependencies") or {}).items():  # draft 7: either kind
        (lists if isinstance(needs, list) else schemas)[name] = needs
    base = {k: v for k, v in schema.items() if k not in ("dependentSchemas", "dependencies")}
    base = {**base, "dependentRequired": lists} if lists else base
    applied: list[Any] = []
    for _ in range(len(schemas) + 1):
        value = maker.make(maker.merged([base, *applied]), *_deeper(where))
        now = [part for name, part in schemas.items() if isinstance(value, dict) and name in value]
        if now == applied:
            break
        applied = now
    return value


def add_dependent(
    maker: Any, schema: Mapping[str, Any], value: dict[str, Any], *where: Any
) -> None:
    """Add to ``value`` the properties its ``dependentRequired`` asks for (a card number
    asks for a billing address), each a value of its schema."""
    for name, needs in schema["dependentRequired"].items():
        for need in needs if name in value else ():
            if need not in value:
                with within(need):
                    value[need] = maker.make(
                        property_schema(schema, need, maker.resolve), *_deeper(where)
                    )
