"""How a pipeline's own functions are called: a transform with the keys it reads, a route's or
loop's predicate with the read-only state, and the problem told before anything runs when
the function's signature cannot take that call.

Every backend and the check in ``to_graph`` use :func:`transform_arguments`, so what
``validate`` accepts is exactly what runs.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any

from irgraph.errors import PipelineError, Problem, closest_keys, refused_calls

__all__ = ["transform_arguments", "transform_call_problem", "predicate_call_problem"]


_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


@refused_calls
def transform_arguments(
    fn: Callable[..., Any], reads: tuple[str, ...], values: Mapping[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The ``(args, kwargs)`` a transform calls ``fn`` with, taking the read keys from ``values``.

    The read keys are keyword arguments, with one exception: a transform that reads exactly one
    key, of a function with exactly one required positional parameter, passes the value
    positionally, unless the key names another parameter of the function. So ``str.strip``
    (``(self, chars=None, /)``), ``len`` (``(obj, /)``) and ``lambda text: ...`` each take the
    one key they read, whatever it is called. A function whose signature cannot be read (some
    builtins, like ``int`` or ``max``) gets its one key positionally too.

    >>> transform_arguments(str.strip, ("findings",), {"findings": " x "})
    ((' x ',), {})
    >>> transform_arguments(lambda a, b: a + b, ("a", "b"), {"a": 1, "b": 2})
    ((), {'a': 1, 'b': 2})
    """
    if len(reads) == 1 and _one_positional(fn, reads[0]):
        return (values[reads[0]],), {}
    return (), {key: values[key] for key in reads}


def _one_positional(fn: Callable[..., Any], key: str) -> bool:
    try:
        return _one_positional_cached(fn, key)
    except TypeError:  # an unhashable callable: decide without the cache
        return _one_positional_uncached(fn, key)


def _one_positional_uncached(fn: Callable[..., Any], key: str) -> bool:
    try:
        parameters = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return True
    required = [
        name for name, p in parameters.items() if p.kind in _POSITIONAL and p.default is p.empty
    ]
    return len(required) == 1 and (key == required[0] or key not in parameters)


# Reading a builtin's signature costs up to ~0.2 ms; a transform in a loop would pay it each time.
_one_positional_cached = functools.lru_cache(maxsize=1024)(_one_positional_uncached)


@refused_calls
def transform_call_problem(
    node_id: str, fn: Callable[..., Any], reads: tuple[str, ...]
) -> Problem | None:
    """Why :func:`transform_arguments` cannot call ``fn`` with ``reads``, or ``None`` if it can
    (or if ``fn`` hides its signature, as some builtins do: then only running it tells).

    >>> problem = transform_call_problem("clean", lambda text, lang: text, ("text",))
    >>> problem.node, problem.message.endswith("missing a required argument: 'lang'.")
    ('clean', True)
    >>> transform_call_problem("clean", str.strip, ("findings",)) is None
    True
    """
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    failure = _call_failure(signature, fn, reads)
    if failure is None:
        return None
    shown = ", ".join(f"'{key}'" for key in reads)
    positional = len(reads) == 1 and _one_positional(fn, reads[0])
    if not reads:
        call = "no arguments, as it reads no keys"
    elif positional:
        call = f"the key it reads, {shown}, as its one positional argument"
    elif len(reads) == 1:
        call = f"the key it reads, {shown}, as a keyword argument"
    else:
        call = f"the keys it reads, {shown}, as keyword arguments"
    parameters = signature.parameters
    takes_any = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    unknown = [] if positional or takes_any else [k for k in reads if k not in parameters]
    wanted = tuple(
        name
        for name, p in parameters.items()
        if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    )
    if wanted and _call_failure(signature, fn, wanted) is None:
        hint = (
            f"Read the keys the function takes with .reads({', '.join(map(repr, wanted))}), "
            "or change the function's parameters to the keys it reads."
        )
    else:
        hint = (
            "Read the key it takes with .reads(key) (a function of one required positional "
            "parameter, such as str.strip, gets a single read key positionally), or change "
            "the function's parameters to the keys it reads."
        )
    name = getattr(fn, "__qualname__", None) or repr(fn)
    return Problem(
        f"Transform '{node_id}' calls {name}{signature} with {call}, which fails: {failure}.",
        node=node_id,
        key=unknown[0] if unknown else None,
        suggestion=tuple(closest_keys(unknown[0], parameters)) if unknown else (),
        hint=hint,
    )


def _call_failure(
    signature: inspect.Signature, fn: Callable[..., Any], reads: tuple[str, ...]
) -> str | None:
    args, kwargs = transform_arguments(fn, reads, dict.fromkeys(reads))
    try:
        signature.bind(*args, **kwargs)
    except TypeError as exc:
        return str(exc)
    return None


#: How each kind of node that takes a predicate shows a right one in a hint.
_PREDICATE_EXAMPLES = {
    "Route": ".when(lambda state: state['category'] == 'bug', branch)",
    "Loop": ".until(lambda state: state['verdict'] == 'approved')",
}


def predicate_call_problem(fn: Callable[..., Any], *, kind: str, node: str) -> PipelineError | None:
    """The error for the predicate ``fn`` of the ``kind`` (``"Route"``, ``"Loop"``) ``node``
    when it cannot be called with one positional argument, the read-only view of the state,
    as every backend calls it; ``None`` if it can, or if it hides its signature."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # no signature to read
        return None
    try:
        signature.bind(None)
    except TypeError as exc:
        name = getattr(fn, "__qualname__", None) or repr(fn)
        bare = signature.replace(  # the parameters as the call sees them, without annotations
            parameters=[p.replace(annotation=p.empty) for p in signature.parameters.values()],
            return_annotation=signature.empty,
        )
        return PipelineError(
            f"{kind} '{node}' calls its predicate {name}{bare} with one positional "
            f"argument (the read-only state), which fails: {exc}.",
            node=node,
            hint="A predicate takes the state as its one required parameter, e.g. "
            f"{_PREDICATE_EXAMPLES.get(kind, '')}.",
            got=fn,
        )
    return None
