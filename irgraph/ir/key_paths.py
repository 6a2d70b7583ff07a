"""A route's ``on``: a state key, or a field of one (``"verdict.category"``).

An agent with ``.output(schema)`` often writes an object (a category and a reason, say), and a
route picks its branch by one field of it. ``Route(name).on("verdict.category")`` compares the
field ``category`` of the object in the key ``verdict``; the route reads ``verdict``, and its
values are checked against the field's schema. A value that is no object, or an object without
the field, is *not set* for the route: its ``otherwise`` runs, or the run fails naming it. A
pydantic model on the way (a step returned the model, not its JSON) is no object either, but
routes and loops refuse it (:func:`model_reason`) rather than take it as not set.

>>> is_key_path("verdict.category"), is_key_path("verdict"), is_key_path("a..b")
(True, True, False)
>>> path_root("verdict.category"), path_fields("verdict.category")
('verdict', ('category',))
>>> path_value({"verdict": {"category": "bug"}}, "verdict.category")
(True, 'bug')
>>> path_value({"verdict": "bug"}, "verdict.category")
(False, None)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from irgraph import checks
from irgraph.errors import PipelineError

__all__ = [
    "is_key_path",
    "path_root",
    "path_fields",
    "held_at",
    "path_value",
    "field_schema",
    "field_lacking",
    "object_schema",
    "unset_reason",
    "model_reason",
    "stop_unreadable",
    "not_an_object",
    "optional_key_path",
    "KEY_PATH",
    "json_pointer",
]


def is_key_path(value: Any) -> bool:
    """Whether ``value`` is a state key, or one followed by ``.field`` names (each a key)."""
    return isinstance(value, str) and all(map(checks.is_key, value.split(".")))


def path_root(on: str) -> str:
    """The state key a path reads (``"verdict"`` of ``"verdict.category"``)."""
    return on.partition(".")[0]


def path_fields(on: str) -> tuple[str, ...]:
    """The fields a path looks into, outermost first (none for a plain key)."""
    return tuple(on.split(".")[1:])


def held_at(on: str, value: Any) -> Any:
    """A value of the key ``on`` reads that holds ``value`` at its fields: what an example of
    the state gives the key (``value`` itself for a plain key).

    >>> held_at("plan.topics", ["a"]), held_at("plan", ["a"])
    ({'topics': ['a']}, ['a'])
    """
    for name in reversed(path_fields(on)):
        value = {name: value}
    return value


def path_value(state: Mapping[str, Any], on: str) -> tuple[bool, Any]:
    """``(True, value)`` of the path ``on`` in ``state``, or ``(False, None)`` when the key is
    not set, or a value on the way is no object holding the next field."""
    if "." not in on:  # a plain key: the common case, one lookup
        return (True, state[on]) if on in state else (False, None)
    value: Any = state
    for name in on.split("."):
        if not isinstance(value, Mapping) or name not in value:
            return False, None
        value = value[name]
    return True, value


def unset_reason(state: Mapping[str, Any], on: str) -> str:
    """Why the path ``on`` holds nothing in ``state``, for a message: the key is not set, or
    which value has no such field."""
    root = path_root(on)
    if root not in state:
        return "nothing (the key is not set)" if "." not in on else f"nothing ('{root}' is not set)"
    if (model := model_reason(state, on)) is not None:
        return f"nothing ({model})"
    value, seen = state[root], root
    for name in path_fields(on):
        if not isinstance(value, Mapping):
            return f"nothing ('{seen}' holds {type(value).__name__}, not an object)"
        if name not in value:
            return f"nothing ('{seen}' has no field '{name}')"
        value, seen = value[name], f"{seen}.{name}"
    return "nothing"  # pragma: no cover - the path holds a value


def model_reason(state: Mapping[str, Any], on: str) -> str | None:
    """Why the path ``on`` cannot be read in ``state`` when a value on its way is a pydantic
    model instance (a step returned the model, not its JSON), with the fix; else ``None``.
    Routes and loops compare JSON values, so they refuse a model rather than read it as
    holding nothing (an ``otherwise`` taken, a loop that never stops, silently).

    >>> model_reason({"v": {"a": 1}}, "v.a") is None
    True
    """
    value: Any = state
    names = on.split(".")
    for depth, name in enumerate(names):
        if not isinstance(value, Mapping):
            if depth and callable(getattr(value, "model_dump", None)):
                seen = ".".join(names[:depth])
                return (
                    f"'{seen}' holds a {type(value).__name__} model, not a JSON object: a step "
                    "that writes a model should return its .model_dump()"
                )
            return None
        if name not in value:
            return None
        value = value[name]
    return None


def stop_unreadable(loop: str, on: str, model: str) -> str:
    """What a run says when loop ``loop``'s stop ``on`` meets a model (``model``: its
    :func:`model_reason`)."""
    return f"Loop '{loop}' stops on '{on}', but {model}; else the loop would never stop."


def field_schema(schema: Any, fields: tuple[str, ...]) -> Any:
    """The schema of the value at ``fields`` inside a value of ``schema``: through
    ``properties`` (and ``additionalProperties``) and local ``$ref``\\ s, keeping the schema's
    definitions so the field's own ``$ref``\\ s resolve. ``"missing"`` when the schema declares
    no such field (or its value is no object), ``None`` when it cannot say (an ``anyOf``...).

    >>> field_schema({"properties": {"a": {"enum": [1]}}}, ("a",))
    {'enum': [1]}
    >>> field_schema({"properties": {"a": {}}}, ("b",)), field_schema({"anyOf": []}, ("b",))
    ('missing', None)
    """
    defs = {k: schema[k] for k in _DEFS if isinstance(schema, dict) and k in schema}
    schema = _field(schema, fields, defs)
    if isinstance(schema, dict) and defs:
        return {**defs, **schema}
    return schema


def _field(schema: Any, fields: tuple[str, ...], defs: dict[str, Any]) -> Any:
    """:func:`field_schema` with the definitions ``defs`` of the whole schema apart."""
    for at, name in enumerate(fields):
        schema = _object_branch(_resolved(schema, defs), defs)
        if (branches := _union(schema, defs)) is not None:  # a pydantic Union of models
            found = [_field(branch, fields[at:], defs) for branch in branches]
            kept = [one for one in found if one != "missing"]
            if not kept or None in kept:
                return None if kept else "missing"
            return kept[0] if len(kept) == 1 else {"anyOf": kept}
        if not isinstance(schema, dict):
            return None
        properties = schema.get("properties")
        if isinstance(properties, dict) and name in properties:
            schema = properties[name]
            continue
        if _combined(schema) or schema.get("patternProperties"):
            return None
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            schema = extra
            continue
        if isinstance(properties, dict) or not_an_object(schema):
            return "missing"
        return None
    return _resolved(schema, defs)


_DEFS = ("$defs", "definitions")
#: The keywords a ``$ref`` may stand beside and still be the whole schema: notes, and
#: definitions (which check nothing themselves).
_BESIDE_REF = frozenset({"$ref", "description", "title", "$schema", *_DEFS})


def not_an_object(schema: Any) -> str | None:
    """The JSON type ``schema`` gives its values when that is never an object (``"string"``,
    ``"array"``...), else ``None``."""
    kind = schema.get("type") if isinstance(schema, dict) else None
    kinds = [kind] if isinstance(kind, str) else kind if isinstance(kind, list) else []
    if kinds and "object" not in kinds:
        return " or ".join(kinds)
    if isinstance(schema, dict) and "enum" in schema and not _combined(schema):
        values = schema["enum"] if isinstance(schema["enum"], list) else []
        if values and not any(isinstance(value, dict) for value in values):
            return "one of its enum values"
    return None


def field_lacking(schema: Any, fields: tuple[str, ...]) -> str | None:
    """Why a value of ``schema`` may hold nothing at ``fields``, in words (``"'category' is
    not required"``, ``"'inner' may be null"``), or ``None`` when every value holds it (or the
    schema cannot say).

    >>> field_lacking({"properties": {"a": {}}}, ("a",))
    "'a' is not required"
    >>> print(field_lacking({"properties": {"a": {}}, "required": ["a"]}, ("a",)))
    None
    """
    defs = {k: schema[k] for k in _DEFS if isinstance(schema, dict) and k in schema}
    return _lacking(schema, fields, defs, "")


def _lacking(schema: Any, fields: tuple[str, ...], defs: dict[str, Any], outer: str) -> str | None:
    """:func:`field_lacking` with the definitions ``defs`` apart, ``outer`` being the field
    that holds ``schema`` (``""`` for the whole value)."""
    for depth, name in enumerate(fields):
        schema = _resolved(schema, defs)
        holder = _object_branch(schema, defs)
        outer = fields[depth - 1] if depth else outer
        branches = _union(holder, defs)
        every = branches if branches is not None else [holder]
        if outer and (holder is not schema or len(every) < len(_branches(holder))):
            return f"'{outer}' may be null"  # Optional[Model]: null, or an object
        if branches is not None:  # a Union of models: each must hold the field
            for branch in branches:
                if _field(branch, fields[depth:], defs) == "missing":
                    return f"'{name}' is in only some of the objects '{outer}' may hold"
                if (why := _lacking(branch, fields[depth:], defs, outer)) is not None:
                    return why
            return None
        if not isinstance(holder, dict) or not isinstance(holder.get("properties"), dict):
            return None
        if name not in holder.get("required", []):
            return f"'{name}' is not required"
        schema = holder["properties"].get(name)
    return None


def object_schema(schema: Any, fields: tuple[str, ...]) -> Any:
    """The schema of the value at ``fields`` with its ``$ref`` followed and, when it may be
    null too (``Optional[Model]``), its object branch taken: where its fields are listed."""
    defs = {k: schema[k] for k in _DEFS if isinstance(schema, dict) and k in schema}
    found = field_schema(schema, fields)
    if not isinstance(found, dict):
        return found
    bare = _object_branch(_resolved({k: v for k, v in found.items() if k not in _DEFS}, defs), defs)
    branches = _union(bare, defs)
    if branches is not None:  # a Union of models: the fields of any of them
        fields_of = [b.get("properties") for b in branches if isinstance(b.get("properties"), dict)]
        return {"type": "object", "properties": {k: v for one in fields_of for k, v in one.items()}}
    return bare


_NOTES = {"description", "title", "default", "examples"}


def _object_branch(schema: Any, defs: dict[str, Any]) -> Any:
    """The one branch of an ``anyOf`` (or ``oneOf``) that may be an object, the others being
    no object (``Optional[Model]``: the model, or null); else ``schema`` itself."""
    if not isinstance(schema, dict) or len(set(schema) - _NOTES) != 1:
        return schema
    branches = schema.get("anyOf", schema.get("oneOf"))
    if not isinstance(branches, list):
        return schema
    kept = [b for b in (_resolved(b, defs) for b in branches) if not_an_object(b) is None]
    return kept[0] if len(kept) == 1 and isinstance(kept[0], dict) else schema


def _branches(schema: Any) -> list[Any]:
    """The branches of ``schema`` when it is an ``anyOf`` (or ``oneOf``), else ``[schema]``."""
    found = schema.get("anyOf", schema.get("oneOf")) if isinstance(schema, dict) else None
    return found if isinstance(found, list) else [schema]


def _union(schema: Any, defs: dict[str, Any]) -> list[Any] | None:
    """The branches of an ``anyOf`` (or ``oneOf``) of which two or more may be objects (each
    with its fields), or ``None`` when ``schema`` is no such union."""
    if not isinstance(schema, dict) or len(set(schema) - _NOTES - {"discriminator"}) != 1:
        return None
    branches = schema.get("anyOf", schema.get("oneOf"))
    if not isinstance(branches, list):
        return None
    kept = [b for b in (_resolved(b, defs) for b in branches) if not_an_object(b) is None]
    return kept if len(kept) > 1 and all(isinstance(b, dict) for b in kept) else None


def _combined(schema: dict[str, Any]) -> bool:
    return any(word in schema for word in ("allOf", "anyOf", "oneOf", "if", "$ref"))


def _resolved(schema: Any, defs: dict[str, Any]) -> Any:
    """``schema`` with a local ``$ref`` (``#/$defs/Name``) followed, a few levels deep; also
    beside the definitions it refers to, as pydantic writes a recursive model's whole schema
    (``{"$defs": {...}, "$ref": "#/$defs/Tree"}``)."""
    for _ in range(8):
        if not isinstance(schema, dict) or set(schema) - _BESIDE_REF:
            return schema
        ref = schema.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#/"):
            return schema
        schema = json_pointer(defs, ref[1:])
        if schema is None:
            return None
    return None


def json_pointer(root: Any, pointer: str) -> Any:
    """What the JSON pointer ``pointer`` names in ``root``, or ``None``: ``""`` the root,
    ``/$defs/a~1b`` the definition ``a/b``; percent-escapes are read as in a ``$ref``'s URI
    fragment (``/$defs/a%20b``).

    >>> defs = {"$defs": {"a/b": 1, "c d": 2}}
    >>> json_pointer(defs, "/$defs/a~1b"), json_pointer(defs, "/$defs/c%20d")
    (1, 2)
    >>> json_pointer({"items": [{"x": 3}]}, "/items/0/x"), json_pointer({}, "/nothing")
    (3, None)
    """
    found = root
    for token in pointer.split("/")[1:] if pointer else ():
        if "%" in token:
            from urllib.parse import unquote  # only an escaped pointer needs it

            token = unquote(token)
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(found, Mapping) and token in found:
            found = found[token]
        elif isinstance(found, list) and token.isdigit() and int(token) < len(found):
            found = found[int(token)]
        else:
            return None
    return found


#: The rule of a key or a key and its fields, as a builder method's argument.
KEY_PATH = attrs.evolve(
    checks.key,
    expected=f"{checks.key.expected}, or a key and its fields ('verdict.category')",
    test=is_key_path,
)


def _optional_key_path_validator(instance: Any, attribute: Any, value: Any) -> None:
    if value is None or is_key_path(value):
        return
    node = getattr(instance, "name", None)
    raise PipelineError(
        f"The {attribute.name} of {type(instance).__name__} {node!r} must be a state key, or "
        f"a key and its fields ('verdict.category') (got {value!r}).",
        node=node if isinstance(node, str) else None,
        hint="Use a key such as 'category', or 'verdict.category' for a field of an object.",
    )


optional_key_path = _optional_key_path_validator
