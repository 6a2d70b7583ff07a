"""What a run's records and an IR node's JSON values say when used the wrong way: an
:class:`~irgraph.events.Event` or :class:`~irgraph.events.Call` read like a dict
(``event["node"]``) or made with arguments it does not take, and a
:class:`~irgraph.ir.values.JsonObject` (an agent's settings, its output schema) changed in
place. Python's own ``TypeError`` names none of the fixes.

Each check costs nothing where the use is right: a record's fields are read as attributes
(never through ``__getitem__`` by name), a record made by irgraph binds its arguments, and a
JSON object is never written to.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from irgraph.errors import ArgumentError, a_or_an, argument_check, closest_keys

__all__ = ["checked_new", "field_item", "read_only"]

T = TypeVar("T", bound=type)


def field_item(record: tuple[Any, ...], index: Any) -> Any:
    """``record[index]`` for a position or a slice, as a tuple gives it; an
    :class:`~irgraph.errors.ArgumentError` naming the attribute to read for a field's name.

    >>> from irgraph.events import Event
    >>> Event("a", "start", 1.0)[1]
    'start'
    >>> Event("a", "start", 1.0)["node"]
    Traceback (most recent call last):
    ...
    irgraph.errors.ArgumentError: An Event is a named tuple, read by attribute: ...
    """
    if isinstance(index, str):
        kind = type(record).__name__
        fields = type(record)._fields  # type: ignore[attr-defined]
        word = kind.lower()
        if index in fields:
            meant = f"write {word}.{index}, not {word}[{index!r}]"
        else:
            near = closest_keys(index, fields, n=1)
            meant = f"{index!r} is none of its fields" + (f"; {word}.{near[0]}?" if near else "")
        raise ArgumentError(
            f"{a_or_an(kind).capitalize()} {kind} is a named tuple, read by attribute: {meant} "
            f"(its fields: {', '.join(fields)}; {word}._asdict() gives them as a dict)."
        )
    return tuple.__getitem__(record, index)


def checked_new(cls: T) -> T:
    """``cls`` (a named tuple) whose ``__new__`` raises an
    :class:`~irgraph.errors.ArgumentError` naming the call to write when its arguments do not
    bind, as :func:`~irgraph.errors.refused_calls` does for an ``__init__``: a call that binds
    pays only the wrapper's frame, and irgraph's own hot paths make records with
    ``tuple.__new__``.

    >>> from irgraph.events import Event
    >>> Event("a")
    Traceback (most recent call last):
    ...
    irgraph.errors.ArgumentError: Event() needs node, event and time, and got only node ('a'): ...
    """
    new: Callable[..., Any] = cls.__new__
    signature = inspect.signature(new)

    def shape(*args: Any, **kwargs: Any) -> None:
        """Stands for ``cls(...)``: its signature is ``__new__``'s without the class."""

    shape.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=list(signature.parameters.values())[1:]
    )
    shape.__qualname__ = shape.__name__ = cls.__name__

    def made(kind: type, *args: Any, **kwargs: Any) -> Any:
        try:
            return new(kind, *args, **kwargs)
        except TypeError as error:
            if error.__traceback__ is not None and error.__traceback__.tb_next is None:
                check = argument_check(shape, f"{cls.__name__}()")
                if check is not None:
                    try:
                        check(args, kwargs)
                    except ArgumentError as refusal:
                        raise refusal from None
            raise

    cls.__new__ = made  # type: ignore[assignment]
    return cls


def read_only(what: str) -> ArgumentError:
    """The error for a write to a :class:`~irgraph.ir.values.JsonObject`: an IR node's
    settings and output schema are frozen with the node."""
    return ArgumentError(
        f"This JSON object ({what}) is read-only: it is an IR node's settings or output "
        "schema, frozen with the node. Change it through the builder "
        "(Agent(...).settings(temperature=0.5), .output(schema)), make a changed node with "
        "attrs.evolve(node, settings={**node.settings, 'temperature': 0.5}), or take a "
        "mutable copy with .to_dict()."
    )
