"""A mermaid picture of a :class:`~irgraph.analysis.GraphDiff`: the new pipeline with added
nodes green, changed ones amber, and removed ones drawn in red beside it.

>>> from irgraph import Agent, to_graph
>>> from irgraph.analysis import diff
>>> old = to_graph(Agent("a").instruct("x"))
>>> new = to_graph(Agent("a").instruct("y") >> Agent("b").instruct("z"))
>>> print(diff_to_mermaid(diff(old, new)).splitlines()[-2:])
['class n1 changed', 'class n2 added']
"""

from __future__ import annotations

from irgraph.analysis import GraphDiff
from irgraph.errors import PipelineError, keyword_options

from .mermaid import mermaid_ids, mermaid_text, to_mermaid

__all__ = ["diff_to_mermaid"]

_STYLES = (
    "classDef added fill:#d4f8d4,stroke:#2e7d32",
    "classDef changed fill:#fff3c4,stroke:#b26a00",
    "classDef removed fill:#fde0e0,stroke:#c62828,stroke-dasharray: 4 2",
)


@keyword_options
def diff_to_mermaid(change: GraphDiff, *, direction: str = "TD", style: str = "default") -> str:
    """The new graph's mermaid text (``style`` as for
    :func:`~irgraph.backends.mermaid.to_mermaid`) with the change highlighted."""
    if not isinstance(change, GraphDiff):
        raise PipelineError(
            f"diff_to_mermaid() draws what irgraph.analysis.diff returns (got {change!r} of "
            f"type {type(change).__name__}).",
            hint="Pass diff(old_graph, new_graph).",
        )
    ids = mermaid_ids(change.new, style=style)
    lines = to_mermaid(change.new, direction=direction, style=style).rstrip("\n").splitlines()
    lines += _STYLES
    for i, node in enumerate(change.removed, 1):
        lines.append(f'removed{i}["{mermaid_text(f"{node} (removed)")}"]:::removed')
    lines += [f"class {ids[n]} changed" for n in change.changed]
    lines += [f"class {ids[n]} added" for n in change.added]
    return "\n".join(lines) + "\n"
