"""How a route's compared values meet the schemas of the agents that write its key.

:mod:`irgraph.typing_rules` refuses a compared value no writer can produce; this module holds
the value-level rules it uses: whether a schema's constraints refuse a value (as the runtime's
output check would), and, for the messages, the other spelling of a refused value that a writer
does allow and the predicate to write for a value that is a list or an object.
"""

from __future__ import annotations

import json
from typing import Any

from irgraph.ir.outputs import AllowedValues, allows_nothing, schema_error, schema_values
from irgraph.ir.schema_validator import answer_validator
from irgraph.ir.values import JsonObject, canonical

__all__ = [
    "NONE",
    "Refusals",
    "inside",
    "field_holding",
    "names",
    "routes_named",
    "to_change",
    "refusal",
    "respelled",
    "scalar_choices",
]

NONE = object()  # no other spelling


def refusal(value: Any, schema: Any) -> str | None:
    """Why ``schema`` refuses ``value`` and every spelling a route takes as equal to it
    (``1`` and ``1.0``), or ``None`` when it allows one; also ``None`` when the schema cannot
    be applied here (it was checked when the pipeline was built: anything left is not this
    rule's to report).

    >>> refusal(15, {"type": "integer", "maximum": 10})
    '15 is greater than the maximum of 10'
    >>> refusal(2.0, {"type": "integer", "multipleOf": 2}) is None
    True
    """
    return Refusals()(value, schema)


class Refusals:
    """:func:`refusal` with one validator per schema, built the first time it is needed: a
    route check asks about many values (and their other spellings) of the same few schemas."""

    def __init__(self) -> None:
        #: id(schema) -> (the schema, kept so that its id is not reused; its validator, or
        #: ``None`` when jsonschema cannot build one offline)
        self._validators: dict[int, tuple[Any, Any]] = {}
        #: id(schema) -> (the schema, what it allows, whether it allows nothing); a writer's
        #: schema is met by every route its value may reach.
        self._values: dict[int, tuple[Any, AllowedValues | None, bool]] = {}
        #: (id(schema), the value as JSON text) -> why the schema refuses the value
        self._said: dict[tuple[int, str], str | None] = {}

    def values(self, schema: Any) -> AllowedValues | None:
        """:func:`~irgraph.ir.outputs.schema_values` of ``schema``, worked out once."""
        return self._read(schema)[1]

    def nothing(self, schema: Any) -> bool:
        """:func:`~irgraph.ir.outputs.allows_nothing` of ``schema``, worked out once."""
        return self._read(schema)[2]

    def _read(self, schema: Any) -> tuple[Any, AllowedValues | None, bool]:
        known = self._values.get(id(schema))
        if known is None or known[0] is not schema:
            known = (schema, schema_values(schema), allows_nothing(schema))
            self._values[id(schema)] = known
        return known

    def __call__(self, value: Any, schema: Any) -> str | None:
        """Why ``schema`` refuses ``value`` and its every spelling, or ``None``."""
        self._validator(schema)  # keeps the schema, so that its id is not reused
        key = (id(schema), json.dumps(value, sort_keys=True, default=repr))
        if key not in self._said:
            self._said[key] = self._refusal(value, schema)
        return self._said[key]

    def _refusal(self, value: Any, schema: Any) -> str | None:
        validator = self._validator(schema)
        if validator is None:
            return None
        spellings = [value]
        if isinstance(value, float) and not isinstance(value, bool) and value.is_integer():
            spellings.append(int(value))
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**1023:
            spellings.append(float(value))  # (a larger int has no float spelling)
        first = None
        for spelling in spellings:
            try:
                why = schema_error(spelling, schema, validator)
            except Exception:  # a schema jsonschema cannot apply offline: not ours to refuse
                return None
            if why is None:
                return None
            first = first or why.removesuffix(" (at the top level)")
        return first

    def _validator(self, schema: Any) -> Any:
        """The validator of ``schema``, built once; ``None`` when it cannot be built."""
        known = self._validators.get(id(schema))
        if known is not None and known[0] is schema:
            return known[1]
        try:
            plain = schema.to_dict() if isinstance(schema, JsonObject) else dict(schema)
            validator = answer_validator(plain)
        except Exception:  # not a schema jsonschema can apply: nothing is refused by it
            validator = None
        self._validators[id(schema)] = (schema, validator)
        return validator


def respelled(value: Any, allowed: AllowedValues) -> Any:
    """``value`` written the other way that the writers do allow: ``"1"`` as ``1``, ``True``
    as ``"true"`` ..., else ``NONE``."""
    if isinstance(value, str):
        try:
            other = json.loads(value)
        except ValueError:
            return NONE
        if isinstance(other, (list, dict)):
            return NONE
    else:
        other = canonical(value)
    return other if allowed.admits(other) else NONE


def scalar_choices(allowed: AllowedValues) -> bool:
    """Whether some value ``allowed`` admits is one ``.when(value, ...)`` can take."""
    if allowed.types & {"string", "integer", "number"}:
        return True
    return any(v is None or isinstance(v, (str, int, float)) for v in allowed.values)


def inside(key: str, value: Any, allowed: AllowedValues, schema: Any) -> str:
    """A ``.when(predicate, ...)`` comparing ``value`` with a field of the object in ``key``
    (the field of ``schema`` that may hold it, one listing it first, else its first field) or
    an item of the list."""
    if "object" not in allowed.types:
        return f".when(lambda state: {value!r} in state['{key}'], ...)"
    field = _ranked_field(value, schema)[1]
    return f".when(lambda state: state['{key}'][{field!r}] == {value!r}, ...)"


def field_holding(value: Any, allowed: AllowedValues, schema: Any) -> str | None:
    """The field of the object ``schema`` describes that may hold ``value`` (one listing it
    first), for a route to compare with ``.on("key.field")``; ``None`` when none may."""
    if "object" not in allowed.types:
        return None
    rank, field = _ranked_field(value, schema)
    return field if rank < 2 else None


def _ranked_field(value: Any, schema: Any) -> tuple[int, str]:
    """The field of ``schema`` most likely to hold ``value``, ranked: 0 when its values list
    it, 1 when its type holds it, 2 when none may (the first field; ``"field"`` if none)."""
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict) or not properties:
        return 2, "field"
    defs = {k: schema[k] for k in ("$defs", "definitions") if k in schema}
    ranked: list[tuple[int, str]] = []
    for name, part in properties.items():
        found = schema_values({**part, **defs}) if isinstance(part, dict) else None
        if found is None or not found.admits(value):
            ranked.append((2, name))
        else:  # a field that lists the value before one of a type that holds it
            ranked.append((1 if found.types else 0, name))
    return min(ranked, key=lambda pair: pair[0])


def names(ids: list[str], last: str = "and") -> str:
    """``'a' and 'b'``, ``'a', 'b' and 'c'`` (or ``or``)."""
    quoted = [f"'{i}'" for i in ids]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} {last} {quoted[-1]}"


def routes_named(ids: list[str]) -> str:
    """``route 'a'``, or ``routes 'a' and 'b'``."""
    return f"route{'s' if len(ids) > 1 else ''} {names(ids)}"


def to_change(ids: list[str], every: bool) -> str:
    """The routes ``ids`` as a fix names them: ``'a'``; ``each of 'a' and 'b'`` when
    ``every`` one must change (they are all on the value's one way), else ``'a' or 'b'``."""
    if len(ids) > 1 and every:
        return f"each of {names(ids)}"
    return names(ids, "or")
