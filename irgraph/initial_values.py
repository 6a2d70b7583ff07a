"""The state a run starts with: its keys checked and made plain strings (:func:`given_state`),
and its values checked against what the pipeline does with them before any node runs:
``None`` for a key a template requires (``None`` means no value), something other than a list
for the key a map-over iterates first (or, for a map-over over a field of one,
``.over("plan.topics")``, a value without a list there), and a value a route compares that spells
one of its cases the other way (``"1"`` for ``.when(1, ...)``), or that none of its cases
takes when it has no otherwise and every run reaches it (or, for a route on a field,
``.on("verdict.category")``, a value without that field; with an otherwise too, when the
value is the JSON text of such an object, or a pydantic model), and a value a template's field
read (``{verdict.reason}``) cannot be read from, when every run reaches the reader
(:func:`irgraph.template_fields.initial_field_problems`). Each would fail the run (or silently
take another branch) only when that node is reached, after the model calls before it were paid
for.

>>> from irgraph import Agent, MapOver, to_graph
>>> each = MapOver("each").over("papers").step(Agent("read").writes("note")).writes("notes")
>>> G = to_graph(each, inputs={"papers"})
>>> try:
...     refuse_values(G, {"papers": "a, b"}, {"papers"}, lambda node, key: False)
... except Exception as error:
...     print(str(error)[:81])
MapOver 'each' iterates over 'papers', but the initial state's 'papers' is 'a, b'
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any

from irgraph import checks
from irgraph.errors import PipelineError, Problem, a_or_an
from irgraph.ir.key_paths import model_reason, path_root, path_value, unset_reason
from irgraph.ir.values import canonical, loosely_spells, respells, same_value
from irgraph.list_fields import initial_list_problem
from irgraph.template_fields import field_reads, initial_field_problems
from irgraph.templates import read_as

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["given_state", "refuse_values"]


def given_state(state: Mapping[str, Any] | None) -> dict[str, Any]:
    """A copy of the initial ``state`` a run was given, its keys plain strings (a ``StrEnum``
    member made the string it is), or the :class:`PipelineError` for a state that is no
    mapping or has a key that is not a state key: what every backend's run, and a generated
    flow module's, does first with its state.

    >>> import enum
    >>> Key = enum.StrEnum("Key", {"TOPIC": "topic"})
    >>> [type(key).__name__ for key in given_state({Key.TOPIC: "owls"})]
    ['str']
    """
    if state is not None and not isinstance(state, Mapping):
        raise PipelineError(
            f"state must be a mapping of state keys to values (got {state!r} that is "
            f"{a_or_an(type(state).__name__)} {type(state).__name__}).",
            hint="Pass e.g. state={'topic': 'owls'}.",
        )
    current = {checks.builtin(key): value for key, value in (state or {}).items()}
    for key in current:
        checks.key.check(key, f"the key {key!r} of the initial state")
    return current


def refuse_values(
    G: nx.DiGraph,
    state: Mapping[str, Any],
    needs: Collection[str],
    bound: Callable[[str, str], bool],
) -> None:
    """Raise one :class:`PipelineError` for every reader of ``needs`` (the keys the run takes
    from ``state``) that its initial value would fail. ``bound(node, key)``: whether a step
    before ``node`` writes ``key``, so that its read never sees the initial value."""
    empty = {key for key in needs if state[key] is None}
    unlisted = {key for key in needs if not isinstance(state[key], (list, tuple))}
    # Without a None, only map-overs, routes and field reads can refuse a value: a run (each
    # item of a batch) looks at those alone, not at every agent of the pipeline.
    compared, fielded = _compared(G)
    if not unlisted and not any(_not_plain_map_over(G._node[nid]) for nid in compared):
        return  # None is no list either, and a list only a route or a field read refuses
    nodes = G._node.items() if empty else ((nid, G._node[nid]) for nid in compared)
    problems = []
    for nid, data in nodes:
        if data["kind"] in ("agent", "gate"):
            problems += [_none_problem(nid, key, data) for key in data["reads"] if key in empty]
            if nid in fielded and _always_reached(G, nid):
                problems += initial_field_problems(nid, data, state, bound)
        elif data["kind"] == "map_over" and "." in (over := data["over"] or ""):
            root = path_root(over)  # a field of a key: plan.topics
            if root in needs and not bound(nid, root):
                problems += filter(None, [initial_list_problem(nid, over, state[root])])
        elif data["kind"] == "map_over" and data["over"] in unlisted:
            if not bound(nid, data["over"]):
                problems.append(_unlisted_problem(nid, data["over"], state[data["over"]]))
        elif data["kind"] == "route" and _given(data["on"], needs, state, nid, bound):
            value, cases = path_value(state, data["on"])[1], data["cases"]
            found = _respelt_problem(nid, data["on"], value, cases)
            if not found and _always_reached(G, nid):
                found = _unmatched_problem(nid, data["on"], value, cases)
            problems += found
        elif data["kind"] == "route" and _fieldless(data, needs, state, nid, bound):
            if _always_reached(G, nid):
                problems.append(_fieldless_problem(nid, data["on"], state, data["cases"]))
    if problems:
        raise PipelineError(problems)


def _not_plain_map_over(data: Mapping[str, Any]) -> bool:
    """Whether node ``data`` is no map-over over a whole key: a list there is not enough."""
    return data["kind"] != "map_over" or "." in (data["over"] or "")


#: Per graph: how many nodes it had, and then its map-overs, routes and the agents and gates
#: whose templates read a field of a key, in node order, and those agents and gates.
_COMPARED: weakref.WeakKeyDictionary[nx.DiGraph, tuple[int, list[str], frozenset[str]]] = (
    weakref.WeakKeyDictionary()
)


def _compared(G: nx.DiGraph) -> tuple[list[str], frozenset[str]]:
    """The map-overs, routes and field readers of ``G``, in node order, and the field readers
    apart (found again when its node count changed)."""
    known = _COMPARED.get(G)
    if known is None or known[0] != len(G._node):
        fielded = frozenset(
            nid
            for nid, data in G._node.items()
            if data["kind"] in ("agent", "gate") and field_reads(data)
        )
        kinds = ("map_over", "route")
        found = [nid for nid, data in G._node.items() if data["kind"] in kinds or nid in fielded]
        known = _COMPARED[G] = (len(G._node), found, fielded)
    return known[1], known[2]


def _given(on: Any, needs: Any, state: Mapping[str, Any], nid: str, bound: Any) -> bool:
    """Whether route ``nid`` compares the initial state's value at ``on`` (a key, or a field
    of one): the key is one the run takes from ``state``, no step before writes it, and the
    value holds the field."""
    if on is None or path_root(on) not in needs or bound(nid, path_root(on)):
        return False
    return path_value(state, on)[0]


def _fieldless(data: Any, needs: Any, state: Mapping[str, Any], nid: str, bound: Any) -> bool:
    """Whether route ``nid`` compares a field (``verdict.category``) of a key the initial state
    gives it, whose value lacks the field, with no otherwise nor predicate to take that; or
    with them, when the value is a pydantic model (the run fails at the route anyway) or the
    JSON text of an object holding the field (the otherwise would hide the mistake)."""
    on = data["on"]
    if on is None or "." not in on or path_root(on) not in needs or bound(nid, path_root(on)):
        return False
    value = state[path_root(on)]
    if value is None or path_value(state, on)[0]:
        return False
    if all("equals" in case for case in data["cases"]):
        return True
    return model_reason(state, on) is not None or _json_text_of(value, on)


def _json_text_of(value: Any, on: str) -> bool:
    """Whether ``value`` is the JSON text of an object holding the field ``on`` names."""
    return isinstance(value, str) and path_value({path_root(on): _parsed(value)}, on)[0]


def _fieldless_problem(node: str, on: str, state: Mapping[str, Any], cases: list[Any]) -> Problem:
    """The problem of route ``node``, which every run reaches, comparing the field ``on`` of
    an initial value that holds no such field (a string, or an object without it)."""
    root, value = path_root(on), state[path_root(on)]
    why = unset_reason(state, on).removeprefix("nothing (").removesuffix(")")
    hint = f"Give '{root}' an object holding '{on[len(root) + 1 :]}', or add .otherwise(step)."
    if _json_text_of(value, on):
        hint = (
            f"Give '{root}' the object itself, not its JSON text: state={{{root!r}: {{...}}}} "
            f"(on the command line --state-json '{{\"{root}\": {value}}}', not --state)."
        )
    fails = "the route has no otherwise: the run would fail there"
    if model_reason(state, on) is not None:
        fails = "a route compares JSON values: the run would fail there"
        hint = f"Give '{root}' the model's .model_dump()."
    elif _json_text_of(value, on) and any("equals" not in case for case in cases):
        fails = "the route would take its otherwise"
    return Problem(
        f"Route '{node}' compares '{on}', but the initial state's {why}, so it holds no "
        f"value there, and {fails}.",
        node=node,
        key=root,
        hint=hint,
    )


def _parsed(text: str) -> Any:
    """``text`` read as JSON, or ``None`` when it is none."""
    try:
        return json.loads(text)
    except ValueError:
        return None


def _none_problem(node: str, key: str, data: Mapping[str, Any]) -> Problem:
    """The problem of a required read (``{key}``, or ``{key.field}``) of node ``node`` (its
    graph attributes: ``data``) when the initial state holds None for ``key``."""
    return Problem(
        f"The initial state holds None for '{key}', which '{node}' requires as "
        f"{read_as(data, key)}; None means no value.",
        node=node,
        key=key,
        hint=f"Give '{key}' a value, or write {read_as(data, key, optional=True)} in '{node}' "
        "to make it optional (an optional key holding None renders as empty text).",
    )


def _respelt_problem(node: str, key: str, value: Any, cases: list[Any]) -> list[Problem]:
    """The problem of route ``node`` when the initial ``value`` of its ``key`` equals none
    of its ``cases`` but spells one the other way (``"1"`` for ``.when(1, ...)``)."""
    values = [case["equals"] for case in cases if "equals" in case]
    if any(same_value(value, other) for other in values):
        return []
    meant = [other for other in values if respells(value, other)]
    if not meant:
        return []
    otherwise = any("otherwise" in case for case in cases)
    then = "takes its otherwise branch" if otherwise else "fails there, having no branch for it"
    return [
        Problem(
            f"Route '{node}' compares '{key}', and the initial state's '{key}' is "
            f"{canonical(value)}, which never equals its branch for {canonical(meant[0])}: a "
            f"route compares JSON values, so the run {then}.",
            node=node,
            key=key,
            hint=f"Give '{key}' the value {canonical(meant[0])} ({_kind(meant[0])}), or "
            f"compare with .when({value!r}, ...) if {canonical(value)} is what you mean.",
        )
    ]


def _always_reached(G: nx.DiGraph, node: str) -> bool:
    """Whether every run reaches ``node`` that does not fail before it: it sits in no route's
    branch and no map-over's body (whose list may be empty), only in loops, which run their
    body at least once."""
    parent = G.nodes[node]["parent"]
    while parent is not None:
        if G.nodes[parent]["kind"] != "loop":
            return False
        parent = G.nodes[parent]["parent"]
    return True


def _unmatched_problem(node: str, key: str, value: Any, cases: list[Any]) -> list[Problem]:
    """The problem of route ``node``, which every run reaches, when the initial ``value`` of
    its ``key`` equals none of its ``cases`` and it has neither an otherwise nor a predicate
    that could take it: the run would fail there, after the steps before it were paid for."""
    if not all("equals" in case for case in cases):
        return []
    values = [case["equals"] for case in cases]
    if any(same_value(value, other) for other in values):
        return []
    try:
        shown = canonical(value)
    except (TypeError, ValueError):
        shown = repr(value)
    return [
        Problem(
            f"Route '{node}' compares '{key}', and the initial state's '{key}' is {shown}, "
            f"which none of its branches ({', '.join(map(canonical, values))}) takes, and it "
            "has no otherwise: the run would fail there.",
            node=node,
            key=key,
            hint=f"Give '{key}' {_closest(value, values)}, {_fix(value)}",
        )
    ]


def _closest(value: Any, values: list[Any]) -> str:
    """What to give a route's key in place of ``value``: the case's value it spells loosely
    (``"bug"`` for ``"Bug"``), else one of ``values``."""
    near = [other for other in values if loosely_spells(value, other)]
    if near:
        given = canonical(value)
        return f"the value {canonical(near[0])} ({given} differs in case, spaces or punctuation)"
    return "one of the values its branches take"


def _fix(value: Any) -> str:
    """How a route takes ``value``, which none of its cases does: a case for it, or, for a
    list or an object (which no case can compare with), a predicate."""
    if isinstance(value, (list, tuple, dict)):
        return (
            "or look inside it with a predicate, .when(lambda state: ..., step) (a route "
            "compares a string, number, boolean or None: a list or an object never equals "
            "one), or add .otherwise(step) for every other value."
        )
    return f"add .when({value!r}, step) for it, or .otherwise(step) for every other value."


def _kind(value: Any) -> str:
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool) or value is None:
        return "a boolean" if value is not None else "null"
    return "a number"


def _unlisted_problem(node: str, key: str, value: Any) -> Problem:
    if value is None:
        held = "None (no value)"
    else:
        kind = type(value).__name__
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        held = f"{shown} ({a_or_an(kind)} {kind})"
    return Problem(
        f"MapOver '{node}' iterates over '{key}', but the initial state's '{key}' is {held}, "
        "not a list, so the run would fail there.",
        node=node,
        key=key,
        hint=f"Give '{key}' a list, e.g. state={{'{key}': ['a', 'b']}} (on the command line "
        f'--state-json \'{{"{key}": ["a", "b"]}}\'); to iterate the parts of a text, '
        f"split it into a list with a Transform that writes '{key}' before '{node}'.",
    )
