"""The drawing state of :mod:`irgraph.testing.strategies`, and the nodes drawn with it that
carry issue 17's fields: agents with a system prompt (now and then reading a key, as a
template), model settings and an output schema, and routes. An agent drawn where an object a
route compares is visible now and then reads a field of it in its template (``{verdict.label}``).

A :class:`_Scope` is what a node may read where it is drawn: the keys written upstream
(``visible``), those holding lists (a map-over may iterate them: written by a transform, a
map-over, an agent whose schema is an array, or a list input; or a field of a key, the
``tags`` of an object an agent writes, as a dotted path), those holding one of a few
values (``enums``: written by an agent whose schema lists them, or is a boolean), and the
keys a route wrote on some of its branches only (``maybe``: read only as ``{key?}``, since
validation refuses a required read of a key that may be missing).

A route is drawn so that the run always takes a branch: it compares an enum key with some of
its values (and has an ``otherwise`` unless it lists them all), tests importable predicates
of the state (:mod:`irgraph.testing.predicates`; the last one always holds when there is no
``otherwise``), or compares an input with its value, with an ``otherwise``. A key written on
every branch is written after the route; one written on some only is maybe written.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from functools import reduce
from typing import Any, TypeVar

import attrs
from hypothesis import strategies as st

from irgraph import checks
from irgraph.builder import Agent, Builder
from irgraph.ir.values import same_value
from irgraph.routing import Route
from irgraph.testing.predicates import PREDICATES, always

__all__: list[str] = []  # internal: the strategies module is the public face

T = TypeVar("T")

_NAMES = ("researcher", "writer", "critic", "editor", "planner", "summarizer")
_KEY_WORDS = ("findings", "draft", "critique", "summary", "plan", "outline")
_LIST_WORDS = ("papers", "sections", "claims")
_CHOICE_WORDS = ("category", "verdict", "label")
_NEVER_WRITTEN = "context"  # read only as {context?}: never written, never an error

#: Output schemas an agent may answer with, by the scope they feed: an enum (routes and
#: until(equals=) compare with its values), a boolean (likewise), a list (map-overs iterate
#: it), or a small object (templates render it as JSON text).
_ENUMS: tuple[dict[str, Any], ...] = (
    {"type": "string", "enum": ["bug", "feature", "question"]},
    {"type": "string", "enum": ["approved", "revise"]},
    {"type": "integer", "enum": [1, 2, 3]},
)
_BOOLEAN: dict[str, Any] = {"type": "boolean"}
_ARRAY: dict[str, Any] = {"type": "array", "items": {"type": "string"}}
#: An object holding a list, ``tags``, that a map-over may iterate: ``.over("record.tags")``.
_OBJECT: dict[str, Any] = {
    "type": "object",
    "properties": {"title": {"type": "string"}, "score": {"type": "integer"}, "tags": _ARRAY},
    "required": ["title", "score", "tags"],
}
#: An object whose ``label`` (an enum or boolean schema, filled in) a route compares.
_LABELLED: dict[str, Any] = {
    "type": "object",
    "properties": {"label": {}, "note": {"type": "string"}},
    "required": ["label", "note"],
}
_SYSTEMS = ("You are a careful researcher.", "Answer in one short paragraph.")
_SETTINGS: dict[str, tuple[Any, ...]] = {
    "temperature": (0.2, 0.0, 1.5),
    "max_tokens": (400, 64),
    "seed": (7,),
    "top_p": (0.9,),
    "stop": (["\n\n"], "END"),
}


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


@st.composite
def _node_span(draw: st.DrawFn, d: _Draft, make: Callable[[], T]) -> T:
    """What ``make`` draws, as one span of the choice sequence (a node: the shrinker can
    zero it, making it an agent, or put a node drawn inside it in its place)."""
    return _within(draw, d, make)


@st.composite
def _rest_span(draw: st.DrawFn, d: _Draft, make: Callable[[], T]) -> T:
    """Likewise, the rest of a list of :meth:`_Draft.items` (a span of its own kind, so the
    shrinker never puts a list where a node was, nor the other way round)."""
    return _within(draw, d, make)


def _within(draw: st.DrawFn, d: _Draft, make: Callable[[], T]) -> T:
    outer, d.draw = d.draw, draw
    try:
        return make()
    finally:
        d.draw = outer


class _Draft:
    """Per-example drawing state: fresh keys and names, given by position rather than
    drawn, so that shrinking a choice renames nodes but never reshapes what follows."""

    def __init__(self, draw: Callable[[Any], Any], opts: _Options) -> None:
        self.draw = draw
        self.opts = opts
        self.taken = {*opts.inputs, *opts.list_inputs, _NEVER_WRITTEN}
        self.names: list[str] = []
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
            self.draw(_rest_span(self, rest))

        self.draw(_rest_span(self, rest))
        return made

    def node(self, make: Callable[[], T]) -> T:
        """What ``make`` draws, as a node's span (see :func:`_node_span`)."""
        return self.draw(_node_span(self, make))  # type: ignore[no-any-return]

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
        name = _first_free(words, set(self.names), "")
        self.names.append(name)
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


def _output(d: _Draft) -> tuple[dict[str, Any], tuple[str, ...]] | None:
    """An output schema, and the words its key is named with; ``None`` for free text."""
    if not d.opts.with_structured_outputs or not d.chance(4):
        return None
    kind = d.pick(("enum", "boolean", "array", "object"))
    if kind == "enum":
        return dict(d.pick(_ENUMS)), _CHOICE_WORDS
    if kind == "boolean":
        return _BOOLEAN, ("done", "approved")
    return (_ARRAY, _LIST_WORDS) if kind == "array" else (_OBJECT, ("record", "review"))


def _typed(key: str, schema: dict[str, Any] | None) -> dict[str, Any]:
    """The scope fields a key written with ``schema`` joins."""
    if schema is None:
        return {}
    if schema.get("type") == "array":
        return {"lists": (key,)}
    if schema.get("type") == "boolean":
        return {"enums": ((key, (True, False)),)}
    if schema is _OBJECT:  # its list, for a map-over; the key typed: never overwritten
        return {"lists": (f"{key}.tags",), "enums": ((key, ()),)}
    label = schema.get("properties", {}).get("label")
    if label is not None:  # (the key itself is typed: never overwritten by text)
        values = _typed(f"{key}.label", label).get("enums", ((key, ()),))[0][1]
        return {"enums": ((key, ()), (f"{key}.label", values))}
    return {"enums": ((key, tuple(schema["enum"])),)} if "enum" in schema else {}


def _agent(
    d: _Draft,
    scope: _Scope,
    *,
    reads: Iterable[str] = (),
    fresh: bool = False,
    key: str | None = None,
    schema: dict[str, Any] | None = None,
) -> _Part:
    """An agent reading some visible keys; it writes a fresh key (``fresh``), ``key``, or
    now and then nothing, as text or (drawn, or given as ``schema``) a structured value."""
    required = list(dict.fromkeys([*reads, *d.some(scope.visible, 3)]))
    fields = [k for k, _ in scope.enums if "." in k]  # of objects a route may compare
    if fields and d.chance(2):  # a template reads one, {verdict.label}, or its note
        path = str(d.pick(fields))
        required.append(d.pick((path, path.rpartition(".")[0] + ".note")))
    optional: list[str] = []
    if d.opts.with_optional_reads:
        optional = d.some((*scope.visible, *scope.maybe, _NEVER_WRITTEN), 2)
    pieces = ["{" + k + "}" for k in required] + ["{" + k + "?}" for k in optional]
    if d.chance(6):
        pieces.append("{{as JSON}}")
    pieces = list(d.draw(st.permutations(pieces))) if len(pieces) > 1 else pieces
    agent = Agent(d.name())
    if pieces or d.chance(2):
        agent = agent.instruct(" ".join(["Use", *pieces]) + ".")
    output: tuple[dict[str, Any], tuple[str, ...]] | None = None
    if schema is not None:
        output = (schema, _CHOICE_WORDS)
    if output is None and key is None:
        output = _output(d)
    writes: tuple[str, ...] = ()
    if key is not None:
        writes = (key,)
    elif output is not None:
        writes = (d.key(output[1]),)  # a typed key is always fresh: its readers trust its type
    elif fresh or not d.chance(5):
        writes = (d.key() if fresh else d.write_key(scope),)
    if writes:
        agent = agent.writes(writes[0])
    typed: dict[str, Any] = {}
    if output is not None and writes:
        retries = d.pick((0, 1, 2))
        agent = agent.output(output[0], retries=retries)
        typed = _typed(writes[0], output[0])
    if d.chance(5):
        agent = agent.model("fake-model")
    if d.chance(8):
        agent = agent.describe("Generated by irgraph.testing.strategies.")
    if d.chance(5):  # a template too, reading a key the instruction reads
        keyed = [f"You write for {{{k}}}." for k in required[:1]]
        keyed += [f"Mind {{{k}?}}." for k in optional[:1]]
        agent = agent.system(d.pick((*_SYSTEMS, *keyed)))
    if d.chance(5):
        names = d.draw(st.lists(st.sampled_from(sorted(_SETTINGS)), min_size=1, unique=True))
        agent = agent.settings(**{n: d.pick(_SETTINGS[n]) for n in names})
    return _Part(agent, writes, **typed)


def until_equals(d: _Draft, end: _Scope, writes: tuple[str, ...]) -> tuple[str, Any]:
    """A loop's stop key among ``writes`` and the value it stops on: one its writer may
    write when it has an enum, else a word a model might answer."""
    enums = dict(end.enums)
    typed = [k for k in writes if enums.get(k)]
    key = str(d.pick(typed or list(writes)))
    if enums.get(key):
        return key, d.pick(enums[key])
    return key, "approved"


Steps = Callable[[_Draft, _Scope, int, int], tuple[list[_Part], _Scope]]


def _cases(d: _Draft, scope: _Scope) -> tuple[_Part | None, str | None, list[Any], bool]:
    """What a route tests: the part writing its key first (or None), the key (None for
    predicates only), the conditions in order, and whether it has an otherwise."""
    mode = d.index(3)
    known = dict(scope.enums)  # (an input a route around compares holds its value here)
    inputs = [k for k in d.opts.inputs if k in scope.visible and k not in known]
    if mode == 0 and d.opts.with_structured_outputs:
        source = None
        if not any(values for _, values in scope.enums) or d.chance(2):
            schema = dict(d.pick((*_ENUMS, _BOOLEAN)))
            if d.chance(2):  # an object holding the value: the route compares its field
                schema = {**_LABELLED, "properties": {**_LABELLED["properties"], "label": schema}}
            source = _agent(d, scope, fresh=True, schema=schema)
            scope = scope.after(source)
        key, values = d.pick([e for e in scope.enums if e[1]])
        chosen = list(d.draw(st.lists(st.sampled_from(values), min_size=1, unique=True)))
        # A whole number compared as a float: JSON equality says 2 == 2.0.
        conditions: list[Any] = [float(v) if type(v) is int and d.chance(3) else v for v in chosen]
        if d.chance(4):
            conditions.append(d.pick(PREDICATES))
        return source, key, conditions, len(chosen) < len(values) or d.chance(2)
    if mode == 2 and inputs:
        key = str(d.pick(inputs))
        return None, key, [d.pick((f"the {key}", "unknown"))], True
    predicates = list(d.draw(st.lists(st.sampled_from(PREDICATES), min_size=1, unique=True)))
    otherwise = d.chance(2)
    return None, None, predicates if otherwise else [*predicates, always], otherwise


def route(d: _Draft, scope: _Scope, steps: Steps) -> _Part:
    """A route whose run always takes a branch (see the module docstring)."""
    source, on, conditions, otherwise = _cases(d, scope)
    if source is not None:
        scope = scope.after(source)
    shared = d.key() if d.chance(2) else None  # written on every branch: definitely written
    inner = attrs.evolve(scope, depth=scope.depth + 1)
    builder = Route(d.name(("triage", "choose")))
    if on is not None:
        builder = builder.on(on)
    written: list[set[str]] = []
    for index in range(len(conditions) + otherwise):
        most = max(1, d.opts.max_width // 2)
        parts, end = steps(d, _branch_scope(inner, on, conditions, index), 1, most)
        if shared is not None:
            parts.append(_agent(d, end, key=shared))
        branch = reduce(lambda a, b: a >> b, [p.builder for p in parts])
        written.append({k for k in (*end.visible, *end.maybe) if k not in inner.visible})
        if index < len(conditions):
            builder = builder.when(conditions[index], branch)
        else:
            builder = builder.otherwise(branch)
    maybe = sorted(set().union(*written) - {shared})
    part = _Part(builder, (shared,) if shared else (), maybe=tuple(maybe))
    return part if source is None else source.then(part)


def _branch_scope(scope: _Scope, on: str | None, conditions: list[Any], index: int) -> _Scope:
    """``scope`` in a route's branch ``index``: in the branch for a value, the key the route
    compares holds that value, and in a later branch (a predicate's, the otherwise) none of
    the values its earlier branches take, so a route inside compares it with those only (any
    other branch could never run, and validation refuses it)."""
    if on is None:
        return scope
    condition = conditions[index] if index < len(conditions) else None
    if condition is not None and not callable(condition):
        enums = tuple((key, (condition,) if key == on else values) for key, values in scope.enums)
        if on not in dict(enums):  # an input
            enums = (*enums, (on, (condition,)))
        return attrs.evolve(scope, enums=enums)
    taken = [c for c in conditions[:index] if not callable(c)]
    if not taken:
        return scope
    enums = tuple(
        (key, tuple(v for v in values if not any(same_value(v, t) for t in taken)))
        if key == on
        else (key, values)
        for key, values in scope.enums
    )
    if on not in dict(enums):  # an input: it is none of them here
        enums = (*enums, (on, ()))
    # (a key no value is left for is compared by no route here: none could take a branch)
    return attrs.evolve(scope, enums=enums)
