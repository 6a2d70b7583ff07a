"""The drawing state of :mod:`irgraph.testing.strategies`: the options, the parts drawn and
the scope each is drawn in, and :class:`_Draft`, which draws every choice as a span the
shrinker can move, with the few strategies it draws from made once.

A :class:`_Scope` is what a node may read where it is drawn: the keys written upstream
(``visible``), those holding lists (a map-over may iterate them: written by a transform, a
map-over, an agent whose schema is an array, or a list input; or a field of a key, the
``tags`` of an object an agent writes, as a dotted path), those holding one of a few
values (``enums``: written by an agent whose schema lists them, or is a boolean), and the
keys a route wrote on some of its branches only (``maybe``: read only as ``{key?}``, since
validation refuses a required read of a key that may be missing).

Drawing is hypothesis's work, choice by choice; what costs on top of it is a strategy made
anew for each draw (its checks and label worked out every time), so every strategy drawn
from here is made once: the node and rest spans, one per kind, find what they draw in
:data:`_PENDING`, set just before the draw; lists and orders are cached by what they draw
from. The choices, and so the pipelines drawn, are the same as with a strategy per draw.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import attrs
from hypothesis import strategies as st

from irgraph import checks
from irgraph.builder import Builder

__all__: list[str] = []  # internal: the strategies module is the public face

T = TypeVar("T")

_NAMES = ("researcher", "writer", "critic", "editor", "planner", "summarizer")
_KEY_WORDS = ("findings", "draft", "critique", "summary", "plan", "outline")
_NEVER_WRITTEN = "context"  # read only as {context?}: never written, never an error


@attrs.frozen
class _Options:
    max_depth: int
    max_width: int
    leaves: tuple[str, ...]
    composites: tuple[str, ...]
    inputs: tuple[str, ...]
    list_inputs: tuple[str, ...]
    with_overwrites: bool
    with_optional_reads: bool
    with_duplicate_names: bool
    with_structured_outputs: bool = True


Enums = tuple[tuple[str, tuple[Any, ...]], ...]


@attrs.frozen
class _Part:
    builder: Builder
    writes: tuple[str, ...] = ()  # keys readable after this part
    lists: tuple[str, ...] = ()
    enums: Enums = ()  # keys holding one of a few values, with the values
    maybe: tuple[str, ...] = ()  # keys this part writes on some of its paths only

    def then(self, other: _Part) -> _Part:
        """This part followed by ``other`` (both builders in a sequence)."""
        return _Part(
            self.builder >> other.builder,
            (*self.writes, *other.writes),
            (*self.lists, *other.lists),
            (*self.enums, *other.enums),
            (*self.maybe, *other.maybe),
        )


@attrs.frozen
class _Scope:
    visible: tuple[str, ...]  # keys a required read may name here
    lists: tuple[str, ...]  # visible keys holding lists
    isolated: bool  # in a parallel branch or map-over body: every write takes a fresh key
    depth: int
    enums: Enums = ()  # visible keys holding one of a few values (never overwritten)
    maybe: tuple[str, ...] = ()  # keys only an optional {key?} may read

    def after(self, part: _Part) -> _Scope:
        visible = self.visible + tuple(k for k in part.writes if k not in self.visible)
        lists = self.lists + tuple(k for k in part.lists if k not in self.lists)
        known = dict(self.enums)
        enums = self.enums + tuple(e for e in part.enums if e[0] not in known)
        maybe = self.maybe + tuple(k for k in part.maybe if k not in self.maybe)
        return attrs.evolve(self, visible=visible, lists=lists, enums=enums, maybe=maybe)

    def since(self, start: _Scope, builder: Builder) -> _Part:
        """What was written between ``start`` and this scope, as a part made by ``builder``."""
        return _Part(
            builder,
            tuple(k for k in self.visible if k not in start.visible),
            tuple(k for k in self.lists if k not in start.lists),
            tuple(e for e in self.enums if e not in start.enums),
            tuple(k for k in self.maybe if k not in start.maybe),
        )


@functools.cache
def _one_to(size: int) -> st.SearchStrategy[int]:
    """A whole number from 1 to ``size``, shrinking to 1. One strategy per size: building a
    strategy for each of thousands of draws cost more than the draws. From 1, not 0: the
    shrinker's first pass retries every small choice from 0 that reshapes what follows with
    a random remainder, which on our pipelines cost more than all its other passes."""
    return st.integers(1, size)


_MORE = _one_to(12)  # an item's "one more?": the same bounds for every item


class _Pending(threading.local):
    """The drawing state and the function a span strategy is about to draw with: set just
    before the draw, taken back at its start (so nested spans each find their own)."""

    made: tuple[_Draft, Callable[[], Any]] | None = None


_PENDING = _Pending()


def _spanned(draw: st.DrawFn) -> Any:
    d, make = _PENDING.made  # type: ignore[misc]
    _PENDING.made = None
    outer, d.draw = d.draw, draw
    try:
        return make()
    finally:
        d.draw = outer


@st.composite
def _node_span(draw: st.DrawFn) -> Any:
    """What the pending function draws, as one span of the choice sequence (a node: the
    shrinker can zero it, making it an agent, or put a node drawn inside it in its place)."""
    return _spanned(draw)


@st.composite
def _rest_span(draw: st.DrawFn) -> Any:
    """Likewise, the rest of a list of :meth:`_Draft.items` (a span of its own kind, so the
    shrinker never puts a list where a node was, nor the other way round)."""
    return _spanned(draw)


#: One strategy each, made once: a strategy made per span (thousands per shrink) cost
#: hypothesis its checks and label anew every time, more than the choices drawn in it.
_NODE_SPAN = _node_span()
_REST_SPAN = _rest_span()


class _Draft:
    """Per-example drawing state: fresh keys and names, given by position rather than
    drawn, so that shrinking a choice renames nodes but never reshapes what follows."""

    def __init__(self, draw: Callable[[Any], Any], opts: _Options) -> None:
        self.draw = draw
        self.opts = opts
        self.taken = {*opts.inputs, *opts.list_inputs, _NEVER_WRITTEN}
        self.names: list[str] = []
        self.named: set[str] = set()  # the names, to look up
        self.pins = 0

    def pick(self, options: Sequence[T]) -> T:
        """One of ``options``; the first when shrunk."""
        return options[self.index(len(options))] if len(options) > 1 else options[0]

    def index(self, size: int) -> int:
        """A whole number below ``size``, shrinking to 0."""
        return int(self.draw(_one_to(size))) - 1

    def chance(self, one_in: int) -> bool:
        # True one time in `one_in`; shrinks to False.
        return self.index(one_in) == one_in - 1

    def items(self, least: int, most: int, make: Callable[[int], T]) -> list[T]:
        """``make(i)`` for a drawn number of items from ``least`` to ``most``, about evenly
        spread. Drawn as a list is defined, "stop, or an item and then the rest", as spans
        within spans: each rest starts with its "one more?" choice (drawn, then ignored,
        where the count forces it), so the shrinker drops items by putting a later rest in
        the place of an earlier one, and what follows the list is read as before."""
        made: list[T] = []

        def rest() -> None:
            more = int(self.draw(_MORE))
            left = most - len(made)  # items that may still come
            # Stops one time in (left + 1), so that each count comes about as often.
            if left == 0 or (len(made) >= least and more <= max(1, 12 // (left + 1))):
                return
            made.append(make(len(made)))
            self.span(_REST_SPAN, rest)

        self.span(_REST_SPAN, rest)
        return made

    def node(self, make: Callable[[], T]) -> T:
        """What ``make`` draws, as a node's span (see :func:`_node_span`)."""
        return self.span(_NODE_SPAN, make)

    def span(self, kind: st.SearchStrategy[Any], make: Callable[[], T]) -> T:
        """What ``make`` draws, as a span of ``kind``."""
        _PENDING.made = (self, make)
        return self.draw(kind)  # type: ignore[no-any-return]

    def key(self, words: tuple[str, ...] = _KEY_WORDS) -> str:
        """A fresh key: the first of ``words`` not taken, else the first free ``word_n``."""
        key = _first_free(words, self.taken, "_")
        self.taken.add(key)
        assert checks.is_key(key), key  # the one key rule, as every entry point applies it
        return key

    def name(self, words: tuple[str, ...] = _NAMES) -> str:
        """Now and then (with duplicates on) a name given before; else a fresh one, as
        :meth:`key` gives keys."""
        if self.names and self.opts.with_duplicate_names and self.chance(5):
            return self.pick(self.names)
        name = _first_free(words, self.named, "")
        self.names.append(name)
        self.named.add(name)
        return name

    def some(self, keys: Iterable[str], max_size: int) -> list[str]:
        keys = tuple(keys)
        if not keys:
            return []
        return list(self.draw(_subsets(keys, max_size)))

    def write_key(self, scope: _Scope) -> str:
        # Overwriting is safe only where no sibling can race or read the old value, and
        # never of a list or enum key, whose readers count on its type.
        typed = {*scope.lists, *dict(scope.enums)}
        plain = [k for k in scope.visible if k not in typed]
        if self.opts.with_overwrites and not scope.isolated and plain and self.chance(4):
            return self.pick(plain)
        return self.key()


def _first_free(words: tuple[str, ...], taken: set[str], joint: str) -> str:
    n = 1
    while True:
        for word in words:
            name = word if n == 1 else f"{word}{joint}{n}"
            if name not in taken:
                return name
        n += 1


@functools.cache
def _subsets(keys: tuple[str, ...], max_size: int) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(keys), max_size=max_size, unique=True)


_PICKS: dict[tuple[tuple[type, Any], ...], st.SearchStrategy[list[Any]]] = {}


def _picks(values: tuple[Any, ...]) -> st.SearchStrategy[list[Any]]:
    """One or more of ``values``, each once: made once per tuple of values, as
    :func:`_one_to`, told apart by type too (``(1,)`` equals ``(True,)``)."""
    key = tuple((type(value), value) for value in values)
    found = _PICKS.get(key)
    if found is None:
        found = _PICKS[key] = st.lists(st.sampled_from(values), min_size=1, unique=True)
    return found


@functools.cache
def _orders(size: int) -> st.SearchStrategy[list[int]]:
    """An order of ``size`` indices: ``permutations`` draws by the length alone, so the
    pieces put in this order are what ``permutations(pieces)`` drew, from the same choices."""
    return st.permutations(range(size))
