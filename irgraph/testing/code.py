"""Print a pipeline as the builder code that makes it.

Used to show failing examples from property tests as code a person can paste and run, and by
the builders' pretty-printing hook (which hypothesis uses when it reports an example).
"""

from __future__ import annotations

import attrs

from irgraph.builder import Builder, FanOut, MapOver, Pipeline, Transform, iter_steps
from irgraph.ir import NODE_KINDS, FunctionRef, Node

__all__ = ["to_code"]


_METHODS = (
    ("instruction", "instruct"),
    ("message", "message"),
    ("reads", "reads"),
    ("writes", "writes"),
    ("model", "model"),
    ("description", "describe"),
    ("collect", "collect"),
    ("max_iterations", "max_iterations"),
    ("max_concurrency", "max_concurrency"),
    ("timeout", "timeout"),
    ("_engine", "engine"),
)


def _settings(builder: Builder) -> tuple[list[str], list[str]]:
    """The method calls that reproduce ``builder``'s settings: before and after its steps."""
    c = builder._config
    before: list[str] = []
    if isinstance(builder, MapOver) and "over" in c:
        item = "" if c.get("item", "item") == "item" else f", item={c['item']!r}"
        before.append(f".over({c['over']!r}{item})")
    after: list[str] = []
    for key, method in _METHODS:
        if c.get(key, ()) != ():
            args = ", ".join(map(repr, c[key])) if key == "reads" else repr(c[key])
            after.append(f".{method}({args})")
    until = c.get("until")
    if isinstance(until, str):
        after.append(f".until({until!r})")
    elif until is not None:
        after.append(f".until(FunctionRef({until.ref!r}))")
    return before, after


def _ir_code(node: Node, pad: str) -> str:
    fields = []
    for a in attrs.fields(type(node)):
        value = getattr(node, a.name)
        if not a.init or (a.name != "name" and value == a.default):
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


def _as_operators(item: Builder | Node) -> bool:
    """Whether ``item`` prints as ``a >> b`` / ``a | b``: operators flatten an operand of their
    own kind, so they are used only where they rebuild exactly this tree."""
    if not isinstance(item, (Pipeline, FanOut)) or not item._config.get("_auto"):
        return False
    steps = list(iter_steps(item))
    nested = any(isinstance(s, type(item)) and s._config.get("_auto") for s in steps)
    return len(steps) >= 2 and not nested and not isinstance(steps[0], NODE_KINDS)


def _argument(item: Builder | Node, pad: str) -> str:
    if _as_operators(item):
        return _code(item, pad)  # already parenthesised
    code = _code(item, pad + "    ")
    return f"({code})" if "\n" not in code else f"(\n{pad}    {code}\n{pad})"


def _code(item: Builder | Node, pad: str) -> str:
    """``item`` as an expression whose first line starts at indentation ``pad``."""
    if not isinstance(item, Builder):
        return _ir_code(item, pad)
    steps = list(iter_steps(item))
    if _as_operators(item):
        op = ">>" if isinstance(item, Pipeline) else "|"
        parts = [_operand(s, pad + "    ") for s in steps]
        return "(\n" + pad + "    " + f"\n{pad}    {op} ".join(parts) + f"\n{pad})"
    head = f"{type(item).__name__}({item.name!r}"
    if isinstance(item, Transform):
        head += f", {item._config['fn'].ref!r}"
    method = "branch" if isinstance(item, FanOut) else "step"
    before, after = _settings(item)
    lines = [head + ")", *before, *(f".{method}{_argument(s, pad)}" for s in steps), *after]
    if not steps:
        return "".join(lines)
    return f"\n{pad}".join(lines)


def _operand(item: Builder | Node, pad: str) -> str:
    # A multi-line method chain reads as one operand only inside its own parentheses.
    code = _code(item, pad + "    ")
    if "\n" not in code or _as_operators(item):
        return _code(item, pad)
    return f"(\n{pad}    {code}\n{pad})"


def _indented(item: Builder | Node) -> str:
    if _as_operators(item):
        return _code(item, "")
    return "(\n    " + _code(item, "    ") + "\n)"


def to_code(pipeline: Builder | Node) -> str:
    """Python source that builds ``pipeline`` (a builder or an IR node) as ``pipeline = ...``.

    Running the source gives a builder (or node) whose IR equals the original's; functions are
    written as import paths. Use it in failure messages to show a generated pipeline.
    """
    body = _indented(pipeline)
    header = "from irgraph import Agent, FanOut, Gate, Loop, MapOver, Pipeline, Transform\n"
    header += "from irgraph.ir import FunctionRef\n"
    if any(f"{cls.__name__}(" in body for cls in NODE_KINDS):
        names = ", ".join(sorted(cls.__name__ for cls in NODE_KINDS))
        header += f"from irgraph.ir import {names}\n"
    return f"{header}\npipeline = {body}\n"
