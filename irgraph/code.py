"""Print a pipeline as the builder code that makes it.

Used to show failing examples from property tests as code a person can paste and run, and by
the builders' pretty-printing hook (which hypothesis uses when it reports an example). It reads
the IR only: every setting of a node is an attrs field, printed as the builder method of the
same name (:data:`METHODS` names the few that differ), so a new field is printed without
touching this module, and a node the builder cannot express is printed as its IR constructor.

>>> from irgraph.ir import AgentNode, SequenceNode
>>> a, b = AgentNode("a", instruction="Go.", writes="x"), AgentNode("b", instruction="{x}")
>>> print(to_code(SequenceNode(composite_name(["a", "b"], "then"), (a, b))).split("\\n\\n")[1])
pipeline = (
    Agent('a').instruct('Go.').writes('x')
    >> Agent('b').instruct('{x}')
)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from irgraph.graph_mistakes import named
from irgraph.ir.nodes import (
    NODE_KINDS,
    AgentNode,
    FunctionRef,
    GateNode,
    LoopNode,
    MapOverNode,
    Node,
    ParallelNode,
    RouteNode,
    SequenceNode,
    TransformNode,
)
from irgraph.ir.values import JsonObject

__all__ = ["to_code", "composite_name", "BUILDERS", "METHODS", "CONSTRUCTOR_FIELDS"]

#: The builder class that makes each IR kind.
BUILDERS: dict[type[Any], str] = {
    AgentNode: "Agent",
    SequenceNode: "Pipeline",
    ParallelNode: "FanOut",
    LoopNode: "Loop",
    MapOverNode: "MapOver",
    GateNode: "Gate",
    TransformNode: "Transform",
    RouteNode: "Route",
}
#: Fields set by a builder method whose name is not the field's.
METHODS: dict[str, str] = {"instruction": "instruct", "description": "describe"}
#: Fields given to the builder's constructor or by position, not by a method.
CONSTRUCTOR_FIELDS = frozenset({"name", "fn", "children", "over", "item", "id", "cases", "on"})
#: Fields printed as an argument of another field's method (``.output(s, retries=2)``).
_FOLDED = {"output_retries": ("output", "retries"), "until_equals": ("until", "equals")}


def composite_name(names: list[str], word: str) -> str:
    """The name ``a >> b`` (``word="then"``) or ``a | b`` (``"and"``) gives its composite.

    >>> composite_name(["a", "b", "c", "d", "e"], "then")
    'a_then_b_then_..._then_e'
    """
    if len(names) <= 4:
        return f"_{word}_".join(names)
    return f"{names[0]}_{word}_{names[1]}_{word}_..._{word}_{names[-1]}"


def _default(field: attrs.Attribute[Any]) -> Any:
    default: Any = field.default
    return default.factory() if isinstance(default, attrs.Factory) else default  # type: ignore[arg-type]


def _settings(node: Node) -> list[str]:
    """The method calls that set ``node``'s fields that differ from their defaults."""
    calls: list[str] = []
    for field in attrs.fields(type(node)):
        if not field.init or field.name in CONSTRUCTOR_FIELDS:
            continue
        value = getattr(node, field.name)
        if value == _default(field) or field.name in _FOLDED:
            continue
        if field.name == "settings":
            calls.append(_settings_call(value))
            continue
        method = METHODS.get(field.name, field.name)
        if isinstance(value, JsonObject):
            args = repr(value.to_dict())
        elif isinstance(value, tuple):
            args = ", ".join(map(repr, value))
        elif isinstance(value, FunctionRef):
            args = f"FunctionRef({value.ref!r})"
        else:
            args = repr(value)
        for folded, (owner, keyword) in _FOLDED.items():
            extra = getattr(node, folded, None)
            if owner == field.name and extra:
                shown = extra[0] if isinstance(extra, tuple) else extra
                args += f", {keyword}={shown!r}"
        calls.append(f".{method}({args})")
    return calls


def _settings_call(settings: JsonObject) -> str:
    values = settings.to_dict()
    if all(name.isidentifier() for name in values):
        return ".settings(" + ", ".join(f"{k}={v!r}" for k, v in values.items()) + ")"
    return f".settings(**{values!r})"


def _case_code(node: RouteNode, index: int, pad: str) -> str:
    case, branch = node.cases[index], node.children[index]
    if case.kind == "otherwise":
        return f".otherwise{_argument(branch, pad)}"
    value = f"FunctionRef({case.value.ref!r})" if case.kind == "test" else repr(case.value)
    argument = _argument(branch, pad)[1:-1]
    return f".when({value},{'' if argument.startswith(chr(10)) else ' '}{argument})"


def _builder_can_make(node: Node) -> bool:
    """Whether the builder methods rebuild ``node`` exactly (else it prints as IR)."""
    if isinstance(node, LoopNode):
        n = node.max_iterations
        return n is None or (not isinstance(n, bool) and n >= 1)
    if isinstance(node, AgentNode):
        return node.output is not None or node.output_retries == 0
    if isinstance(node, MapOverNode):
        if node.over is None and node.item != "item":
            return False
        # Without .collect() the builder collects the body's last write: print it explicitly,
        # which is only possible when the IR names one.
        return node.collect is not None or not node.children
    return True


def _is_operator_form(node: Node) -> bool:
    """Whether ``node`` prints as ``a >> b`` / ``a | b``: operators name the composite after
    its children and flatten an operand of their own kind, so they are used only where they
    rebuild exactly this tree. A composite declaring inputs prints as ``Pipeline(name)...``:
    the operators splice only composites without inputs into their chains, and pin no id."""
    if not isinstance(node, (SequenceNode, ParallelNode)) or len(node.children) < 2:
        return False
    if node.inputs or node.id is not None:
        return False
    word = "then" if isinstance(node, SequenceNode) else "and"
    if node.name != composite_name([c.name for c in node.children], word):
        return False
    if not _builder_can_make(node.children[0]):
        return False  # ``LoopNode(...) >> b`` would not read as a builder
    return not any(type(c) is type(node) and _is_operator_form(c) for c in node.children)


def _ir_code(node: Node, pad: str) -> str:
    fields = []
    for a in attrs.fields(type(node)):
        value = getattr(node, a.name)
        if not a.init or (a.name != "name" and value == _default(a)):
            continue
        if a.name == "children":
            inner = pad + "    "
            kids = "".join(f"\n{inner}{_ir_code(child, inner)}," for child in value)
            fields.append(f"children=({kids}\n{pad})")
        elif isinstance(value, FunctionRef):
            fields.append(f"{a.name}=FunctionRef({value.ref!r})")
        else:
            fields.append(repr(value) if a.name == "name" else f"{a.name}={value!r}")
    return f"{type(node).__name__}({', '.join(fields)})"


def _argument(node: Node, pad: str) -> str:
    if _is_operator_form(node):
        return _code(node, pad)  # already parenthesised
    code = _code(node, pad + "    ")
    return f"({code})" if "\n" not in code else f"(\n{pad}    {code}\n{pad})"


def _code(node: Node, pad: str) -> str:
    """``node`` as an expression whose first line starts at indentation ``pad``."""
    if not _builder_can_make(node):
        return _ir_code(node, pad)
    children: tuple[Node, ...] = getattr(node, "children", ())
    if _is_operator_form(node):
        op = ">>" if isinstance(node, SequenceNode) else "|"
        parts = [_operand(child, pad + "    ") for child in children]
        return "(\n" + pad + "    " + f"\n{pad}    {op} ".join(parts) + f"\n{pad})"
    head = f"{BUILDERS[type(node)]}({node.name!r}"
    if isinstance(node, TransformNode):
        head += f", {node.fn.ref!r}"
    if node.id is not None:
        head += f", id={node.id!r}"
    before = []
    if isinstance(node, MapOverNode) and node.over is not None:
        item = "" if node.item == "item" else f", item={node.item!r}"
        before.append(f".over({node.over!r}{item})")
    if isinstance(node, RouteNode):
        if node.on is not None:
            before.append(f".on({node.on!r})")
        steps = [_case_code(node, i, pad) for i in range(len(children))]
    else:
        method = "branch" if isinstance(node, ParallelNode) else "step"
        steps = [f".{method}{_argument(child, pad)}" for child in children]
    lines = [head + ")", *before, *steps, *_settings(node)]
    if not children:
        return "".join(lines)
    return f"\n{pad}".join(lines)


def _operand(node: Node, pad: str) -> str:
    # A multi-line method chain reads as one operand only inside its own parentheses.
    code = _code(node, pad + "    ")
    if "\n" not in code or _is_operator_form(node):
        return _code(node, pad)
    return f"(\n{pad}    {code}\n{pad})"


#: The builders generated code may call, in the order it imports them.
_BUILDERS = ("Agent", "FanOut", "Gate", "Loop", "MapOver", "Pipeline", "Route", "Transform")


def to_code(pipeline: Any) -> str:
    """Python source that builds ``pipeline`` (a builder or an IR node) as ``pipeline = ...``.

    Running the source gives a builder (or node) whose IR equals the original's; functions are
    written as import paths. Use it in failure messages to show a generated pipeline.
    """
    to_ir: Callable[[], Node] | None = getattr(pipeline, "to_ir", None)
    node = pipeline if isinstance(pipeline, NODE_KINDS) else to_ir() if to_ir else pipeline
    if not isinstance(node, NODE_KINDS):
        if hasattr(pipeline, "graph") and hasattr(pipeline, "adj"):  # a networkx graph
            raise TypeError(
                f"to_code() needs a builder or an IR node (got a {type(pipeline).__name__}); "
                "a graph from to_graph holds its pipeline: to_code(from_graph(G)) (from "
                "irgraph import from_graph)."
            )
        raise TypeError(f"to_code() needs a builder or an IR node (got {named(pipeline)}).")
    body = _code(node, "") if _is_operator_form(node) else "(\n    " + _code(node, "    ") + "\n)"
    # Only the names the code calls: pasted into a module, it passes a linter's unused imports.
    used = [name for name in _BUILDERS if f"{name}(" in body]
    header = f"from irgraph import {', '.join(used)}\n" if used else ""
    ir_names = [cls.__name__ for cls in NODE_KINDS if f"{cls.__name__}(" in body]
    if "FunctionRef(" in body:
        ir_names.append("FunctionRef")
    if ir_names:
        header += f"from irgraph.ir import {', '.join(sorted(ir_names))}\n"
    return f"{header}\npipeline = {body}\n"
