"""A map-over over a field of a key (``.over("plan.topics")``): the list checked before the run
against what may be in the key, and its value read when the run starts and at the map-over.

The key (``plan``) is what the map-over reads; its writers are checked by what they write, as
a template's ``{plan.topics}`` is (:mod:`irgraph.template_fields`): an agent writing free text,
or one whose output schema declares no such field or declares it as no array, can never give
the list, a problem naming the map-over, the path, the writer and the fields it has; so is a
map-over writing the key (a list of results) and a transform returning a pydantic model. A
schema that lets the field be left out is warned of. A value of the key that holds no list
there, given in the initial state or met at the map-over, is told by :func:`list_fault` in
the same words wherever it is met.

>>> list_fault({"title": "t"}, "plan.topics")
("'plan' has no field 'topics' (its keys: 'title')", "Give 'plan' a 'topics' field holding a list")
>>> print(list_fault({"topics": ["a"]}, "plan.topics"))
None
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from irgraph.errors import Problem, a_or_an
from irgraph.ir.key_paths import field_lacking, field_schema, held_at, path_fields, path_root
from irgraph.prompt_values import held_keys, read_field
from irgraph.route_fields import no_field_words, returned_model

if TYPE_CHECKING:
    from irgraph.graph_routes import Walker

__all__ = ["field_list", "unfielded", "list_fault", "initial_list_problem"]


def field_list(w: Walker, sid: str, over: str, who: str, agent: str, schema: Any) -> Any:
    """The schema of the list map-over ``sid`` iterates at the path ``over``, in what ``who``
    (``"agent 'planner'"``, or the items of a list ``agent`` writes) writes by ``schema``; or
    ``None``, with the problem told to ``w`` when the value can never hold the field, or when
    the schema cannot say."""
    root, fields = path_root(over), path_fields(over)
    if schema is None:
        if who.startswith("the items"):  # items of unknown shape: anything
            return None
        inner = "{'type': 'array', 'items': {'type': 'string'}}" if len(fields) == 1 else "{...}"
        w.problem(
            f"MapOver '{sid}' iterates over '{over}', a field of '{root}', but {who} writes "
            f"'{root}' as free text (it has no output schema), which has no fields.",
            node=sid,
            key=root,
            hint=f"Give '{agent}' an output schema of an object holding '{fields[0]}': "
            f".output(Model) with a '{fields[0]}' field, or .output({{'type': 'object', "
            f"'properties': {{{fields[0]!r}: {inner}}}, 'required': [{fields[0]!r}]}}).",
        )
        return None
    found = field_schema(schema, fields)
    if found == "missing":
        what, hint = no_field_words(schema, over, ".over")
        if who.startswith("the items"):
            who = f"agent '{agent}' (whose list's items are '{root}' here)"
        w.problem(
            f"MapOver '{sid}' iterates over '{over}', but the output schema of {who} {what}.",
            node=sid,
            key=root,
            hint=hint,
        )
        return None
    if found is not None and (why := field_lacking(schema, fields)) is not None:
        w.warnings.append(
            f"MapOver '{sid}' iterates over '{over}', but {who} may leave it out ({why} in its "
            f"output schema), so the run fails at '{sid}' if it is not there; make the field "
            "required (a pydantic field without a default: an empty list runs no items)."
        )
    return found


def unfielded(w: Walker, sid: str, over: str, writers: list[str]) -> None:
    """Tell ``w`` the problems of map-over ``sid`` iterating the path ``over`` when one of
    ``writers`` (of its key) writes a value that never has fields: a map-over's list of its
    items' results, a transform annotated to return a pydantic model (not its JSON); and the
    warning of a gate's answer, a person's text unless an ``on_gate`` handler gives more."""
    root, nodes = path_root(over), w.G.nodes
    for writer in writers:
        data = nodes[writer]
        if data["kind"] == "map_over" and not _around(w, writer, sid):
            w.problem(
                f"MapOver '{sid}' iterates over '{over}', a field of '{root}', but map-over "
                f"'{writer}' writes '{root}' as a list of its items' results, which has no "
                "fields.",
                node=sid,
                key=root,
                hint=f"Map over '{root}' itself, .over('{root}', item='item'), with a step "
                f"MapOver(...).over('item.{over[len(root) + 1 :]}') when each result holds "
                "the list.",
            )
        elif data["kind"] == "gate":
            w.warnings.append(
                f"MapOver '{sid}' iterates over '{over}', a field of '{root}', but gate "
                f"'{writer}' writes '{root}' as a person's answer, which is text (unless an "
                "on_gate handler returns an object), with no fields, so the run fails there; "
                f"parse the answer into an object with a Transform that reads '{root}'."
            )
        elif data["kind"] == "transform" and (model := returned_model(w, writer)) is not None:
            w.problem(
                f"MapOver '{sid}' iterates over '{over}', a field of '{root}', but transform "
                f"'{writer}' returns a {model} model (its return annotation), not its JSON, so "
                "the run would fail there.",
                node=sid,
                key=root,
                hint=f"Return the model's .model_dump() from '{writer}' (annotated "
                "-> dict[str, Any]).",
            )


def _around(w: Walker, scope: str, nid: str) -> bool:
    """Whether ``scope`` holds node ``nid`` in its body, however deep."""
    parent: str | None = w.G.nodes[nid]["parent"]
    while parent is not None and parent != scope:
        parent = w.G.nodes[parent]["parent"]
    return parent == scope


def list_fault(value: Any, over: str) -> tuple[str, str] | None:
    """Why ``value``, the value of the key of the path ``over``, holds no list there, and what
    to give instead (both in words); ``None`` when it holds one."""
    found, fault = read_field(over, value, False)
    if fault is None:
        if isinstance(found, (list, tuple)):
            return None
        return f"'{over}' holds {_held(found)}, not a list", f"Give '{over}' a list"
    seen, name, held = fault
    if not isinstance(held, Mapping):
        why = f"'{seen}' holds {_held(held)}, not an object with fields"
        return why, f"Give '{seen}' an object whose '{name}' field holds a list"
    if name not in held:
        return f"'{seen}' has no field '{name}' ({held_keys(held)})", (
            f"Give '{seen}' a '{name}' field holding a list"
        )
    return f"'{seen}.{name}' holds None (no value), not a list", f"Give '{seen}.{name}' a list"


def _held(value: Any) -> str:
    """A value, shortened, and its type, for a message: ``'a, b' (a str)``."""
    if value is None:
        return "None (no value)"
    kind = type(value).__name__
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    return f"{shown} ({a_or_an(kind)} {kind})"


def initial_list_problem(node: str, over: str, value: Any) -> Problem | None:
    """The problem of map-over ``node`` iterating the path ``over`` when the initial state's
    ``value`` of its key holds no list there, else ``None``."""
    found = list_fault(value, over)
    if found is None:
        return None
    why, give = found
    root = path_root(over)
    example = held_at(over, ["a", "b"])
    return Problem(
        f"MapOver '{node}' iterates over '{over}', but the initial state's {why}, so the run "
        "would fail there.",
        node=node,
        key=root,
        hint=f"{give}, e.g. state={{{root!r}: {example!r}}} (on the command line --state-json "
        f"'{json.dumps({root: example})}').",
    )
