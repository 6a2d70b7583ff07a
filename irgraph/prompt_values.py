"""What a template's reads render as: a key's value as text (:func:`as_text`), a field of a
key (``{verdict.reason}``), and why a read cannot be rendered (``None``, a missing field).

A template that reads a field reads the whole key (``verdict``: the node's reads name it, its
data edge comes from its writer) and renders the field's value as a whole key's value is
rendered (:func:`as_text`: JSON for an object or a list). A required field
(``{verdict.reason}``) that the value lacks, or that holds ``None``, fails the node with a
``ValueError`` naming the template, the key, the field and what the value holds (the backend
names the node): the same rule as a required key, whose ``None`` means no value. An optional
one (``{verdict.reason?}``) renders as empty text when the key is unset or ``None``, or the
field is missing or ``None``. A value on the way that is no object (text, a list, a pydantic
model a step returned instead of its JSON) fails the node either way: that is a mistake in
the pipeline, not a missing value.

>>> from irgraph.templates import parse_template
>>> path_filled(parse_template("Fix: {v.reason} ({v.tags?})"), {"v": {"reason": "typo"}})[0]
'Fix: typo ()'
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

__all__ = [
    "as_text",
    "none_message",
    "path_filled",
    "path_values",
    "path_render",
    "missing_field_message",
    "read_field",
    "held_keys",
    "is_model",
    "is_object_text",
    "short_repr",
]


class Template(Protocol):
    """What this module reads of an :class:`irgraph.templates.Template` (which imports it)."""

    @property
    def parts(self) -> tuple[tuple[str, str | None, bool], ...]: ...
    @property
    def reads(self) -> tuple[str, ...]: ...
    @property
    def optional_reads(self) -> tuple[str, ...]: ...
    @property
    def where(self) -> str: ...


def as_text(value: Any) -> str:
    """How a state value reads in a prompt: a structured value (dict, list, tuple, or a
    pydantic model a step returned, whose ``str()`` is Python's ``a='x' b=1``) as JSON text,
    anything else as ``str(value)``.

    >>> as_text({"category": "bug", "tags": ["ui"]}), as_text(["a", "b"]), as_text(3)
    ('{"category": "bug", "tags": ["ui"]}', '["a", "b"]', '3')
    """
    if isinstance(value, (dict, list, tuple)) or is_model(value):
        try:
            return json.dumps(value, ensure_ascii=False, default=_json_default)
        except (TypeError, ValueError):  # a circular structure: Python's own text
            return str(value)
    return str(value)


def _json_default(value: Any) -> Any:
    """What ``json.dumps`` writes for a value JSON has no form of: a pydantic model's JSON
    data, anything else's ``str()`` (a date as ``2024-01-01``)."""
    if is_model(value):
        try:
            return value.model_dump(mode="json")
        except Exception:  # a model_dump that is not pydantic's, or fails: Python's own text
            return str(value)
    return str(value)


def none_message(key: str) -> str:
    """Why a required ``{key}`` holding ``None`` cannot be rendered, and the two fixes."""
    return (
        f"the state holds None for '{key}', which the template requires as {{{key}}}; None "
        f"means no value. Give '{key}' a value, or write {{{key}?}} to make it optional "
        "(an optional key holding None renders as empty text)"
    )


def path_values(template: Template, state: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`irgraph.templates.template_values` of a template with field reads: the whole
    value of each key it reads (required first, then the optional ones that are set)."""
    values: dict[str, Any] = {}
    for key in template.reads:
        value = state[key]
        if value is None:
            raise ValueError(_none_read(template, key))
        values[key] = value
    for key in template.optional_reads:
        if key in state:
            values[key] = state[key]
    return values


def path_render(template: Template, values: Mapping[str, Any]) -> str:
    """:func:`irgraph.templates.render`: ``template`` filled from ``values`` (a field read's
    key holding its object, :func:`path_values`)."""
    text = ""  # added up: for an instruction's few parts, quicker than a list and a join
    for literal, key, optional in template.parts:
        text += literal
        if key is None:
            continue
        if "." in key:
            value = _field(template, key, values, optional)
        else:
            value = values.get(key) if optional else values[key]
        if type(value) is str:
            text += value
        elif value is not None or not optional:
            text += as_text(value)
    return text


def path_filled(template: Template, state: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """:func:`irgraph.templates.filled` of a template with field reads."""
    values = path_values(template, state)
    return path_render(template, values), values


def _field(template: Template, path: str, values: Mapping[str, Any], optional: bool) -> Any:
    """The value at ``path`` in ``values``: ``None`` for an optional one that is not there,
    else a ``ValueError`` saying why it cannot be read."""
    value = values.get(path.partition(".")[0])
    if value is None:  # (a required key holding None was refused by path_values)
        return None
    found, fault = read_field(path, value, optional)
    if fault is not None:
        written = path + "?" if optional else path  # the read as its template writes it
        raise ValueError(_fault_message(template.where, written, *fault))
    return found


def read_field(path: str, value: Any, optional: bool) -> tuple[Any, tuple[str, str, Any] | None]:
    """The field ``path`` (``verdict.reason``) of its key's ``value``, as a template reads it:
    ``(found, None)`` (``found`` is ``None`` for an optional field that is not there), or
    ``(None, (seen, name, held))`` when the read fails: ``held``, the value at ``seen``, is
    no object, or has no field ``name`` (or ``None`` there) and the read is required.

    >>> read_field("v.a", {"a": 1}, False), read_field("v.a", "text", True)
    ((1, None), (None, ('v', 'a', 'text')))
    """
    seen, *names = path.split(".")
    for name in names:
        if not isinstance(value, Mapping):
            return None, (seen, name, value)
        if value.get(name) is None:
            return None, None if optional else (seen, name, value)
        value, seen = value[name], f"{seen}.{name}"
    return value, None


def _fault_message(where: str, path: str, seen: str, name: str, held: Any) -> str:
    """Why ``{path}`` of the ``where`` text cannot be read (:func:`read_field`'s fault;
    ``path`` as written, ``?`` and all: an optional read fails only on a value with no
    fields)."""
    if not isinstance(held, Mapping):
        return _not_an_object(where, path, seen, held)
    if name not in held:
        return missing_field_message(where, path, seen, name, held)
    return (
        f"the state holds None at '{seen}.{name}', which the {where} requires as {{{path}}}; "
        f"None means no value. Write {{{path}?}} to render it as empty text when it is missing "
        "or None"
    )


def held_keys(value: Mapping[str, Any]) -> str:
    """The keys an object holds, for a message: ``its keys: 'a', 'b'`` (at most 12), or
    ``no keys``."""
    keys = [repr(key) for key in list(value)[:12]]
    return f"its keys: {', '.join(keys)}{', ...' if len(value) > 12 else ''}" if keys else "no keys"


def missing_field_message(where: str, path: str, seen: str, name: str, value: Any) -> str:
    """Why ``{path}`` of the ``where`` text (``"instruction"``) cannot be read: the object
    at ``seen`` has no field ``name``; its keys are listed."""
    return (
        f"the {where} reads {{{path}}}, but '{seen}' has no field '{name}' ({held_keys(value)}). "
        f"Write {{{path}?}} to render it as empty text when it is missing, or give '{seen}' a "
        f"'{name}' field (in the initial state, or by an output schema that requires it on the "
        "step that writes it)"
    )


def is_model(value: Any) -> bool:
    """Whether ``value`` is a pydantic model instance (it has ``model_dump``), no JSON object."""
    return callable(getattr(value, "model_dump", None))


def is_object_text(value: Any) -> bool:
    """Whether ``value`` is the JSON text of an object, not the object."""
    return isinstance(value, str) and value.lstrip().startswith("{") and _object_text(value)


def short_repr(value: Any, width: int = 60) -> str:
    """``repr(value)``, cut to ``width`` characters."""
    shown = repr(value)
    return shown if len(shown) <= width else shown[: width - 3] + "..."


def _not_an_object(where: str, path: str, seen: str, value: Any) -> str:
    """Why ``{path}`` cannot be read when ``seen`` holds ``value``, no object."""
    kind = type(value).__name__
    if is_model(value):
        return (
            f"the {where} reads {{{path}}}, but '{seen}' holds a {kind} model, not a "
            "JSON object: a step that writes a model should return its .model_dump()"
        )
    said = f"the {where} reads {{{path}}}, but '{seen}' holds {kind} {short_repr(value)}"
    if is_object_text(value):
        return (
            f"{said}, the JSON text of an object, not the object: give the object itself "
            "(a dict in the state, --state-json on the command line), or parse the text with a "
            f"Transform that reads '{seen}'"
        )
    return f"{said}, not an object with fields; read '{seen}' whole as {{{seen}}}"


def _object_text(text: str) -> bool:
    """Whether ``text`` is the JSON text of an object."""
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def _none_read(template: Template, key: str) -> str:
    """Why a required key holding ``None`` cannot be rendered, by the first way the template
    reads it: whole (:func:`none_message`) or a field of it."""
    for _, read, optional in template.parts:
        if read is not None and not optional and read.partition(".")[0] == key:
            if read == key:
                break
            return (
                f"the state holds None for '{key}', which the {template.where} requires as "
                f"{{{read}}}; None means no value. Give '{key}' a value, or write {{{read}?}} "
                "to make it optional (an optional field renders as empty text when its key "
                "or the field is missing or None)"
            )
    return none_message(key)
