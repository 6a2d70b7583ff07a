"""The typed IR: frozen attrs node classes (:mod:`irgraph.ir.nodes`) and their JSON form
(:mod:`irgraph.ir.json`).

>>> node = AgentNode("writer", instruction="Write from {findings}.", writes="report")
>>> from_json(to_json(node)) == node
True
"""

from irgraph.ir.functions import SAFE_FUNCTIONS, FunctionRef
from irgraph.ir.json import FORMAT, VERSION, from_dict, from_json, to_dict, to_json
from irgraph.ir.nodes import (
    NODE_KINDS,
    AgentNode,
    GateNode,
    LoopNode,
    MapOverNode,
    Node,
    ParallelNode,
    RouteCase,
    RouteNode,
    SequenceNode,
    TransformNode,
    function_ref,
    resolve_function,
    set_display_hook,
    transform_arguments,
    transform_call_problem,
)
from irgraph.ir.trust import refused_functions, with_allowed
from irgraph.ir.values import JsonObject

__all__ = [
    "AgentNode",
    "SequenceNode",
    "ParallelNode",
    "LoopNode",
    "TransformNode",
    "GateNode",
    "MapOverNode",
    "RouteNode",
    "RouteCase",
    "JsonObject",
    "FunctionRef",
    "Node",
    "NODE_KINDS",
    "function_ref",
    "resolve_function",
    "set_display_hook",
    "transform_arguments",
    "transform_call_problem",
    "SAFE_FUNCTIONS",
    "refused_functions",
    "with_allowed",
    "to_json",
    "from_json",
    "to_dict",
    "from_dict",
    "FORMAT",
    "VERSION",
]
