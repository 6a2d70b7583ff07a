"""The names of a pipeline graph's node attributes, by what holds them: those every node has
(:data:`COMMON`) and each kind's settings (:data:`SETTINGS`). :mod:`irgraph.schema` reads
and writes the graph by them; :func:`irgraph.portable.from_portable` tells irgraph's own
attributes from those another tool added to a file. An agent's, the commonest node's, are
made here in one go (:func:`agent_attributes`).
"""

from __future__ import annotations

from typing import Any

from irgraph.ir import AgentNode

__all__ = ["COMMON", "SETTINGS", "agent_attributes"]

#: Attributes every node has: what it is and where it sits, and the keys it reads and writes
#: (for a scope, its own reads, e.g. a map-over's list, and the keys it writes: a loop's or
#: route's every key its body writes, a map-over's the key of its list), and
#: ``pinned``: the id the node pins (then its node id, unless another node pinned it first).
#: ``branch`` is, for a node directly in a route's body, the index of its case (else None).
COMMON = (
    "kind",
    "label",
    "parent",
    "branch",
    "reads",
    "optional_reads",
    "writes",
    "inputs",
    "pinned",
)
#: The settings of each kind, as node attributes (a transform's function and a loop's stop
#: predicate as ``"module:qualname"``). Scopes also carry ``body_reads`` and
#: ``body_optional_reads``: the keys their body reads from outside.
SETTINGS: dict[str, tuple[str, ...]] = {
    "agent": (
        "instruction",
        "model",
        "description",
        "timeout",
        "system",
        "settings",
        "output",
        "output_retries",
    ),
    "transform": ("function", "timeout"),
    "gate": ("message", "timeout"),
    "loop": (
        "max_iterations",
        "until",
        "until_function",
        "until_equals",
        "body_reads",
        "body_optional_reads",
    ),
    "map_over": (
        "over",
        "item",
        "collect",
        "max_concurrency",
        "body_reads",
        "body_optional_reads",
    ),
    "route": ("on", "cases", "body_reads", "body_optional_reads"),
}


def agent_attributes(node: AgentNode, parent: str | None, branch: int | None) -> dict[str, Any]:
    """An agent's attributes, :data:`COMMON` then its :data:`SETTINGS`, as
    :func:`irgraph.schema.node_attributes` gives any node's (a property test compares them):
    one dict display, made at its full size, where adding the settings one by one grew the
    dict twice, for each agent of a pipeline."""
    output = node.output
    return {
        "kind": "agent",
        "label": node.name,
        "parent": parent,
        "branch": branch,
        "reads": list(node.reads),
        "optional_reads": list(node.optional_reads),
        "writes": [node.writes] if node.writes else [],
        "inputs": list(node.inputs),
        "pinned": node.id,
        "instruction": node.instruction,
        "model": node.model,
        "description": node.description,
        "timeout": node.timeout,
        "system": node.system,
        "settings": node.settings.to_dict(),
        "output": output.to_dict() if output is not None else None,
        "output_retries": node.output_retries,
    }
