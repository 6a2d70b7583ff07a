"""Telling a field of a state key (``t.category``, ``t['category']``, ``t[0]``) where a whole
key is expected.

State keys are flat: a route's ``.on``, a loop's ``.until`` and a map-over's ``.over`` name a
key or a field of one by a dotted path (``"t.category"``), and a template reads one as
``{t.category}``; a step's ``.writes`` and a map-over's ``.collect`` name a whole key, whose
value may be an object an agent wrote by its ``.output(schema)``. Someone used to Jinja or
Python writes the field in brackets, or an item of a list by its index, instead; these
functions recognise that (only on the error path, after a key was refused) and say how to get
at it: the dotted path where one names it, else a predicate, or a ``Transform`` that writes it
to a key of its own.

>>> field_of("t.category"), field_of("t['items'][0]"), field_of("t.items.0"), field_of("café")
(('t', "['category']"), ('t', "['items'][0]"), ('t', "['items'][0]"), None)
>>> dotted_of("t['category']"), dotted_of("t['items'][0]")
('t.category', None)
>>> print(field_key_hint("t.category", "on"))
Compare the field in a predicate, .when(lambda state: state['t']['category'] == value, branch), \
or write it to a key of its own first, Transform('t_category', lambda t: t['category'])\
.reads('t').writes('t_category'), and use 't_category'.
>>> print(field_key_hint("t['category']", "template"))
Write {t.category}: a template reads a field of a key by its dotted path.
"""

from __future__ import annotations

import re
from typing import Any

from irgraph.errors import PipelineError

__all__ = [
    "field_of",
    "dotted_of",
    "part_of",
    "field_key_error",
    "field_key_hint",
    "field_key_message",
]

_ROOT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PART = re.compile(
    r"\.([A-Za-z_][A-Za-z0-9_]*)"  # .category
    r"|\[\s*(\d+)\s*\]|\.(\d+)(?![A-Za-z_])"  # [0], or .0 as in Jinja
    r"|\[\s*'([^'\]]*)'\s*\]"  # ['category']
    r'|\[\s*"([^"\]]*)"\s*\]'  # ["category"]
    r"|\[([^\]'\"]+)\]"  # [category], as str.format reads a field
)


def field_of(text: Any) -> tuple[str, str] | None:
    """``(key, access)`` when ``text`` reads a field of the state key ``key``, ``access``
    being that field as Python subscripts (``"['category'][0]"``); else ``None``."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    root = _ROOT.match(text)
    if root is None or root.end() == len(text):
        return None
    access, at = [], root.end()
    while at < len(text):
        part = _PART.match(text, at)
        if part is None:
            return None
        dotted, index, dotted_index, single, double, bare = part.groups()
        if index is not None or dotted_index is not None:
            access.append(f"[{int(index or dotted_index)}]")
        else:
            field = next(f for f in (dotted, single, double, bare) if f is not None).strip()
            if field.startswith("__"):  # {text.__class__}: no field of a JSON value
                return None
            access.append(f"[{field!r}]")
        at = part.end()
    return root.group(), "".join(access)


def dotted_of(text: Any) -> str | None:
    """The dotted path (``"t.category"``) naming the field ``text`` reads, when it reads
    fields by their names only (no list item by its index), else ``None``."""
    found = field_of(text)
    if found is None:
        return None
    names = re.findall(r"\['([A-Za-z_][A-Za-z0-9_]*)'\]", found[1])
    if len(names) != found[1].count("["):
        return None
    return ".".join([found[0], *names])


def part_of(text: str) -> str:
    """What ``text`` reads of its key, in words: ``a field`` (``t.category``) or ``an item``
    (``t[0]``)."""
    found = field_of(text)
    return "an item" if found is not None and found[1][1:2].isdigit() else "a field"


def _alias(key: str, access: str) -> str:
    """A key for the field: ``t_category`` for ``t['category']``."""
    words = re.findall(r"[A-Za-z0-9_]+", access)
    alias = "_".join([key, *words])
    return alias if alias.isidentifier() else f"{key}_field"


def field_key_hint(text: str, method: str) -> str:
    """How to get at the field ``text`` reads, for a builder's ``method`` (``on``, ``until``,
    ``over``, ``writes`` ...) or ``template``."""
    found = field_of(text)
    assert found is not None
    key, access = found
    if method == "template" and (dotted := dotted_of(text)) is not None:
        return f"Write {{{dotted}}}: a template reads a field of a key by its dotted path."
    alias = _alias(key, access)
    write = f"Transform({alias!r}, lambda {key}: {key}{access}).reads({key!r}).writes({alias!r})"
    use = f"{{{alias}}}" if method == "template" else repr(alias)
    if method == "on":
        return (
            f"Compare the field in a predicate, .when(lambda state: state[{key!r}]{access} "
            f"== value, branch), or write it to a key of its own first, {write}, and use {use}."
        )
    if method == "until":
        return (
            f"Stop on a predicate, .until(lambda state: state[{key!r}]{access} == value), or "
            f"write the field to a key of its own in the body, {write}, and use {use}."
        )
    if method in ("writes", "collect") and (dotted := dotted_of(text)) is not None:
        return (
            f"Write the whole value to {key!r} (an object, with .output(schema)), and read the "
            f"field where it is needed: {{{dotted}}} in a template, .on({dotted!r}) in a route."
        )
    if method in ("writes", "collect"):
        return (
            f"Write the whole value to {key!r} (an object, with .output(schema)), and take the "
            f"field out later with {write}."
        )
    return f"Write the field to a key of its own first, {write}, and use {use}."


def field_key_message(text: str, where: str) -> str:
    """The sentence saying ``where`` (``"the argument of 'r'.on()"``) got the field ``text``
    of a state key, not a key."""
    key = field_of(text)
    assert key is not None
    return (
        f"{where[:1].upper()}{where[1:]} must be a state key, but {text!r} reads "
        f"{part_of(text)} of '{key[0]}': state keys are flat, and the parts of a value are "
        "not keys of their own."
    )


def field_key_error(
    value: Any, where: str, method: str, node: str | None, expected: str = "a state key"
) -> PipelineError | None:
    """The error for builder ``node``'s ``method`` given the field ``value`` of a state key
    where a key is expected (at ``where``; ``expected`` says a key in the rule's words), or
    ``None`` when ``value`` is no such field."""
    found = field_of(value)
    if found is None:
        return None
    dotted = dotted_of(value)
    # What was expected, as a refused key says it (PipelineError.expected): a path takes fields.
    if method in ("on", "until", "over"):
        expected += ", or a key and its fields as a dotted path ('verdict.category')"
    if method in ("on", "until", "over") and dotted is not None:  # all names
        return PipelineError(
            f"{where[:1].upper()}{where[1:]} takes a field of a key as a dotted path, "
            f"{dotted!r}, not {value!r}.",
            node=node,
            key=found[0],
            hint=f"Write .{method}({dotted!r}).",
            expected=expected,
            got=value,
        )
    message = field_key_message(value, where)
    if method in ("on", "until", "over"):  # a path names fields, never a list's item by its index
        message = (
            f"{where[:1].upper()}{where[1:]} takes a state key, or a key and its fields as a "
            f"dotted path ('verdict.category'), but {value!r} reads an item of a list in "
            f"'{found[0]}' by its index, which no path names."
        )
    return PipelineError(
        message,
        node=node,
        key=found[0],
        hint=field_key_hint(value, method),
        expected=expected,
        got=value,
    )
