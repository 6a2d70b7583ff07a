"""The answers to a pipeline's gates given on the command line: ``--answer GATE=VALUE``
(``irgraph run`` and ``irgraph batch``).

A gate is named by its node id or its name; an answer by id goes before one by name, so
``--answer approve=yes --answer approve#2=no`` answers two gates named ``approve`` apart. An
answer in the wrong form, for no gate, or for a gate already answered, and a gate without an
answer, are each a :class:`~irgraph.cli_inputs.CliError` (exit 2) before anything runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from irgraph.cli_inputs import CliError
from irgraph.errors import did_you_mean

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["parse_answers", "gate_handler"]


def parse_answers(pairs: Sequence[str]) -> dict[str, str]:
    """Parse ``--answer GATE=VALUE`` pairs: a gate's id or name and its answer (a string,
    like a ``--state`` value). The same gate given twice is refused."""
    answers: dict[str, str] = {}
    for pair in pairs:
        gate, sep, value = pair.partition("=")
        if not sep or not gate.strip():
            raise CliError(
                f"--answer {pair!r} is not of the form GATE=VALUE with GATE the name or id of a "
                "gate (e.g. --answer approve=yes)."
            )
        if gate in answers:
            raise CliError(
                f"--answer {gate}=... is given twice ({gate}={answers[gate]} and "
                f"{gate}={value}); a gate takes one answer, so keep the one you mean."
            )
        answers[gate] = value
    return answers


def gate_handler(G: nx.DiGraph, answers: Mapping[str, str]) -> Callable[[Any], str] | None:
    """An ``on_gate`` handler answering every gate of ``G`` from ``answers`` (by node id, or
    else by the gate's name); ``None`` when ``G`` has no gates. Refuses, before anything runs,
    an answer for no gate and a gate with no answer."""
    gates = {nid: data["label"] for nid, data in G.nodes(data=True) if data["kind"] == "gate"}
    names = sorted({*gates, *gates.values()})
    for gate in answers:
        if not names:
            raise CliError(f"--answer {gate}=... names a gate, but the pipeline has none; drop it.")
        if gate not in names:
            raise CliError(
                f"--answer {gate}=... names no gate of the pipeline.{did_you_mean(gate, names)} "
                f"Its gates: {', '.join(repr(n) for n in names)}."
            )
    unanswered = [nid for nid, name in gates.items() if nid not in answers and name not in answers]
    if unanswered:
        which = ", ".join(repr(n) for n in unanswered)
        options = " ".join(f"--answer {nid}=VALUE" for nid in unanswered)
        plural = len(unanswered) > 1
        raise CliError(
            f"The pipeline stops at the gate{'s' if plural else ''} {which} to ask a person, "
            f"and no --answer answers {'them' if plural else 'it'}; give the answer"
            f"{'s' if plural else ''} on the command line: {options}."
        )
    if not gates:
        return None

    def on_gate(request: Any) -> str:
        return answers[request.node] if request.node in answers else answers[request.name]

    return on_gate
