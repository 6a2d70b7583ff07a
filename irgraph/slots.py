"""Fill a frozen attrs class with slots field by field, through each slot's own setter.

The hot path that builds one IR node per agent (``irgraph.ir.nodes.checked_agent_node``) sets
fields this way: the class's ``__init__`` goes through ``object.__setattr__`` once per field (a
frozen class refuses plain assignment), which costs about twice as much.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

__all__ = ["slot_setters"]


def slot_setters(cls: type[Any], *fields: str) -> tuple[Callable[[Any, Any], None], ...]:
    """The setter of each of ``fields``' slots on ``cls``, in order; a field that is not a slot
    is refused at once (the caller needs slots, so it says so where it is defined).

    >>> import attrs
    >>> @attrs.frozen
    ... class Point:
    ...     x: int
    >>> (set_x,) = slot_setters(Point, "x")
    >>> p = object.__new__(Point); set_x(p, 3); p
    Point(x=3)
    """
    setters = []
    for field in fields:
        slot: Any = cls.__dict__.get(field)
        if type(slot).__name__ != "member_descriptor":
            raise TypeError(f"{cls.__name__}.{field} is not a slot; it must be set slot by slot.")
        setters.append(cast("Callable[[Any, Any], None]", slot.__set__))
    return tuple(setters)
