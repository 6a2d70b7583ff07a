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

An instruction that reads only optional keys (``{note?}``) renders as empty text when none of
them is set, which no check before the run can tell: the run warns of it
(:func:`warn_empty_prompt`), once per agent, naming the keys it lacked. A backend calls that
only when the prompt it rendered is empty, so a prompt with text costs one ``if not text``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from irgraph.state_keys import warn_user

if TYPE_CHECKING:
    import networkx as nx

    from irgraph.templates import Template

__all__ = ["empty_prompt_warnings", "empty_prompt_message", "warn_empty_prompt"]


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


class Run(Protocol):
    """A run under way (a scheduler, a generated flow's record): it remembers the agents it
    warned of an empty prompt."""

    empty_prompts: set[str]


def warn_empty_prompt(
    run: Run | None, node: str, name: str, template: Template, state: Mapping[str, Any]
) -> None:
    """Warn (``UserWarning``, at the user's line) that agent ``node`` (built as ``name``) is
    sent an empty prompt: its instruction ``template`` rendered from ``state`` as empty text.
    Once per ``run`` (``None``: no run to remember it by). Call it only when the rendered
    text is empty."""
    if run is not None:
        if node in run.empty_prompts:
            return
        run.empty_prompts.add(node)
    message = empty_prompt_message(node, name, template, state)
    if message is not None:
        warn_user(message)


def empty_prompt_message(
    node: str, name: str, template: Template, state: Mapping[str, Any]
) -> str | None:
    """What :func:`warn_empty_prompt` says: the agent, its instruction, the keys ``state``
    holds no value for (or that held empty text) and the fix; ``None`` for an instruction that
    reads no key (no instruction at all: :func:`empty_prompt_warnings` says it before the run).

    >>> from irgraph.templates import parse_template
    >>> print(empty_prompt_message("b", "b", parse_template("{note?}"), {}))  # doctest: +ELLIPSIS
    Agent 'b' was sent an empty prompt: its instruction '{note?}' reads 'note' only if set, ...
    """
    paths = [path for _, path, _ in template.parts if path is not None]
    if not paths:
        return None
    shown = "".join(
        literal + ("" if path is None else "{" + path + ("?" if optional else "") + "}")
        for literal, path, optional in template.parts
    )
    keys = list(dict.fromkeys(path.partition(".")[0] for path in paths))
    absent = [key for key in keys if state.get(key) is None]
    them = "it" if len(absent or keys) == 1 else "them"
    fix = (
        f"Give {_names(absent or keys)} a value in the state (or have a step before '{node}' "
        f"write {them}), or give Agent('{name}').instruct(...) words of its own beside {shown}."
    )
    if absent:
        return (
            f"Agent '{node}' was sent an empty prompt: its instruction {shown!r} reads "
            f"{_names(absent)} only if set, and this run's state holds no value for {them}. " + fix
        )
    return (
        f"Agent '{node}' was sent an empty prompt: its instruction {shown!r} rendered as empty "
        f"text ({_names(keys)} held empty text). " + fix
    )


def _names(keys: list[str]) -> str:
    return " and ".join(repr(key) for key in keys)
