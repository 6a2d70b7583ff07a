"""Warn about an agent with no instruction: its model is sent an empty prompt.

``Agent("a").writes("x")`` runs, and its model gets an empty user message: with nothing else
it is asked nothing at all, and with only a system prompt some model APIs (Anthropic's) refuse
a request whose user message is empty, where OpenAI's accept it. Either way it is far more
often a forgotten ``.instruct(...)`` than a choice, so it is a warning naming the agent and
the call to add, not a refusal: an agent meant to answer from its system prompt alone still
runs where its provider allows it.

>>> from irgraph import Agent, to_graph
>>> print(empty_prompt_warnings(to_graph(Agent("a").writes("x")))[0])  # doctest: +ELLIPSIS
Agent 'a' has no instruction, so its model is sent an empty prompt; ...
>>> empty_prompt_warnings(to_graph(Agent("a").instruct("Go.")))
[]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["empty_prompt_warnings"]


def empty_prompt_warnings(G: nx.DiGraph) -> list[str]:
    """One warning per agent of ``G`` whose instruction is empty (or only whitespace), in the
    order the graph holds its nodes; an agent with a system prompt is told what an empty user
    message does on the APIs that refuse it."""
    found = []
    for nid, data in G.nodes(data=True):
        if data["kind"] != "agent" or data["instruction"].strip():
            continue
        if data["system"].strip():
            found.append(
                f"Agent '{nid}' has a system prompt but no instruction, so its user message "
                "is empty, which some model APIs (Anthropic's) refuse; say the task with "
                f"Agent('{data['label']}').instruct(\"...\") (the system prompt can stay)."
            )
        else:
            found.append(
                f"Agent '{nid}' has no instruction, so its model is sent an empty prompt; "
                f"say what it should do with Agent('{data['label']}').instruct(\"...\") "
                "(reading the state with {key})."
            )
    return found
