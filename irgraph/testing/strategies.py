"""Hypothesis strategies that generate irgraph pipelines, for our tests and for yours.

:func:`pipelines` draws builder pipelines that are valid by construction, so
``validate(to_graph(p, inputs=...))`` passes for every example. The generator walks down the
tree carrying the keys a node may read (written upstream in the same or an enclosing scope,
or declared as inputs): a required ``{key}`` only names one of those; every write inside a
parallel branch or a map-over body uses a fresh key, so branches never race and never read a
sibling's key; a map-over iterates a list written upstream (by a :class:`Transform` calling
:func:`make_list`, by another map-over, an agent answering an array, or a list input) and
its body reads the item. Agents draw system prompts, model settings and output schemas;
routes (:mod:`irgraph.testing.strategies_nodes`) always take a branch, and a key written on
only some of their branches is read later only as ``{key?}``.
:func:`invalid_pipelines` breaks a valid pipeline on purpose, and :func:`to_code` prints any
builder as the Python that builds it, for readable failure reports.

Choices are drawn so that hypothesis shrinks quickly towards small, plain pipelines: one
agent, unique names, operators rather than explicit builders. Each node is a span of the
choice sequence, and each child of a sequence, fan-out or loop a span starting with its own
"one more?" choice, so the shrinker drops a child, or puts a node in its parent's place,
by deleting or moving spans, and what follows is read as before; names and keys are given
by position, not drawn; no choice is rejected.

>>> print(to_code(Agent("writer").instruct("Write {topic}.").writes("draft") * 2))
from irgraph import Agent, Loop
<BLANKLINE>
pipeline = (
    Loop('writer_x2')
    .step(Agent('writer').instruct('Write {topic}.').writes('draft'))
    .max_iterations(2)
)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import reduce
from typing import Any

import attrs
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from irgraph import checks
from irgraph.builder import (
    Agent,
    Builder,
    FanOut,
    Gate,
    Loop,
    MapOver,
    Pipeline,
    Transform,
)
from irgraph.code import to_code
from irgraph.errors import PipelineError, did_you_mean
from irgraph.testing.invalid import INVALID_KINDS, broken
from irgraph.testing.strategies_draft import _Draft, _Options, _Part, _Scope
from irgraph.testing.strategies_nodes import _LIST_WORDS, _agent, route, until_equals

__all__ = [
    "pipelines",
    "pipelines_with_inputs",
    "invalid_pipelines",
    "to_code",
    "make_list",
    "join_values",
    "count_values",
    "stop_after_first",
    "ALL_KINDS",
    "INVALID_KINDS",
]

ALL_KINDS = frozenset(
    {"agent", "transform", "gate", "sequence", "parallel", "loop", "map_over", "route"}
)

_LEAVES = ("agent", "transform", "gate")  # simplest first: hypothesis shrinks to index 0
_COMPOSITES = ("sequence", "parallel", "loop", "map_over", "route")
_INPUT_NAMES = ("topic", "audience", "question")
_LIST_INPUT_NAMES = ("sources", "questions")


# Functions the generated transforms and loops call: top level, so the IR round-trips JSON.
def make_list(**values: Any) -> list[str]:
    """Return the values (by key name order) as a list of strings; ``["a", "b"]`` if none."""
    return [str(values[k]) for k in sorted(values)] or ["a", "b"]


def join_values(**values: Any) -> str:
    """Join the values (by key name order) into one string."""
    return " | ".join(str(values[k]) for k in sorted(values))


def count_values(**values: Any) -> int:
    """Return how many values were passed."""
    return len(values)


def stop_after_first(state: Any) -> bool:
    """A loop predicate that is always true: the loop body runs once."""
    return True


def _transform(d: _Draft, scope: _Scope, *, to_list: bool = False) -> _Part:
    fn = make_list if to_list else d.pick((join_values, count_values, make_list))
    key = d.key(_LIST_WORDS) if fn is make_list else d.write_key(scope)
    t = Transform(d.name(("combine", "collect", "count")), fn).reads(*d.some(scope.visible, 2))
    return _Part(t.writes(key), (key,), (key,) if fn is make_list else ())


def _gate(d: _Draft, scope: _Scope) -> _Part:
    reads = d.some(scope.visible, 1)
    gate = Gate(
        d.name(("approve", "review")), "Approve" + "".join(f" {{{k}}}" for k in reads) + "?"
    )
    if d.chance(3):
        return _Part(gate)
    key = d.write_key(scope)
    return _Part(gate.writes(key), (key,))


def _steps(d: _Draft, scope: _Scope, least: int, most: int) -> tuple[list[_Part], _Scope]:
    """From ``least`` to ``most`` nodes in a row, each reading what those before it wrote,
    and the scope after them."""

    def step(_: int) -> _Part:
        nonlocal scope
        part = _node(d, scope)
        scope = scope.after(part)
        return part

    return d.items(least, most, step), scope


def _sequence(d: _Draft, scope: _Scope) -> _Part:
    inner = attrs.evolve(scope, depth=scope.depth + 1)
    parts, end = _steps(d, inner, 2, max(2, d.opts.max_width))
    builder: Builder
    if d.chance(3):
        explicit = Pipeline(d.name(("pipeline", "stage")))
        for part in parts:
            # Now and then a step is a ready-made IR node, which .step() also takes.
            explicit = explicit.step(part.builder.to_ir() if d.chance(10) else part.builder)
        builder = explicit
    else:
        builder = reduce(lambda a, b: a >> b, [p.builder for p in parts])
    return end.since(inner, builder)


def _parallel(d: _Draft, scope: _Scope) -> _Part:
    branch_scope = attrs.evolve(scope, isolated=True, depth=scope.depth + 1)
    parts = d.items(2, max(2, d.opts.max_width), lambda _: _node(d, branch_scope))
    builder: Builder
    if d.chance(3):
        explicit = FanOut(d.name(("fanout", "together")))
        for part in parts:
            explicit = explicit.branch(part.builder)
        builder = explicit
    else:
        builder = reduce(lambda a, b: a | b, [p.builder for p in parts])
    return reduce(_Scope.after, parts, branch_scope).since(branch_scope, builder)


def _loop(d: _Draft, scope: _Scope) -> _Part:
    inner = attrs.evolve(scope, depth=scope.depth + 1)
    parts, end = _steps(d, inner, 1, max(1, d.opts.max_width))
    writes = tuple(k for k in end.visible if k not in inner.visible)
    if writes and d.opts.with_optional_reads and d.chance(3):
        # A loop-carried read: the first step sees what the last iteration wrote, if anything.
        carried = Agent(d.name()).instruct(f"Improve on {{{d.pick(writes)}?}}.")
        parts.insert(0, _Part(carried))
    times = d.pick((2, 3, 1))  # shrinks to 2: a bug of repeats shows
    if d.chance(2):
        loop = Loop(d.name(("refine", "repeat")))
        for part in parts:
            loop = loop.step(part.builder)
        loop = loop.max_iterations(times)
    else:
        body = reduce(lambda a, b: a >> b, [p.builder for p in parts])
        loop = times * body if d.chance(2) else body * times
    until = d.index(5)
    if until == 1 and writes:
        loop = loop.until(d.pick(writes))
    elif until == 4 and writes:
        key, value = until_equals(d, end, writes)
        loop = loop.until(key, equals=value)
    elif until == 2 and scope.visible:
        loop = loop.until(d.pick(scope.visible))
    elif until == 3:
        loop = loop.until(stop_after_first)
    return end.since(inner, loop)


def _map_over(d: _Draft, scope: _Scope) -> _Part:
    source: _Part | None = None
    if not scope.lists or ("transform" in d.opts.leaves and d.chance(2)):
        if "transform" not in d.opts.leaves:
            return _agent(d, scope)
        source = _transform(d, scope, to_list=True)
        scope = scope.after(source)
    over = d.pick(scope.lists)
    item = "item" if not d.chance(3) else d.key(("paper", "entry"))
    body_scope = attrs.evolve(
        scope, visible=(*scope.visible, item), isolated=True, depth=scope.depth + 1
    )
    parts, end = _steps(d, body_scope, 0, max(0, d.opts.max_width - 1))
    uses_item = _agent(d, body_scope, reads=[item], fresh=True)
    parts.insert(0 if d.chance(2) else len(parts), uses_item)
    written = [*uses_item.writes, *(k for k in end.visible if k not in body_scope.visible)]
    mapper = MapOver(d.name(("each", "per_item"))).over(over, item=item)
    for part in parts:
        mapper = mapper.step(part.builder)
    # The default collect is the body's last write, which a route may write on some branches,
    # and which a body ending in parallel branches does not have (the builder refuses it).
    if d.chance(2) or any(p.maybe for p in parts) or _unclear_collect(mapper):
        mapper = mapper.collect(d.pick(sorted(set(written))))
    if d.chance(4):
        mapper = mapper.max_concurrency(1 + d.index(3))
    key = d.key(_LIST_WORDS)
    part = _Part(mapper.writes(key), (key,), (key,))
    return part if source is None else source.then(part)


def _unclear_collect(mapper: MapOver) -> bool:
    try:
        mapper.to_ir()
    except PipelineError:
        return True
    return False


def _node(d: _Draft, scope: _Scope) -> _Part:
    """A node that may read the keys of ``scope``, drawn as one span (see ``_Draft.node``)."""
    return d.node(lambda: _drawn_node(d, scope))


def _drawn_node(d: _Draft, scope: _Scope) -> _Part:
    options = list(d.opts.leaves)
    if scope.depth < d.opts.max_depth:
        # Weight composites up at the root, or a third of all examples are a single leaf.
        # Routes once only: each branch is a whole subtree, of which one runs.
        options += [k for k in d.opts.composites if k != "route"] * (2 if scope.depth == 0 else 1)
        options += [k for k in d.opts.composites if k == "route"]
    kind = d.pick(options)
    part = _MAKERS[kind](d, scope)
    builder = part.builder
    # Every IR field is drawn somewhere: a leaf's timeout (generous: runs never hit it), and
    # a pinned id on any node (unique, so the graph stays valid).
    if kind in _LEAVES and d.chance(6):
        builder = builder.timeout(d.pick((30.0, 90.5)))
    if d.chance(6 if kind in _COMPOSITES else 12) and isinstance(builder, Builder):
        d.pins += 1
        builder = builder._with(id=f"pinned_{d.pins}")
    # (only the root's count, but all are kept; a scope's as often as its pinned id, so that
    # each kind of scope draws them within a few hundred examples)
    if d.chance(6 if kind in _COMPOSITES else 12) and isinstance(builder, Builder):
        builder = builder._with(inputs=tuple(d.some(scope.visible, 2)))
    return attrs.evolve(part, builder=builder)


_MAKERS: dict[str, Callable[[_Draft, _Scope], _Part]] = {
    "agent": _agent,
    "transform": _transform,
    "gate": _gate,
    "sequence": _sequence,
    "parallel": _parallel,
    "loop": _loop,
    "map_over": _map_over,
    "route": lambda d, scope: route(d, scope, _steps),
}


def _keys(value: Any, name: str, known: Iterable[str] = ()) -> set[str]:
    """``value`` as a set of names, refusing a lone string (its letters are no keys) and,
    when ``known`` are given, a name not among them (with the closest one)."""
    known = sorted(known)
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        example = f"[{', '.join(map(repr, known[:2]))}]" if known else "['topic']"
        raise InvalidArgument(
            f"{name} must be a collection of names, e.g. {name}={example} (got {value!r})."
        )
    chosen = set(value)
    for unknown in sorted(chosen - set(known)) if known else ():
        raise InvalidArgument(
            f"Unknown {name} {unknown!r}.{did_you_mean(str(unknown), known)} Choose from {known}."
        )
    return chosen


def _options(kinds: Iterable[str] | None, flags: dict[str, bool], **rest: Any) -> _Options:
    named = {("with_map_over" if k == "map_over" else f"with_{k}s"): v for k, v in flags.items()}
    for name, on in (*named.items(), *rest.items()):
        if name.startswith("with_") and not isinstance(on, bool):
            raise InvalidArgument(f"{name} must be True or False (got {on!r}).")
    allowed = set(ALL_KINDS) if kinds is None else _keys(kinds, "kinds", ALL_KINDS)
    for kind, on in flags.items():
        if not on:
            if kinds is not None and kind in allowed:
                raise InvalidArgument(f"kinds contains {kind!r}, but with_{kind}s=False.")
            allowed.discard(kind)
    leaves = tuple(k for k in _LEAVES if k in allowed)
    if not leaves:
        raise InvalidArgument("kinds must allow a leaf: 'agent', 'transform' or 'gate'.")
    for name, least in (("max_depth", 0), ("max_width", 2)):
        value = rest[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise InvalidArgument(
                f"{name} must be a whole number of at least {least} (got {value!r})"
                + ("; a sequence or fan-out has two children or more." if least else ".")
            )
    for name in ("inputs", "list_inputs"):
        rest[name] = _keys(rest[name], name)
        if not all(checks.is_key(k) for k in rest[name]):
            raise InvalidArgument(f"{name} must hold state keys (got {rest[name]!r}).")
        rest[name] = tuple(sorted(rest[name]))
    composites = tuple(k for k in _COMPOSITES if k in allowed)
    return _Options(leaves=leaves, composites=composites, **rest)


@checks.keyword_options
def pipelines(
    *,
    max_depth: int = 3,
    max_width: int = 4,
    kinds: Iterable[str] | None = None,
    with_loops: bool = True,
    with_map_over: bool = True,
    with_transforms: bool = True,
    with_gates: bool = False,
    inputs: Iterable[str] = frozenset(),
    list_inputs: Iterable[str] = frozenset(),
    with_overwrites: bool = True,
    with_optional_reads: bool = True,
    with_duplicate_names: bool = True,
    with_routes: bool = True,
    with_structured_outputs: bool = True,
) -> st.SearchStrategy[Builder]:
    """Builder pipelines that pass ``validate(to_graph(p, inputs=inputs | list_inputs))``.

    ``kinds`` limits the node kinds used (names as in the graph's ``kind`` attribute:
    ``"agent"``, ``"transform"``, ``"gate"``, ``"sequence"``, ``"parallel"``, ``"loop"``,
    ``"map_over"``, ``"route"``); the ``with_*`` flags switch kinds off (gates are off by
    default), and ``with_structured_outputs=False`` draws agents that answer text only.
    ``inputs`` are keys the initial state holds; ``list_inputs`` hold lists a map-over may
    iterate. Composites nest at most ``max_depth`` deep with at most ``max_width`` children.
    """
    opts = _options(
        kinds,
        {
            "loop": with_loops,
            "map_over": with_map_over,
            "transform": with_transforms,
            "gate": with_gates,
            "route": with_routes,
        },
        max_depth=max_depth,
        max_width=max_width,
        inputs=inputs,
        list_inputs=list_inputs,
        with_overwrites=with_overwrites,
        with_optional_reads=with_optional_reads,
        with_duplicate_names=with_duplicate_names,
        with_structured_outputs=with_structured_outputs,
    )
    scope = _Scope(
        visible=(*opts.inputs, *opts.list_inputs), lists=opts.list_inputs, isolated=False, depth=0
    )

    @st.composite
    def build(draw: st.DrawFn) -> Builder:
        draft = _Draft(draw, opts)
        built = _node(draft, scope).builder
        declared = draft.some((*opts.inputs, *opts.list_inputs), 3)  # the root's own inputs
        return built.inputs(*declared) if declared else built

    return build()


def pipelines_with_inputs(**options: Any) -> st.SearchStrategy[tuple[Builder, dict[str, Any]]]:
    """``(pipeline, inputs)``: a pipeline reading some declared inputs, and a state holding
    them (strings, and lists of strings for the keys a map-over may iterate). Keyword
    arguments are those of :func:`pipelines`, but the inputs, which this strategy draws.
    They are checked here, as :func:`pipelines` checks its own, not at the first draw."""
    for name in ("inputs", "list_inputs"):
        if name in options:
            raise InvalidArgument(
                f"pipelines_with_inputs draws the {name} itself; to fix them, use "
                f"pipelines({name}=...) and build the state yourself."
            )
    known = [name for name in checks.keyword_names(pipelines) or () if "inputs" not in name]
    for name in sorted(set(options) - set(known)):
        said = f"pipelines_with_inputs() got the option {name!r}, which it does not take."
        raise checks.unknown_option(name, known, said)
    pipelines(**options)  # its checks of the values (kinds, max_depth, ...)
    made: dict[tuple[frozenset[str], frozenset[str]], st.SearchStrategy[Builder]] = {}

    def drawn(plain: frozenset[str], lists: frozenset[str]) -> st.SearchStrategy[Builder]:
        """The pipelines for these inputs, made once: the options were checked above."""
        if (plain, lists) not in made:
            made[plain, lists] = pipelines(inputs=plain, list_inputs=lists, **options)
        return made[plain, lists]

    return _with_inputs(drawn)


_WORDS = st.text(alphabet="abcdefgh ", max_size=8)
# Two items first (what shrinking goes to), so a bug of order or of items shows.
_SIZES = st.sampled_from((2, 3, 0, 1))
_LISTS_OF = {n: st.lists(_WORDS, min_size=n, max_size=n) for n in (0, 1, 2, 3)}
_LIST_VALUES = _SIZES.flatmap(_LISTS_OF.__getitem__)
_PLAIN_INPUTS = st.lists(st.sampled_from(_INPUT_NAMES), unique=True, max_size=3)
_LIST_INPUTS = st.lists(st.sampled_from(_LIST_INPUT_NAMES), unique=True, max_size=2)


@st.composite
def _with_inputs(
    draw: st.DrawFn, drawn: Callable[[frozenset[str], frozenset[str]], st.SearchStrategy[Builder]]
) -> tuple[Builder, dict[str, Any]]:
    plain = draw(_PLAIN_INPUTS)
    lists = draw(_LIST_INPUTS)
    pipeline = draw(drawn(frozenset(plain), frozenset(lists)))
    values: dict[str, Any] = {k: f"the {k}" for k in plain}
    values.update({k: draw(_LIST_VALUES) for k in lists})
    return pipeline, values


def invalid_pipelines(kinds: Iterable[str] | None = None) -> st.SearchStrategy[tuple[Builder, str]]:
    """``(pipeline, expected)`` pairs: a valid pipeline with a deliberate mistake, where
    ``validate(to_graph(pipeline))`` raises a ``PipelineError`` whose message contains
    ``expected``. ``kinds`` picks the mistakes (default: all of :data:`INVALID_KINDS`)."""
    chosen = sorted(INVALID_KINDS if kinds is None else _keys(kinds, "kinds", INVALID_KINDS))
    if not chosen:
        raise InvalidArgument(f"kinds must name one mistake or more of {sorted(INVALID_KINDS)}.")

    @st.composite
    def build(draw: st.DrawFn) -> tuple[Builder, str]:
        mistake, expected = broken(draw, draw(st.sampled_from(chosen)))
        valid = draw(pipelines(max_depth=2, max_width=3))
        where = draw(st.integers(0, 2))
        pipeline: Builder = valid >> mistake if where == 0 else mistake >> valid
        if where == 2:
            pipeline = pipeline * 2
        return pipeline, expected

    return build()
