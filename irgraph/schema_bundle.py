"""An output schema made self-contained, for a model server that fetches no ``$ref``.

An output schema may refer to a JSON Schema meta-schema (``{"$ref":
"https://json-schema.org/draft/2020-12/schema"}``: the reply must itself be a JSON Schema).
irgraph validates replies against it offline, from the copies ``jsonschema`` ships
(:mod:`irgraph.ir.schema_checks`); a server sent the schema as it is would have to fetch the
meta-schema, and OpenAI's does not. :func:`self_contained` copies each meta-schema the schema
refers to, and those they refer to in turn, under the schema's ``$defs`` (``definitions``
before draft 2019-09), and points every such reference at its copy with a local
``#/$defs/...`` pointer:

- a copy keeps no ``$id``, ``$schema``, ``$vocabulary`` or anchors: each of its references
  is rewritten to a pointer from the root, so nothing in it may move the base URI;
- a ``$dynamicRef`` (2020-12) or ``$recursiveRef`` (2019-09) becomes a ``$ref`` to where it
  resolves when the meta-schema is entered from the schema: the outermost resource declaring
  the anchor, that is the schema itself when it declares it (an extension of a meta-schema),
  else the meta-schema it referred to.

A schema referring to nothing outside itself is returned as it is; a reference inside a
subschema with an ``$id`` of its own is left as it is too (a pointer from there would start
at that subschema, not at the root holding the copies).

>>> sent = self_contained({"$ref": "http://json-schema.org/draft-07/schema#"})
>>> sent["$ref"], list(sent["$defs"])
('#/$defs/draft-07_schema', ['draft-07_schema'])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urldefrag, urljoin

if TYPE_CHECKING:
    from referencing import Specification

__all__ = ["self_contained"]

#: What a copied meta-schema drops: what names it or moves the base its references start from.
_DROPPED = ("$id", "$schema", "$vocabulary", "$anchor", "$dynamicAnchor", "$recursiveAnchor")
#: The drafts whose definitions live under ``definitions``; in the first two of them, the
#: keyword naming a schema is ``id``.
_OLD = ("draft-03", "draft-04", "draft-06", "draft-07")

#: How a subschema is rebuilt: (the subschema, its path, its base URI) -> (copy, base inside).
Visit = Callable[[Mapping[str, Any], tuple[Any, ...], str], tuple[dict[str, Any], str]]


def self_contained(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """``schema`` with each ``$ref`` to a meta-schema ``jsonschema`` ships pointing at a copy
    of it under ``$defs``; ``schema`` itself when it refers to nothing outside itself."""
    if not _refers_out(schema):
        return schema
    from referencing.jsonschema import DRAFT202012, specification_with

    spec = specification_with(str(schema.get("$schema", "")), default=DRAFT202012)
    bundle = _Bundle(schema, spec)
    copy = _rebuilt(schema, spec, bundle.visit_own, (), "")
    if bundle.defs:
        copy[bundle.container] = {**copy.get(bundle.container, {}), **bundle.defs}
    return copy


def _refers_out(part: Any) -> bool:
    """Whether a ``$ref`` anywhere in ``part`` is not a fragment (``#...``) of it: the quick
    answer for the schemas nearly all are, which need no ``referencing``."""
    if isinstance(part, Mapping):
        ref = part.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#"):
            return True
        return any(_refers_out(value) for value in part.values())
    if isinstance(part, list):
        return any(_refers_out(value) for value in part)
    return False


def _rebuilt(
    contents: Mapping[str, Any], spec: Specification[Any], visit: Visit, path: tuple[Any, ...],
    base: str,
) -> dict[str, Any]:  # fmt: skip
    """A copy of ``contents`` with ``visit`` applied to it and to each subschema within,
    outermost first (the keywords of the draft ``spec`` say which values are subschemas: an
    ``enum`` or ``const`` value holding a ``$ref`` is data, and left alone)."""
    subschemas = {id(part) for part in spec.subresources_of(contents)}
    own, inside = visit(contents, path, base)

    def part(value: Any, at: tuple[Any, ...]) -> Any:
        if isinstance(value, Mapping) and id(value) in subschemas:
            return _rebuilt(value, spec, visit, at, inside)
        return value

    copy: dict[str, Any] = {}
    for key, value in own.items():
        if isinstance(value, Mapping) and id(value) not in subschemas:  # properties, $defs...
            copy[key] = {name: part(v, (*path, key, name)) for name, v in value.items()}
        elif isinstance(value, list):  # allOf, prefixItems...
            copy[key] = [part(v, (*path, key, i)) for i, v in enumerate(value)]
        else:
            copy[key] = part(value, (*path, key))
    return copy


def _pointer(path: tuple[Any, ...]) -> str:
    """The JSON pointer of ``path`` (RFC 6901: ``~`` and ``/`` escaped)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


class _Anchors:
    """Where the anchors of one document are, as JSON pointers from its root."""

    def __init__(self, contents: Mapping[str, Any], spec: Specification[Any]) -> None:
        self.plain: dict[str, str] = {}
        self.dynamic: dict[str, str] = {}
        self.recursive = contents.get("$recursiveAnchor") is True

        def visit(sub: Mapping[str, Any], path: tuple[Any, ...], base: str) -> Any:
            for word, found in (("$anchor", self.plain), ("$dynamicAnchor", self.dynamic)):
                name = sub.get(word)
                if isinstance(name, str):
                    found.setdefault(name, _pointer(path))
                    self.plain.setdefault(name, _pointer(path))  # a plain anchor too
            return sub, base

        _rebuilt(contents, spec, visit, (), "")

    def pointer(self, fragment: str) -> str:
        """The pointer a URI ``fragment`` (a pointer, an anchor's name or empty) stands for."""
        if not fragment or fragment.startswith("/"):
            return fragment
        return self.plain.get(fragment, "")


class _Bundle:
    """The copies of the meta-schemas one schema refers to, named under its definitions."""

    def __init__(self, root: Mapping[str, Any], spec: Specification[Any]) -> None:
        from jsonschema_specifications import REGISTRY

        self.registry = REGISTRY
        self.spec = spec
        self.base = urljoin("", spec.id_of(root) or "")  # where the root's pointers start
        self.container = "definitions" if spec.name in _OLD else "$defs"
        held = root.get(self.container)
        self.taken = set(held) if isinstance(held, Mapping) else set()
        self.root_anchors = _Anchors(root, spec)
        self.defs: dict[str, Any] = {}
        self.names: dict[tuple[str, str], str] = {}  # (meta-schema entered, document): name
        self.anchors: dict[str, _Anchors] = {}

    def visit_own(
        self, sub: Mapping[str, Any], path: tuple[Any, ...], base: str
    ) -> tuple[dict[str, Any], str]:
        """A subschema of the schema itself: a ``$ref`` to a meta-schema points at its copy."""
        here = urljoin(base, self.spec.id_of(sub) or "")
        own = dict(sub)
        ref = sub.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#") and here == self.base:
            uri, fragment = urldefrag(urljoin(here, ref))
            if uri in self.registry:
                own["$ref"] = self.local(uri, uri, fragment)
        return own, here

    def local(self, entry: str, uri: str, fragment: str) -> str:
        """The local reference to ``fragment`` of meta-schema ``uri``, copied as reached
        from the meta-schema ``entry`` the schema referred to."""
        return (
            f"#/{self.container}/{self.copied(entry, uri)}{self.anchors_of(uri).pointer(fragment)}"
        )

    def anchors_of(self, uri: str) -> _Anchors:
        if uri not in self.anchors:
            contents = self.registry.contents(uri)
            self.anchors[uri] = _Anchors(contents, _spec_of(contents))
        return self.anchors[uri]

    def copied(self, entry: str, uri: str) -> str:
        """The name of the copy of meta-schema ``uri`` (reached from ``entry``), made once."""
        if (entry, uri) in self.names:
            return self.names[(entry, uri)]
        readable = "_".join(uri.split("://", 1)[-1].split("/")[1:]) or "meta-schema"
        name, n = readable, 1
        while name in self.taken:
            n += 1
            name = f"{readable}_{n}"
        self.taken.add(name)
        self.names[(entry, uri)] = name
        contents = self.registry.contents(uri)
        spec = _spec_of(contents)
        dropped = (*_DROPPED, "id") if spec.name in _OLD[:2] else _DROPPED

        def visit(
            sub: Mapping[str, Any], path: tuple[Any, ...], base: str
        ) -> tuple[dict[str, Any], str]:
            here = urljoin(base, spec.id_of(sub) or "")
            own = {k: v for k, v in sub.items() if k not in dropped}
            for word in ("$ref", "$dynamicRef", "$recursiveRef"):
                ref = own.pop(word, None)
                if isinstance(ref, str):
                    own["$ref"] = self.resolved(entry, word, urljoin(here, ref))
            return own, here

        self.defs[name] = _rebuilt(contents, spec, visit, (), uri)
        return name

    def resolved(self, entry: str, word: str, target: str) -> str:
        """Where a ``word`` (``$ref``, ``$dynamicRef``, ``$recursiveRef``) to ``target`` in a
        meta-schema reached from ``entry`` points, as a local reference."""
        uri, fragment = urldefrag(target)
        if uri not in self.registry:
            return target  # no meta-schema refers out of the set; kept should one ever do
        if word == "$dynamicRef" and fragment in self.anchors_of(uri).dynamic:
            # the outermost resource in scope declaring the anchor: the schema, else entry
            if fragment in self.root_anchors.dynamic:
                return "#" + self.root_anchors.dynamic[fragment]
            if fragment in self.anchors_of(entry).dynamic:
                return self.local(entry, entry, fragment)
        if word == "$recursiveRef" and self.anchors_of(uri).recursive:
            if self.root_anchors.recursive:
                return "#"
            if self.anchors_of(entry).recursive:
                return self.local(entry, entry, "")
        return self.local(entry, uri, fragment)


def _spec_of(contents: Mapping[str, Any]) -> Specification[Any]:
    from referencing.jsonschema import DRAFT202012, specification_with

    return specification_with(str(contents.get("$schema", "")), default=DRAFT202012)
