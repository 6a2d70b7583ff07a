"""Templates that read a field of a key (``{verdict.reason}``), checked before the run against
what may be in the key, as a route's field is (:mod:`irgraph.route_fields`).

The writers whose value may be in the key when the node runs are its reaching definitions
(:func:`irgraph.reaching.reaching`); each is checked by what it writes. An agent writing free
text (no output schema), one whose schema declares no such field, and a map-over writing the
list of its items' results can never give the field: a problem, naming the reader, the
template, the key, the field and the writer. A transform annotated to return a pydantic model
is one too (a template reads JSON values, and the run would fail there). A gate's answer is a
person's text: a warning. A schema that cannot say (the field is in an ``anyOf``...) and a
transform may give anything: nothing is said before the run, and a missing field fails the
node then (:mod:`irgraph.prompt_values`). A key only the initial state gives (no step writes it
before the read) is checked against the value given when the run starts
(:func:`initial_field_problems`): a value the read would fail on is refused then, before any
node runs, as a route's is (:mod:`irgraph.initial_values`). A schema that lets a
required ``{verdict.reason}`` be left out (not required, or in an object that may be null) is
warned of: ``{verdict.reason?}`` renders it as empty text instead. Inside a map-over, a field
of its item is checked against the items of each list that may reach the map-over.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from irgraph.errors import Problem
from irgraph.ir.key_paths import field_lacking, field_schema, path_fields, path_root
from irgraph.ir.over_paths import list_schema
from irgraph.prompt_values import held_keys, is_model, is_object_text, read_field, short_repr
from irgraph.reaching import reaching
from irgraph.route_fields import no_field_words, returned_model
from irgraph.templates import Template, parse_template
from irgraph.walk import INPUT

if TYPE_CHECKING:
    from irgraph.graph_routes import Walker

__all__ = ["field_reads", "check_field_reads", "initial_field_problems"]

#: What every field read holds: a "{", its key (no brace, no dot), a dot. A text without it
#: reads no field and is not parsed: a sentence's full stop (``Go on from {k1}.``) is no
#: field read, and a parse of each agent's text on a run's first look at its graph allocated
#: a new template once the pipeline had more texts than the template cache keeps.
_MAYBE_FIELD = re.compile(r"\{[^{}.]*\.")


def field_reads(data: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """The fields node ``data`` (a graph node's attributes) reads in its templates: ``(where,
    path, optional)``, each path once (required when any of its reads is), in order."""
    if data["kind"] == "agent":
        texts = [("instruction", data["instruction"]), ("system prompt", data.get("system", ""))]
    else:
        texts = [("message", data.get("message", ""))]
    found: dict[str, tuple[str, str, bool]] = {}
    for where, text in texts:
        if "." not in text or _MAYBE_FIELD.search(text) is None:
            continue
        template: Template = parse_template(text, field=where)
        for _, path, optional in template.parts:
            if path is not None and "." in path:
                if path not in found or (found[path][2] and not optional):
                    found[path] = (where, path, optional)
    return list(found.values())


def check_field_reads(w: Walker, tree: Any, readers: list[str]) -> None:
    """Tell ``w`` the problems and warnings of the field reads of ``readers`` (node ids whose
    templates read a field of a key), by the writers that may reach each (``tree``:
    ``G.graph["tree"]``)."""
    nodes = w.G.nodes
    reads = [(nid, *read) for nid in readers for read in field_reads(nodes[nid])]
    reached: dict[tuple[str, str], frozenset[str]] = {}
    pending = sorted({(nid, path_root(path)) for nid, _, path, _ in reads})
    while pending:  # one pass of the tree per key a node reads: most read one
        wanted: dict[str, str] = {}
        left = []
        for nid, root in pending:
            if nid in wanted:
                left.append((nid, root))  # (for the next pass)
            else:
                wanted[nid] = root
        for nid, writers in reaching(w.G, tree, wanted).items():
            reached[nid, wanted[nid]] = writers
        pending = left
    order = {nid: index for index, nid in enumerate(w.added)}
    told: set[tuple[str, str]] = set()  # (reader, writer) told of a value with no fields
    for nid, where, path, optional in reads:
        found = reached[nid, path_root(path)]
        for writer in sorted(found - {INPUT}, key=lambda n: order.get(n, -1)):
            if (nid, writer) not in told:
                _check(w, tree, (nid, where, path, optional), writer, told)


def _check(
    w: Walker, tree: Any, read: tuple[str, str, str, bool], writer: str, told: set[Any]
) -> None:
    """Tell ``w`` what ``writer``'s value means for ``read`` (reader, where, path, optional);
    of a value with no fields at all (text, a list, a model), once per reader, in ``told``."""
    nid, _, path, _ = read
    root = path_root(path)
    data = w.G.nodes[writer]
    item = data["kind"] == "map_over" and data.get("item") == root and _inside(w, nid, writer)
    if not item and (data["kind"] != "agent" or data["output"] is None):
        told.add((nid, writer))
    said = _said(read)
    if data["kind"] == "agent":
        _by_schema(w, read, f"agent '{writer}'", data["output"], writer)
    elif data["kind"] == "gate":
        w.warnings.append(
            f"{said}, but gate '{writer}' writes '{root}' as a person's answer, which is text "
            "(unless an on_gate handler returns an object), with no fields, so the run fails "
            f"there; parse the answer into an object with a Transform that reads '{root}', or "
            f"read it whole as {{{root}}}."
        )
    elif item:
        for lister, items in _items(w, tree, writer):
            _by_schema(w, read, f"the items of the list agent '{lister}' writes", items, lister)
    elif data["kind"] == "map_over":
        w.problem(
            f"{said}, but map-over '{writer}' writes '{root}' as a list of its items' results, "
            "which has no fields.",
            node=nid,
            key=root,
            hint=f"Map over '{root}', MapOver(...).over('{root}', item='item'), with a step "
            f"that reads {{item.{path[len(root) + 1 :]}}}; or take the field out with a "
            f"Transform that reads '{root}'.",
        )
    elif (model := returned_model(w, writer)) is not None:
        w.problem(
            f"{said}, but transform '{writer}' returns a {model} model (its return "
            "annotation), not its JSON: a template reads fields of JSON values, so the run "
            "would fail there.",
            node=nid,
            key=root,
            hint=f"Return the model's .model_dump() from '{writer}' (annotated -> dict[str, Any]).",
        )


def _by_schema(
    w: Walker, read: tuple[str, str, str, bool], who: str, schema: Any, agent: str
) -> None:
    """Check ``read`` against ``schema``, what ``who`` (``"agent 'judge'"``) writes."""
    nid, where, path, optional = read
    root, fields = path_root(path), path_fields(path)
    said = _said(read)
    if schema is None:
        if who.startswith("the items"):  # items of unknown shape: anything
            return
        kind = "object" if len(fields) > 1 else "string"
        example = (
            f"{{'type': 'object', 'properties': {{{fields[0]!r}: {{'type': {kind!r}}}}}, "
            f"'required': [{fields[0]!r}]}}"
        )
        w.problem(
            f"{said}, but {who} writes '{root}' as free text (it has no output schema), which "
            "has no fields.",
            node=nid,
            key=root,
            hint=f"Give '{agent}' an output schema of an object holding '{fields[0]}': "
            f".output(Model) with a '{fields[0]}' field, or .output({example}); or read the "
            f"whole text as {{{root}}}.",
        )
        return
    found = field_schema(schema, fields)
    if found == "missing":
        what, hint = no_field_words(schema, path, "template")
        w.problem(
            f"The {where} of '{nid}' reads {_shown(read)}, but the output schema of {who} {what}.",
            node=nid,
            key=root,
            hint=hint,
        )
    elif found is not None and not optional and (why := field_lacking(schema, fields)):
        w.warnings.append(
            f"The {where} of '{nid}' reads {{{path}}}, but {who} may leave it out ({why} in its "
            f"output schema), so the run fails if it is not there; write {{{path}?}} to render "
            "it as empty text then, or make the field required (a pydantic field without a "
            "default)."
        )


def _shown(read: tuple[str, str, str, bool]) -> str:
    """How ``read`` is written in its template: ``{verdict.reason}``, ``{verdict.note?}``."""
    return "{" + read[2] + ("?" if read[3] else "") + "}"


def _said(read: tuple[str, str, str, bool]) -> str:
    """The start of a message about ``read``: who reads which field of which key."""
    nid, where, path, _ = read
    root = path_root(path)
    field = path[len(root) + 1 :]
    return f"The {where} of '{nid}' reads {_shown(read)}, the field '{field}' of '{root}'"


def _inside(w: Walker, nid: str, scope: str) -> bool:
    """Whether node ``nid`` is in the body of ``scope``, however deep."""
    parent: str | None = w.G.nodes[nid]["parent"]
    while parent is not None and parent != scope:
        parent = w.G.nodes[parent]["parent"]
    return parent == scope


def _items(w: Walker, tree: Any, mid: str) -> list[tuple[str, Any]]:
    """The agents that may have written the list map-over ``mid`` iterates, each with the
    schema of its items (with the list's definitions, so a local ``$ref`` resolves); none
    when some writer's items are not known (the initial state, a transform). A map-over over
    (a field of) the item of one around it iterates what that one's items hold."""
    nodes = w.G.nodes
    over = nodes[mid].get("over")
    writers = reaching(w.G, tree, {mid: over}).get(mid, frozenset()) if over else {INPUT}
    found = []
    for writer in sorted(writers, key=str):
        if writer != INPUT and nodes[writer]["kind"] == "map_over" and _inside(w, mid, writer):
            lists = _items(w, tree, writer)  # the outer items, each holding a list
        elif writer == INPUT or nodes[writer]["kind"] != "agent":
            return []
        else:
            lists = [(writer, nodes[writer]["output"])]
        for lister, whole in lists or [(writer, None)]:
            schema = list_schema(whole, over)  # (a path: plan.topics)
            if not isinstance(schema, dict) or not isinstance(schema.get("items"), dict):
                return []  # (free text is refused at the map-over: nothing more to say here)
            if "prefixItems" in schema:  # the first items have schemas of their own
                return []
            defs = {k: schema[k] for k in ("$defs", "definitions", "$schema") if k in schema}
            found.append((lister, {**defs, **schema["items"]}))
    return found


def initial_field_problems(
    nid: str, data: dict[str, Any], state: Mapping[str, Any], bound: Callable[[str, str], bool]
) -> list[Problem]:
    """The problems of the field reads of node ``nid`` (its graph attributes: ``data``) that
    the initial ``state`` would fail, for each key no step before the node writes
    (``bound(nid, key)`` is false) and the state gives (``None`` is told as no value, apart):
    a value on the way that is no object (once per value), a required field that is missing
    or ``None``."""
    problems: list[Problem] = []
    told: set[str] = set()  # values with no fields, told once
    for where, path, optional in field_reads(data):
        root = path_root(path)
        if state.get(root) is None or bound(nid, root):
            continue
        fault = read_field(path, state[root], optional)[1]
        if fault is not None and fault[0] not in told:
            if not isinstance(fault[2], Mapping):
                told.add(fault[0])
            problems.append(_initial_problem((nid, where, path, optional), fault))
    return problems


def _initial_problem(read: tuple[str, str, str, bool], fault: tuple[str, str, Any]) -> Problem:
    """The problem of ``read`` (reader, where, path, optional) when the initial state's value
    fails it: at ``seen``, ``held`` is no object, or has no field ``name`` (or ``None``)."""
    nid, _, path, _ = read
    seen, name, held = fault
    root = path_root(path)
    kind = type(held).__name__
    hint = (
        f"Give '{seen}' an object holding '{name}', e.g. state={{'{root}': {{...}}}} (on the "
        f"command line --state-json '{{\"{root}\": {{...}}}}'), or read '{seen}' whole as "
        f"{{{seen}}} in '{nid}'."
    )
    if is_model(held):
        why = f"'{seen}' holds a {kind} model, not a JSON object"
        hint = f"Give '{seen}' the model's .model_dump()."
    elif is_object_text(held):
        why = f"'{seen}' holds {kind} {short_repr(held)}, the JSON text of an object"
        why += ", not the object"
        hint = f"Give '{seen}' the object itself, not its JSON text"
        hint += (
            f": state={{'{root}': {{...}}}} (on the command line --state-json "
            f"'{{\"{root}\": {held}}}', not --state)."
            if seen == root
            else "."
        )
    elif not isinstance(held, Mapping):
        why = f"'{seen}' holds {kind} {short_repr(held)}, not an object with fields"
    elif name in held:
        why = f"'{seen}.{name}' holds None, which means no value"
        hint = (
            f"Give '{seen}.{name}' a value, or write {{{path}?}} in '{nid}' to render it as "
            "empty text when it is missing or None."
        )
    else:
        why = f"'{seen}' has no field '{name}' ({held_keys(held)})"
        hint = (
            f"Give '{seen}' a '{name}' field, or write {{{path}?}} in '{nid}' to render it as "
            "empty text when it is missing."
        )
    return Problem(
        f"{_said(read)}, but the initial state's {why}, so the run would fail there.",
        node=nid,
        key=root,
        hint=hint,
    )
