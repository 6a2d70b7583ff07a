"""Schema-valid values without a model: what :class:`~irgraph.testing.FakeProvider` answers
an agent that declares an output schema.

:func:`fake_value` walks JSON Schema — ``type`` (one or a list), ``enum``, ``const``,
``properties`` with ``required`` (every property gets a value), ``additionalProperties``,
``patternProperties``, ``propertyNames``, ``minProperties`` and ``dependentRequired``/
``dependentSchemas``/``dependencies`` (:mod:`~irgraph.testing.fake_shapes`), ``maxProperties``,
``items``/``prefixItems`` (or a draft-7 list of ``items``) with ``minItems``/``maxItems``,
``contains`` and ``uniqueItems``, ``minLength``/``maxLength``, a string's ``pattern`` and
``format`` (:mod:`~irgraph.testing.fake_patterns`; a format with a pattern or lengths,
:mod:`~irgraph.testing.fake_formats`), ``minimum``/``maximum`` (exclusive too) and
``multipleOf`` (:mod:`~irgraph.testing.fake_numbers`), ``anyOf``/``oneOf`` (the first choice
that fits; for ``oneOf``, a value of that one only), ``allOf`` (its parts merged,
:mod:`~irgraph.testing.fake_merge`), ``not`` and ``if``/``then``/``else``
(:mod:`~irgraph.testing.fake_choices`), and local ``$ref`` s: into ``$defs``/``definitions`` as
pydantic writes them, to the root (``#``), any JSON pointer or an ``$anchor``, and by a nested
``$id`` (:mod:`~irgraph.testing.fake_refs`) — and builds the
simplest value that fits.
A schema that refers to itself (a pydantic ``Item`` with ``next: Item | None``, a tree with
``children: list[Node]``) gets a finite value: a part that could only go on without end is
left out, and once a definition comes back inside itself the value is the smallest one —
optional properties left out, arrays as short as ``minItems`` allows, the ``anyOf`` choice or
``null`` that ends soonest. Only a schema whose every value would hold another value of the
same definition (a required self-reference with no way out) is an :class:`UnsatisfiableSchema`.
The value is checked against the whole schema (by :mod:`irgraph.ir.schema_validator`, as an
answer is, its formats asserted too) before it is returned, so a schema beyond what this can
make (two ``contains`` in one ``allOf``...) is an :class:`UnsupportedSchema` naming the keyword
(and, in its ``path``, where in the value), never a wrong answer; a schema no value matches
(``minimum`` above ``maximum``, more ``uniqueItems`` than booleans, ``allOf`` parts of
different types) is an :class:`UnsatisfiableSchema`.
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

import copy
import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

from irgraph.ir.key_paths import json_pointer

from .fake_choices import CONDITION, TYPES, conditional, member, negated
from .fake_choices import choice as choice_of
from .fake_formats import format_validator, formatted_string
from .fake_merge import (
    NOTES,
    UnsatisfiableSchema,
    UnsupportedSchema,
    anchored,
    merge,
    property_schema,
    within,
)
from .fake_numbers import number_in, on_steps
from .fake_patterns import known_format, pattern_parts, text_matching
from .fake_refs import pointer_refs
from .fake_shapes import add_dependent, add_properties, dependent, unique_items, with_contained

__all__ = ["UnsatisfiableSchema", "UnsupportedSchema", "fake_value", "stable_hash"]

#: The text of a string, by variant (their first letters differ, so even one letter does).
_WORDS = ("text", "other", "more", "note", "item", "word", "line", "data")
_MAX_DEPTH = 64
#: What a ``not`` or an ``if`` sets aside to make the rest of its schema.
_SET_ASIDE = frozenset({"not", *CONDITION})


def stable_hash(text: str) -> int:
    """A hash of ``text`` that is the same in every process (``hash()`` is salted)."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def fake_value(schema: Any, seed: int = 0) -> Any:
    """The simplest value valid under ``schema``; ``seed`` picks among enum members and
    booleans. :class:`UnsupportedSchema` when there is none this can find."""
    from irgraph.ir.outputs import schema_error

    plain = schema.to_dict() if hasattr(schema, "to_dict") else schema
    local = pointer_refs(plain)  # references by a nested $id: as pointers from the root
    value = _Maker(local, seed).make(local, 0, frozenset({"#"}), False)
    if isinstance(plain, Mapping):
        problem = schema_error(value, plain) or schema_error(value, plain, format_validator(plain))
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

    def __init__(self, root: Any, seed: int, variant: int = 0) -> None:
        self.root = root
        self.seed = seed
        self.variant = variant  # above 0: a value other than the simplest (see varied)
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

    def varied(self, variant: int) -> _Maker:
        """A maker of other values for the same schema: another seed (enum members,
        booleans), other words and numbers; what ``not`` and ``uniqueItems`` try in turn."""
        other = copy.copy(self)
        other.seed, other.variant = self.seed + variant, self.variant + variant
        return other

    def valid(self, value: Any, schema: Any) -> bool:
        """Whether ``value`` matches ``schema``, a part of the root schema (its references
        resolved in the root), by the validator answers are checked with and by one that
        asserts formats too (a ``oneOf`` matched once by both)."""
        if isinstance(schema, bool) or not isinstance(schema, Mapping):
            return schema is True
        from irgraph.ir.schema_validator import answer_validator

        whole = dict(schema)
        for group in ("$defs", "definitions", "$schema"):
            if isinstance(self.root, Mapping) and group in self.root:
                whole.setdefault(group, self.root[group])
        checks = (answer_validator(whole), format_validator(whole))
        return all(check.is_valid(value) for check in checks)

    def merged(self, parts: list[Any]) -> Any:
        """One schema whose values match every one of ``parts`` (:func:`merge`)."""
        joined: Any = True
        for part in parts:
            joined = merge(joined, part, self.resolve)
        return joined

    def rank(self, schema: Any) -> float:
        """How many references deep the smallest value of ``schema`` must go: ``0`` without
        any, ``inf`` when every value would go on without end (or none matches). Keywords
        :meth:`make` refuses count 0; :meth:`make` says what is wrong with them."""
        if schema is True:
            return 0
        if not isinstance(schema, Mapping):
            return math.inf
        if any(key in schema for key in ("not", "if")):
            return self.rank({k: v for k, v in schema.items() if k not in _SET_ASIDE})
        if isinstance(schema.get("allOf"), list) and schema["allOf"]:
            rest = {key: value for key, value in schema.items() if key != "allOf"}
            return max(self.rank(part) for part in [rest, *schema["allOf"]])
        if "$ref" in schema:
            return self.ref_rank(schema["$ref"]) + 1 if _is_ref(schema) else 0
        if "const" in schema or (isinstance(schema.get("enum"), list) and schema["enum"]):
            return 0
        for choice in ("anyOf", "oneOf"):
            if isinstance(schema.get(choice), list) and schema[choice]:
                return min(self.rank(option) for option in schema[choice])
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

    def ref_rank(self, ref: str) -> float:
        """The :meth:`rank` of what ``ref`` names: worked out with the definitions, or, for
        another reference (``#``, ``#/properties/a``), when first asked (infinite meanwhile,
        so a reference back to it is no way out)."""
        if ref not in self.ranks:
            self.ranks[ref] = math.inf
            try:
                self.ranks[ref] = self.rank(self.resolve(ref))
            except UnsupportedSchema:
                self.ranks[ref] = 0  # make() says what is wrong with it
        return self.ranks[ref]

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
        if schema is False:
            raise UnsatisfiableSchema("a part of the schema is false, which no value matches")
        if not isinstance(schema, Mapping):
            raise UnsupportedSchema(f"no value matches the schema {schema!r}")
        if "if" in schema:
            return conditional(self, schema, depth, seen, smallest)
        parts = schema.get("allOf")
        if "$ref" in schema and not _notes_beside(schema, "$ref"):
            parts = [{"$ref": schema["$ref"]}, *(parts or [])]
            schema = {key: value for key, value in schema.items() if key != "$ref"}
        if (
            isinstance(parts, list)
            and parts
            and not (len(parts) == 1 and _notes_beside(schema, "allOf"))
        ):
            rest = {key: value for key, value in schema.items() if key != "allOf"}
            for part in parts:  # a reference met again: the smallest value from here on
                if isinstance(part, Mapping) and _is_ref(part):
                    smallest = smallest or part["$ref"] in seen
                    seen = seen | {part["$ref"]}
            return self.make(self.merged([rest, *parts]), depth + 1, seen, smallest)
        if "not" in schema:
            return negated(self, schema, depth, seen, smallest)
        if "$ref" in schema:
            ref = schema["$ref"]
            smallest = smallest or (_is_ref(schema) and ref in seen)
            seen = seen | {ref} if _is_ref(schema) else seen
            return self.make(self.resolve(ref), depth + 1, seen, smallest)
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return member(self, schema)
        for choice in ("anyOf", "oneOf"):
            if isinstance(schema.get(choice), list) and schema[choice]:
                return choice_of(self, schema, choice, depth, seen, smallest)
        if isinstance(parts, list) and parts:  # one part, only notes beside it
            return self.make(parts[0], depth + 1, seen, smallest)
        if "dependencies" in schema or "dependentSchemas" in schema:
            return dependent(self, schema, depth, seen, smallest)
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
        turn = self.variant % len(options)  # another value: another option first, in turn
        ends = [o for o, r in zip(options, ranks, strict=True) if r != math.inf]
        return next((o for o in [*options[turn:], *options[:turn]] if o in ends), options[0])

    def resolve(self, ref: Any) -> Any:
        """The part of the root schema a local ``$ref`` names: a JSON pointer (``#``,
        ``#/$defs/Name``, ``#/properties/a``) or an ``$anchor`` (``#name``)."""
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise UnsupportedSchema(
                f"only references within the schema ('#/$defs/Name', or an $id in it) are "
                f"supported (got {ref!r})",
                "$ref",
            )
        found = (
            json_pointer(self.root, ref[1:]) if ref[1:2] in ("", "/") else anchored(self.root, ref)
        )
        if found is None:
            what = "definition" if ref.startswith(("#/$defs/", "#/definitions/")) else "part"
            raise UnsupportedSchema(f"the reference {ref!r} names no {what} of the schema", "$ref")
        return found

    def kind(self, schema: Mapping[str, Any]) -> str:
        kind = schema.get("type")
        if isinstance(kind, list):
            kinds = [k for k in kind if k in TYPES]
            kind = next((k for k in kinds if k != "null"), kinds[0] if kinds else None)
        if kind is None:  # no type: guess from the keywords, as a model would read them
            if "properties" in schema or "required" in schema:
                return "object"
            if "items" in schema or "prefixItems" in schema:
                return "array"
            if any(k in schema for k in ("minimum", "maximum", "multipleOf")):
                return "number"
            return "string"
        if kind not in TYPES:
            raise UnsupportedSchema(f"the type {kind!r} is not a JSON Schema type", "type")
        return str(kind)

    def required_parts(self, schema: Mapping[str, Any]) -> dict[str, Any]:
        """The schema of each required property, by name."""
        required = schema.get("required") or ()
        if "patternProperties" in schema:
            return {name: property_schema(schema, name, self.resolve) for name in required}
        properties = schema.get("properties") or {}
        extra = schema.get("additionalProperties", True)
        extra = extra if isinstance(extra, Mapping) else True
        return {name: properties.get(name, extra) for name in required}

    def item_schemas(self, schema: Mapping[str, Any], wanted: int) -> list[Any]:
        """The schemas of an array's first items: as many as ``minItems`` needs, or
        ``wanted`` (within ``maxItems``)."""
        schema = _as_prefix_items(schema)
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
        word = _WORDS[self.variant % len(_WORDS)] + str(self.variant // len(_WORDS) or "")
        low = int(schema.get("minLength", 0))
        high = schema.get("maxLength")
        if schema.get("contentMediaType") == "application/json" and "pattern" not in schema:
            depth, seen, smallest = where  # JSON text of a value (pydantic's Json[int])
            inner = self.make(schema.get("contentSchema", True), depth + 1, seen, smallest)
            word = json.dumps(inner)
        form = schema.get("format")
        if isinstance(form, str) and known_format(form):  # with its pattern and lengths
            return formatted_string(form, schema.get("pattern"), low, high, self.variant)
        text = word
        if len(text) < low:
            text += "x" * (low - len(text))
        if high is not None and len(text) > high:
            text = text[: int(high)]
        pattern = schema.get("pattern")
        if pattern is None:
            return text
        made = text_matching(str(pattern), low, None if high is None else int(high), text)
        if made is not None and made != text and self.variant:  # other characters, or longer
            other = text_matching(str(pattern), low, high, variant=self.variant)
            if other is None or other == made:
                other = text_matching(str(pattern), len(made) + self.variant, high)
            made = other or made
        if made is None:
            parts = pattern_parts(str(pattern))
            limits = [f"{key} {schema[key]}" for key in ("minLength", "maxLength") if key in schema]
            raise UnsupportedSchema(
                f"no text that FakeProvider can write matches the pattern{'s' * (len(parts) > 1)} "
                + " and ".join(map(repr, parts))
                + (f" with {' and '.join(limits)}" if limits else ""),
                "pattern",
            )
        return made

    def make_integer(self, schema: Mapping[str, Any], *where: Any) -> int:
        return int(on_steps(schema, schema.get("multipleOf", 1), self.variant))

    def make_number(self, schema: Mapping[str, Any], *where: Any) -> float | int:
        return number_in(schema, self.variant)

    def make_array(
        self, schema: Mapping[str, Any], depth: int, seen: frozenset[str], smallest: bool
    ) -> list[Any]:
        schema = _as_prefix_items(schema)
        prefix = schema.get("prefixItems") or []
        wanted = 0 if smallest else max(len(prefix), 1 if schema.get("items") is not False else 0)
        parts = self.item_schemas(schema, wanted)
        needed = len(self.item_schemas(schema, 0))
        while len(parts) > needed and self.rank(parts[-1]) == math.inf:
            parts.pop()  # an item beyond minItems that could only go on without end
        if "contains" in schema:
            parts = with_contained(self, schema, parts)
        if schema.get("uniqueItems") is True:
            return unique_items(self, schema, parts, depth, seen, smallest)
        values = []
        for index, part in enumerate(parts):
            with within(index):
                values.append(self.make(part, depth + 1, seen, smallest))
        return values

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
        high = schema.get("maxProperties")
        if isinstance(high, int):  # the optional properties there is room for, in order
            optional_names = [name for name in chosen if name not in required]
            for name in optional_names[max(high - len(required), 0) :]:
                del chosen[name]
        if "patternProperties" in schema:  # a named property matching a pattern: both
            chosen = {name: property_schema(schema, name, self.resolve) for name in chosen}
        value: dict[str, Any] = {}
        for name, sub in [*chosen.items(), *required.items()]:
            if name not in value:
                with within(name):
                    value[name] = self.make(sub, depth + 1, seen, smallest)
        if isinstance(schema.get("dependentRequired"), Mapping):
            add_dependent(self, schema, value, depth, seen, smallest)
        if len(value) < int(schema.get("minProperties", 0)):
            add_properties(self, schema, value, depth, seen, smallest)
        return value


def _as_prefix_items(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """``schema`` with a list of ``items`` (drafts 4 to 7, pydantic 1's tuples) written as
    ``prefixItems`` and its ``additionalItems`` as ``items``, as JSON Schema 2020-12 says."""
    if not isinstance(schema.get("items"), list):
        return schema
    rest = {key: value for key, value in schema.items() if key not in ("items", "additionalItems")}
    return {**rest, "prefixItems": schema["items"], "items": schema.get("additionalItems", True)}


def _notes_beside(schema: Mapping[str, Any], keyword: str) -> bool:
    """Whether every keyword of ``schema`` but ``keyword`` only describes."""
    return all(key == keyword or key in NOTES for key in schema)


def _is_ref(schema: Mapping[str, Any]) -> bool:
    return isinstance(schema.get("$ref"), str)
