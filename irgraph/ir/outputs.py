"""Structured outputs and model settings: the rules every layer shares.

An agent may declare ``.output(schema)``: a JSON Schema (a dict, or a pydantic model class,
whose schema is taken), checked as a schema when the pipeline is built. At run time the reply
is parsed as JSON (one surrounding markdown code fence is allowed, since models add them) and
validated with the ``jsonschema`` library; the **value** is what goes to state. A reply that
does not validate is asked again, up to the node's retries, with the error and the reply as
feedback (each cut to a few thousand characters, :mod:`irgraph.ir.output_replies`); after that
the run fails naming the node, the schema error and the raw reply. ``.settings(...)``
(temperature, max_tokens, ...) are JSON values passed to the provider on each request; the
known ones are range-checked here, before anything runs.

>>> schema = checked_schema({"type": "string", "enum": ["bug", "feature"]}, node="triage")
>>> parse_reply('"bug"', schema, node="triage")
'bug'
>>> value_type(schema), schema_enum(schema)
('string', ['bug', 'feature'])
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from irgraph.errors import PipelineError
from irgraph.ir.key_paths import json_pointer
from irgraph.ir.output_replies import QUOTE_CHARS, OutputError, cut, feedback
from irgraph.ir.schema_checks import check_refs, check_valid, model_schema, not_a_schema_hint
from irgraph.ir.schema_memo import SchemaMemo
from irgraph.ir.schema_validator import answer_validator
from irgraph.ir.values import JsonObject, canonical, json_problem, same_value

__all__ = [
    "OutputError",
    "checked_schema",
    "checked_settings",
    "parse_reply",
    "schema_error",
    "value_type",
    "schema_enum",
    "feedback",
    "KNOWN_SETTINGS",
]


def _number_between(low: float, high: float) -> Any:
    return lambda v: (
        (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v))
        and low <= v <= high
    )


def _whole_at_least(low: int) -> Any:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= low


#: The settings irgraph knows, with their rule in words; any other JSON value passes through
#: to the provider unchecked (providers differ in what they accept).
KNOWN_SETTINGS: dict[str, tuple[str, Any]] = {
    "temperature": ("a number from 0 to 2", _number_between(0, 2)),
    "top_p": ("a number from 0 to 1", _number_between(0, 1)),
    "max_tokens": ("a whole number of at least 1", _whole_at_least(1)),
    "seed": ("a whole number", _whole_at_least(-(2**63))),
    "presence_penalty": ("a number from -2 to 2", _number_between(-2, 2)),
    "frequency_penalty": ("a number from -2 to 2", _number_between(-2, 2)),
    "stop": (
        "a string or a list of strings",
        lambda v: (
            isinstance(v, str) or (isinstance(v, list) and all(isinstance(s, str) for s in v))
        ),
    ),
}


def checked_settings(values: Any, *, node: str) -> JsonObject:
    """``values`` as a frozen JSON object, once each known setting is in range, all JSON."""
    if not isinstance(values, (JsonObject, Mapping)):  # JsonObject first: no ABC check
        raise PipelineError(
            f"The settings of '{node}' must be a mapping of names to values (got {values!r}).",
            node=node,
            hint="Pass keyword arguments: .settings(temperature=0.2, max_tokens=400).",
        )
    for name, value in values.items():
        rule = KNOWN_SETTINGS.get(name)
        if rule is not None and not rule[1](value):
            raise PipelineError(
                f"The setting {name} of '{node}' must be {rule[0]} (got {value!r}).",
                node=node,
                hint=f"Pass e.g. .settings({name}={_example(name)}), or leave it out.",
                expected=rule[0],
                got=value,
            )
    if isinstance(values, JsonObject):  # JSON data by construction: no copy, no second check
        return values
    problem = json_problem(dict(values))
    if problem is not None:
        raise PipelineError(
            f"The settings of '{node}' must be JSON data ({problem}).",
            node=node,
            hint="Use strings, numbers, booleans, None, and lists or dicts of them.",
        )
    return JsonObject(values)


def _example(name: str) -> str:
    return {"temperature": "0.2", "top_p": "0.9", "stop": "['\\n\\n']"}.get(name, "1")


#: The schemas ``jsonschema`` accepted and whose ``$ref`` s resolve, by content.
VALID_SCHEMAS = SchemaMemo()


def checked_schema(schema: Any, *, node: str) -> JsonObject:
    """The JSON Schema of an agent's output as a frozen JSON object: ``schema`` itself (a dict)
    or a pydantic model class's ``model_json_schema()``, once ``jsonschema`` accepts it (once
    per content: :mod:`irgraph.ir.schema_memo`)."""
    if isinstance(schema, JsonObject) and VALID_SCHEMAS.has(schema.text):
        return schema  # frozen JSON already: nothing to copy or check
    if isinstance(schema, type) and callable(getattr(schema, "model_json_schema", None)):
        schema = model_schema(schema, node=node)
    if isinstance(schema, JsonObject):
        schema = schema.to_dict()
    if not isinstance(schema, Mapping):
        raise PipelineError(
            f"The output schema of '{node}' must be a JSON Schema dict or a pydantic model "
            f"class (got {schema!r} of type {type(schema).__name__}).",
            node=node,
            hint=not_a_schema_hint(schema),
        )
    problem = json_problem(dict(schema))
    if problem is not None:
        raise PipelineError(
            f"The output schema of '{node}' must be JSON data ({problem}).",
            node=node,
            hint="Write the schema with dicts, lists, strings, numbers and booleans.",
        )
    checked = JsonObject(schema)
    if not VALID_SCHEMAS.has(checked.text):  # the same content was checked: the same answer
        check_valid(schema, node=node)
        check_refs(schema, node=node)
        VALID_SCHEMAS.add(checked.text)
    return checked


_FENCE = re.compile(r"\A\s*```[A-Za-z0-9_-]*\s*\n(?P<body>.*?)\n?\s*```\s*\Z", re.DOTALL)


def schema_error(value: Any, schema: Mapping[str, Any], validator: Any = None) -> str | None:
    """Why ``value`` does not match ``schema`` (the most relevant error, with its place), or
    ``None`` when it does; ``validator``, when given, is one built for ``schema`` to reuse."""
    import jsonschema

    if validator is None:
        plain = schema.to_dict() if isinstance(schema, JsonObject) else dict(schema)
        validator = answer_validator(plain)
    error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    if error is None:
        return None
    where = "".join(f"[{p!r}]" for p in error.absolute_path)
    # The message quotes the refused value, which may be most of a very long reply.
    message = cut(error.message, QUOTE_CHARS // 2)
    return f"{message} (at {'value' + where if where else 'the top level'})"


def parse_reply(reply: str, schema: Mapping[str, Any], *, node: str) -> Any:
    """The value of a model's ``reply`` under ``schema``, or :class:`OutputError` saying why
    there is none (not JSON, or not matching)."""
    text = reply
    fenced = _FENCE.match(reply)
    if fenced:
        text = fenced.group("body")
    try:
        value = json.loads(text, parse_constant=_not_json_number, parse_float=_finite_number)
    except ValueError as exc:
        raise OutputError(f"the reply is not JSON ({exc})", reply) from None
    except RecursionError:
        raise OutputError(
            "the reply is not usable JSON (nested too deeply to read)", reply
        ) from None
    problem = schema_error(value, schema)
    if problem is not None:
        raise OutputError(f"the reply does not match the output schema: {problem}", reply)
    return value


def _finite_number(word: str) -> float:
    """A JSON number as a float; ``1e400`` (``inf``: past ``maximum``, no JSON) is refused."""
    value = float(word)
    if math.isinf(value):
        raise ValueError(f"{word} is too large a number")
    return value


def _not_json_number(word: str) -> Any:
    """``NaN``, ``Infinity`` and ``-Infinity``: Python's ``json`` reads them, JSON has no such
    numbers, and they would slip past ``minimum``/``maximum``."""
    raise ValueError(f"{word} is not a JSON number")


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
