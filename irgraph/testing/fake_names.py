"""The agent names a :class:`~irgraph.testing.FakeProvider` is configured with, told apart from
typos: a configured name that differs from an agent's only in case, or is close to it
(difflib, 0.8), is taken for a misspelling of it, unless the two differ in a trailing number
or ``_x`` (``writer`` and ``writer2`` are two agents).

The fake checks them twice: against every agent of a pipeline before its run
(:func:`misspelt_names`, refused as a :class:`~irgraph.errors.PipelineError` naming the
pipeline's agents), and against the agent a call asks for when the fake is called directly.
Before a run, a configured name far from every agent of the pipeline and of every pipeline
the fake knows tells that the fake serves a pipeline it has not run yet (a shared fixture):
then a close name may be that pipeline's agent, and nothing is refused.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from difflib import get_close_matches
from typing import Any

from irgraph.errors import PipelineError

__all__ = ["WHAT", "lookalike", "misspelt_names", "refuse_misspelt"]

#: What each by-agent option configures, for the message when a name in it looks mistyped.
WHAT = {"responses": "answer", "fail": "failure", "latency": "latency"}
#: A trailing number, or one character after a separator: ``writer`` and ``writer2``,
#: ``branch_0`` and ``branch_1`` are sibling agents, not typos of each other.
_SIBLING_TAIL = re.compile(r"(?:[_\-.]?[0-9]+|[_\-.][^_\-.])$")
#: How many of the pipeline's agents a refusal lists.
_SHOWN = 12


def lookalike(agent: str, names: Sequence[str]) -> tuple[str, str] | None:
    """The configured name among ``names`` that ``agent`` was likely meant by, and how it
    differs (``"case"`` or ``"close"``); ``None`` when none looks like a typo of it.

    >>> lookalike("editors", ["editor"]), lookalike("writer", ["writer2"])
    (('editor', 'close'), None)
    """
    for name in names:
        if name.casefold() == agent.casefold():
            return name, "case"
    if not names:
        return None
    stem = _SIBLING_TAIL.sub("", agent)
    for name in get_close_matches(agent, names, n=len(names), cutoff=0.8):
        if _SIBLING_TAIL.sub("", name) != stem:
            return name, "close"
    return None


def misspelt_names(
    configured: Mapping[str, Mapping[str, Any]], agents: Collection[str], known: Collection[str]
) -> list[tuple[str, str, str]]:
    """``(option, name, agent)`` for each configured name that is no agent of the pipeline
    (``agents``) and looks like a misspelling of one of its agents that has no entry of its
    own in that option. Names in ``known`` (agents of pipelines the fake ran before, or names
    calls asked for) are another pipeline's agents, never a typo. Nothing is found when a
    configured name is far from every agent and not in ``known``: that is an agent of a
    pipeline the fake has not run yet (a fixture shared by several pipelines), and a close name
    may be that pipeline's agent too.

    >>> misspelt_names({"fail": {"editor": 1}}, {"editors"}, ())
    [('fail', 'editor', 'editors')]
    >>> misspelt_names({"fail": {"editor": 1, "planner": 1}}, {"editors"}, ())
    []
    """
    found = _lookalikes(configured, agents, known)
    if found and _another_pipeline(configured, agents, known):
        return []
    return found


def _another_pipeline(
    configured: Mapping[str, Mapping[str, Any]], agents: Collection[str], known: Collection[str]
) -> bool:
    """Whether a configured name is an agent of no pipeline the fake knows and looks like no
    agent of this one: the name of an agent of a pipeline it has not run yet."""
    names = {name for names in configured.values() for name in names}
    return any(
        all(lookalike(agent, [name]) is None for agent in agents)
        for name in names
        if name not in agents and name not in known
    )


def _lookalikes(
    configured: Mapping[str, Mapping[str, Any]], agents: Collection[str], known: Collection[str]
) -> list[tuple[str, str, str]]:
    """:func:`misspelt_names` before a name of another pipeline is looked for."""
    found = []
    for option, names in configured.items():
        strangers = [name for name in names if name not in agents and name not in known]
        if not strangers:
            continue
        for agent in sorted(agents):
            if agent in names:
                continue
            match = lookalike(agent, strangers)
            if match is not None:
                found.append((option, match[0], agent))
                strangers.remove(match[0])
    return found


def refuse_misspelt(found: list[tuple[str, str, str]], agents: Collection[str]) -> None:
    """Raise the :class:`PipelineError` that names each misspelt name of ``found``, the agent
    it was likely meant for and the pipeline's agents; do nothing when ``found`` is empty."""
    if not found:
        return
    names = sorted(agents)
    listed = ", ".join(repr(agent) for agent in names[:_SHOWN])
    if len(names) > _SHOWN:
        listed += f" and {len(names) - _SHOWN} more"
    lines = [
        f"{name!r} in {option}= names no agent of this pipeline, so its {WHAT[option]} would "
        f"never be used: did you mean {agent!r}?"
        for option, name, agent in found
    ]
    first_option, first_name, first_agent = found[0]
    raise PipelineError(
        "FakeProvider is configured for agents this pipeline does not have (its agents: "
        f"{listed}); refused before the first node runs:"
        + "".join(f"\n  {line}" for line in lines),
        key=first_name,
        hint=f"Rename {first_name!r} to {first_agent!r} ({first_option}={{{first_agent!r}: "
        f"...}}). If {first_name!r} is an agent of another pipeline this FakeProvider also "
        "runs, run that pipeline first, or make the FakeProvider with check_names=False.",
    )
