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

from irgraph.errors import PipelineError

if TYPE_CHECKING:
    from referencing import Specification
    from referencing._core import Resolver  # not re-exported by referencing itself

__all__ = ["first_unresolved_ref", "check_refs", "model_schema"]


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


def check_refs(schema: Mapping[str, Any], *, node: str) -> None:
    """Raise :class:`PipelineError` naming ``node`` and the reference when a ``$ref`` of its
    output ``schema`` does not resolve inside it."""
    ref = first_unresolved_ref(schema)
    if ref is None:
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
