"""The persistent chain a builder keeps its steps or branches in (:mod:`irgraph.builder`).

Builders are immutable, so every ``.step()`` or ``>>`` returns a new one; copying a list of
members into each would make a pipeline of n steps cost n² to build. A chain is a linked list
from the newest member back to the first: appending makes one link that shares everything
before it, so a builder reused in two places grows two chains from one shared past and neither
sees the other's members. Each link also carries what a builder asks of its whole chain, so
no question walks it: its length, the deepest member's nesting, and its first few members (an
operator's composite is named after its first and last ones).

>>> first = Chain(None, "a")
>>> one, other = Chain(Chain(first, "b"), "c"), Chain(first, "x")
>>> one.items(), other.items(), one.outline()
(['a', 'b', 'c'], ['a', 'x'], ['a', 'b', 'c'])
"""

from __future__ import annotations

from typing import Any

__all__ = ["Chain", "HEAD", "chain_items"]

#: How many leading members a chain keeps at hand (``composite_name`` shows the first two).
HEAD = 4


class Chain:
    """One link: the newest member ``item`` and the chain before it (``prev``)."""

    __slots__ = ("depth", "head", "item", "prev", "size")

    def __init__(self, prev: Chain | None, item: Any, depth: int = 0) -> None:
        """``depth``: the levels of scopes in ``item`` (0 for a leaf)."""
        self.prev = prev
        self.item = item
        if prev is None:
            self.size = 1
            self.depth = depth
            self.head: tuple[Any, ...] = (item,)
        else:
            self.size = prev.size + 1
            self.depth = max(prev.depth, depth)
            self.head = prev.head if prev.size >= HEAD else (*prev.head, item)

    def items(self) -> list[Any]:
        """Every member, first to last."""
        out: list[Any] = [None] * self.size
        link: Chain | None = self
        index = self.size
        while link is not None:
            index -= 1
            out[index] = link.item
            link = link.prev
        return out

    def outline(self) -> list[Any]:
        """The members a composite's name shows: all of them up to :data:`HEAD`, else the first
        :data:`HEAD` and the last."""
        return list(self.head) if self.size <= HEAD else [*self.head, self.item]


def chain_items(chain: Chain | None) -> list[Any]:
    """The members of ``chain``, first to last (none for no chain)."""
    return chain.items() if chain is not None else []
