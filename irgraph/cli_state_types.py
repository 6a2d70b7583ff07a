"""A ``--state key=value`` gives text; a route comparing that key with a number, ``true``,
``false`` or ``null`` would never match the text and silently take another branch (or none).
Such a value is refused before anything runs, with the ``--state-json`` that gives the value
the route compares with."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from irgraph.cli_inputs import CliError
from irgraph.ir.values import same_value

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["check_texts_routed_on"]


def check_texts_routed_on(G: nx.DiGraph, texts: Mapping[str, str]) -> None:
    """Refuse a ``--state`` text in ``texts`` (key: value, as given) that a route of ``G``
    compares with the JSON value the text spells (``1``, ``true``) and not with the text.

    A route with a case ``.when(1, ...)`` on ``priority`` and ``--state priority=1`` is
    refused; ``--state priority=high`` is not (it spells no such value).
    """
    written = {key for _, keys in G.nodes(data="writes") for key in keys or ()}
    for nid, data in G.nodes(data=True):
        key = data.get("on") if data.get("kind") == "route" else None
        if not isinstance(key, str) or key not in texts or key in written:
            continue  # (a step's value replaces a text given for a key it writes)
        text = texts[key]
        cases = [case["equals"] for case in data.get("cases", ()) if "equals" in case]
        if any(same_value(text, case) for case in cases):
            continue
        meant = _spelt(text)
        if meant is _NOTHING or isinstance(meant, str):
            continue
        if any(same_value(meant, case) for case in cases):
            given = json.dumps({key: meant})
            raise CliError(
                f"--state {key}={text} gives the text {text!r}, but route '{nid}' compares "
                f"{key} with {json.dumps(meant)} ({_kind(meant)}), so the text would match "
                f"none of its branches. Give the value as JSON: --state-json '{given}'."
            )


_NOTHING = object()


def _spelt(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return _NOTHING


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _kind(value: Any) -> str:
    if value is None:
        return "no value"
    if isinstance(value, bool):
        return "a boolean"
    return "a number" if _number(value) else "a JSON value"
