"""A pydantic output model's validators, which irgraph does not run: told once, where it is given.

``.output(Model)`` keeps only ``Model.model_json_schema()``: the IR is plain data (a pipeline
saved as JSON, or a generated Prefect flow, has the schema and not the class), so a reply is
checked against the schema alone and stored as plain JSON data. A ``@field_validator``, a
``@model_validator`` or an ``AfterValidator`` annotation (in the model or a model nested in
it) says nothing in that schema, so a value it would refuse is stored as if it were fine.
:func:`warn_unchecked_validators` says so once per model, naming each validator and what to
do instead.

>>> from pydantic import BaseModel, field_validator
>>> class Even(BaseModel):
...     n: int
...     @field_validator("n")
...     @classmethod
...     def even(cls, value: int) -> int:
...         return value
>>> unchecked_validators(Even)
['Even.even (@field_validator)']
"""

from __future__ import annotations

import typing
import warnings
import weakref
from typing import Any

__all__ = ["unchecked_validators", "warn_unchecked_validators"]

#: The pydantic decorators whose checks no JSON Schema holds, by their attribute in
#: ``Model.__pydantic_decorators__`` (``validators`` and ``root_validators``: pydantic 1's).
_DECORATORS = {
    "field_validators": "@field_validator",
    "model_validators": "@model_validator",
    "validators": "@validator",
    "root_validators": "@root_validator",
}

#: The models already warned of in this process: each is said once, not once per agent.
_WARNED: weakref.WeakSet[type] = weakref.WeakSet()


def unchecked_validators(model: type[Any]) -> list[str]:
    """The validators of pydantic ``model`` and the models its fields hold, as
    ``Model.name (kind)``, in the order the models and their fields are declared."""
    found: list[str] = []
    _model(model, found, set())
    return found


def warn_unchecked_validators(model: Any, node: str, *, stacklevel: int) -> None:
    """Warn, once per model class, that agent ``node``'s output ``model`` has validators that
    will not run (a ``UserWarning`` at ``stacklevel``, counted from the caller)."""
    if not isinstance(model, type) or model in _WARNED:
        return
    found = unchecked_validators(model)
    if not found:
        return
    _WARNED.add(model)
    name = model.__qualname__
    warnings.warn(
        f"The output model of '{node}', {name}, has validators that irgraph does not run: "
        f"{', '.join(found)}. A reply is checked against {name}'s JSON Schema only and "
        "stored as a plain dict, so a value they would refuse is stored anyway. Put the rule "
        "in the schema where it can be (Field(ge=..., le=..., pattern=...), an enum, a "
        f"Literal), or check the value in a Transform after the agent with "
        f"{name}.model_validate(value).",
        UserWarning,
        stacklevel=stacklevel + 1,
    )


def _model(model: type[Any], found: list[str], seen: set[type]) -> None:
    if model in seen:
        return
    seen.add(model)
    decorators = getattr(model, "__pydantic_decorators__", None)
    name = model.__qualname__
    for attribute, kind in _DECORATORS.items():
        for function in getattr(decorators, attribute, {}) or {}:
            found.append(f"{name}.{function} ({kind})")
    for field, info in (getattr(model, "model_fields", None) or {}).items():
        for kind in _annotated(getattr(info, "metadata", ())):
            found.append(f"{name}.{field} ({kind})")
        _annotation(getattr(info, "annotation", None), f"{name}.{field}", found, seen)


def _annotation(annotation: Any, where: str, found: list[str], seen: set[type]) -> None:
    """The validators an annotation holds: an ``Annotated`` one's validators, a model's own,
    and those of every type inside it (``list[Item]``, ``Item | None``)."""
    if isinstance(annotation, type) and hasattr(annotation, "__pydantic_decorators__"):
        _model(annotation, found, seen)
        return
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is typing.Annotated:
        for kind in _annotated(args[1:]):
            found.append(f"{where} ({kind})")
        args = args[:1]
    for arg in args:
        _annotation(arg, where, found, seen)


def _annotated(metadata: Any) -> list[str]:
    """The names of the pydantic validators among an ``Annotated`` type's ``metadata``."""
    kinds = ("AfterValidator", "BeforeValidator", "WrapValidator", "PlainValidator")
    return [
        type(item).__name__
        for item in metadata
        if type(item).__name__ in kinds and type(item).__module__.startswith("pydantic")
    ]
