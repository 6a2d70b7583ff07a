"""A stable name for a function that no import path names: the same in every process.

A transform of a lambda, a local function, a ``functools.partial`` or a callable object has no
import path, yet a pipeline's IR must tell two such functions apart (a keyed batch resumes only
with the pipeline it was started with), and must find the same function the same in another
process, so no memory address may enter the name:

- a lambda or local function: ``module:qualname#<hash>`` of its code (bytecode, names,
  constants, nested code), its default arguments and the values it captured (its closure);
- a partial: ``?:functools.partial(<its function's name>, <args>, <keywords>)``;
- a callable object: ``?:<module>.<class>(<its attributes>)``, or the object's own ``repr``
  when it has no attributes and its ``repr`` names no memory address
  (``?:operator.itemgetter('a')``); a method bound to an object: the object so named, then
  ``.<method>`` (a classmethod keeps its import path: ``module:Class.method`` names it).

A value (a captured one, a default, an argument, an attribute) counts by :func:`stable`: data
by its content (containers item by item, sets and dict keys sorted), functions by their name as
above, classes by import path, anything else by its ``repr`` when that holds no memory address,
and otherwise by its type only: such a value's state is not compared. Values a function reads
from its module's globals are not part of it either. A long description is shortened to its
start and a hash of the whole.
"""

from __future__ import annotations

import functools
import re
import types
from collections.abc import Callable
from typing import Any

__all__ = ["function_name", "handler_name", "stable"]

_ADDRESS = re.compile(r"\bat 0x[0-9a-fA-F]+")
#: Deeper than this, a value counts by its type (a guard against data nested without end).
_DEPTH = 24
#: A description longer than this is cut, with a hash of the whole after it.
_LONG = 120


def handler_name(fn: Any) -> str:
    """The name a message gives a callable the user passed (an ``on_gate`` or ``on_event``
    handler): its qualified name, else its type's name.

    >>> handler_name(print), handler_name(object())
    ('print', 'object')
    """
    return str(getattr(fn, "__qualname__", None) or type(fn).__name__)


def function_name(fn: Callable[..., Any], seen: frozenset[int] = frozenset()) -> str:
    """The path that names the callable ``fn``, or, for one that no path names, a name that
    is the same in every process (see the module's doc): a lambda or local function by
    its code, defaults and captured values, a ``functools.partial`` by its function and
    arguments, a callable object by its class and attributes. ``seen``: the callables being
    named around this one (a local function that calls itself is in its own closure)."""
    if isinstance(fn, functools.partial):
        return "?:" + _partial_name(fn, seen)
    if isinstance(fn, types.MethodType) and not isinstance(fn.__self__, type):
        # bound to an instance: "module:Class.method" would name the unbound function
        return f"?:{_object_name(fn.__self__, seen)}.{fn.__name__}"
    # A method of a built-in type (str.strip) has no module of its own; its class has.
    owner = getattr(fn, "__objclass__", None)
    module = getattr(fn, "__module__", None) or getattr(owner, "__module__", None) or "?"
    qualname = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    if not isinstance(qualname, str):  # a callable object (itemgetter, an instance of a class)
        return "?:" + _object_name(fn, seen)
    ref = f"{module}:{qualname}"
    code = getattr(fn, "__code__", None)
    if "<" in qualname and code is not None:
        # No import path names a lambda or a local function, so its code tells two apart.
        ref += "#" + _code_hash(fn, code, seen)
    return ref


def _code_hash(fn: Any, code: Any, seen: frozenset[int] = frozenset()) -> str:
    """The hash that names a function of no import path: its code, defaults and closure."""
    seen = seen | {id(fn)}
    closure = getattr(fn, "__closure__", None) or ()
    captured = [
        f"{name}={_cell(cell, seen)}" for name, cell in zip(code.co_freevars, closure, strict=False)
    ]
    defaults = getattr(fn, "__defaults__", None), getattr(fn, "__kwdefaults__", None)
    parts = [_code_identity(code)]
    if captured or any(defaults):  # a plain function's hash is its code's, as it always was
        parts += [stable(defaults[0], seen), stable(defaults[1], seen), ",".join(captured)]
    return _digest("\n".join(parts))


def _cell(cell: Any, seen: frozenset[int]) -> str:
    try:
        return stable(cell.cell_contents, seen)
    except ValueError:  # a cell not filled yet
        return "<empty>"


def _code_identity(code: Any) -> str:
    """What a function's code does: its bytecode, names and constants (nested code too)."""
    consts = [_code_identity(c) if hasattr(c, "co_code") else repr(c) for c in code.co_consts]
    return f"{code.co_code.hex()}|{code.co_names}|{code.co_varnames}|{consts}"


def _partial_name(fn: functools.partial[Any], seen: frozenset[int] = frozenset()) -> str:
    """``functools.partial(<function>, <args>, <keywords>)`` with every part :func:`stable`."""
    seen = seen | {id(fn)}
    parts = [function_name(fn.func, seen)]
    parts += [stable(arg, seen) for arg in fn.args]
    parts += [f"{name}={stable(value, seen)}" for name, value in sorted(fn.keywords.items())]
    return _shortened(f"functools.partial({', '.join(parts)})")


def _object_name(obj: Any, seen: frozenset[int] = frozenset()) -> str:
    """A callable object by its class's import path and its attributes (``__dict__`` and
    ``__slots__``), or by its ``repr`` when it has none and that ``repr`` is stable."""
    seen = seen | {id(obj)}
    cls = type(obj)
    path = f"{cls.__module__}.{cls.__qualname__}"
    attributes = _attributes(obj)
    if attributes:
        shown = ", ".join(f"{name}={stable(value, seen)}" for name, value in attributes)
        return _shortened(f"{path}({shown})")
    text = _repr(obj)
    if text is None:
        return path
    return _shortened(text if text.startswith(path) else f"{path} {text}")


def _attributes(obj: Any) -> list[tuple[str, Any]]:
    found: dict[str, Any] = {}
    for cls in reversed(type(obj).__mro__):
        slots = cls.__dict__.get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if name not in ("__dict__", "__weakref__") and hasattr(obj, name):
                found[name] = getattr(obj, name)
    found.update(getattr(obj, "__dict__", None) or {})
    return sorted(found.items())


def stable(value: Any, seen: frozenset[int] = frozenset(), depth: int = 0) -> str:
    """A description of ``value`` that is the same in every process (see the module's doc).

    >>> stable({"b": {2, 1}, "a": (None, 1.5)})
    "{'a': (None, 1.5), 'b': {1, 2}}"
    >>> stable(object())
    '<builtins.object>'
    """
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes)):
        return repr(value)
    if id(value) in seen or depth > _DEPTH:  # a value that holds itself, or nests without end
        return f"<{type(value).__module__}.{type(value).__qualname__}>"
    inner = seen | {id(value)}
    if isinstance(value, (list, tuple)):
        items = ", ".join(stable(item, inner, depth + 1) for item in value)
        return f"[{items}]" if isinstance(value, list) else f"({items})"
    if isinstance(value, (set, frozenset)):
        return "{" + ", ".join(sorted(stable(item, inner, depth + 1) for item in value)) + "}"
    if isinstance(value, dict):
        pairs = sorted(
            f"{stable(k, inner, depth + 1)}: {stable(v, inner, depth + 1)}"
            for k, v in value.items()
        )
        return "{" + ", ".join(pairs) + "}"
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    if isinstance(value, (types.FunctionType, types.BuiltinFunctionType, types.MethodType)):
        return function_name(value, inner)
    if isinstance(value, functools.partial):
        return _partial_name(value, inner)
    text = _repr(value)
    return text if text is not None else f"<{type(value).__module__}.{type(value).__qualname__}>"


def _repr(value: Any) -> str | None:
    """``repr(value)``, or ``None`` when it names a memory address (or fails)."""
    try:
        text = repr(value)
    except Exception:  # a repr of the user's that fails: the value counts by its type
        return None
    return None if _ADDRESS.search(text) else text


def _shortened(text: str) -> str:
    if len(text) <= _LONG:
        return text
    return f"{text[: _LONG - 20]}...#{_digest(text)}"


def _digest(text: str) -> str:
    import hashlib  # here: OpenSSL's loading is ~3 ms of every import irgraph, for long texts only

    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]
