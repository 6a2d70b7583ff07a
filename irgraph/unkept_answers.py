"""Warn about a structured answer nothing keeps: an agent with ``.output(schema)`` but no
``.writes(key)`` that something runs after.

Its validated JSON answer is paid for (a schema prompt, retries with feedback), yet no key of
the state holds it, so no later step can read it; a run's ``output`` is the answer of the node
that finished last, which this agent is not. The last step of a pipeline (nothing runs after
it) may well leave its answer unwritten: the run's ``output`` is that answer.

>>> from irgraph import Agent, to_graph
>>> p = Agent("a").output({"type": "object"}) >> Agent("b")
>>> unkept_answer_warnings(to_graph(p))[0][:61]
"Agent 'a' answers with a structured value (.output(...)) that"
>>> unkept_answer_warnings(to_graph(Agent("b") >> Agent("a").output({"type": "object"})))
[]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from irgraph.checks import key_like

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["unkept_answer_warnings"]


def unkept_answer_warnings(G: nx.DiGraph) -> list[str]:
    """One warning per agent of ``G`` with an output schema, no written key and a step after
    it (a control edge out, which also leads a scope body's last step to what follows the
    scope), in the order the graph holds its nodes."""
    found = []
    for nid, data in G.nodes(data=True):
        if data["kind"] != "agent" or data.get("output") is None or data["writes"]:
            continue
        after = [v for v, edge in G.succ[nid].items() if edge["control"]]
        if not after:
            continue
        found.append(
            f"Agent '{nid}' answers with a structured value (.output(...)) that it writes "
            f"to no state key, so no later step (such as '{after[0]}') can read it; add "
            f".writes('{key_like(data['label'])}') to keep it, or drop .output(...) if "
            "nothing needs the answer."
        )
    return found
