"""The typed IR: frozen attrs node classes (:mod:`irgraph.ir.nodes`) and their JSON form
(:mod:`irgraph.ir.json`).

>>> node = AgentNode("writer", instruction="Write from {findings}.", writes="report")
>>> from_json(to_json(node)) == node
True
"""

from irgraph.ir.json import FORMAT, VERSION, from_dict, from_json, to_dict, to_json
from irgraph.ir.nodes import (
    NODE_KINDS,
    AgentNode,
    FunctionRef,
    GateNode,
    LoopNode,
    MapOverNode,
    Node,
    ParallelNode,
    SequenceNode,
    TransformNode,
    function_ref,
    resolve_function,
    set_display_hook,
    transform_arguments,
    transform_call_problem,
)

__all__ = [
    "AgentNode",
    "SequenceNode",
    "ParallelNode",
    "LoopNode",
    "TransformNode",
    "GateNode",
    "MapOverNode",
    "FunctionRef",
    "Node",
    "NODE_KINDS",
    "function_ref",
    "resolve_function",
    "set_display_hook",
    "transform_arguments",
    "transform_call_problem",
    "to_json",
    "from_json",
    "to_dict",
    "from_dict",
    "FORMAT",
    "VERSION",
]
