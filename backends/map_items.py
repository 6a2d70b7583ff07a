"""The list a map-over iterates (in a key, or a field of one: ``plan.topics``) and the value
each item collects, checked with errors that name the node and key. Shared by the scheduler
and the runtime of generated Prefect code, so both report the same way."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from irgraph.errors import a_or_an

__all__ = ["map_items", "collected"]


def map_items(state: Mapping[str, Any], key: str, node: str) -> list[Any]:
    """The list a map-over iterates, or a clear error when the key holds something else.

    Shared with the runtime of generated Prefect code, so both report the same way.
    """
    if "." in key:  # a field of a key: plan.topics
        return _field_items(state, key, node)
    items = state[key]
    if not isinstance(items, (list, tuple)):
        kind = type(items).__name__
        value = "None (no value)" if items is None else f"{a_or_an(kind)} {kind}"
        raise TypeError(
            f"MapOver '{node}' iterates over '{key}', whose value is {value}, "
            f"not a list; put a list in '{key}' (in the initial state, or from the step that "
            "writes it)."
        )
    return list(items)


def _field_items(state: Mapping[str, Any], path: str, node: str) -> list[Any]:
    """The list at ``path`` (``plan.topics``), or an error naming the value that holds none
    there: :class:`LookupError` for a missing field, :class:`TypeError` for another value."""
    from irgraph.list_fields import list_fault  # only a map-over over a field needs them
    from irgraph.prompt_values import read_field

    value = state[path.partition(".")[0]]
    fault = list_fault(value, path)
    if fault is None:
        return list(read_field(path, value, False)[0])
    why, give = fault
    message = (
        f"MapOver '{node}' iterates over '{path}', but {why}; {give[:1].lower()}{give[1:]} "
        f"(in the initial state, or from the step that writes '{path.partition('.')[0]}')."
    )
    raise (LookupError if "has no field" in why else TypeError)(message)


def collected(local: Mapping[str, Any], key: str, node: str, index: int) -> Any:
    """The value one map-over item wrote to the key its map-over collects."""
    if key not in local:
        raise KeyError(f"item {index} of '{node}' wrote no '{key}'")
    return local[key]
