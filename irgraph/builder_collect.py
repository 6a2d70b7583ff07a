"""What a map-over gathers from each item when ``.collect()`` is not given: the key its body
writes last, in reading order. A body that ends with parallel branches writing different
keys has no last one, so it is refused rather than gathering one and dropping the others; so
is one ending with a route whose branches write different keys last.
"""

from __future__ import annotations

from collections.abc import Sequence

from irgraph.errors import PipelineError
from irgraph.ir import LoopNode, MapOverNode, Node, ParallelNode, RouteNode, SequenceNode

__all__ = ["default_collect", "last_write"]


def last_write(node: Node) -> str | None:
    """The key ``node`` writes last in reading order (a nested map-over counts by its list).

    >>> from irgraph import Agent
    >>> last_write((Agent("a").writes("x") >> Agent("b").writes("y")).to_ir())
    'y'
    """
    stack: list[Node] = [node]
    last: str | None = None
    order: list[Node] = []
    while stack:
        current = stack.pop()
        order.append(current)
        if isinstance(current, MapOverNode):
            continue  # a nested map-over's body keys stay inside it; only its list is visible
        stack.extend(reversed(getattr(current, "children", ())))
    for current in order:
        if isinstance(current, MapOverNode):
            last = current.writes or last
        elif not isinstance(current, (SequenceNode, ParallelNode, LoopNode, RouteNode)):
            last = current.writes or last
    return last


def default_collect(name: str, children: Sequence[Node]) -> str | None:
    """The key map-over ``name`` gathers by default: its body's last write. Refused when the
    body ends with parallel branches whose last writes differ (which one is not clear)."""
    final = children[-1]
    while isinstance(final, SequenceNode) and final.children:
        final = final.children[-1]
    if isinstance(final, ParallelNode):
        keys = list(dict.fromkeys(k for b in final.children if (k := last_write(b)) is not None))
        if len(keys) > 1:
            named = ", ".join(f"'{k}'" for k in keys)
            raise PipelineError(
                f"Map-over '{name}' has no .collect(), and its body ends with parallel "
                f"branches that write {named}: which one each item gives is not clear, and "
                "the others would be dropped.",
                node=name,
                hint=f"Name it, e.g. .collect('{keys[0]}'), or end the body with a step that "
                f"reads {named} and writes the one key to collect.",
            )
    chosen = last_write(SequenceNode(name, tuple(children)))
    if isinstance(final, RouteNode) and chosen is not None:
        lasts = [last_write(b) for b in final.children]
        keys = list(dict.fromkeys(k for k in lasts if k is not None))
        if None not in lasts and not all(chosen in _written(b) for b in final.children):
            named = ", ".join(f"'{k}'" for k in keys)
            raise PipelineError(
                f"Map-over '{name}' has no .collect(), and its body ends with route "
                f"'{final.name}', whose branches write {named} last: an item gives the key "
                f"of the branch it takes, so '{chosen}', which it would collect (the key "
                "written last in reading order), is missing for an item that takes another.",
                node=name,
                hint=f"Write one key on every branch of '{final.name}' (e.g. .writes('{keys[0]}') "
                "on each) and collect that, or end the body with a step that reads them "
                f"({', '.join('{' + k + '?}' for k in keys)}) and writes the one key to collect.",
            )
    return chosen


def _written(node: Node) -> set[str]:
    """Every key ``node`` writes (a nested map-over by its list alone)."""
    found: set[str] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, MapOverNode):
            found.update([current.writes] if current.writes else [])
            continue
        if not isinstance(current, (SequenceNode, ParallelNode, LoopNode, RouteNode)):
            found.update([current.writes] if current.writes else [])
        stack.extend(getattr(current, "children", ()))
    return found
