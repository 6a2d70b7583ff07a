"""The text of generated flow code: Python literals, names and call layout.

:func:`_lit` writes pipeline values as ``repr()``-style literals (so any text survives
exactly), :func:`_identifier` makes numbered, sanitized Python names from pipeline names, and
:func:`_call` / :func:`_signature` lay calls and definitions out within the line width. Used by
:mod:`irgraph.backends.prefect_codegen` and :mod:`irgraph.backends.prefect_codegen_nodes`.
"""

from __future__ import annotations

import keyword
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from irgraph.errors import PipelineError, Problem
from irgraph.ir import FunctionRef, Node
from irgraph.ir.trust import functions_of

# Private to the code generator's modules, which share them.
__all__ = [
    "_lit",
    "_identifier",
    "_flow_function_name",
    "_call",
    "_signature",
    "_wrapped",
    "_prefixed",
    "_indent",
    "_function_ref",
    "_refuse_main_functions",
]

_WIDTH = 84  # code width before indentation: most lines stay within 100


def _lit(value: Any) -> str:
    """A Python literal equal to ``value``: a str, number, bool or None, or a tuple, list or
    str-keyed mapping of them (a JSON object, such as an agent's settings, as a dict).

    >>> print(_lit(("bug", 1.5, None)), _lit({"type": "string", "enum": ["a"]}))
    ('bug', 1.5, None) {'type': 'string', 'enum': ['a']}
    """
    if value is None or isinstance(value, (bool, str, int)):
        return repr(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else f"float({str(value)!r})"
    if isinstance(value, tuple):
        inner = ", ".join(_lit(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(_lit(v) for v in value) + "]"
    if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        return "{" + ", ".join(f"{_lit(k)}: {_lit(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} {value!r} as a literal")


def _slug(name: str, limit: int = 40) -> str:
    """ASCII letters, digits and single underscores from ``name``, lower case, bounded."""
    text = re.sub(r"[^0-9A-Za-z]+", "_", name).strip("_").lower()
    return text[:limit].rstrip("_")


def _identifier(prefix: str, index: int, name: str) -> str:
    slug = _slug(name)
    ident = f"{prefix}_{index}_{slug}" if slug else f"{prefix}_{index}"
    assert ident.isidentifier() and not keyword.iskeyword(ident)
    return ident


def _flow_function_name(flow_name: str) -> str:
    slug = _slug(flow_name)
    if not slug:
        return "pipeline_flow"
    return f"{slug}_flow" if not slug[0].isdigit() else f"flow_{slug}"


def _call(
    name: str, args: list[list[str]], width: int = _WIDTH, groups: list[int] | None = None
) -> list[str]:
    """Lines of the call ``name(*args)``: on one line if short, else the arguments on one
    indented line if they fit, else ``groups`` (sizes of runs of arguments) a line each,
    else one argument a line."""
    if all(len(arg) == 1 for arg in args):
        flat = [arg[0] for arg in args]
        joined = ", ".join(flat)
        if len(name) + len(joined) + 2 <= width:
            return [f"{name}({joined})"]
        if len(joined) + 4 <= width:
            return [f"{name}(", f"    {joined}", ")"]
        if groups is not None:
            lines = [f"{name}("]
            start = 0
            for size in groups:
                run = flat[start : start + size]
                start += size
                line = ", ".join(run) + ","
                if len(line) + 4 <= width:
                    lines.append("    " + line)
                else:
                    lines += [f"    {arg}," for arg in run]
            lines += [f"    {arg}," for arg in flat[start:]]
            lines.append(")")
            return lines
    lines = [f"{name}("]
    for arg in args:
        lines += ["    " + line for line in arg[:-1]]
        lines.append("    " + arg[-1] + ",")
    lines.append(")")
    return lines


def _wrapped(text: str, width: int = 76) -> list[str]:
    """Lines of a parenthesized literal equal to ``text`` (string literals one after another,
    which Python joins), broken after ``", "`` where it can, each line within ``width``
    (a part longer than that alone is cut).

    >>> for line in _wrapped("one, two, three", width=14): print(line)
    (
        'one, two, '
        'three'
    )
    """
    lines: list[str] = []
    line = ""
    for part in re.split(r"(?<=, )", text):
        if line and len(_lit(line + part)) > width:
            lines.append(line)
            line = ""
        line += part
        while len(_lit(line)) > width:  # longer than a line alone: cut where one is full
            cut = _filled(line, width)
            lines.append(line[:cut])
            line = line[cut:]
    if line or not lines:
        lines.append(line)
    return ["(", *(f"    {_lit(line)}" for line in lines), ")"]


def _filled(text: str, width: int) -> int:
    """How many of the first characters of ``text`` fill a literal ``width`` wide (at least
    one): each counts as wide as its escape (``\\n`` two)."""
    size = 2  # the quotes
    for count, char in enumerate(text):
        size += len(repr(char)) - 2
        if size > width:
            return max(count, 1)
    return len(text)


def _signature(name: str, params: list[str], returns: str) -> list[str]:
    """``async def name(*params, run_key: str | None) -> returns:``, wrapped if long."""
    args = [[param] for param in [*params, "run_key: str | None"]]
    width = 100 - len("async def ") - len(f" -> {returns}:")  # def lines are not indented
    lines = _prefixed("async def ", _call(name, args, width=width))
    lines[-1] += f" -> {returns}:"
    return lines


def _prefixed(prefix: str, lines: list[str]) -> list[str]:
    return [prefix + lines[0], *lines[1:]]


def _indent(lines: Iterable[str], levels: int = 1) -> list[str]:
    pad = "    " * levels
    return [pad + line if line else line for line in lines]


def _function_ref(ref: FunctionRef, owner: str, role: str) -> str:
    if not ref.importable:
        raise PipelineError(
            f"The {role} of '{owner}' is {ref.ref!r}, which generated code cannot import "
            "(lambdas and functions defined inside other functions have no import path).",
            node=owner,
            hint="Define the function at the top level of an importable module.",
        )
    return ref.ref


def _refuse_main_functions(ir: Node) -> None:
    """Refuse, in one error naming each, the functions of ``__main__`` (the script or
    notebook generating the code) that ``ir`` calls: a worker runs the generated module in
    a process of its own, where ``__main__`` is another program, so it could never import
    them. (Saving such a pipeline only warns: the same script may load it back.)"""
    problems = []
    for name, ref in functions_of(ir):
        if ref.module != "__main__":
            continue
        qualname = ref.ref.partition(":")[2]
        problems.append(
            Problem(
                f"'{name}' calls {ref.ref!r}, a function of the script or notebook running now "
                "('__main__'), which the generated flow module cannot import: a Prefect worker "
                "runs the module in a process of its own, where '__main__' is another program.",
                node=name,
                hint=f"Move {qualname} into an importable module (e.g. steps.py beside the "
                f"script), import it from there (from steps import {qualname.partition('.')[0]}), "
                "and generate the flow code again.",
            )
        )
    if problems:
        raise PipelineError(problems)
