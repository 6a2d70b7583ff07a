"""Schema-valid values without a model: what :class:`~irgraph.testing.FakeProvider` answers
an agent that declares an output schema.

:func:`fake_value` walks the common subset of JSON Schema — ``type`` (one or a list),
``enum``, ``const``, ``properties`` with ``required`` (every property gets a value),
``additionalProperties``, ``items``/``prefixItems`` with ``minItems``/``maxItems``,
``minLength``/``maxLength``, a string's ``pattern`` (:mod:`~irgraph.testing.fake_patterns`),
``minimum``/``maximum`` (exclusive too) and ``multipleOf``,
``anyOf``/``oneOf`` (the first choice), a one-element ``allOf``, and local ``$ref`` s into
``$defs``/``definitions`` as pydantic writes them — and builds the simplest value that fits.
A schema that refers to itself (a pydantic ``Item`` with ``next: Item | None``, a tree with
``children: list[Node]``) gets a finite value: a part that could only go on without end is
left out, and once a definition comes back inside itself the value is the smallest one —
optional properties left out, arrays as short as ``minItems`` allows, the ``anyOf`` choice or
``null`` that ends soonest. Only a schema whose every value would hold another value of the
same definition (a required self-reference with no way out) is an :class:`UnsatisfiableSchema`.
The value is checked against the whole schema before it is returned, so a schema outside the
subset (``not``, ``if``/``then``...) is a :class:`UnsupportedSchema` naming the
keyword, never a wrong answer; bounds that leave no value (``minimum`` above ``maximum``, no
integer or no multiple of ``multipleOf`` between them) are an :class:`UnsatisfiableSchema`.
Choices (an ``enum`` member, a boolean) come from ``seed``, so one agent and prompt always get
the same value and different prompts spread over the enum.

>>> fake_value({"type": "object", "properties": {"n": {"type": "integer", "minimum": 3}}}, 0)
{'n': 3}
>>> [fake_value({"enum": ["bug", "feature"]}, seed) for seed in (0, 1)]
['bug', 'feature']
>>> fake_value({"$defs": {"Item": {"type": "object", "required": ["name"], "properties": {
...     "name": {"type": "string"}, "next": {"$ref": "#/$defs/Item"}}}},
...     "$ref": "#/$defs/Item"})
{'name': 'text', 'next': {'name': 'text'}}
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from .fake_patterns import text_matching

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
    value = _Maker(plain, seed).make(plain, 0, frozenset(), False)
    if isinstance(plain, Mapping):
        problem = schema_error(value, plain)
        if problem is not None:
            raise UnsupportedSchema(
                f"the value made for the schema does not match it: {problem}; the schema "
                "uses more than the supported subset of JSON Schema"
            )
    return value


class _Maker:
    """Makes the value. Every ``make*`` method takes the schema, the nesting ``depth``, the
    references being expanded on the way down (``seen``) and whether to make the ``smallest``
    value: that starts when a reference comes back inside itself, so recursion ends."""

    def __init__(self, root: Any, seed: int) -> None:
        self.root = root
        self.seed = seed
        self.ranks: dict[str, float] = {}
        definitions = {
            f"#/{group}/{name}": definition
            for group in ("$defs", "definitions")
            if isinstance(root, Mapping) and isinstance(root.get(group), Mapping)
            for name, definition in root[group].items()
        }
        changed = True
        while changed:  # ranks only fall, from infinity, to at most the number of definitions
            changed = False
            for ref, definition in definitions.items():
                rank = self.rank(definition)
                if rank < self.ranks.get(ref, math.inf):
                    self.ranks[ref], changed = rank, True

    def rank(self, schema: Any) -> float:
        """How many references deep the smallest value of ``schema`` must go: ``0`` without
        any, ``inf`` when every value would go on without end (or none matches). Keywords
        :meth:`make` refuses count 0; :meth:`make` says what is wrong with them."""
        if schema is True:
            return 0
        if not isinstance(schema, Mapping):
            return math.inf
        if "$ref" in schema:
            return self.ranks.get(schema["$ref"], math.inf) + 1 if _is_ref(schema) else 0
        if "const" in schema or (isinstance(schema.get("enum"), list) and schema["enum"]):
            return 0
        for choice in ("anyOf", "oneOf"):
            if isinstance(schema.get(choice), list) and schema[choice]:
                return min(self.rank(option) for option in schema[choice])
        if isinstance(schema.get("allOf"), list) and len(schema["allOf"]) == 1:
            return self.rank(schema["allOf"][0])
        if isinstance(schema.get("type"), list) and "null" in schema["type"]:
            return 0
        try:
            kind = self.kind(schema)
        except UnsupportedSchema:
            return 0
        if kind == "object":
            return max((self.rank(s) for s in self.required_parts(schema).values()), default=0)
        if kind == "array":
            return max((self.rank(s) for s in self.item_schemas(schema, 0)), default=0)
        return 0

    def make(self, schema: Any, depth: int, seen: frozenset[str], smallest: bool) -> Any:
        if depth > _MAX_DEPTH and self.rank(self.root) != math.inf:
            raise UnsupportedSchema(f"the schema is nested more than {_MAX_DEPTH} levels deep")
        if depth > _MAX_DEPTH:
            raise UnsatisfiableSchema(
                "the schema refers to itself without end: every value of it holds another "
                "value of the same definition (a required property, or an array whose "
                "minItems needs one, with no null or other choice that stops)",
                "$ref",
            )
        if schema is True:
            return "value"
        if not isinstance(schema, Mapping):
            raise UnsupportedSchema(f"no value matches the schema {schema!r}")
        if "$ref" in schema:
            ref = schema["$ref"]
            smallest = smallest or (_is_ref(schema) and ref in seen)
            seen = seen | {ref} if _is_ref(schema) else seen
            return self.make(self.resolve(ref), depth + 1, seen, smallest)
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return schema["enum"][self.seed % len(schema["enum"])]
        for choice in ("anyOf", "oneOf"):
            if isinstance(schema.get(choice), list) and schema[choice]:
                return self.make(self.choose(schema[choice], smallest), depth + 1, seen, smallest)
        if isinstance(schema.get("allOf"), list) and len(schema["allOf"]) == 1:
            return self.make(schema["allOf"][0], depth + 1, seen, smallest)
        for keyword in ("not", "if", "allOf", "patternProperties", "dependencies"):
            if keyword in schema:
                raise UnsupportedSchema(f"the keyword {keyword!r} is not supported", keyword)
        kinds = schema.get("type")
        if isinstance(kinds, list) and "null" in kinds:
            others = [k for k in kinds if k != "null"]
            if smallest or (others and self.rank({**schema, "type": others}) == math.inf):
                return None
        kind = self.kind(schema)
        return getattr(self, f"make_{kind}")(schema, depth, seen, smallest)

    def choose(self, options: list[Any], smallest: bool) -> Any:
        """The ``anyOf``/``oneOf`` option to make: the first that ends, or for the smallest
        value the one that ends soonest (the first when none ends: its error says why)."""
        ranks = [self.rank(option) for option in options]
        if smallest:
            return options[ranks.index(min(ranks))]
        return next((o for o, r in zip(options, ranks, strict=True) if r != math.inf), options[0])

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

    def required_parts(self, schema: Mapping[str, Any]) -> dict[str, Any]:
        """The schema of each required property, by name."""
        properties = schema.get("properties") or {}
        extra = schema.get("additionalProperties", True)
        extra = extra if isinstance(extra, Mapping) else True
        return {name: properties.get(name, extra) for name in schema.get("required") or ()}

    def item_schemas(self, schema: Mapping[str, Any], wanted: int) -> list[Any]:
        """The schemas of an array's first items: as many as ``minItems`` needs, or
        ``wanted`` (within ``maxItems``)."""
        prefix = schema.get("prefixItems") or []
        items = schema.get("items", True)
        count = max(int(schema.get("minItems", 0)), wanted)
        if schema.get("maxItems") is not None:
            count = min(count, int(schema["maxItems"]))
        return [prefix[i] if i < len(prefix) else items for i in range(count)]

    def make_null(self, schema: Mapping[str, Any], *where: Any) -> None:
        return None

    def make_boolean(self, schema: Mapping[str, Any], *where: Any) -> bool:
        return self.seed % 2 == 0

    def make_string(self, schema: Mapping[str, Any], *where: Any) -> str:
        text = _FORMATS.get(schema.get("format", ""), "text")
        low = int(schema.get("minLength", 0))
        high = schema.get("maxLength")
        if len(text) < low:
            text += "x" * (low - len(text))
        if high is not None and len(text) > high:
            text = text[: int(high)]
        pattern = schema.get("pattern")
        if pattern is None:
            return text
        made = text_matching(str(pattern), low, None if high is None else int(high), text)
        if made is None:
            raise UnsupportedSchema(
                f"no text that FakeProvider can write matches the pattern {pattern!r} within "
                "the string's length limits",
                "pattern",
            )
        return made

    def make_integer(self, schema: Mapping[str, Any], *where: Any) -> int:
        return int(_on_steps(schema, schema.get("multipleOf", 1)))

    def make_number(self, schema: Mapping[str, Any], *where: Any) -> float | int:
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

    def make_array(
        self, schema: Mapping[str, Any], depth: int, seen: frozenset[str], smallest: bool
    ) -> list[Any]:
        prefix = schema.get("prefixItems") or []
        wanted = 0 if smallest else max(len(prefix), 1 if schema.get("items") is not False else 0)
        parts = self.item_schemas(schema, wanted)
        needed = len(self.item_schemas(schema, 0))
        while len(parts) > needed and self.rank(parts[-1]) == math.inf:
            parts.pop()  # an item beyond minItems that could only go on without end
        return [self.make(part, depth + 1, seen, smallest) for part in parts]

    def make_object(
        self, schema: Mapping[str, Any], depth: int, seen: frozenset[str], smallest: bool
    ) -> dict[str, Any]:
        properties = schema.get("properties") or {}
        required = self.required_parts(schema)
        chosen = {
            name: sub
            for name, sub in properties.items()
            if name in required or not (smallest or self.rank(sub) == math.inf)
        }
        optional = sorted(
            (self.rank(sub), index, name)
            for index, (name, sub) in enumerate(properties.items())
            if name not in chosen and self.rank(sub) != math.inf
        )
        missing = int(schema.get("minProperties", 0)) - len(chosen.keys() | required.keys())
        for _, _, name in optional[: max(missing, 0)]:
            chosen[name] = properties[name]
        value = {name: self.make(sub, depth + 1, seen, smallest) for name, sub in chosen.items()}
        for name, sub in required.items():
            if name not in value:
                value[name] = self.make(sub, depth + 1, seen, smallest)
        return value


def _is_ref(schema: Mapping[str, Any]) -> bool:
    return isinstance(schema.get("$ref"), str)


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
    # The decimal the step is written as, times count: 3 * 0.1 is 0.3, not 0.30000000000000004.
    return count * step if isinstance(step, int) else float(count * Fraction(repr(step)))


def _limits(schema: Mapping[str, Any]) -> str:
    """The schema's bounds as words: ``minimum 3 and maximum 2``."""
    lows = [f"{k} {schema[k]!r}" for k in ("minimum", "exclusiveMinimum") if k in schema]
    highs = [f"{k} {schema[k]!r}" for k in ("maximum", "exclusiveMaximum") if k in schema]
    return f"{', '.join(lows)} and {', '.join(highs)}"


def _low_keyword(schema: Mapping[str, Any]) -> str:
    return "minimum" if "minimum" in schema else "exclusiveMinimum"
