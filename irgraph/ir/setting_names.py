"""The model setting names irgraph knows, and a warning for one that looks misspelt.

A setting irgraph does not know may be a provider's own option (``top_k`` for vLLM, say), so it
is sent as it is, never refused. A name close to a known one (difflib, as
:func:`irgraph.errors.did_you_mean` finds keys) is most likely a typo that the provider would
silently ignore, so :meth:`irgraph.Agent.settings` warns about it, naming the agent, the
setting and the one meant.

>>> close_setting("temprature"), close_setting("top_k"), close_setting("custom")
('temperature', None, None)
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from difflib import get_close_matches

from irgraph.ir.outputs import KNOWN_SETTINGS

__all__ = [
    "CLIENT_FIELDS",
    "SERVER_OPTIONS",
    "KNOWN_NAMES",
    "close_setting",
    "misspelt",
    "warn_misspelt",
]

#: Request fields the ``openai`` client takes by name (the rest go in ``extra_body``).
CLIENT_FIELDS = frozenset(
    {
        "temperature",
        "top_p",
        "max_tokens",
        "max_completion_tokens",
        "seed",
        "stop",
        "presence_penalty",
        "frequency_penalty",
        "logit_bias",
        "logprobs",
        "top_logprobs",
        "n",
        "user",
        "reasoning_effort",
    }
)
#: Options OpenAI-compatible servers (vLLM, TGI, OpenRouter, ...) take in ``extra_body`` whose
#: names are close to a known setting: known too, so they are never taken for a typo.
SERVER_OPTIONS = frozenset(
    {"top_k", "top_a", "min_p", "min_tokens", "max_new_tokens", "repetition_penalty"}
)
#: Every name a setting is not warned about.
KNOWN_NAMES = frozenset(KNOWN_SETTINGS) | CLIENT_FIELDS | SERVER_OPTIONS

#: How alike a name must be to a known one to be taken for its misspelling (difflib's ratio;
#: "temprature", "max_token", "topp" are, "top_k" and "max_output_tokens" are not).
_CUTOFF = 0.8


def close_setting(name: str) -> str | None:
    """The known setting ``name`` looks like a misspelling of, or ``None`` (for a known name
    too)."""
    if name in KNOWN_NAMES:
        return None
    found = get_close_matches(name, sorted(KNOWN_NAMES), n=1, cutoff=_CUTOFF)
    return found[0] if found else None


def misspelt(names: Iterable[str], *, node: str) -> list[str]:
    """What to warn of each of ``names`` (the settings of agent ``node``) that looks like a
    misspelt known setting: what ``.settings()`` warns of where it is written, and
    ``validate`` of a pipeline read from a file or a graph edited by hand.

    >>> misspelt(["temprature", "top_k"], node="writer")  # doctest: +ELLIPSIS
    ["Agent 'writer' has the setting 'temprature', which irgraph does not know; did you ..."]
    """
    said = []
    for name in names:
        meant = close_setting(name)
        if meant is not None:
            said.append(
                f"Agent '{node}' has the setting {name!r}, which irgraph does not know; did "
                f"you mean {meant!r}? An unknown setting goes to the provider as it is, which "
                f"may ignore it silently. Write .settings({meant}=...), or, if {name!r} is "
                "your provider's own option, ignore this warning."
            )
    return said


def warn_misspelt(names: Iterable[str], *, node: str, stacklevel: int = 3) -> None:
    """A :class:`UserWarning` for each of ``names`` (the settings of agent ``node``) that looks
    like a misspelt known setting; ``stacklevel`` points it at the caller's ``.settings()``."""
    for text in misspelt(names, node=node):
        warnings.warn(text, UserWarning, stacklevel=stacklevel)
