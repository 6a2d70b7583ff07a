"""What may be in the field a route compares (``.on("verdict.category")``), by its sources.

A route on a field of a key checks its values against the field's schema in each writer's
output schema (:func:`irgraph.ir.key_paths.field_schema`), as a route on a key checks them
against the writer's whole schema. A writer whose value can have no such field is a problem
before the run: an agent writing free text (no output schema), one whose schema has no such
field, or a map-over writing a list. A writer whose schema cannot say (the field is in an
``anyOf``, say) may write anything there, so nothing is refused by it.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any

from irgraph.ir.key_paths import field_schema, not_an_object, path_fields, path_root
from irgraph.route_messages import Source

if TYPE_CHECKING:
    from irgraph.graph_routes import Walker

__all__ = ["field_sources"]


def field_sources(w: Walker, sid: str, on: str, sources: list[Source]) -> list[Source] | None:
    """``sources`` (what may be in the key of ``on``) as sources of the field ``on`` names,
    each by its field's schema; ``None``, with the problems told to ``w``, when one of them
    can never hold the field."""
    root, fields = path_root(on), path_fields(on)
    found: list[Source] = []
    told = False
    for source in sources:
        if source.kind == "map_over":
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


def _no_such_field(w: Walker, sid: str, on: str, source: Source) -> None:
    """The problem of route ``sid`` comparing ``on`` when ``source``'s schema says the
    object on the way has no such field."""
    root, fields = path_root(on), path_fields(on)
    for depth in range(len(fields)):
        if field_schema(source.schema, fields[: depth + 1]) == "missing":
            break
    holder: Any = field_schema(source.schema, fields[:depth]) if depth else source.schema
    if isinstance(holder, dict) and "$ref" in holder:
        holder = field_schema({**holder, "properties": {"_": holder}}, ("_",))
    known = sorted(holder.get("properties", {})) if isinstance(holder, dict) else []
    where = ".".join([root, *fields[:depth]])
    writer = f"agent '{source.name}'"
    if source.kind == "item":
        writer = f"agent '{source.name}' (which writes the list map-over '{source.node}' reads)"
    kind = not_an_object(holder)
    if kind is not None and not known:
        said = f"writes '{where}' as {kind if kind.startswith('one') else 'a JSON ' + kind}"
        what = f"{said}, which has no fields"
    else:
        shown = ", ".join(f"'{name}'" for name in known) or "none"
        what = f"declares no field '{fields[depth]}' in '{where}' (its fields: {shown})"
    near = [name for name in known if _near(name, fields[depth])]
    hint = f"Compare a field the schema declares, or declare '{fields[depth]}' there."
    if near:
        hint = f"Did you mean '{where}.{near[0]}'? Compare that."
    elif kind is not None and not known:
        hint = f"Compare '{where}' itself: .on({where!r})."
    w.problem(
        f"Route '{sid}' compares '{on}', but the output schema of {writer} {what}.",
        node=sid,
        key=root,
        hint=hint,
    )


def _near(name: str, wanted: str) -> bool:
    """Whether ``wanted`` is ``name`` misspelt (a close match, or a different case)."""
    return name.lower() == wanted.lower() or bool(difflib.get_close_matches(wanted, [name]))
