"""Schema-valid values without a model: what :class:`~irgraph.testing.FakeProvider` answers
an agent that declares an output schema.

:func:`fake_value` walks the common subset of JSON Schema — ``type`` (one or a list),
``enum``, ``const``, ``properties`` with ``required`` (every property gets a value),
``additionalProperties``, ``items``/``prefixItems`` with ``minItems``/``maxItems``,
``minLength``/``maxLength``, ``minimum``/``maximum`` (exclusive too) and ``multipleOf``,
``anyOf``/``oneOf`` (the first choice), a one-element ``allOf``, and local ``$ref`` s into
``$defs``/``definitions`` as pydantic writes them — and builds the simplest value that fits.
The value is checked against the whole schema before it is returned, so a schema outside the
subset (a ``pattern``, ``not``, ``if``/``then``...) is a :class:`UnsupportedSchema` naming the
keyword, never a wrong answer; bounds that leave no value (``minimum`` above ``maximum``, no
integer or no multiple of ``multipleOf`` between them) are an :class:`UnsatisfiableSchema`.
Choices (an ``enum`` member, a boolean) come from ``seed``, so one agent and prompt always get
the same value and different prompts spread over the enum.

>>> fake_value({"type": "object", "properties": {"n": {"type": "integer", "minimum": 3}}}, 0)
{'n': 3}
>>> [fake_value({"enum": ["bug", "feature"]}, seed) for seed in (0, 1)]
['bug', 'feature']
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from typing import Any

__all__ = ["UnsatisfiableSchema", "UnsupportedSchema", "fake_value", "stable_hash"]

_TYPES = ("object", "array", "string", "integer", "number", "boolean", "null")
#: Keywords that only describe; they never constrain a value.
_NOTES = frozenset(
    {"title", "description", "default", "examples", "$schema", "$id", "$comment", "format"}
)
_FORMATS = {
    "date-time": "2024-01-01T00:00:00Z",
    "date": "2024-01-01",
    "time": "00:00:00Z",
    "email": "user@example.com",
    "uri": "https://example.com/",
    "uuid": "00000000-0000-4000-8000-000000000000",
}
_MAX_DEPTH = 64


class UnsupportedSchema(ValueError):
    """The schema uses something :func:`fake_value` cannot satisfy (``keyword`` says what)."""

    def __init__(self, message: str, keyword: str | None = None) -> None:
        super().__init__(message)
        self.keyword = keyword


class UnsatisfiableSchema(UnsupportedSchema):
    """No value at all matches the schema (its bounds leave none): not a limit of
    :func:`fake_value` but a mistake in the schema, which no model answer could match either."""


def stable_hash(text: str) -> int:
    """A hash of ``text`` that is the same in every process (``hash()`` is salted)."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def fake_value(schema: Any, seed: int = 0) -> Any:
    """The simplest value valid under ``schema``; ``seed`` picks among enum members and
    booleans. :class:`UnsupportedSchema` when there is none this can find."""
    from irgraph.ir.outputs import schema_error

    plain = schema.to_dict() if hasattr(schema, "to_dict") else schema
    value = _Maker(plain, seed).make(plain, 0)
    if isinstance(plain, Mapping):
        problem = schema_error(value, plain)
        if problem is not None:
            raise UnsupportedSchema(
                f"the value made for the schema does not match it: {problem}; the schema "
                "uses more than the supported subset of JSON Schema"
            )
    return value


class _Maker:
    def __init__(self, root: Any, seed: int) -> None:
        self.root = root
        self.seed = seed

    def make(self, schema: Any, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            raise UnsupportedSchema("the schema refers to itself without end", "$ref")
        if schema is True:
            return "value"
        if not isinstance(schema, Mapping):
            raise UnsupportedSchema(f"no value matches the schema {schema!r}")
        if "$ref" in schema:
            return self.make(self.resolve(schema["$ref"]), depth + 1)
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return schema["enum"][self.seed % len(schema["enum"])]
        for choice in ("anyOf", "oneOf"):
            if isinstance(schema.get(choice), list) and schema[choice]:
                return self.make(schema[choice][0], depth + 1)
        if isinstance(schema.get("allOf"), list) and len(schema["allOf"]) == 1:
            return self.make(schema["allOf"][0], depth + 1)
        for keyword in ("not", "if", "allOf", "pattern", "patternProperties", "dependencies"):
            if keyword in schema:
                raise UnsupportedSchema(f"the keyword {keyword!r} is not supported", keyword)
        kind = self.kind(schema)
        return getattr(self, f"make_{kind}")(schema, depth)

    def resolve(self, ref: Any) -> Any:
        parts = ref.split("/") if isinstance(ref, str) else []
        if len(parts) != 3 or parts[0] != "#" or parts[1] not in ("$defs", "definitions"):
            raise UnsupportedSchema(
                f"only local references like '#/$defs/Name' are supported (got {ref!r})", "$ref"
            )
        found = self.root.get(parts[1], {}).get(parts[2]) if isinstance(self.root, dict) else None
        if found is None:
            raise UnsupportedSchema(f"the reference {ref!r} names no definition", "$ref")
        return found

    def kind(self, schema: Mapping[str, Any]) -> str:
        kind = schema.get("type")
        if isinstance(kind, list):
            kinds = [k for k in kind if k in _TYPES]
            kind = next((k for k in kinds if k != "null"), kinds[0] if kinds else None)
        if kind is None:  # no type: guess from the keywords, as a model would read them
            if "properties" in schema or "required" in schema:
                return "object"
            if "items" in schema or "prefixItems" in schema:
                return "array"
            if any(k in schema for k in ("minimum", "maximum", "multipleOf")):
                return "number"
            return "string"
        if kind not in _TYPES:
            raise UnsupportedSchema(f"the type {kind!r} is not a JSON Schema type", "type")
        return str(kind)

    def make_null(self, schema: Mapping[str, Any], depth: int) -> None:
        return None

    def make_boolean(self, schema: Mapping[str, Any], depth: int) -> bool:
        return self.seed % 2 == 0

    def make_string(self, schema: Mapping[str, Any], depth: int) -> str:
        text = _FORMATS.get(schema.get("format", ""), "text")
        low = int(schema.get("minLength", 0))
        high = schema.get("maxLength")
        if len(text) < low:
            text += "x" * (low - len(text))
        if high is not None and len(text) > high:
            text = text[: int(high)]
        return text

    def make_integer(self, schema: Mapping[str, Any], depth: int) -> int:
        return int(_on_steps(schema, schema.get("multipleOf", 1)))

    def make_number(self, schema: Mapping[str, Any], depth: int) -> float | int:
        if "multipleOf" in schema:
            return _on_steps(schema, schema["multipleOf"])
        low, high = _bounds(schema)
        if low is not None and high is not None:
            exclusive = (
                schema.get("exclusiveMinimum") == low or schema.get("exclusiveMaximum") == high
            )
            if low > high or (low == high and exclusive):
                raise UnsatisfiableSchema(
                    f"no number lies between {_limits(schema)}", _low_keyword(schema)
                )
        value = 1.0
        if low is not None and value <= low:
            gap = 1.0 if high is None else (high - low) / 2
            value = low + gap if low == schema.get("exclusiveMinimum") else low
        if high is not None and value >= high:
            gap = 1.0 if low is None else (high - low) / 2
            value = high - gap if high == schema.get("exclusiveMaximum") else high
        return value

    def make_array(self, schema: Mapping[str, Any], depth: int) -> list[Any]:
        prefix = schema.get("prefixItems") or []
        items = schema.get("items", True)
        low = int(schema.get("minItems", 0))
        high = schema.get("maxItems")
        count = max(low, len(prefix), 1 if items is not False else 0)
        if high is not None:
            count = min(count, int(high))
        return [self.make(prefix[i] if i < len(prefix) else items, depth + 1) for i in range(count)]

    def make_object(self, schema: Mapping[str, Any], depth: int) -> dict[str, Any]:
        properties = schema.get("properties") or {}
        extra = schema.get("additionalProperties", True)
        value = {name: self.make(sub, depth + 1) for name, sub in properties.items()}
        for name in schema.get("required") or ():
            if name not in value:
                value[name] = self.make(extra if isinstance(extra, Mapping) else True, depth + 1)
        return value


def _bounds(schema: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """The lowest and highest number allowed (each ``None`` when unbounded; whether a bound
    is exclusive is the schema's ``exclusive...`` keyword, as JSON Schema 6 and later say)."""
    for keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        if isinstance(schema.get(keyword), bool):
            raise UnsupportedSchema(f"a boolean {keyword} (draft 4) is not supported", keyword)
    lows = [schema[k] for k in ("minimum", "exclusiveMinimum") if k in schema]
    highs = [schema[k] for k in ("maximum", "exclusiveMaximum") if k in schema]
    return (max(lows) if lows else None), (min(highs) if highs else None)


def _on_steps(schema: Mapping[str, Any], step: Any) -> int | float:
    """The multiple of ``step`` nearest 1 (``step`` itself, unless the bounds say otherwise)
    allowed by the schema's bounds."""
    if isinstance(step, bool) or not isinstance(step, (int, float)) or step <= 0:
        raise UnsupportedSchema(f"multipleOf must be above 0 (got {step!r})", "multipleOf")
    if schema.get("type") == "integer" and not isinstance(step, int):
        raise UnsupportedSchema("an integer's multipleOf must be a whole number", "multipleOf")
    lows, highs = [], []
    if "minimum" in schema:
        lows.append(math.ceil(schema["minimum"] / step))
    if "exclusiveMinimum" in schema:
        lows.append(math.floor(schema["exclusiveMinimum"] / step) + 1)
    if "maximum" in schema:
        highs.append(math.floor(schema["maximum"] / step))
    if "exclusiveMaximum" in schema:
        highs.append(math.ceil(schema["exclusiveMaximum"] / step) - 1)
    count = 1
    if lows:
        count = max(count, *lows)
    if highs:
        count = min(count, *highs)
    if lows and count < max(lows):
        if "multipleOf" in schema:
            raise UnsatisfiableSchema(
                f"no multiple of {step!r} lies between {_limits(schema)}", "multipleOf"
            )
        raise UnsatisfiableSchema(
            f"no integer lies between {_limits(schema)}", _low_keyword(schema)
        )
    return count * step


def _limits(schema: Mapping[str, Any]) -> str:
    """The schema's bounds as words: ``minimum 3 and maximum 2``."""
    lows = [f"{k} {schema[k]!r}" for k in ("minimum", "exclusiveMinimum") if k in schema]
    highs = [f"{k} {schema[k]!r}" for k in ("maximum", "exclusiveMaximum") if k in schema]
    return f"{', '.join(lows)} and {', '.join(highs)}"


def _low_keyword(schema: Mapping[str, Any]) -> str:
    return "minimum" if "minimum" in schema else "exclusiveMinimum"
