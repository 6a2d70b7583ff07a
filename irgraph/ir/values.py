"""JSON values inside frozen IR nodes: an agent's model settings and its output schema.

IR nodes are hashable plain data, but settings and schemas are JSON objects. A
:class:`JsonObject` is a read-only mapping of JSON-native data, equal to a dict with the same
content and hashed by its canonical JSON text, so a node holding one stays hashable and its
value still reads like a dict. :func:`is_json` is the one rule for a JSON-native value (no
tuples passed off as lists, no NaN, no non-string keys), so what the IR holds is exactly what
its JSON file, its graph and a Prefect cache key hold.

>>> settings = JsonObject({"temperature": 0.2, "stop": ["\\n"]})
>>> settings["temperature"], settings == {"stop": ["\\n"], "temperature": 0.2}
(0.2, True)
>>> hash(settings) == hash(JsonObject({"stop": ["\\n"], "temperature": 0.2}))
True
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from typing import Any

from irgraph.errors import ArgumentError
from irgraph.record_mistakes import read_only

__all__ = [
    "JsonObject",
    "is_json",
    "canonical",
    "enum_value",
    "json_problem",
    "kept_value",
    "loosely_spells",
    "numbers_by_value",
    "plain",
    "respells",
    "same_value",
    "ValueIndex",
    "ValueKeys",
    "distinct_values",
]


def json_problem(value: Any, path: str = "") -> str | None:
    """Where and why ``value`` is not JSON-native data, or ``None`` when it is."""
    if value is None or isinstance(value, (str, bool, int)):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{path or 'the value'} is {value!r}"
    if isinstance(value, list):
        for index, item in enumerate(value):
            problem = json_problem(item, f"{path}[{index}]")
            if problem:
                return problem
        return None
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{path or 'the object'} has the non-string key {key!r}"
            problem = json_problem(item, f"{path}.{key}" if path else key)
            if problem:
                return problem
        return None
    return f"{path or 'the value'} is a {type(value).__name__} ({value!r})"


def plain(value: Any) -> Any:
    """A copy of JSON-native ``value`` made of the builtin types alone: a member of a
    ``str`` or ``int`` enum, or any other subclass of them, becomes the string or number it
    is, so that what the IR holds is plain data to every tool (``yaml.safe_dump``, a Prefect
    cache key), as its JSON file says. Anything else is returned as it is, for the caller's
    check to name.

    >>> import enum
    >>> Kind = enum.Enum("Kind", {"BUG": "bug"}, type=str)
    >>> plain({"enum": [Kind.BUG, 1]}), type(plain(Kind.BUG))
    ({'enum': ['bug', 1]}, <class 'str'>)
    """
    if value is None or type(value) in (str, int, float, bool):
        return value
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int.__index__(value)
    if isinstance(value, float):
        return float.__float__(value)
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, Mapping):
        return {key if type(key) is str else plain(key): plain(item) for key, item in value.items()}
    return value


def enum_value(value: Any) -> Any:
    """The value of a member of a plain ``enum.Enum`` (not a ``str`` or ``int`` one, which
    :func:`plain` takes) when it is a JSON scalar, as pydantic writes an enum field in JSON;
    anything else as it is. So a route or a loop compares a state value with ``Severity.HIGH``
    as with ``"high"``, the value a structured answer holds.

    >>> import enum
    >>> Severity = enum.Enum("Severity", {"HIGH": "high"})
    >>> enum_value(Severity.HIGH), enum_value("high")
    ('high', 'high')
    """
    import enum

    if isinstance(value, enum.Enum) and not isinstance(value, (str, int)):
        inner = value.value
        if inner is None or (isinstance(inner, (str, int, float)) and is_json(inner)):
            return plain(inner)
    return value


class NotJsonNumber(ValueError):
    """``NaN``, ``Infinity`` or ``-Infinity``: Python's JSON reads them, JSON has none."""


def refuse_constant(name: str) -> Any:
    """``json.loads``'s ``parse_constant``: refuse ``NaN`` and the infinities."""
    raise NotJsonNumber(name)


def is_json(value: Any) -> bool:
    """Whether ``value`` is JSON-native data: None, bool, int, finite float, str, and lists
    and str-keyed dicts of them.

    >>> is_json({"a": [1, 2.5, None]}), is_json({"a": (1, 2)}), is_json(float("nan"))
    (True, False, False)
    """
    return json_problem(value) is None


def canonical(value: Any) -> str:
    """The canonical JSON text of ``value``: sorted keys, no spaces, so equal values give
    equal text (a cache key, a hash)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def same_value(a: Any, b: Any) -> bool:
    """Whether two values are equal as JSON values: numbers by value (``1 == 1.0``) but a
    boolean is never a number (``True != 1``), which is how routes and ``until(equals=)``
    compare.

    >>> same_value(1, 1.0), same_value(True, 1), same_value("bug", "bug")
    (True, False, True)
    """
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    try:
        return bool(a == b)
    except Exception:  # a value whose == raises cannot equal a JSON value
        return False


_SCALARS = (str, int, float, type(None))


class ValueKeys:
    """A hashable key per value, equal keys for values :func:`same_value` says are equal: a
    text, number or ``None`` keyed by itself (``True`` apart from ``1``), a list or object by
    the first equal one met (compared with each met before).

    >>> keys = ValueKeys()
    >>> keys.of(1) == keys.of(1.0), keys.of(True) == keys.of(1), keys.of([1]) == keys.of([1.0])
    (True, False, True)
    """

    __slots__ = ("_others",)

    def __init__(self) -> None:
        self._others: list[Any] = []

    def of(self, value: Any) -> Any:
        """The key of ``value``."""
        if isinstance(value, _SCALARS):
            return (type(value) is bool, value)
        for index, other in enumerate(self._others):
            if same_value(value, other):
                return ("list or object", index)
        self._others.append(value)
        return ("list or object", len(self._others) - 1)


class ValueIndex:
    """Values as :func:`same_value` compares them (by their :class:`ValueKeys`), each with the
    item first kept under it: found by hash, where comparing with every value kept made a route
    of many cases quadratic to check.

    >>> index = ValueIndex()
    >>> index.add(1, "one"), index.add(1.0, "again"), index.get(1.0), index.get(True)
    ('one', 'one', 'one', None)
    """

    __slots__ = ("_kept", "_keys")

    def __init__(self) -> None:
        self._keys = ValueKeys()
        self._kept: dict[Any, Any] = {}

    def items(self) -> tuple[Any, ...]:
        """The items kept, in the order they were."""
        return tuple(self._kept.values())

    def get(self, value: Any) -> Any:
        """The item kept under a value equal to ``value``, else ``None``."""
        return self._kept.get(self._keys.of(value))

    def add(self, value: Any, item: Any) -> Any:
        """Keep ``item`` (not ``None``) under ``value`` unless a value equal to it is kept;
        the item kept."""
        return self._kept.setdefault(self._keys.of(value), item)


def distinct_values(values: Iterable[Any]) -> list[Any]:
    """``values`` in order, each once as :func:`same_value` compares them (the first kept).

    >>> distinct_values([1, "a", 1.0, True, "a", [1]])
    [1, 'a', True, [1]]
    """
    index, out = ValueIndex(), list[Any]()
    for value in values:
        if index.add(value, len(out)) == len(out):  # its own place: not seen before
            out.append(value)
    return out


def respells(value: Any, other: Any) -> bool:
    """Whether ``value`` is ``other`` written the other way: the text of its JSON (``"true"``
    for ``True``, ``"1"`` for ``1``), or the value that text is; a route or a loop's stop
    compares JSON values, so the two never equal.

    >>> respells("true", True), respells(1, "1"), respells("yes", True), respells(1, 1)
    (True, True, False, False)
    """
    if isinstance(value, str) and not isinstance(other, str):
        return value == canonical(other)
    return isinstance(other, str) and not isinstance(value, str) and other == canonical(value)


def loosely_spells(value: Any, other: Any) -> bool:
    """Whether the text ``value`` is the text ``other`` but for case, surrounding white
    space, quotes or an ending full stop (``"Bug."`` for ``"bug"``): how a model's free-text
    answer misses the value a route or a loop's stop compares with.

    >>> loosely_spells("Bug.", "bug"), loosely_spells(' "bug" ', "bug")
    (True, True)
    >>> loosely_spells("bug", "bug")
    False
    >>> loosely_spells("bugs", "bug"), loosely_spells("", "."), loosely_spells(1, "1")
    (False, False, False)
    """
    if not isinstance(value, str) or not isinstance(other, str) or value == other:
        return False
    return bool(_loose(value)) and _loose(value) == _loose(other)


def _loose(text: str) -> str:
    return text.strip().strip("\"'`*.!").strip().casefold()


def numbers_by_value(value: Any) -> Any:
    """``value`` (JSON data) with every whole number an integer (``1.0`` as ``1``), as a run
    compares numbers: what a pipeline's digest hashes, so that ``when(1.0)`` and ``when(1)``
    name one pipeline. A boolean stays one (``True`` is never ``1`` to a run).

    >>> numbers_by_value({"when": [1.0, 2.5, True]})
    {'when': [1, 2.5, True]}
    """
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: numbers_by_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [numbers_by_value(item) for item in value]
    return value


def json_key(value: Any) -> Any:
    """``value`` as JSON values compare it, for ``==`` and ``hash``: a boolean is never a
    number (``True != 1`` as :func:`same_value` says), nested lists and objects likewise.

    >>> json_key(1) == json_key(1.0), json_key(True) == json_key(1)
    (True, False)
    """
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, Mapping):
        return ("object", tuple(sorted((str(k), json_key(v)) for k, v in value.items())))
    if isinstance(value, (list, tuple)):
        return ("array", tuple(json_key(v) for v in value))
    return ("value", value)


class JsonObject(Mapping[str, Any]):
    """A read-only JSON object. Reading a nested list or object gives a copy, so the frozen
    value cannot be changed through it."""

    __slots__ = ("_data", "_text")

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        if isinstance(data, JsonObject):
            self._data: dict[str, Any] = data._data
            self._text: str = data._text
            return
        if not data:  # every agent without settings holds one: skip the copy and the dump
            self._data = {}
            self._text = "{}"
            return
        if not isinstance(data, Mapping):
            raise ArgumentError(
                f"A JsonObject is made from a dict of JSON data (got {data!r} of type "
                f"{type(data).__name__})."
            )
        given = dict(data)
        problem = json_problem(given)
        if problem is not None:
            raise ValueError(f"not JSON data: {problem}")
        self._data = plain(given)  # a copy, of builtin types alone
        self._text = canonical(self._data)

    def __getitem__(self, key: str) -> Any:
        value = self._data[key]
        return copy.deepcopy(value) if isinstance(value, (list, dict)) else value

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return hash(self._text)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, JsonObject):
            return self._text == other._text
        if isinstance(other, Mapping):
            return is_json(dict(other)) and canonical(dict(other)) == self._text
        return NotImplemented

    def __repr__(self) -> str:
        return repr(self._data)

    def __setitem__(self, key: str, value: Any) -> None:
        raise read_only(f"{key!r} set to {value!r}")

    def __delitem__(self, key: str) -> None:
        raise read_only(f"{key!r} deleted")

    @property
    def text(self) -> str:
        """The canonical JSON text."""
        return self._text

    def to_dict(self) -> dict[str, Any]:
        """A plain, mutable deep copy."""
        return copy.deepcopy(self._data) if self._data else {}


def kept_value(value: Any, node: str) -> Any:
    """``value``, which transform ``node`` returned, for a state key to keep; a ``TypeError``
    when it is an iterator (a generator, ``map(...)``, ``zip(...)``), which a key cannot keep:
    the first step to read it would use it up, and a prompt shows ``<generator object ...>``.

    >>> kept_value([1, 2], "split")
    [1, 2]
    >>> kept_value(map(str, [1]), "split")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    TypeError: transform 'split' returned a map object, which can be read only once, ...
    """
    if isinstance(value, (Iterator, AsyncIterator)):
        raise TypeError(
            f"transform {node!r} returned a {type(value).__name__} object, which can be read "
            "only once, not a value a state key keeps for the steps after it; return a list "
            "of it instead, e.g. list(...)."
        )
    return value
