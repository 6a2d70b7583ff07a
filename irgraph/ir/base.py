"""What every IR node class shares: field rules, child and depth checks, the Jupyter picture.

Kept apart from the node classes so that each kind's module (:mod:`irgraph.ir.nodes`,
:mod:`irgraph.ir.routes`) builds on it without importing the others.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from irgraph import checks
from irgraph.errors import PipelineError, refused_calls
from irgraph.ir.outputs import checked_schema, checked_settings
from irgraph.ir.values import JsonObject, is_json
from irgraph.templates import Template

Node = Any  # any IR node class (irgraph.ir.nodes.Node; named here without importing it)

__all__ = ["set_display_hook"]

_keys = checks.keys.validator
_optional_key = checks.optional(checks.key).validator
_optional_name = checks.optional(checks.name).validator
_optional_text = checks.optional(checks.text).validator
_optional_seconds = checks.optional(checks.seconds()).validator


def _json_object(value: Any) -> Any:
    """Settings or a schema as a :class:`JsonObject` (a pydantic model class as its schema);
    anything else is left for the validator, which names the node."""
    if value is None or isinstance(value, JsonObject):
        return value
    if isinstance(value, type) and callable(getattr(value, "model_json_schema", None)):
        value = value.model_json_schema()  # type: ignore[attr-defined]
    if isinstance(value, Mapping) and is_json(dict(value)):
        return JsonObject(value)
    return value


def _check_settings(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, JsonObject) and not value:
        return  # no settings (most agents): nothing to check
    checked_settings(value, node=getattr(instance, "name", "?"))


def _check_output(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        checked_schema(value, node=getattr(instance, "name", "?"))


def _node_tuple(children: Iterable[Node]) -> tuple[Node, ...]:
    return tuple(children)


def _tuple(values: Iterable[Any]) -> tuple[Any, ...]:
    """``tuple(values)``, as a converter: attrs reads a converter's signature when it makes the
    class, and reading the builtin ``tuple``'s parses its text signature, which imports
    tokenize and compiles its regular expressions (a sixth of ``import irgraph``)."""
    return tuple(values)


def _key_tuple(value: Any) -> Any:
    """Keys as a tuple; a lone string (``tuple("topic")`` would be five one-letter keys) or a
    non-iterable is left as it is, for the key rule to refuse."""
    if type(value) is tuple:  # the common case, without the slower ABC check below
        return value
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        return value
    return tuple(value)


def _check_children(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    for child in value:
        if not isinstance(child, _Drawn):
            name = getattr(instance, "name", "?")
            raise PipelineError(
                f"'{name}' contains {child!r} (a {type(child).__name__}), which is not an IR node.",
                node=name,
                hint="Compose Agent, Pipeline, FanOut, Loop, MapOver, Route, Gate or Transform "
                "builders.",
            )


def _scope_depth(node: Any) -> int:
    """A scope's depth from its children's (computed once, as each node is built, so no walk
    over a deep tree ever recurses); deeper than :data:`irgraph.checks.MAX_DEPTH` is refused
    where the node is built."""
    depth = 1 + max((getattr(child, "depth", 0) for child in node.children), default=0)
    return checks.nesting(depth, f"{type(node).__name__} {node.name!r}", node=node.name)


_display_hook: list[Callable[[Any, Any, Any], dict[str, Any]]] = []


@refused_calls
def set_display_hook(hook: Callable[[Any, Any, Any], dict[str, Any]]) -> None:
    """Install the function that draws an IR node inline in Jupyter (``irgraph.display``
    installs its own on import), so the IR needs no import of the drawing code."""
    _display_hook[:] = [hook]


def _mimebundle(node: Any, include: Any = None, exclude: Any = None) -> dict[str, Any]:
    """Jupyter's inline picture of the pipeline under an IR node."""
    if not _display_hook:
        return {"text/plain": repr(node)}
    return _display_hook[0](node, include, exclude)


class _Drawn:
    """What every IR node shares: its inline picture in Jupyter."""

    __slots__ = ()
    _repr_mimebundle_ = _mimebundle


class _Templated(_Drawn):
    """A node whose reads come from its template (an agent's instruction, a gate's message)."""

    __slots__ = ()
    template: Template

    @property
    def reads(self) -> tuple[str, ...]:
        """Keys the template requires (``{key}``), in order of first use."""
        return self.template.reads

    @property
    def optional_reads(self) -> tuple[str, ...]:
        """Keys the template uses if set (``{key?}``)."""
        return self.template.optional_reads
