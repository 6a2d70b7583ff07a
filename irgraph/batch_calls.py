"""The model calls and gate questions of a keyed batch's kept item, as JSON.

A kept item's file holds its final state and outputs; without its calls, the run view of the
item resumed from it had only the agents' instruction templates to show as what each was
asked (``Write about {topic}.``), not the prompts they were really sent. So the calls (each
:class:`~irgraph.events.Call`'s fields) and what its gates asked are kept with it, and given
back on the resumed item's result. A file kept without them (an earlier irgraph's), or with
ones that are not whole, gives none back: what was asked is unknown, not guessed.

>>> import json
>>> from irgraph.events import Call, GateAsk
>>> call = Call("w", (("w", 0),), "Write about owls.", "text", None, 1, 0.5, 0.75)
>>> kept = calls_json([call], [GateAsk("ok", (), "Publish text?")])
>>> kept_calls(json.loads(json.dumps(kept))) == ([call], [GateAsk("ok", (), "Publish text?")])
True
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from irgraph.checks import finite
from irgraph.events import Call, GateAsk

__all__ = ["calls_json", "kept_calls"]


def calls_json(calls: Iterable[Call], gates: Iterable[GateAsk]) -> dict[str, Any]:
    """The members of a kept item's file that hold its run's ``calls`` and ``gates``."""
    return {
        "calls": [[*call[:1], [list(step) for step in call.path], *call[2:]] for call in calls],
        "gates": [[ask.node, [list(step) for step in ask.path], ask.message] for ask in gates],
    }


def kept_calls(data: dict[str, Any]) -> tuple[list[Call], list[GateAsk]]:
    """The calls and gate questions a kept item's file ``data`` holds; none of either when
    what it holds of them is not whole."""
    try:
        calls = [_call(raw) for raw in data.get("calls", ())]
        gates = [GateAsk(_text(n), _path(path), _text(m)) for n, path, m in data.get("gates", ())]
    except (TypeError, ValueError):
        return [], []
    return calls, gates


def _call(raw: Any) -> Call:
    node, path, prompt, answer, model, attempt, start, end, error, feedback, waited = raw
    if type(attempt) is not int:
        raise TypeError("attempt")
    return Call(
        _text(node),
        _path(path),
        _text(prompt),
        _text(answer, None),
        _text(model, None),
        attempt,
        _number(start),
        _number(end),
        _text(error, None),
        _text(feedback, None),
        _number(waited),
    )


def _text(value: Any, *allowed: None) -> Any:
    if isinstance(value, str) or (allowed and value is None):
        return value
    raise TypeError("text")


def _number(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and finite(value):
        return float(value)
    raise TypeError("number")


def _path(raw: Any) -> tuple[tuple[str, int], ...]:
    path = tuple((_text(name), position) for name, position in raw)
    if not all(type(position) is int for _, position in path):
        raise TypeError("path")
    return path
