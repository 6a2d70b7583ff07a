"""The drawing state of :mod:`irgraph.testing.strategies`, and the nodes drawn with it that
carry issue 17's fields: agents with a system prompt (now and then reading a key, as a
template), model settings and an output schema, and routes. An agent drawn where an object a
route compares is visible now and then reads a field of it in its template (``{verdict.label}``).

What a node may read where it is drawn is its :class:`~irgraph.testing.strategies_draft._Scope`
(:mod:`irgraph.testing.strategies_draft`, with the rest of the drawing state).

A route is drawn so that the run always takes a branch: it compares an enum key with some of
its values (and has an ``otherwise`` unless it lists them all), tests importable predicates
of the state (:mod:`irgraph.testing.predicates`; the last one always holds when there is no
``otherwise``), or compares an input with its value, with an ``otherwise``. A key written on
every branch is written after the route; one written on some only is maybe written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import reduce
from typing import Any

import attrs

from irgraph.builder import Agent
from irgraph.ir.values import same_value
from irgraph.routing import Route
from irgraph.testing.predicates import PREDICATES, always
from irgraph.testing.strategies_draft import (
    _NEVER_WRITTEN,
    _Draft,
    _orders,
    _Part,
    _picks,
    _Scope,
)

__all__: list[str] = []  # internal: the strategies module is the public face

_LIST_WORDS = ("papers", "sections", "claims")
_CHOICE_WORDS = ("category", "verdict", "label")

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
    if len(pieces) > 1:
        pieces = [pieces[i] for i in d.draw(_orders(len(pieces)))]
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
        names = d.draw(_picks(tuple(sorted(_SETTINGS))))
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
        chosen = list(d.draw(_picks(tuple(values))))
        # A whole number compared as a float: JSON equality says 2 == 2.0.
        conditions: list[Any] = [float(v) if type(v) is int and d.chance(3) else v for v in chosen]
        if d.chance(4):
            conditions.append(d.pick(PREDICATES))
        return source, key, conditions, len(chosen) < len(values) or d.chance(2)
    if mode == 2 and inputs:
        key = str(d.pick(inputs))
        return None, key, [d.pick((f"the {key}", "unknown"))], True
    predicates = list(d.draw(_picks(tuple(PREDICATES))))
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
