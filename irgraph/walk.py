"""What the graph walk carries (:mod:`irgraph.graph`): the key-to-writer environment and the
summary of each walked part, shared by the walk's modules."""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["INPUT", "Env", "Summary", "empty_summary"]

INPUT = ""  # the writer of a declared input: nobody


class Env:
    """One layer of the key → writer map; a scope body's bottom layer names its scope."""

    __slots__ = ("item", "local", "parent", "scope")

    def __init__(self, parent: Env | None, scope: str | None = None, item: str | None = None):
        self.local: dict[str, str] = {}
        self.parent = parent
        self.scope = scope
        self.item = item


@attrs.define
class Summary:
    """A walked part: its entry and exit nodes, first readers and last writers of each key at
    this scope level, and its entry in ``G.graph["tree"]``."""

    entries: list[str]
    exits: list[str]
    reads: dict[str, str]  # key -> first reader id (at this scope level)
    writes: dict[str, str]  # key -> last writer id (at this scope level)
    tree: Any = None  # this part's entry in G.graph["tree"] (see irgraph.schema)


def empty_summary() -> Summary:
    return Summary([], [], {}, {}, [])
