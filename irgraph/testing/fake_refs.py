"""References by ``$id`` in :class:`~irgraph.testing.FakeProvider`'s output schemas: a part
with an ``$id`` of its own (an embedded resource, as bundled or hand-written schemas have) is
named by that id, by a JSON pointer or ``$anchor`` inside it, and a ``#...`` reference written
inside it means a part of it, not of the whole schema.

:func:`pointer_refs` rewrites each such ``$ref`` as the JSON pointer from the root that names
the same part (and drops the nested ``$id`` s, whose base no longer matters), so that
:mod:`~irgraph.testing.fake_values` only meets references within the root. A reference to
another document (``https://example.com/other.json``) is left as it is, for that module to
refuse.

>>> schema = {"$id": "https://example.com/order", "properties": {"item": {"$ref": "item"}},
...     "$defs": {"Item": {"$id": "item", "properties": {"n": {"$ref": "#/$defs/N"}},
...     "$defs": {"N": {"type": "integer"}}}}}
>>> pointer_refs(schema)["properties"]["item"]
{'$ref': '#/$defs/Item'}
>>> pointer_refs(schema)["$defs"]["Item"]["properties"]["n"]
{'$ref': '#/$defs/Item/$defs/N'}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urldefrag, urljoin

__all__ = ["pointer_refs"]

#: Keywords whose values are data, not schemas: an ``$id`` in them names nothing.
_DATA = frozenset({"const", "enum", "default", "examples"})


def pointer_refs(root: Any) -> Any:
    """``root`` with every ``$ref`` that names a part through a nested ``$id`` (or is written
    inside one) rewritten as a JSON pointer from the root; ``root`` itself when it has no
    nested ``$id``."""
    if not isinstance(root, Mapping):
        return root
    start = _based(root, "")
    resources: dict[str, str] = {}  # an absolute id, without fragment: its pointer
    anchors: dict[str, str] = {}  # an absolute id with "#name": the pointer of the part
    nested = _scan(root, start, "", resources, anchors, top=True)
    if not nested:
        return root

    def target(ref: str, base: str) -> str:
        uri, fragment = urldefrag(urljoin(base, ref))
        if uri not in resources:
            return ref  # another document: refused where it is resolved
        if not fragment or fragment.startswith("/"):
            return "#" + resources[uri] + fragment
        return "#" + anchors[f"{uri}#{fragment}"] if f"{uri}#{fragment}" in anchors else ref

    def rewrite(node: Any, base: str, top: bool) -> Any:
        if isinstance(node, list):
            return [rewrite(item, base, False) for item in node]
        if not isinstance(node, Mapping):
            return node
        base = _based(node, base)
        out: dict[str, Any] = {}
        for key, sub in node.items():
            if key == "$id" and not top and isinstance(sub, str):
                continue
            if key == "$ref" and isinstance(sub, str):
                out[key] = target(sub, base)
            else:
                out[key] = sub if key in _DATA else rewrite(sub, base, False)
        return out

    return rewrite(root, start, True)


def _based(node: Mapping[str, Any], base: str) -> str:
    """The base URI inside ``node``: its ``$id`` read against ``base`` (a draft 7 ``$id``
    of ``#name`` is an anchor, not a base)."""
    ident = node.get("$id")
    if isinstance(ident, str) and not ident.startswith("#"):
        return urldefrag(urljoin(base, ident)).url
    return base


def _scan(
    node: Any,
    base: str,
    pointer: str,
    resources: dict[str, str],
    anchors: dict[str, str],
    top: bool = False,
) -> bool:
    """Record the pointer of every ``$id`` and anchor under ``node``; whether one is nested."""
    if isinstance(node, list):
        found = [_scan(s, base, f"{pointer}/{i}", resources, anchors) for i, s in enumerate(node)]
        return any(found)
    if not isinstance(node, Mapping):
        return False
    ident = node.get("$id")
    nested = not top and isinstance(ident, str)
    base = _based(node, base)
    if top or (isinstance(ident, str) and not ident.startswith("#")):
        resources.setdefault(base, pointer)
    names = [node.get("$anchor"), ident[1:] if isinstance(ident, str) and ident[:1] == "#" else 0]
    for name in names:
        if isinstance(name, str) and name:
            anchors.setdefault(f"{base}#{name}", pointer)
    for key, sub in node.items():
        if key not in _DATA:
            step = str(key).replace("~", "~0").replace("/", "~1")
            nested = _scan(sub, base, f"{pointer}/{step}", resources, anchors) or nested
    return nested
