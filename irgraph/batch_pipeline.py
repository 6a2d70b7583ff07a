"""What a batch store records of its pipeline, and how two recorded pipelines differ.

A keyed batch resumes only with the pipeline it was started with (:mod:`irgraph.batch_store`);
this is the pipeline as it compares them (its IR as plain JSON, with what changes nothing a run
does left out) and the few words its refusal uses to say what changed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import attrs

from irgraph.graph import root_of
from irgraph.ir.functions import FunctionRef
from irgraph.ir.values import JsonObject, json_key
from irgraph.ir.values import numbers_by_value as _by_value

__all__ = [
    "described_json",
    "described_text",
    "difference",
    "digest_of_described",
    "pipeline_description",
    "pipeline_stamps",
    "recorded_pipeline",
    "same_pipeline_digests",
]

#: The ``"format"`` of a keyed batch's record (:mod:`irgraph.batch_store`).
RECORD_FORMAT = "irgraph-batch"

#: IR fields that change nothing a run does, so editing them does not change the pipeline.
_NOT_RUN = frozenset({"description"})
#: How a changed IR field reads after "its node 'x' ..." (any other: "has another <field>").
_FIELD_WORDS = {
    "writes": "writes other keys",
    "reads": "reads other keys",
    "inputs": "declares other inputs",
    "fn": "has another function",
    "system": "has another system prompt",
    "settings": "has other model settings",
    "output": "has another output schema",
    "output_retries": "has another number of output retries",
    "id": "has another pinned id",
    "max_iterations": "has another iteration limit",
    "until": "has another loop condition",
    "until_equals": "has another loop condition",
    "over": "maps over another list",
    "item": "names its item another way",
    "collect": "collects another key",
    "max_concurrency": "has another concurrency limit",
    "on": "routes on another key",
    "cases": "has other route cases",
}


def described_json(pipeline: Any) -> str:
    """:func:`pipeline_description` as canonical JSON text: what a store's record holds."""
    return described_text(pipeline_description(pipeline), by_value=False)


def described_text(described: Any, *, by_value: bool = True) -> str:
    """The text a pipeline described (:func:`pipeline_description`, or as a store's record
    holds it) is hashed as: canonical JSON, a whole number written as an integer (``1.0`` as
    ``1``), since a run compares numbers by value (a route's ``when(1)`` takes the answer
    ``1.0``) and the batch's record compares the pipelines so. ``by_value=False``: the text
    as written, which the stamps and digests of an earlier irgraph hashed.

    >>> described_text({"value": 1.0, "on": True}), described_text([1.0], by_value=False)
    ('{"on": true, "value": 1}', '[1.0]')
    """
    shown = _by_value(described) if by_value else described
    return json.dumps(shown, sort_keys=True, default=repr)


def _hashed(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def digest_of_described(described: Any) -> str:
    """A short hash of a pipeline described (:func:`pipeline_description`, or as a store's
    record holds it): what a results line of ``irgraph batch`` records of its pipeline (so
    an edited description, which a keyed batch resumes across, changes it no more, nor does
    ``1.0`` written for ``1``: :func:`described_text`).

    >>> from irgraph import Agent
    >>> one, two = Agent("w").model("m"), Agent("w").model("m").describe("Drafts.")
    >>> digest_of_described(pipeline_description(one)) == digest_of_described(
    ...     pipeline_description(two)
    ... )
    True
    """
    return _hashed(described_text(described))[:16]


def pipeline_stamps(described: Any) -> tuple[str | None, frozenset[str]]:
    """What a keyed batch's kept items and answers carry of the pipeline described (``None``:
    no pipeline, nothing stamped), and every stamp that names it
    (:func:`same_pipeline_digests`)."""
    if described is None:
        return None, frozenset()
    return _hashed(described_text(described))[:32], same_pipeline_digests(described, 32)


def same_pipeline_digests(described: Any, length: int = 16) -> frozenset[str]:
    """The digests (their first ``length`` hex digits) that name the pipeline described:
    :func:`digest_of_described`'s, and the one of its text as written, which results and
    kept items written by an earlier irgraph carry."""
    texts = (described_text(described), described_text(described, by_value=False))
    return frozenset(_hashed(text)[:length] for text in texts)


def recorded_pipeline(digest: str) -> Any:
    """The pipeline (described) whose :func:`digest_of_described` is ``digest``, as the record
    of a keyed batch under ``.irgraph-batches`` holds it; ``None`` when no record there does
    (an ``irgraph batch`` results line records only the digest: this tells what changed)."""
    for path in sorted(Path(".irgraph-batches").glob("*/batch-*.json")):
        try:
            kept = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(kept, dict) and kept.get("format") == RECORD_FORMAT and "pipeline" in kept:
            if digest in same_pipeline_digests(kept["pipeline"]):
                return kept["pipeline"]
    return None


def pipeline_description(pipeline: Any) -> Any:
    """The pipeline as plain JSON data, as a batch compares it: its IR node by node (the
    node's class as ``"type"``), fields that change nothing a run does left out, functions
    by their path.

    >>> from irgraph import Agent
    >>> described = pipeline_description(Agent("w").model("m").describe("Drafts."))
    >>> described["type"], described["model"], "description" in described
    ('AgentNode', 'm', False)
    """
    return _described(root_of(pipeline))


def _described(value: Any) -> Any:
    if isinstance(value, FunctionRef):
        return value.ref
    if isinstance(value, JsonObject):
        return value.to_dict()
    if attrs.has(type(value)):
        fields = (f.name for f in attrs.fields(type(value)) if f.eq and f.name not in _NOT_RUN)
        return {"type": type(value).__name__, **{n: _described(getattr(value, n)) for n in fields}}
    if isinstance(value, (list, tuple)):
        return [_described(item) for item in value]
    return value


def difference(old: Any, new: Any) -> str:
    """How the pipeline ``new`` differs from ``old`` (both described), in a few words: the
    first node found changed, its steps before its own fields (a changed step renames the
    sequences around it)."""
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return "it is another pipeline"
    was, now = old.get("name"), new.get("name")
    if old.get("type") != new.get("type"):
        return f"its node '{now}' stands where '{was}' was"
    before, after = old.get("children"), new.get("children")
    parts = "branches" if new.get("type") in ("ParallelNode", "RouteNode") else "steps"
    if isinstance(before, list) and isinstance(after, list):
        if len(before) != len(after):
            return f"its node '{was}' has {len(after)} {parts} where it had {len(before)}"
        if order := _reordered(before, after):
            return f"its node '{was}' has its {parts} in another order ({order})"
        for step_was, step_now in zip(before, after, strict=True):
            if json_key(step_was) == json_key(step_now):
                continue
            # A step that moved here is compared with itself, not with the one it displaced.
            moved = _named(before, step_now) if _name(step_was) != _name(step_now) else None
            if moved is None or json_key(moved) != json_key(step_now):
                return difference(step_was if moved is None else moved, step_now)
            return f"its node '{was}' has its {parts} in another order ('{_name(step_now)}' moved)"
    fields = sorted((set(old) | set(new)) - {"name", "children"})
    changed = [f for f in fields if json_key(old.get(f)) != json_key(new.get(f))]
    if changed and was != now and before is None:  # another step in its place, not an edit
        return f"its node '{now}' stands where '{was}' was"
    for field in changed:
        words = _FIELD_WORDS.get(field, f"has another {field.replace('_', ' ')}")
        return f"its node '{was}' {words}{_change(old.get(field), new.get(field))}"
    return f"its node '{was}' is named '{now}' now" if was != now else "it is another pipeline"


def _reordered(before: list[Any], after: list[Any]) -> str:
    """``'b', 'c' -> 'c', 'b'``: the names of steps that are the same steps in another order
    (each step whole, as the run compares it); ``""`` when they are not."""
    if json_key(before) == json_key(after) or sorted(map(_as_written, before)) != sorted(
        map(_as_written, after)
    ):
        return ""
    names = [", ".join(repr(step.get("name")) for step in steps) for steps in (before, after)]
    return f"{_cut(names[0])} -> {_cut(names[1])}"


def _name(step: Any) -> Any:
    return step.get("name") if isinstance(step, dict) else None


def _named(steps: list[Any], step: Any) -> Any:
    """The step of ``steps`` with the name of ``step``, if one has it."""
    return next((s for s in steps if _name(s) is not None and _name(s) == _name(step)), None)


def _as_written(step: Any) -> str:
    return described_text(step, by_value=False)


def _change(was: Any, now: Any) -> str:
    """`` (WAS -> NOW)`` for a field's two values, when both are short plain values (a text,
    a number, a list of keys), each cut in its middle past :data:`_SHOWN` characters; else
    nothing (a schema, a route's cases: the words say enough).

    >>> _change("Write.", "Write a report.")
    " ('Write.' -> 'Write a report.')"
    """
    if not (_plain(was) and _plain(now)):
        return ""
    return f" ({_cut(repr(was))} -> {_cut(repr(now))})"


_SHOWN = 60


def _plain(value: Any) -> bool:
    if isinstance(value, list):
        return len(value) <= 8 and all(
            _plain(item) and not isinstance(item, list) for item in value
        )
    return value is None or isinstance(value, (str, int, float, bool))


def _cut(text: str) -> str:
    if len(text) <= _SHOWN:
        return text
    half = (_SHOWN - 1) // 2
    return f"{text[:half]}\u2026{text[-half:]}"
