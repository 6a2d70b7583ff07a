"""The gate answers (``--answer``) of ``irgraph batch``, kept beside its results.

A resumed item keeps the final state its gates' answers made, so an answer changed since
would be silently ignored for every kept item. Each result line of a gated pipeline records
the answers its item ran with (``"answers": {GATE: VALUE}``, by gate id), and a batch key's
directory records them too (``cli-answers.json``, beside the record of its pipeline): a run
whose ``--answer`` differs from what a result it would resume was made with is refused before
any item runs, naming the gate, both answers, and how to keep the old one or start over.
Results written before the answers were recorded resume as they did (their answers are not
known).
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
from collections.abc import Mapping
from typing import Any

from irgraph.cli_inputs import CliError

__all__ = ["given_answers", "check_answers", "check_kept_answers"]

#: The file of a batch key's directory that records the ``--answer`` its items ran with.
ANSWERS_FILE = "cli-answers.json"


def given_answers(G: Any, answers: Mapping[str, str]) -> dict[str, str]:
    """``answers`` (checked by :func:`~irgraph.cli_gates.gate_handler` already) by the id of
    each gate of ``G`` they answer."""
    from irgraph.gate_answers import answers_by_id

    gates = {nid: data["label"] for nid, data in G.nodes(data=True) if data["kind"] == "gate"}
    return answers_by_id(gates, answers, CliError)[0]


def _changed(recorded: Any, given: Mapping[str, str]) -> tuple[str, str, str] | None:
    """``(gate, old, new)`` of the first gate whose ``recorded`` answer differs from the
    ``given`` one, else ``None`` (also when nothing readable was recorded)."""
    if not isinstance(recorded, dict):
        return None
    for gate in sorted(given):
        old = recorded.get(gate)
        if isinstance(old, str) and old != given[gate]:
            return gate, old, given[gate]
    return None


def _refusal(made: str, changed: tuple[str, str, str], fresh: str) -> CliError:
    gate, old, new = changed
    return CliError(
        f"{made} with the gate {gate!r} answered {old!r}, and this run answers it {new!r}: "
        f"resuming would keep those items as answered {old!r}. To resume them, give --answer "
        f"{shlex.quote(f'{gate}={old}')}; to run every item with {new!r}, {fresh}."
    )


def check_answers(path: str, found: Any, given: Mapping[str, str], batch_key: str | None) -> None:
    """Refuse the results file ``path`` (scanned into ``found``) when a completed result it
    would resume was made with other ``given`` answers."""
    kept = {number for number, _, ok, _ in found.values() if ok}
    if not given or not kept:
        return
    count, first = 0, None
    with open(path, "rb") as file:
        for number, raw in enumerate(file):
            if number in kept:
                changed = _changed(json.loads(raw).get("answers"), given)
                count += changed is not None
                first = first or changed
    if first is not None:
        made = f"-o {path!r} holds {count} result{'' if count == 1 else 's'} made"
        fresh = "write the results to a new -o file"
        if batch_key is not None:
            fresh += " and give a new --batch-key (its kept items were answered so too)"
        raise _refusal(made, first, fresh)


def check_kept_answers(directory: str | os.PathLike[str], given: Mapping[str, str]) -> None:
    """Refuse a batch key's ``directory`` whose items ran with other ``given`` answers, then
    record ``given`` there for the next run (a directory from before this record: its
    answers are taken to be these)."""
    if not given:
        return
    directory = os.fspath(directory)
    record = os.path.join(directory, ANSWERS_FILE)
    recorded = None
    with contextlib.suppress(OSError, ValueError):
        with open(record, encoding="utf-8") as file:
            recorded = json.load(file)
    changed = _changed(recorded, given)
    try:
        kept = bool(os.listdir(os.path.join(directory, "items")))
    except OSError:
        kept = False
    if changed is not None and kept:  # with no item kept, none keeps the old answer
        fresh = f"give a new --batch-key (or delete the directory {directory})"
        raise _refusal(f"The items kept in {directory!r} were made", changed, fresh)
    if recorded == dict(given):
        return
    try:
        os.makedirs(directory, exist_ok=True)
        temporary = f"{record}.tmp"
        with open(temporary, "w", encoding="utf-8") as file:
            json.dump(dict(given), file, sort_keys=True)
        os.replace(temporary, record)
    except OSError as exc:
        raise CliError(
            f"Cannot record the --answer of the batch in {record!r} ({exc.strerror}); give "
            "--batch-key a directory you may write."
        ) from None
