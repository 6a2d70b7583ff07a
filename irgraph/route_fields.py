"""What may be in the field a route compares (``.on("verdict.category")``), by its sources.

A route on a field of a key checks its values against the field's schema in each writer's
output schema (:func:`irgraph.ir.key_paths.field_schema`), as a route on a key checks them
against the writer's whole schema. A writer whose value can have no such field is a problem
before the run: an agent writing free text (no output schema), one whose schema has no such
field, or a map-over writing a list. A writer whose schema cannot say (the field is in an
``anyOf``, say) may write anything there, so nothing is refused by it. A transform annotated
to return a pydantic model is refused (a route compares JSON values, so the run would fail),
and a gate, whose answer is a person's text, is warned of.
"""

from __future__ import annotations

import typing
from typing import TYPE_CHECKING, Any

from irgraph.errors import closest_keys
from irgraph.ir.key_paths import (
    field_lacking,
    field_schema,
    not_an_object,
    object_schema,
    path_fields,
    path_root,
)
from irgraph.reaching import Narrowed, source_of
from irgraph.route_messages import Source
from irgraph.walk import INPUT

if TYPE_CHECKING:
    from irgraph.graph_routes import Walker
    from irgraph.ir import LoopNode

__all__ = ["field_sources", "no_field_words", "stops_on_field"]


def field_sources(
    w: Walker, sid: str, on: str, sources: list[Source], otherwise: bool = True
) -> list[Source] | None:
    """``sources`` (what may be in the key of ``on``) as sources of the field ``on`` names,
    each by its field's schema; ``None``, with the problems told to ``w``, when one of them
    can never hold the field. Without an ``otherwise``, a schema that lets the field be left
    out (not required, or in an object that may be null) is warned of: the run would fail."""
    root, fields = path_root(on), path_fields(on)
    found: list[Source] = []
    told = False
    for source in sources if not otherwise else ():
        if source.kind in ("agent", "item") and source.schema is not None:
            why = field_lacking(source.schema, fields)
            if why is not None and field_schema(source.schema, fields) != "missing":
                writer = f"agent '{source.name}'"
                if source.kind == "item":
                    writer = f"the items of the list agent '{source.name}' writes"
                w.warnings.append(
                    f"Route '{sid}' compares '{on}', but {writer} may leave it out ({why} "
                    "in its output schema), and the route has no otherwise, so the run fails "
                    "if it gets no value there; add .otherwise(step), or make the field "
                    "required (a pydantic field without a default)."
                )
                break
    for source in sources:
        if (model := returned_model(w, source.node)) is not None:
            told = True
            w.problem(
                f"Route '{sid}' compares '{on}', a field of '{root}', but transform "
                f"'{source.node}' returns a {model} model (its return annotation), not its JSON: "
                "a route compares JSON values, so the run would fail there.",
                node=sid,
                key=root,
                hint=f"Return the model's .model_dump() from '{source.node}' (annotated "
                "-> dict[str, Any]).",
            )
        elif source.kind == "gate":
            so = "the route never finds it there"
            w.warnings.append(gate_words(f"Route '{sid}' compares", on, source.node, so))
            found.append(source)
        elif source.kind == "map_over":
            told = True
            w.problem(
                f"Route '{sid}' compares '{on}', a field of '{root}', but map-over "
                f"'{source.node}' writes '{root}' as a list of its items' results, which has no "
                "fields.",
                node=sid,
                key=root,
                hint=f"Route on a key that holds an object, or look into the list with a "
                f"predicate: .when(lambda state: ... state[{root!r}] ..., branch).",
            )
        elif source.kind in ("agent", "item") and source.schema is None:
            if source.kind == "item":  # items of unknown shape: anything
                found.append(Source(source.node, "field", None, source.lister))
                continue
            told = True
            field = fields[0]
            example = (
                f"{{'type': 'object', 'properties': {{{field!r}: {{'enum': [...]}}}}, "
                f"'required': [{field!r}]}}"
            )
            w.problem(
                f"Route '{sid}' compares '{on}', a field of '{root}', but agent "
                f"'{source.node}' writes '{root}' as free text (it has no output schema), "
                f"which has no fields, so the route never finds '{on}'.",
                node=sid,
                key=root,
                hint=f"Give '{source.node}' an output schema of an object holding '{field}': "
                f".output({example}).",
            )
        elif source.kind in ("agent", "item"):
            schema = field_schema(source.schema, fields)
            if schema == "missing":
                told = True
                _no_such_field(w, sid, on, source)
            elif schema is None:
                found.append(Source(source.node, "field", None, source.lister))
            else:
                found.append(Source(source.node, source.kind, schema, source.lister))
        else:
            found.append(source)
    return None if told else found


def gate_words(who: str, on: str, gate: str, so: str) -> str:
    """The warning of a route or loop (``who``: "Route 'r' compares"; ``so``: what follows)
    reading the field ``on`` of what ``gate`` writes: a person's answer, text, no fields."""
    root = path_root(on)
    return (
        f"{who} '{on}', a field of '{root}', but gate '{gate}' writes '{root}' as a person's "
        "answer, which is text (unless an on_gate handler returns an object), with no fields, "
        f"so {so}; parse the answer into an object with a Transform that reads '{root}', or "
        f"compare '{root}' itself."
    )


def returned_model(w: Walker, nid: str) -> str | None:
    """The name of the pydantic model class transform ``nid``'s function is annotated to
    return (a value routes and loops cannot look into), else ``None``."""
    fn = w.functions.get(nid)
    try:
        returns = typing.get_type_hints(fn).get("return") if fn is not None else None
    except Exception:  # an annotation that does not resolve: nothing known
        return None
    if isinstance(returns, type) and callable(getattr(returns, "model_dump", None)):
        return returns.__name__
    return None


def _no_such_field(w: Walker, sid: str, on: str, source: Source) -> None:
    """The problem of route ``sid`` comparing ``on`` when ``source``'s schema says the
    object on the way has no such field."""
    writer = f"agent '{source.name}'"
    if source.kind == "item":
        writer = f"agent '{source.name}' (which writes the list map-over '{source.node}' reads)"
    what, hint = no_field_words(source.schema, on, ".on")
    step = sid
    while (step := w.G.nodes[step]["parent"]) is not None:  # in a map-over over the list?
        data = w.G.nodes[step]
        over = data.get("over") if data["kind"] == "map_over" else None
        if over and on.startswith(f"{over}.") and f"'{over}' as a JSON array" in what:
            meant = f"{data['item']}{on[len(over) :]}"  # (over: a key, or plan.topics)
            hint = (
                f"Did you mean '{meant}', of each item of '{over}' (map-over '{step}' names "
                f"it '{data['item']}')? Write .on({meant!r})."
            )
            break
    w.problem(
        f"Route '{sid}' compares '{on}', but the output schema of {writer} {what}.",
        node=sid,
        key=path_root(on),
        hint=hint,
    )


def no_field_words(schema: Any, on: str, method: str) -> tuple[str, str]:
    """What ``schema`` says of the field ``on`` it has no room for (``declares no field
    'x' in 'v' (its fields: ...)``), and the hint: the field meant, or how to fix it
    (``method``: where the path was given, ``.on``, ``.until`` or ``template``)."""
    root, fields = path_root(on), path_fields(on)
    for depth in range(len(fields)):
        if field_schema(schema, fields[: depth + 1]) == "missing":
            break
    holder = object_schema(schema, fields[:depth])
    known = sorted(holder.get("properties", {})) if isinstance(holder, dict) else []
    where = ".".join([root, *fields[:depth]])
    kind = not_an_object(holder)
    if kind is not None and not known:
        said = f"writes '{where}' as {kind if kind.startswith('one') else 'a JSON ' + kind}"
        what = f"{said}, which has no fields"
    else:
        shown = ", ".join(f"'{name}'" for name in known) or "none"
        what = f"declares no field '{fields[depth]}' in '{where}' (its fields: {shown})"
    wanted = fields[depth]  # the field meant: the same but for case, else the closest
    near = [name for name in known if name.lower() == wanted.lower()] or closest_keys(wanted, known)
    hint = f"Use a field the schema declares, or declare '{fields[depth]}' there."
    template = method == "template"  # {verdict.reason} in a template
    if near:
        meant = f"{where}.{near[0]}{on[len(where) + len(fields[depth]) + 1 :]}"
        hint = f"Did you mean {{{meant}}}?" if template else f"Did you mean '{meant}'?"
        hint += f" Write {method}({meant!r})." if method in (".on", ".over") else ""
    elif kind == "array":  # a list: each item's field, in a map-over over it
        rest = ".".join(fields[depth:])
        over = f"map over it, MapOver(...).over('{where}', item='item')"
        hint = (
            f"'{where}' holds a list: to compare '{rest}' of each of its items, {over}, with a "
            f"step Route(...).on('item.{rest}'); or look into the list with a predicate."
        )
        if template:
            hint = (
                f"'{where}' holds a list: read it whole as {{{where}}}, or {over}, with a step "
                f"that reads {{item.{rest}}}."
            )
        elif method == ".over":
            hint = f"'{where}' holds a list: {over}, with a step MapOver(...).over('item.{rest}')."
        elif method != ".on":
            hint = (
                f"'{where}' holds a list: look into it with a predicate, .until(lambda state: ...)."
            )
    elif kind is not None and not known:
        hint = f"Read '{where}' itself as {{{where}}}." if template else ""
        hint = hint or f"Use '{where}' itself: {method}({where!r})."
    return what, hint


def stops_on_field(rules: Any, sid: str, node: LoopNode, key: str, found: frozenset[Any]) -> None:
    """The warning of loop ``sid``, stopping on the field ``key`` of a key, when no writer
    whose value may end a pass can stop it: one writes free text (no fields), one's schema
    has no such field, or (with ``equals=``) one's field never holds the value, or the routes
    on the field in the body never let that value reach the end of a pass. ``rules``:
    the walk's :class:`irgraph.typing_rules.TypeRules`; ``found``: what the key may hold as a
    pass ends."""
    w = rules.w
    nodes, root = w.G.nodes, path_root(key)
    reasons: dict[str, str] = {}
    order = {nid: index for index, nid in enumerate(w.added)}
    target = node.until_equals[0] if node.until_equals else None
    if (
        node.until_equals
        and found
        and all(isinstance(item, Narrowed) and not item.admits(target) for item in found)
    ):  # routes on the field in the body keep the value from the end of every pass
        kept = sorted(found, key=lambda item: (order.get(source_of(item), -1), repr(item)))
        w.warnings.append(rules._kept_out(sid, key, target, kept, []))
        return
    for source in sorted(map(source_of, found), key=lambda n: order.get(n, -1)):
        if source != INPUT and (model := returned_model(w, source)) is not None:
            reasons[source] = (
                f"Loop '{sid}' stops on '{key}', a field of '{root}', but transform '{source}' "
                f"returns a {model} model (its return annotation), not its JSON, so the run "
                f"would fail at the loop; return its .model_dump() from '{source}'."
            )
            continue
        if source != INPUT and nodes[source]["kind"] == "gate":
            so = "the loop never stops early"
            reasons[source] = gate_words(f"Loop '{sid}' stops on", key, source, so)
            continue
        if source == INPUT or nodes[source]["kind"] != "agent":
            return  # may hold anything
        schema = nodes[source]["output"]
        field = field_schema(schema, path_fields(key)) if schema is not None else "missing"
        if schema is None:
            reasons[source] = (
                f"Loop '{sid}' stops on '{key}', a field of '{root}', but agent '{source}' "
                f"writes '{root}' as free text (it has no output schema), which has no fields, "
                f"so the loop never stops early; give '{source}' an output schema of an object."
            )
        elif field == "missing":
            what, hint = no_field_words(schema, key, ".until")
            reasons[source] = (
                f"Loop '{sid}' stops on '{key}', but the output schema of agent '{source}' "
                f"{what}, so the loop never stops early. {hint}"
            )
        elif field is None or not node.until_equals:
            return  # it may hold the field (truthy or not: the reply says)
        else:
            why = rules._never_equals(sid, node, key, source, field, node.until_equals[0])
            if why is None:
                return
            reasons[source] = why
    if len(reasons) == 1:
        w.warnings.append(next(iter(reasons.values())))
    elif reasons:
        w.warnings.append(
            f"Loop '{sid}' stops on '{key}', but none of its writers can make it stop "
            f"({', '.join(map(repr, reasons))}): {' '.join(reasons.values())}"
        )
