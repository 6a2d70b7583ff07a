"""A map-over's ``over``: the state key holding its list, or a field of one (``plan.topics``).

An agent with ``.output(schema)`` often writes an object holding a list (a plan and its
topics), and a map-over iterates that list where it is: ``MapOver(...).over("plan.topics")``
reads the key ``plan`` and iterates its field ``topics``, as a route's ``.on`` and a
template's ``{plan.topics}`` read a field. A path that names no field (``"plan."``,
``".topics"``, ``"plan..topics"``) or marks the list optional (``"plan.topics?"``, a
template's way) is refused where it is given, saying how to write it (:data:`OVER_PATH`).
The list's schema in a writer's output schema is :func:`list_schema`.

>>> list_schema({"properties": {"topics": {"type": "array"}}}, "plan.topics")
{'type': 'array'}
>>> try:
...     OVER_PATH.check("plan..topics", "the argument of 'drafts'.over()")
... except PipelineError as error:
...     print(error.problems[0].hint)
Write .over('plan.topics'): a path names one field after each dot.
"""

from __future__ import annotations

from typing import Any

import attrs

from irgraph import checks
from irgraph.errors import PipelineError
from irgraph.ir.key_paths import field_schema, is_key_path, path_fields

__all__ = ["OVER_PATH", "path_mistake", "list_schema"]


def path_mistake(value: Any) -> tuple[str, str] | None:
    """What is wrong with ``value`` as a dotted path, and the hint, when it is one with a
    stray dot or a template's ``?``; else ``None`` (it is fine, or no path at all)."""
    if not isinstance(value, str) or ("." not in value and not value.endswith("?")):
        return None
    if value.endswith("?") and is_key_path(value[:-1]):
        return (
            "ends with '?', which marks a template's read as optional ({plan.topics?}); a "
            "map-over's list is never optional, since its items are what it runs",
            f"Write .over({value[:-1]!r}), and have its writer always give the list (a "
            "required field of its output schema; an empty list runs no items): a value "
            "without it fails the run at the map-over.",
        )
    parts = value.split(".")
    named = [part for part in parts if part]
    if not named or not all(map(checks.is_key, named)):
        return None
    fixed = ".".join(named)
    if not parts[0]:
        return (
            "starts with a dot, naming no state key",
            f"Start with the state key that holds the object, .over('KEY.{fixed}'), e.g. "
            f".over('plan.{fixed}') for the field '{named[0]}' of the key 'plan'.",
        )
    if not parts[-1]:
        return (
            "ends with a dot, naming no field after it",
            f"Write .over({fixed!r}) to iterate that, or name the field: .over('{fixed}.FIELD').",
        )
    if "" in parts:
        return (
            "has two dots in a row, with no field between them",
            f"Write .over({fixed!r}): a path names one field after each dot.",
        )
    return None


@attrs.frozen
class _OverRule(checks.Check):
    """:data:`checks.key`'s rule with paths allowed, and a stray dot told as such."""

    def error(
        self, value: Any, where: str, *, node: str | None = None, method: str = "over"
    ) -> PipelineError:
        found = path_mistake(value)
        if found is None:
            return super().error(value, where, node=node, method="over")
        said, hint = found
        return PipelineError(
            f"{where[:1].upper()}{where[1:]} takes a state key, or a key and its fields as a "
            f"dotted path ('plan.topics'), but {value!r} {said}.",
            node=node,
            key=value,
            hint=hint,
            expected=self.expected,
            got=value,
        )


#: The rule of a map-over's ``over``: a key, or a key and its fields.
OVER_PATH = _OverRule(
    f"{checks.key.expected}, or a key and its fields ('plan.topics')",
    is_key_path,
    hint="Use a key such as 'papers', or 'plan.topics' for a field of an object.",
    about_keys=True,
)


def list_schema(schema: Any, over: str) -> Any:
    """The schema of the list at ``over`` in a value of ``schema`` (what the writer of its key
    writes): the whole schema for a key, the field's (with the schema's definitions) for a
    path; ``"missing"`` when the schema has no such field, ``None`` when it cannot say."""
    if "." not in over or schema is None:
        return schema
    return field_schema(schema, path_fields(over))
