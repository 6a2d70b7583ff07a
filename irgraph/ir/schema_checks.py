"""What an output schema must be beyond what ``jsonschema``'s ``check_schema`` checks.

A pydantic model class stands for its JSON Schema (``model_json_schema()``), so a model that
has none (a field of an arbitrary class, allowed by ``arbitrary_types_allowed``) is refused
when it is given, naming the agent and the model, with pydantic's error as the cause.

``check_schema`` checks a schema's keywords against its draft's meta-schema, not where its
``$ref`` s point: a reference to a definition that is not there, or to another document,
passes it and then fails while a reply is validated, after the model call. Every ``$ref``
must resolve inside the schema itself (``#/$defs/Name``, an ``$anchor``, a nested ``$id``)
or be one of the JSON Schema meta-schemas ``jsonschema`` ships (``{"$ref":
"https://json-schema.org/draft/2020-12/schema"}``: the reply must be a JSON Schema), which
it validates against offline; irgraph never fetches a schema from elsewhere.

>>> first_unresolved_ref({"$defs": {"A": {"type": "string"}}, "$ref": "#/$defs/A"}) is None
True
>>> first_unresolved_ref({"properties": {"sev": {"$ref": "#/$defs/Severity"}}})
'#/$defs/Severity'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from irgraph.errors import PipelineError, did_you_mean

if TYPE_CHECKING:
    from referencing import Specification
    from referencing._core import Resolver  # not re-exported by referencing itself

__all__ = ["first_unresolved_ref", "ref_loop", "check_refs", "check_valid", "model_schema"]


#: The names JSON Schema's ``type`` takes.
TYPE_NAMES = ("string", "number", "integer", "boolean", "object", "array", "null")


def check_valid(schema: Mapping[str, Any], *, node: str) -> None:
    """Refuse ``schema`` if ``jsonschema``'s ``check_schema`` does (for its own draft), naming
    agent ``node`` and where in the schema; a misspelt type name (``"strng"``) is told the
    name it looks like.

    >>> try:
    ...     check_valid({"type": "strng"}, node="c")
    ... except PipelineError as error:
    ...     print(error.problems[0].hint[:25])
    Did you mean 'string'? JS
    """
    import jsonschema

    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(p) for p in exc.path) or "the top level"
        hint = "See https://json-schema.org for the keywords; e.g. {'type': 'object', "
        hint += "'properties': {...}, 'required': [...]}."
        keyword = exc.path[-1] if exc.path else None
        if keyword in _LISTS and not isinstance(exc.instance, list):
            hint = f"{keyword} takes a list: {{{keyword!r}: [{exc.instance!r}]}}."
        elif keyword == "items" and isinstance(exc.instance, list):
            hint = (
                "items takes one schema, which every item matches: {'items': {...}}; a "
                "schema per place in the list is prefixItems: {'prefixItems': [...]}."
            )
        if _at_type(list(exc.path)):
            named = exc.instance if isinstance(exc.instance, list) else [exc.instance]
            unknown = [t for t in named if isinstance(t, str) and t not in TYPE_NAMES]
            meant = ""
            if unknown:
                python = _PYTHON_TYPES.get(unknown[0])
                meant = (
                    f" Did you mean {python!r}?" if python else did_you_mean(unknown[0], TYPE_NAMES)
                )
            hint = f"{meant.strip()} JSON Schema's types are "
            hint = f"{hint.strip()} {', '.join(map(repr, TYPE_NAMES[:-1]))} and 'null'."
        raise PipelineError(
            f"The output schema of '{node}' is not a valid JSON Schema: {exc.message} "
            f"(at {where}).",
            node=node,
            hint=hint,
        ) from None


#: The keywords whose value is a list, which a schema written by hand may give one value.
_LISTS = ("enum", "required", "allOf", "anyOf", "oneOf", "prefixItems")

#: Python's names of JSON's types, which a schema written from Python code may use.
_PYTHON_TYPES = {"str": "string", "int": "integer", "float": "number", "bool": "boolean",
                 "dict": "object", "list": "array", "tuple": "array", "None": "null"}  # fmt: skip


def _at_type(path: list[Any]) -> bool:
    """Whether a schema error's ``path`` is a ``type`` keyword (or an item of its list), not
    a property or definition that happens to be named ``type``."""
    if path[-1:] != ["type"] and not (path[-2:-1] == ["type"] and isinstance(path[-1], int)):
        return False
    at = path.index("type", max(len(path) - 2, 0))
    return at == 0 or path[at - 1] not in (
        "properties",
        "patternProperties",
        "$defs",
        "definitions",
    )


def first_unresolved_ref(schema: Mapping[str, Any]) -> str | None:
    """The first ``$ref`` of ``schema`` that does not resolve inside ``schema`` or to a
    meta-schema ``jsonschema`` ships, or ``None``.

    References resolve as ``jsonschema`` resolves them when it validates (the same
    ``referencing`` library, the schema's own draft, the same bundled meta-schemas), but with
    no way to fetch a document.

    >>> first_unresolved_ref({"$ref": "https://json-schema.org/draft/2020-12/schema"}) is None
    True
    """
    from jsonschema_specifications import REGISTRY as META_SCHEMAS
    from referencing.jsonschema import DRAFT202012, specification_with

    spec = specification_with(str(schema.get("$schema", "")), default=DRAFT202012)
    resolver = META_SCHEMAS.resolver_with_root(spec.create_resource(schema))
    return _unresolved(schema, resolver, spec)


def _unresolved(contents: Any, resolver: Resolver[Any], spec: Specification[Any]) -> str | None:
    if not isinstance(contents, Mapping):  # true / false: nothing to resolve
        return None
    from referencing.exceptions import Unresolvable

    resolver = resolver.in_subresource(spec.create_resource(contents))  # a nested $id moves it
    ref = contents.get("$ref")
    if isinstance(ref, str):
        try:
            resolver.lookup(ref)
        except Unresolvable:
            return ref
    for part in spec.subresources_of(contents):
        found = _unresolved(part, resolver, spec)
        if found is not None:
            return found
    return None


#: The keywords that check the value they are in themselves, not a part of it, with a
#: schema (``not``) or a list (``allOf``) or an object of schemas (``dependentSchemas``).
_IN_PLACE_ONE = ("not", "if", "then", "else")
_IN_PLACE_MANY = ("allOf", "anyOf", "oneOf")


def ref_loop(schema: Mapping[str, Any]) -> list[str] | None:
    """The ``$ref`` s of a loop in ``schema`` that checks one value against itself without end
    (``{"$defs": {"A": {"$ref": "#/$defs/A"}}}``, or ``A`` to ``B`` to ``A``, or through
    ``allOf``, ``anyOf``, ``not``...), which ``jsonschema`` follows until Python's recursion
    limit on every reply; or ``None``. A definition that refers to itself inside a property or
    an item (a tree) checks a smaller part each time, and ends.

    >>> ref_loop({"$defs": {"A": {"allOf": [{"$ref": "#/$defs/A"}]}}, "$ref": "#/$defs/A"})
    ['#/$defs/A']
    >>> ref_loop({"$defs": {"T": {"type": "array", "items": {"$ref": "#/$defs/T"}}}}) is None
    True
    """
    from referencing import Registry
    from referencing.exceptions import Unresolvable
    from referencing.jsonschema import DRAFT202012, specification_with

    spec = specification_with(str(schema.get("$schema", "")), default=DRAFT202012)
    root = Registry().resolver_with_root(spec.create_resource(schema))  # no meta-schemas
    parts: dict[int, Any] = {}
    follows: dict[int, list[tuple[int, str | None]]] = {}
    todo = [(schema, root)]
    while todo:
        part, at = todo.pop()
        if not isinstance(part, Mapping) or id(part) in parts:
            continue
        parts[id(part)] = part
        at = at.in_subresource(spec.create_resource(part))
        nexts: list[tuple[Any, str | None]] = []
        ref = part.get("$ref")
        if isinstance(ref, str):
            try:
                nexts.append((at.lookup(ref).contents, ref))
            except Unresolvable:
                pass  # told by check_refs
        for word in _IN_PLACE_ONE:
            nexts.append((part.get(word), None))
        for word in _IN_PLACE_MANY:
            many = part.get(word)
            nexts += [(one, None) for one in many] if isinstance(many, list) else []
        dependent = part.get("dependentSchemas")
        if isinstance(dependent, Mapping):
            nexts += [(one, None) for one in dependent.values()]
        follows[id(part)] = [(id(one), ref) for one, ref in nexts if isinstance(one, Mapping)]
        todo += [(one, at) for one, _ in nexts]
        todo += [(one, at) for one in spec.subresources_of(part)]
    return _loop(follows)


def _loop(follows: dict[int, list[tuple[int, str | None]]]) -> list[str] | None:
    """The references along the first cycle of ``follows`` (a depth-first walk without
    recursion), from the least of them, or ``None``."""
    state: dict[int, int] = {}  # 1: on the walk's path, 2: done
    for start in follows:
        if start in state:
            continue
        path: list[tuple[int, str | None]] = [(start, None)]
        stack = [iter(follows.get(start, ()))]
        state[start] = 1
        while stack:
            step = next(stack[-1], None)
            if step is None:
                stack.pop()
                state[path.pop()[0]] = 2
                continue
            target, ref = step
            if state.get(target) == 1:
                at = [place for place, _ in path].index(target)
                refs = [r for _, r in path[at + 1 :]] + [ref]
                found = [r for r in refs if r is not None] or ["#"]
                first = found.index(min(found))  # the walk's order is a set's (hash seed):
                return found[first:] + found[:first]  # the same loop told the same way
            if target not in state:
                state[target] = 1
                path.append((target, ref))
                stack.append(iter(follows.get(target, ())))
    return None


def check_refs(schema: Mapping[str, Any], *, node: str) -> None:
    """Raise :class:`PipelineError` naming ``node`` and the reference when a ``$ref`` of its
    output ``schema`` does not resolve inside it, or when its references make a loop that
    checks one value against itself without end."""
    ref = first_unresolved_ref(schema)
    if ref is None:
        loop = ref_loop(schema)
        if loop is not None:
            shown = ", then ".join(repr(r) for r in loop)
            raise PipelineError(
                f"The output schema of '{node}' refers to itself without end: following "
                f"{shown} ($ref) comes back to the same definition with the same value to "
                "check, so checking a reply would never finish.",
                node=node,
                hint="Make each $ref that comes back to its own definition go through a "
                "property or an item ({'type': 'array', 'items': {'$ref': '#/$defs/Node'}}), "
                "or write the definition out in place of the $ref.",
                got=loop[0],
            )
        return
    if ref.startswith("#"):
        where = "which the schema does not define"
        name = ref.rpartition("/")[2] or "Name"
    else:
        where = "another document, which irgraph never fetches"
        name = "Name"
    raise PipelineError(
        f"The output schema of '{node}' refers to {ref!r} ($ref), {where}, so no reply "
        "could be checked against it.",
        node=node,
        hint=f"Define it under $defs ({{'$defs': {{{name!r}: {{...}}}}}}, referred to as "
        f"'#/$defs/{name}') or write it inline in place of the $ref; only references inside "
        "the schema, like '#/$defs/Name', and to a JSON Schema meta-schema, like "
        "'https://json-schema.org/draft/2020-12/schema', are supported.",
        got=ref,
    )


def model_schema(model: type[Any], *, node: str) -> Any:
    """The JSON Schema of the pydantic ``model`` that ``node`` answers with, or
    :class:`PipelineError` (pydantic's own error chained) when it has none."""
    try:
        return model.model_json_schema()
    except Exception as exc:  # pydantic's PydanticInvalidForJsonSchema, or a model's own code
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PipelineError(
            f"The output model of '{node}', {model.__qualname__}, has no JSON Schema, which "
            f"irgraph needs to ask for and check a reply ({type(exc).__name__}: {reason}).",
            node=node,
            hint="Give every field a type JSON can hold (str, int, float, bool, None, lists, "
            "dicts, enums, nested models), not an arbitrary class; or pass a JSON Schema dict "
            "to .output(...).",
            got=model,
        ) from exc


#: JSON Schema's type names, which .output() given as a string means as {"type": name}.
_TYPE_NAMES = ("string", "number", "integer", "boolean", "object", "array", "null")


def not_a_schema_hint(given: Any) -> str:
    """How to write what ``.output()`` got instead of a schema: the class of a pydantic model
    given as an instance, a type name as ``{"type": name}``, a Python type (``list[str]``,
    ``int``, a ``Literal``) as the JSON Schema pydantic makes of it; else an example.

    >>> not_a_schema_hint("string")
    "Write the type as a schema: .output({'type': 'string'})."
    >>> not_a_schema_hint(list[str])
    "Write list[str] as its JSON Schema: .output({'items': {'type': 'string'}, 'type': 'array'})."
    """
    import typing

    if not isinstance(given, type) and callable(getattr(given, "model_json_schema", None)):
        name = type(given).__name__
        return f"Pass the model class, not an instance of it: .output({name})."
    if isinstance(given, str) and given.strip().lower() in _TYPE_NAMES:
        return f"Write the type as a schema: .output({{'type': {given.strip().lower()!r}}})."
    if isinstance(given, type) or typing.get_origin(given) is not None:
        try:
            import pydantic

            made = pydantic.TypeAdapter(given).json_schema()
        except Exception:  # no pydantic, or a type it makes no schema of
            made = None
        shown = getattr(given, "__name__", None) if isinstance(given, type) else repr(given)
        shown = (shown or repr(given)).replace("typing.", "")
        if made and len(repr(made)) <= 120:
            return f"Write {shown} as its JSON Schema: .output({made!r})."
        if made:
            made_by = f"pydantic.TypeAdapter({shown}).json_schema()"
            return f"Write {shown} as its JSON Schema: .output({made_by})."
    return "E.g. .output({'type': 'string', 'enum': ['bug', 'feature']})."
