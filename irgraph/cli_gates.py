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

from irgraph import gate_answers
from irgraph.cli_inputs import CliError

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["parse_answers", "gate_handler"]


def parse_answers(pairs: Sequence[str]) -> dict[str, str]:
    """Parse ``--answer GATE=VALUE`` pairs: a gate's id or name and its answer (a string,
    like a ``--state`` value). The same gate given twice is refused."""
    return gate_answers.parse_answers(pairs, CliError)


def gate_handler(G: nx.DiGraph, answers: Mapping[str, str]) -> Callable[[Any], str] | None:
    """An ``on_gate`` handler answering every gate of ``G`` from ``answers`` (by node id, or
    else by the gate's name); ``None`` when ``G`` has no gates. Refuses, before anything runs,
    an answer for no gate and a gate with no answer."""
    gates = {nid: data["label"] for nid, data in G.nodes(data=True) if data["kind"] == "gate"}
    by_id, unanswered = gate_answers.answers_by_id(gates, answers, CliError)
    if unanswered:
        raise CliError(gate_answers.unanswered_message(unanswered, "and no --answer answers") + ".")
    if not gates:
        return None

    def on_gate(request: Any) -> str:
        return by_id[request.node]

    return on_gate
