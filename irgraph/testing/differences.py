"""What differs between a backend's run and the reference's, told in words: the conformance
suite's messages name each key, model call or step that differs and say which side has what,
instead of printing two ``Counter`` objects of tuples for the reader to take apart.

>>> print(state_differences({"a": 1, "b": 2}, {"a": 1, "c": 3}))
  'b': the backend's state has 2, which the reference's does not have
  'c': missing from the backend's state; the reference's has 3
>>> print(count_differences({"writer": 3}, {"writer": 2, "route": 1}, "started"))
  'route' started 0 times; in the reference 1 time
  'writer' started 3 times; in the reference 2 times
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

__all__ = ["call_differences", "count_differences", "state_differences"]

#: The fields of :func:`irgraph.testing.reference.request_key`, in its order.
_FIELDS = ("agent", "prompt", "model", "system", "settings", "output schema", "attempt", "feedback")
#: What each field is on an ordinary call, left out when a call is described alone.
_PLAIN: dict[str, Any] = {
    "model": None,
    "system": "",
    "settings": "{}",
    "output schema": None,
    "attempt": 1,
    "feedback": False,
}
_MISSING = object()
_LONGEST = 160


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _LONGEST else f"{text[: _LONGEST - 5]}...{text[-1]}"


def state_differences(got: Mapping[str, Any], want: Mapping[str, Any]) -> str:
    """One line per key whose value differs between the backend's final state ``got`` and the
    reference's ``want``, sorted by key (a key one side lacks is said to be missing, never
    shown as ``None``)."""
    lines = []
    for key in sorted(set(got) | set(want), key=str):
        mine, theirs = got.get(key, _MISSING), want.get(key, _MISSING)
        if mine is _MISSING:
            lines.append(
                f"  {key!r}: missing from the backend's state; the reference's has {_shown(theirs)}"
            )
        elif theirs is _MISSING:
            lines.append(
                f"  {key!r}: the backend's state has {_shown(mine)}, which the reference's "
                "does not have"
            )
        elif mine != theirs:
            lines.append(
                f"  {key!r}: the backend's is {_shown(mine)}; the reference's {_shown(theirs)}"
            )
    return "\n".join(lines)


def _times(count: int) -> str:
    return f"{count} time" if count == 1 else f"{count} times"


def count_differences(got: Mapping[str, int], want: Mapping[str, int], verb: str) -> str:
    """One line per name whose count differs: ``'x' started 2 times; in the reference 1 time``."""
    lines = []
    for name in sorted(set(got) | set(want), key=str):
        mine, theirs = got.get(name, 0), want.get(name, 0)
        if mine != theirs:
            lines.append(f"  {name!r} {verb} {_times(mine)}; in the reference {_times(theirs)}")
    return "\n".join(lines)


def _described(call: tuple[Any, ...]) -> str:
    """A call by its agent and prompt, and each other field that is not the ordinary one."""
    fields = dict(zip(_FIELDS, call, strict=True))
    words = [f"agent {fields['agent']!r}", f"prompt {_shown(fields['prompt'])}"]
    words += [
        f"{name} {_shown(value)}"
        for name, value in fields.items()
        if name in _PLAIN and value != _PLAIN[name]
    ]
    return ", ".join(words)


def _contrasted(mine: tuple[Any, ...], theirs: tuple[Any, ...]) -> str:
    """A call of the backend beside the reference's call of the same agent: what differs."""
    parts = [
        f"{name} {_shown(a)} where the reference's has {_shown(b)}"
        for name, a, b in zip(_FIELDS, mine, theirs, strict=True)
        if a != b
    ]
    return f"agent {mine[0]!r} was called with {'; '.join(parts)}"


def call_differences(got: Counter[tuple[Any, ...]], want: Counter[tuple[Any, ...]]) -> str:
    """The model calls (:func:`~irgraph.testing.reference.request_key` tuples) the backend made
    and the reference did not, and those it did not make, one line each; an extra and a
    missing call of the same agent are paired, saying which fields differ."""
    extra = sorted((got - want).elements(), key=repr)
    missing = sorted((want - got).elements(), key=repr)
    lines = []
    for call in extra:
        twin = next((m for m in missing if m[0] == call[0]), None)
        if twin is None:
            lines.append(f"  an extra call, not made by the reference: {_described(call)}")
        else:
            missing.remove(twin)
            lines.append(f"  {_contrasted(call, twin)}")
    lines += [f"  a missing call, made by the reference: {_described(call)}" for call in missing]
    return "\n".join(lines)
