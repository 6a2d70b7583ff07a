"""What an output schema says by mistake: a keyword JSON Schema does not know that looks like
one it does (``enums`` for ``enum``: ignored, so the schema allows anything it meant to
refuse), a schema no value satisfies (every reply fails it), a part whose bounds cross
(``minimum`` above ``maximum``: no reply can match it) or hold no number of its type
(``exclusiveMinimum`` 5 and ``exclusiveMaximum`` 5; an integer above 1 and below 2), a part a
reply must hold (a required property, the items of ``minItems`` 1) that allows no value, and
a ``required`` name its
``properties`` do not list (one ``additionalProperties: false`` forbids: no reply can match;
one close to a listed property: a misspelling that makes the property optional).

A part every reply must match (the schema itself, and each property it requires of the object
it must be, and so on down) that no value can match fails every call of the agent: that is a
problem (:func:`schema_problems`), refused when the schema is given (``.output()``) and by
``validate``, before any call is paid for. The rest are told as warnings (:func:`schema_warnings`),
when the schema is given and by ``validate``: a part a reply may leave out only fails the
replies that hold it."""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Iterator, Mapping
from difflib import get_close_matches
from typing import Any, TypeGuard

from irgraph.errors import PipelineError, Problem
from irgraph.ir.outputs import allows_nothing, checked_schema
from irgraph.ir.schema_memo import SchemaMemo
from irgraph.ir.schema_validators import warn_unchecked_validators
from irgraph.ir.values import JsonObject

__all__ = ["output_schema", "schema_problems", "schema_warnings"]

#: JSON Schema's keywords (2020-12 and draft 7), the words a schema object's keys are.
KEYWORDS = frozenset(
    """$schema $id $ref $defs $anchor $dynamicRef $dynamicAnchor $comment $vocabulary
    definitions type enum const title description default examples deprecated readOnly
    writeOnly format multipleOf maximum exclusiveMaximum minimum exclusiveMinimum maxLength
    minLength pattern maxItems minItems uniqueItems maxContains minContains contains items
    prefixItems additionalItems unevaluatedItems maxProperties minProperties required
    dependentRequired dependentSchemas dependencies properties patternProperties
    additionalProperties unevaluatedProperties propertyNames allOf anyOf oneOf not if then
    else contentEncoding contentMediaType contentSchema""".split()
)
_LOWER = {word.lower(): word for word in KEYWORDS}
#: The keywords, in lower case and in order, for the closest match to an unknown word.
_KNOWN = sorted(_LOWER)
#: Keywords whose value is one subschema, a list of them, or a mapping of names to them.
_ONE = ("items", "additionalItems", "contains", "not", "if", "then", "else", "propertyNames",
        "additionalProperties", "unevaluatedItems", "unevaluatedProperties")  # fmt: skip
_LIST = ("allOf", "anyOf", "oneOf", "prefixItems")
_NAMED = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")


#: Pairs of bounds no value is within when the lower is above the upper, and what they bound.
_BOUNDS = (
    ("minimum", "maximum", "a number", ("number", "integer")),
    ("minLength", "maxLength", "a string's length", ("string",)),
    ("minItems", "maxItems", "an array's length", ("array",)),
    ("minProperties", "maxProperties", "an object's number of properties", ("object",)),
)


def _number(value: Any) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _finite(value: Any) -> TypeGuard[float]:
    """A bound that is a number, not NaN or infinite (any whole number is, however large)."""
    return _number(value) and (isinstance(value, int) or math.isfinite(value))


def _subschemas(schema: Mapping[str, Any], path: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """``schema`` and every schema object inside it, each with where it is (``/items``)."""
    todo = [(path, schema)]
    while todo:
        where, part = todo.pop()
        yield where, part
        for word in _ONE:
            if isinstance(part.get(word), Mapping):
                todo.append((f"{where}/{word}", part[word]))
        for word in _LIST:
            if isinstance(part.get(word), list):
                todo += [(f"{where}/{word}/{i}", s) for i, s in enumerate(part[word])
                         if isinstance(s, Mapping)]  # fmt: skip
        for word in _NAMED:
            if isinstance(part.get(word), Mapping):
                todo += [(f"{where}/{word}/{n}", s) for n, s in part[word].items()
                         if isinstance(s, Mapping)]  # fmt: skip


#: The schemas in which none of these mistakes was found, by content.
PLAIN_SCHEMAS = SchemaMemo()


def output_schema(schema: Any, node: str, *, stacklevel: int = 2) -> JsonObject:
    """Agent ``node``'s output ``schema`` as ``.output()`` takes it: checked
    (:func:`~irgraph.ir.outputs.checked_schema`), refused when every reply would fail it
    (:func:`schema_problems`), and its likely mistakes warned of, at ``stacklevel``."""
    checked = checked_schema(schema, node=node)
    if isinstance(schema, type):  # a pydantic model: its validators are not in its schema
        warn_unchecked_validators(schema, node, stacklevel=stacklevel + 1)
    if PLAIN_SCHEMAS.has(checked.text):
        return checked
    found = _findings(checked.to_dict(), node)  # a dict: a JsonObject copies what is read
    problems = [text for text, certain in found if certain]
    if problems:
        raise PipelineError([Problem(text, node=node) for text in problems])
    for warning, _ in found:  # validate() says them too
        warnings.warn(warning, UserWarning, stacklevel=stacklevel + 1)
    if not found:  # one with a warning is said again for each agent given it
        PLAIN_SCHEMAS.add(checked.text)
    return checked


def schema_warnings(schema: Any, node: str) -> list[str]:
    """What is likely wrong with agent ``node``'s output ``schema``, as warnings (what is
    certainly wrong is :func:`schema_problems`).

    >>> schema_warnings({"type": "string", "enums": ["bug"]}, "c")[0][:55]
    "The output schema of 'c' has 'enums' (at the top level)"
    """
    return [text for text, certain in _findings(schema, node) if not certain]


def schema_problems(schema: Any, node: str) -> list[str]:
    """What makes every reply fail agent ``node``'s output ``schema``: a part each reply must
    match (:func:`_must_match`) that no value matches.

    >>> schema_problems({"type": "integer", "minimum": 5, "maximum": 1}, "c")[0][:60]
    "The output schema of 'c' at the top level asks for a number "
    """
    return [text for text, certain in _findings(schema, node) if certain]


def _meant_keyword(word: str) -> str | None:
    """The keyword ``word`` looks like a misspelling of: close to it (difflib, 0.8), or, for a
    word of four letters or more, one letter off or two neighbours swapped (``enun``, ``tpye``:
    too short for difflib to find at 0.8); ``None`` when none is.

    >>> _meant_keyword("enun"), _meant_keyword("tpye"), _meant_keyword("enums"), _meant_keyword("x")
    ('enum', 'type', 'enum', None)
    """
    low = word.lower()
    meant = get_close_matches(low, _KNOWN, n=1, cutoff=0.8)
    if meant:
        return _LOWER[meant[0]]
    if len(low) < 4:
        return None
    for known in _KNOWN:
        if len(known) == len(low):
            apart = [i for i, (a, b) in enumerate(zip(low, known, strict=True)) if a != b]
            swapped = (
                len(apart) == 2
                and apart[1] == apart[0] + 1
                and low[apart[0]] == known[apart[1]]
                and low[apart[1]] == known[apart[0]]
            )
            if len(apart) == 1 or swapped:
                return _LOWER[known]
    return None


def _findings(schema: Any, node: str) -> list[tuple[str, bool]]:
    """Each mistake of ``schema`` and whether it fails every reply."""
    if not isinstance(schema, Mapping):
        return []
    found: list[tuple[str, bool]] = []
    for where, part in _subschemas(schema, ""):
        for word in part:
            if word in KEYWORDS or not isinstance(word, str):
                continue
            meant = _meant_keyword(word)
            if meant:
                found.append((
                    f"The output schema of '{node}' has {word!r} (at "
                    f"{where or 'the top level'}), which JSON Schema does not know; did you mean "
                    f"{meant!r}? An unknown keyword is ignored, so the schema allows "
                    "what it was meant to refuse.",
                    False,
                ))  # fmt: skip
    must = _must_match(schema)
    for where, part in _subschemas(schema, ""):
        for low, high, what, kinds in _BOUNDS:
            least, most = part.get(low), part.get(high)
            if _number(least) and _number(most) and least > most:
                certain = where in must and _only(part, kinds)
                found.append((
                    f"The output schema of '{node}' at {where or 'the top level'} asks for "
                    f"{what} of at least {least} ({low}) and at most {most} ({high}), which "
                    f"nothing is, so {_FAILS if certain else _PART}; fix the bounds.",
                    certain,
                ))  # fmt: skip
        gap = _no_number_between(part)
        if gap:
            certain = where in must
            found.append((
                f"The output schema of '{node}' at {where or 'the top level'} asks for {gap}, "
                f"which none is, so {_FAILS if certain else _PART}; fix the bounds.",
                certain,
            ))  # fmt: skip
    for where, part in _subschemas(schema, ""):
        found += _required_findings(part, where, node, where in must and _only(part, ("object",)))
        found += _required_nothing(part, where, node, where in must)
    if allows_nothing(schema):
        found.append((
            f"The output schema of '{node}' allows no value at all (its types, enum or const "
            "never meet), so every reply fails it and the run would fail at this agent; fix "
            "the schema.",
            True,
        ))  # fmt: skip
    return found


#: How a mistake that fails every reply, and one that fails some, end their sentence.
_FAILS = "every reply fails the schema and the run would fail at this agent"
_PART = "no reply can match that part"


def _only(part: Mapping[str, Any], kinds: tuple[str, ...]) -> bool:
    """Whether ``part``'s ``type`` allows only values of ``kinds`` (a part with no ``type``
    takes any value, and a bound of one kind lets the others through)."""
    kind = part.get("type")
    names = [kind] if isinstance(kind, str) else kind
    return isinstance(names, list) and bool(names) and all(k in kinds for k in names)


def _must_match(schema: Mapping[str, Any]) -> set[str]:
    """Where the parts of ``schema`` are that every reply must match: the schema itself, and
    each property an object part requires (its ``type`` object), down from there."""
    must, todo = set(), [("", schema)]
    while todo:
        where, part = todo.pop()
        must.add(where)
        listed, required = part.get("properties"), part.get("required")
        if _only(part, ("object",)) and isinstance(listed, Mapping) and isinstance(required, list):
            todo += [(f"{where}/properties/{n}", listed[n]) for n in required
                     if isinstance(n, str) and isinstance(listed.get(n), Mapping)]  # fmt: skip
    return must


def _required_findings(
    part: Mapping[str, Any], where: str, node: str, must: bool
) -> list[tuple[str, bool]]:
    """The names ``part`` requires that its ``properties`` do not list: told when a closed
    object (``additionalProperties`` or ``unevaluatedProperties`` false, no pattern that
    takes the name) forbids them, which fails every reply when every reply ``must`` be that
    object, or when one is close to a listed property."""
    required, listed = part.get("required"), part.get("properties")
    if not isinstance(required, list) or not isinstance(listed, Mapping):
        return []
    patterns = part.get("patternProperties")
    patterns = [p for p in patterns if isinstance(p, str)] if isinstance(patterns, Mapping) else []
    closed = part.get("additionalProperties") is False or (
        part.get("unevaluatedProperties") is False
        and not any(word in part for word in ("allOf", "anyOf", "oneOf", "$ref", "if"))
    )
    found = []
    at = where or "the top level"
    for name in required:
        if not isinstance(name, str) or name in listed or _matches(patterns, name):
            continue
        meant = get_close_matches(name, [str(p) for p in listed], n=1, cutoff=0.75)
        guess = f" (did you mean {meant[0]!r}?)" if meant else ""
        if closed:
            found.append((
                f"The output schema of '{node}' at {at} requires {name!r}, which its "
                f"properties do not list{guess} and its additionalProperties: false forbids, "
                f"so {_FAILS if must else _PART}; add it to properties, or fix the name in "
                "required.",
                must,
            ))  # fmt: skip
        elif meant:
            besides = (
                f"besides {meant[0]!r}"
                if meant[0] in required
                else f"and may leave {meant[0]!r} out"
            )
            found.append((
                f"The output schema of '{node}' at {at} requires {name!r}, which its "
                f"properties do not list; did you mean {meant[0]!r}? As written, a reply must "
                f"hold {name!r} (of any type) {besides}; fix the name in required.",
                False,
            ))  # fmt: skip
    return found


def _no_number_between(part: Mapping[str, Any]) -> str | None:
    """What a number-typed ``part`` asks for in words (``an integer above 1 (exclusiveMinimum)
    and below 2 (exclusiveMaximum)``) when no number of its type and ``multipleOf`` lies within
    its bounds, though they do not cross as ``minimum`` above ``maximum`` does (said apart);
    else ``None``. Decimals count as written, as :mod:`irgraph.ir.outputs` checks them.

    >>> _no_number_between({"type": "number", "exclusiveMinimum": 5, "maximum": 5})
    'a number above 5 (exclusiveMinimum) and at most 5 (maximum)'
    >>> _no_number_between({"type": "integer", "minimum": 1.5, "maximum": 1.9}) is not None
    True
    >>> _no_number_between({"type": "number", "minimum": 0.1, "maximum": 0.3, "multipleOf": 0.2})
    """
    types = part.get("type")
    types = [types] if isinstance(types, str) else types
    if not isinstance(types, list) or not types or not set(types) <= {"integer", "number"}:
        return None  # a value of another type is not bounded: it passes
    lows = [(k, part[k]) for k in ("minimum", "exclusiveMinimum") if _finite(part.get(k))]
    highs = [(k, part[k]) for k in ("maximum", "exclusiveMaximum") if _finite(part.get(k))]
    if not lows or not highs:
        return None
    from fractions import Fraction  # here: it loads decimal, ~3 ms of every import irgraph

    step = part.get("multipleOf")
    step = Fraction(repr(step)) if _finite(step) and step > 0 else None

    if [k for k, _ in lows + highs] == ["minimum", "maximum"] and lows[0][1] > highs[0][1]:
        return None  # the crossed bounds are told as such
    if types == ["integer"]:
        step = step if step is not None and step.denominator == 1 else (None if step else 1)
        if step is None:  # a fractional step of integers: beyond what this looks at
            return None
    if step is None:
        low, high = (
            max(Fraction(repr(v)) for _, v in lows),
            min(Fraction(repr(v)) for _, v in highs),
        )
        shut = any(k.startswith("exclusive") and Fraction(repr(v)) in (low, high)
                   for k, v in lows + highs)  # fmt: skip
        if low < high or (low == high and not shut):
            return None
    else:
        first = max(
            math.ceil(Fraction(repr(v)) / step) if k == "minimum"
            else math.floor(Fraction(repr(v)) / step) + 1
            for k, v in lows
        )  # fmt: skip
        last = min(
            math.floor(Fraction(repr(v)) / step) if k == "maximum"
            else math.ceil(Fraction(repr(v)) / step) - 1
            for k, v in highs
        )  # fmt: skip
        if first <= last:
            return None
    what = {"integer": "an integer", "number": "a number"}[
        types[0] if len(types) == 1 else "number"
    ]
    if "multipleOf" in part and step is not None and step != 1:
        what = f"a multiple of {part['multipleOf']!r}"
    words = {"minimum": "at least", "exclusiveMinimum": "above", "maximum": "at most",
             "exclusiveMaximum": "below"}  # fmt: skip
    said = [f"{words[k]} {v!r} ({k})" for k, v in lows + highs]
    return f"{what} {' and '.join(said)}"


def _required_nothing(
    part: Mapping[str, Any], where: str, node: str, must: bool
) -> list[tuple[str, bool]]:
    """The parts of ``part`` a reply must hold (a required property, the items of an array
    of ``minItems`` 1 or more) whose schema allows no value at all, as the whole schema's own
    such mistake is told: no reply can match ``part``, which fails every reply when every reply
    ``must`` match ``part`` and be an object (an array)."""
    never = "whose schema allows no value at all (its types, enum or const never meet)"
    at = where or "the top level"
    found = []
    listed, required = part.get("properties"), part.get("required")
    if isinstance(listed, Mapping) and isinstance(required, list):
        certain = must and _only(part, ("object",))
        for name in dict.fromkeys(n for n in required if isinstance(n, str)):
            if allows_nothing(listed.get(name)):
                found.append((
                    f"The output schema of '{node}' at {at} requires {name!r}, {never}, "
                    f"so {_FAILS if certain else _PART}; fix the schema of {name!r}.",
                    certain,
                ))  # fmt: skip
    least = part.get("minItems")
    if _number(least) and least >= 1 and allows_nothing(part.get("items")):
        certain = must and _only(part, ("array",))
        found.append((
            f"The output schema of '{node}' at {at} asks for at least {least} "
            f"item{'' if least == 1 else 's'} (minItems), {never}, so "
            f"{_FAILS if certain else _PART}; fix the schema of its items.",
            certain,
        ))  # fmt: skip
    return found


def _matches(patterns: list[str], name: str) -> bool:
    """Whether a ``patternProperties`` pattern takes ``name`` (one that is no Python regex is
    taken to match: the schema's own validator will say what it makes of it)."""
    for pattern in patterns:
        try:
            if re.search(pattern, name):
                return True
        except re.error:
            return True
    return False
