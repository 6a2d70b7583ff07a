"""Answers to a pipeline's gates given as ``GATE=VALUE`` pairs: one set of checks, in one set
of words, for ``irgraph run/batch --answer`` and a generated Prefect module's ``run --answer``.

A gate is named by its node id or its name; an answer by id goes before one by name, so
``approve=yes approve#2=no`` answers two gates named ``approve`` apart. Each check raises the
``error`` class its caller gives (the CLI's exit-2 error, or ``ValueError`` in a module).
:func:`no_handler_error` is what a Python run with gates and nobody to ask is refused with, and
:func:`answer_problem` what every backend (and the reference interpreter) says of an answer a
state key cannot keep.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from irgraph.errors import PipelineError, a_or_an, did_you_mean
from irgraph.ir.values import json_problem

__all__ = [
    "parse_answers",
    "answers_by_id",
    "unanswered_message",
    "no_handler_error",
    "answer_problem",
]


def parse_answers(pairs: Sequence[str], error: type[Exception]) -> dict[str, str]:
    """The ``GATE=VALUE`` pairs as a dict; a pair of another form, or the same gate given
    twice, is refused.

    >>> parse_answers(["approve=ship it"], ValueError)
    {'approve': 'ship it'}
    """
    answers: dict[str, str] = {}
    for pair in pairs:
        gate, sep, value = pair.partition("=")
        if not sep or not gate.strip():
            raise error(
                f"--answer {pair!r} is not of the form GATE=VALUE with GATE the name or id of a "
                "gate (e.g. --answer approve=yes)."
            )
        if gate in answers:
            raise error(
                f"--answer {gate}=... is given twice ({gate}={answers[gate]} and "
                f"{gate}={value}); a gate takes one answer, so keep the one you mean."
            )
        answers[gate] = value
    return answers


def answers_by_id(
    gates: Mapping[str, str], answers: Mapping[str, str], error: type[Exception]
) -> tuple[dict[str, str], list[str]]:
    """``answers`` (by gate id or name) by the id of each gate they answer, and the ids of
    the gates none answers; ``gates`` maps each gate's id to its name. An answer naming no
    gate is refused, with the closest name."""
    names = sorted({*gates, *gates.values()})
    for gate in answers:
        if not names:
            raise error(f"--answer {gate}=... names a gate, but the pipeline has none; drop it.")
        if gate not in names:
            raise error(
                f"--answer {gate}=... names no gate of the pipeline.{did_you_mean(gate, names)} "
                f"Its gates: {', '.join(repr(n) for n in names)}."
            )
    by_id = {
        nid: answers[nid] if nid in answers else answers[name]
        for nid, name in gates.items()
        if nid in answers or name in answers
    }
    return by_id, [nid for nid in gates if nid not in by_id]


def unanswered_message(unanswered: Sequence[str], why: str) -> str:
    """What to say of the gates ``unanswered`` that nobody could answer: ``why`` says why
    (e.g. ``"and no --answer answers"``), then the options that would answer them."""
    which = ", ".join(repr(n) for n in unanswered)
    options = " ".join(f"--answer {nid}=VALUE" for nid in unanswered)
    plural = len(unanswered) > 1
    return (
        f"The pipeline stops at the gate{'s' if plural else ''} {which} to ask a person, "
        f"{why} {'them' if plural else 'it'}; give the answer{'s' if plural else ''} on the "
        f"command line: {options}"
    )


def no_handler_error(
    gates: Sequence[str], caller: str, cost: str, elsewhere: str = ""
) -> PipelineError:
    """The error refusing, before any step runs, a run that would stop at ``gates`` (their
    ids) with no ``on_gate`` handler to ask; ``caller`` is the call that got none (e.g.
    ``"run()"``), ``cost`` what running it anyway would waste and ``elsewhere`` (a clause
    starting with "or") one more way to answer."""
    plural = len(gates) > 1
    which = ", ".join(repr(g) for g in gates)
    answers = ", ".join(f"{g!r}: 'yes'" for g in gates)
    return PipelineError(
        f"The pipeline stops at the gate{'s' if plural else ''} {which} to ask a person, and "
        f"{caller} got no on_gate handler to ask, so it is refused before anything runs: {cost}.",
        node=gates[0],
        hint=f"Pass on_gate=handler to {caller}: it gets a GateRequest (.node, .name, .message) "
        "and returns the answer, and may be async; to answer from a dict, "
        f"on_gate=lambda request: {{{answers}}}[request.node]. Or give the backend one "
        f"(AsyncioBackend(on_gate=...)){', ' + elsewhere if elsewhere else ''}; on the command "
        "line, " + " ".join(f"--answer {g}=VALUE" for g in gates) + ".",
    )


def answer_problem(answer: Any, gate: str, writes: str | None, given_by: str) -> str | None:
    """Why ``answer``, which ``given_by`` (e.g. ``"The on_gate handler (approve)"``) gave at
    gate ``gate``, cannot be the gate's answer, or ``None`` when it can: ``None`` (a handler
    that forgot to ``return``), or a value that is not JSON data (str, number, bool, and
    lists and dicts of them), which a run's state holds, a Prefect run carries as text and a
    batch's results file records.

    >>> answer_problem("yes", "approve", "ok", "The on_gate handler (f)") is None
    True
    >>> print(answer_problem({1, 2}, "approve", "ok", "The on_gate handler (f)"))
    ... # doctest: +NORMALIZE_WHITESPACE
    The on_gate handler (f) returned a set at gate 'approve' ({1, 2}), which is not JSON
    data, so 'ok' cannot keep it. Return a str (e.g. 'yes', which every backend takes), a
    number, a boolean, or a list or dict of them (a list for a tuple or set).
    """
    stored = f"to store in '{writes}'" if writes else "(the gate's output)"
    if answer is None:
        return (
            f"{given_by} returned None at gate '{gate}'; return the answer {stored}, e.g. "
            "'yes' (a str, which every backend takes). To stop the run instead, raise an "
            "exception in the handler."
        )
    problem = json_problem(answer)
    if problem is None:
        return None
    kind = type(answer).__name__
    inside = "" if problem.startswith("the value is") else f" ({problem})"
    keeps = f"'{writes}'" if writes else "the gate's output"
    return (
        f"{given_by} returned {a_or_an(kind)} {kind} at gate '{gate}' ({answer!r:.60}), which is "
        f"not JSON data{inside}, so {keeps} cannot keep it. Return a str (e.g. 'yes', which "
        "every backend takes), a number, a boolean, or a list or dict of them (a list for a "
        "tuple or set)."
    )
