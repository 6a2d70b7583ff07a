"""What values a JSON Schema allows, as far as a route's equality can tell: a type, a few
values, or anything. The routes, the type rules along data edges and the schema checks ask it
whether a compared value can ever come, which single type a key holds, and whether a schema
can be met at all; it follows local ``$ref`` s, ``allOf``, ``anyOf`` and ``oneOf``.

>>> value_type({"enum": ["bug", "feature"]}), schema_enum({"type": "boolean"})
('string', [True, False])
>>> schema_values({"type": ["integer", "null"]}).describe()
'an integer, or null'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from irgraph.ir.key_paths import json_pointer
from irgraph.ir.values import canonical, same_value

__all__ = ["AllowedValues", "allows_nothing", "schema_enum", "schema_values", "value_type"]


def value_type(schema: Mapping[str, Any] | None) -> str | None:
    """The JSON type a schema's values have (``"array"``, ``"string"``, ...), ``"text"`` for
    no schema (a model's free text), or ``None`` when the schema allows several."""
    if schema is None:
        return "text"
    kind = schema.get("type")
    if isinstance(kind, str):
        return kind
    # Through a $ref, anyOf, allOf ... too: a pydantic model's schema is a "$ref" to "$defs".
    allowed = schema_values(schema)
    if allowed is None:
        return None
    kinds = set(allowed.types) | {_json_type(v) for v in allowed.values}
    if kinds == {"integer", "number"}:
        return "number"
    return kinds.pop() if len(kinds) == 1 else None


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    names: dict[type[Any], str] = {str: "string", list: "array", dict: "object"}
    return names.get(type(value), "unknown")


def schema_enum(schema: Mapping[str, Any] | None) -> list[Any] | None:
    """The values a schema allows when they are finitely many (an ``enum`` or ``const``, also
    through a local ``$ref``; ``{"type": "boolean"}`` is ``[True, False]``), else ``None``.

    >>> schema_enum({"$defs": {"C": {"enum": ["a", "b"]}}, "$ref": "#/$defs/C"})
    ['a', 'b']
    >>> schema_enum({"type": "boolean"}), schema_enum({"type": "string"})
    ([True, False], None)
    """
    allowed = schema_values(schema)
    if allowed is None or allowed.types:
        return None
    return list(allowed.values)


class AllowedValues:
    """What a schema lets a value be, as far as equality with a route's value can tell: any
    value of the JSON ``types`` (``"string"``, ``"integer"``, ``"number"``, ``"array"``,
    ``"object"``), or one of ``values`` (booleans and ``null`` are always listed as values).
    A superset of what the schema allows: keywords that only narrow a type (``pattern``,
    ``minimum``, ``not``, ...) are ignored, so nothing it refuses could pass the schema."""

    __slots__ = ("types", "values")

    def __init__(self, types: frozenset[str], values: tuple[Any, ...]) -> None:
        self.types = types
        self.values = values

    def __repr__(self) -> str:
        return f"AllowedValues({sorted(self.types)!r}, {self.values!r})"

    def admits(self, value: Any) -> bool:
        """Whether ``value`` equals, as routes compare (:func:`irgraph.ir.values.same_value`:
        ``1 == 1.0``, ``True != 1``), some value allowed here."""
        if _of_types(value, self.types):
            return True
        return any(same_value(value, allowed) for allowed in self.values)

    def union(self, other: AllowedValues) -> AllowedValues:
        return AllowedValues(self.types | other.types, _distinct(self.values + other.values))

    def meet(self, other: AllowedValues) -> AllowedValues:
        """The values allowed by both."""
        types = frozenset(
            t for a in self.types for b in other.types if (t := _meet_types(a, b)) is not None
        )
        values = [v for v in self.values if other.admits(v)]
        values += [v for v in other.values if self.admits(v)]
        return AllowedValues(types, _distinct(tuple(values)))

    def describe(self) -> str:
        """In words, for a message: ``one of "a", "b"``, ``an integer``, ``a string, or null``."""
        kinds = [_TYPE_WORDS[t] for t in _TYPE_ORDER if t in self.types]
        if "number" in self.types and "integer" in self.types:
            kinds.remove(_TYPE_WORDS["integer"])
        shown = ", ".join(canonical(v) for v in self.values)
        if not kinds:
            return shown if len(self.values) == 1 else f"one of {shown}"
        words = " or ".join(kinds)
        if not self.values:
            return words
        return f"{words}, or {shown if len(self.values) == 1 else 'one of ' + shown}"


_TYPE_ORDER = ("string", "integer", "number", "array", "object")
_TYPE_WORDS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "array": "a list",
    "object": "an object",
}
#: The JSON types with only a few values, which are listed as values rather than as a type.
_LISTED = {"boolean": (True, False), "null": (None,)}
#: ``$schema`` of drafts in which ``$ref`` replaces its sibling keywords instead of adding to them.
_REF_ALONE = ("draft-03", "draft-04", "draft-06", "draft-07")


def schema_values(schema: Any) -> AllowedValues | None:
    """What values ``schema`` allows (a superset, see :class:`AllowedValues`), or ``None``
    when it could be anything (no schema, ``{}``, a ``$ref`` out of the document, a schema
    nothing satisfies).

    >>> whole = schema_values({"type": "integer"})
    >>> whole.admits("1"), whole.admits(1.0), whole.admits(True), whole.describe()
    (False, True, False, 'an integer')
    """
    if not isinstance(schema, Mapping):
        return None
    # A "$id" inside moves where "#/..." points below it: follow no $ref then.
    root = None if _inner_id(schema, top=True) else schema
    allowed = _values(schema, root, ())
    if allowed is None or not (allowed.types or allowed.values):
        return None
    return allowed


def allows_nothing(schema: Any) -> bool:
    """Whether the walk can tell that no value satisfies ``schema`` (types that never meet)."""
    if not isinstance(schema, Mapping):
        return False
    allowed = _values(schema, None if _inner_id(schema, top=True) else schema, ())
    return allowed is not None and not (allowed.types or allowed.values)


def _values(
    schema: Any, root: Mapping[str, Any] | None, seen: tuple[str, ...]
) -> AllowedValues | None:
    """The values ``schema`` (a part of ``root``, the document ``$ref`` s point into, ``None``
    to follow none) allows, ``None`` for anything; ``seen`` are the ``$ref`` s being followed,
    so a schema that refers to itself ends."""
    if not isinstance(schema, Mapping):  # true, or not a schema: anything
        return None
    parts: list[AllowedValues | None] = []
    ref = schema.get("$ref")
    if isinstance(ref, str):
        target = _local_ref(ref, root) if ref not in seen else None
        parts.append(None if target is None else _branch(target, root, (*seen, ref)))
        if root is not None and any(d in str(root.get("$schema", "")) for d in _REF_ALONE):
            return parts[0]
    kind = schema.get("type")
    if isinstance(kind, str):
        kind = [kind]
    if isinstance(kind, list) and all(isinstance(k, str) for k in kind):
        listed = tuple(v for k in kind for v in _LISTED.get(k, ()))
        types = frozenset(k for k in kind if k in _TYPE_WORDS)
        known = all(k in _TYPE_WORDS or k in _LISTED for k in kind)
        parts.append(AllowedValues(types, listed) if known else None)
    if isinstance(schema.get("enum"), list):
        parts.append(AllowedValues(frozenset(), _distinct(tuple(schema["enum"]))))
    if "const" in schema:
        parts.append(AllowedValues(frozenset(), (schema["const"],)))
    for each in schema.get("allOf", ()) if isinstance(schema.get("allOf"), list) else ():
        parts.append(_branch(each, root, seen))
    for word in ("anyOf", "oneOf"):
        options = schema.get(word)
        if isinstance(options, list) and options:
            found = [_branch(option, root, seen) for option in options]
            union: AllowedValues | None = found[0]
            for other in found[1:]:
                union = None if union is None or other is None else union.union(other)
            parts.append(union)
    allowed: AllowedValues | None = None
    for part in parts:
        if part is not None:
            allowed = part if allowed is None else allowed.meet(part)
    return allowed


def _branch(
    schema: Any, root: Mapping[str, Any] | None, seen: tuple[str, ...]
) -> AllowedValues | None:
    """``_values`` of a subschema, which may be ``false`` (nothing passes it)."""
    if schema is False:
        return AllowedValues(frozenset(), ())
    return _values(schema, root, seen)


def _local_ref(ref: str, root: Mapping[str, Any] | None) -> Any:
    """The part of ``root`` a ``#`` or ``#/...`` JSON pointer names, else ``None`` (another
    document, an anchor such as ``#name``)."""
    if root is None or not (ref == "#" or ref.startswith("#/")):
        return None
    return json_pointer(root, ref[1:])


def _inner_id(schema: Any, top: bool = False) -> bool:
    """Whether a subschema below the top of ``schema`` has an ``$id`` (or draft 4's ``id``);
    the list of an ``enum`` is data, not looked into (a ``const`` may be, which only ever
    makes ``$ref`` s go unfollowed)."""
    if isinstance(schema, Mapping):
        if not top and (isinstance(schema.get("$id"), str) or isinstance(schema.get("id"), str)):
            return True
        return any(
            _inner_id(part)
            for word, part in schema.items()
            if not (word in _DATA and isinstance(part, list))
        )
    if isinstance(schema, list):
        return any(_inner_id(part) for part in schema)
    return False


_DATA = ("enum", "examples")


def _of_types(value: Any, types: frozenset[str]) -> bool:
    """Whether ``value`` equals some value of one of the JSON ``types``."""
    if not types or isinstance(value, bool) or value is None:
        return False
    if isinstance(value, str):
        return "string" in types
    if isinstance(value, (int, float)):
        if "number" in types:
            return True
        return "integer" in types and (isinstance(value, int) or value.is_integer())
    if isinstance(value, (list, tuple)):
        return "array" in types
    return isinstance(value, Mapping) and "object" in types


def _meet_types(a: str, b: str) -> str | None:
    if a == b:
        return a
    return "integer" if {a, b} == {"integer", "number"} else None


def _distinct(values: tuple[Any, ...]) -> tuple[Any, ...]:
    """``values`` without repeats (as routes compare them: ``1`` and ``1.0`` are one), in
    order; by hashing, as an enum may list thousands of labels."""
    kept: dict[tuple[str, Any], Any] = {}
    for value in values:
        if isinstance(value, bool):
            key: tuple[str, Any] = ("boolean", value)
        elif isinstance(value, (int, float)):
            key = ("number", value)  # 1 == 1.0, with the same hash
        elif value is None or isinstance(value, str):
            key = ("scalar", value)
        else:
            key = ("json", canonical(value))
        kept.setdefault(key, value)
    return tuple(kept.values())
