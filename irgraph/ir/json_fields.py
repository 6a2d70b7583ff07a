"""A node read from IR JSON: made from its fields, and when its class refuses them, each field
it refuses found and said in the document's order.

The class checks its fields in its own order and stops at the first it refuses, so a file
whose ``timeout`` comes before a bad ``writes`` heard of ``writes`` first, and of ``timeout``
only once that was mended. Only when the node cannot be made are its fields tried one at a
time, in the class's order beside those already accepted (a check of one field may need an
earlier one, as the class's own checks do), and every refusal is put at its field's place.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs

from irgraph.errors import IrgraphError, PipelineError, Problem
from irgraph.ir.nodes import BARE_INIT, Node

__all__ = ["made_node", "refused_fields"]


def made_node(cls: type[Any], kwargs: dict[str, Any]) -> Node:
    """A ``cls`` node of ``kwargs``, fields the reader has checked the shape of (so without
    :func:`~irgraph.errors.refused_calls`' wrapper); raises what the class raises."""
    node: Node = object.__new__(cls)
    BARE_INIT[cls](node, **kwargs)
    return node


def refused_fields(
    cls: type[Any],
    kwargs: dict[str, Any],
    order: Sequence[str],
    fail: Callable[[Exception], PipelineError],
    together: Sequence[str] = (),
) -> list[tuple[int, Problem]]:
    """Each field of ``kwargs`` that ``cls`` refuses, as ``(its place in ``order``, the
    problem)``; ``fail`` makes the error said of a refusal. The fields a node cannot be made
    without (its name) are tried first, together: refused, nothing else can be tried. A
    refusal no single field makes (two fields that do not go together) is put last. Nothing is
    tried while a field the node cannot be made without is missing from ``kwargs``. The
    fields named in ``together`` (a route's branches and their cases, which go in pairs) are
    tried as one, at the first one's place: alone, each would be told of a count that only
    looks wrong."""
    required = [a.name for a in attrs.fields(cls) if a.default is attrs.NOTHING and a.init]
    if not all(name in kwargs for name in required):
        return []  # missing, or its shape refused: said by the reader, nothing can be tried
    accepted = {name: kwargs[name] for name in required}
    found: list[tuple[int, Problem]] = []
    try:
        made_node(cls, accepted)
    except (IrgraphError, TypeError, ValueError) as exc:
        place = min((order.index(name) for name in accepted), default=len(order))
        return [(place, problem) for problem in fail(exc).problems]
    tried: set[str] = set()
    for field in attrs.fields(cls):
        name = field.name
        if name in accepted or name in tried or name not in kwargs:
            continue
        names = [n for n in together if n in kwargs] if name in together else [name]
        tried.update(names)
        some = {n: kwargs[n] for n in names}
        try:
            made_node(cls, {**accepted, **some})
        except (IrgraphError, TypeError, ValueError) as exc:
            place = min(order.index(n) if n in order else len(order) for n in names)
            found += [(place, problem) for problem in fail(exc).problems]
        else:
            accepted.update(some)
    if not found and len(accepted) == len(kwargs):
        try:
            made_node(cls, kwargs)
        except (IrgraphError, TypeError, ValueError) as exc:
            found += [(len(order), problem) for problem in fail(exc).problems]
    return found
