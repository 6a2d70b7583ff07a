"""Settings given to a builder's constructor as keywords, the way other agent frameworks take
them (``Agent("a", instruction="...")``): a builder takes only its name, ``inputs=`` and
``id=`` there (a gate its message too, a transform its function), and every setting through a
method, so such a keyword is refused naming the method that sets it. A method's keyword
misspelt (``.until("verdict", equal="approved")``, a route's ``.when("bug", then=fix)``) is
refused the same way by :func:`checked_keywords`, naming the method, its keywords and the
closest one; :class:`KeywordsChecked`, the builders' base, does that for every method. Each
is a :class:`BuilderArgumentError`: a call given arguments it does not take, so an
``ArgumentError`` (a ``TypeError``, as Python's is, and as ``Pipeline()`` with no name and
``run(max_concurency=2)`` raise), and a ``PipelineError``, as it always was.

>>> from irgraph import Agent
>>> try:
...     Agent("writer", instructions="Write about {topic}.")
... except Exception as error:
...     print(error.problems[0].hint)
Write Agent('writer').instruct(...).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from difflib import get_close_matches
from typing import Any, ParamSpec, TypeVar

from irgraph.errors import ArgumentError, PipelineError, a_or_an, closest_keys, suggestion_text
from irgraph.missing_arguments import missing_text

__all__ = [
    "BuilderArgumentError",
    "KeywordsChecked",
    "constructor_keywords",
    "checked_keywords",
    "unknown_method",
]

P = ParamSpec("P")
R = TypeVar("R")


class BuilderArgumentError(ArgumentError, PipelineError):
    """A builder, or one of its methods, called with arguments it does not take: caught by
    ``except TypeError`` (as Python's own error for such a call) and ``except PipelineError``."""


#: Keyword names other frameworks (and the IR's own fields) use, by the method that sets them.
_METHODS = {
    "instruction": "instruct", "instructions": "instruct", "prompt": "instruct",
    "system_prompt": "system", "output_schema": "output", "schema": "output",
    "response_format": "output", "output_type": "output", "output_key": "writes",
    "write": "writes", "description": "describe", "steps": "step", "branches": "branch",
    "children": "step", "temperature": "settings", "max_tokens": "settings",
    "iterations": "max_iterations", "cases": "when", "message": "message",
}  # fmt: skip

#: What a builder's constructor takes besides inputs= and id=, when more than its name.
_TAKES = {
    "Gate": "a Gate takes only its name, its message",
    "Transform": "a Transform takes only its name, its function",
}


def constructor_keywords(builder: Any, name: str, given: dict[str, Any]) -> BuilderArgumentError:
    """The error for keywords ``given`` to the constructor of ``builder`` (named ``name``)
    that it does not take, naming the method that sets each when there is one."""
    kind = type(builder).__name__
    cls = type(builder)
    methods = [m for m in dir(cls) if not m.startswith("_") and callable(getattr(cls, m))]
    calls = []
    for word in given:
        method = _METHODS.get(word) if _METHODS.get(word) in methods else None
        method = method or (word if word in methods else None)
        close = get_close_matches(word, methods, n=1, cutoff=0.75)
        method = method or (close[0] if close else None)
        if method is not None and method not in calls:
            calls.append(method)
    shown = ", ".join(f"{word}=..." for word in given)
    fix = "".join(f".{method}(...)" for method in calls)
    made = f"{kind}({name!r}{', fn' if kind == 'Transform' else ''})"
    hint = f"Write {made}{fix}." if calls else f"Its methods: {', '.join(methods)}."
    takes = _TAKES.get(kind, "a builder takes only its name")
    return BuilderArgumentError(
        f"{kind}({name!r}) got {shown} as {'keywords' if len(given) > 1 else 'a keyword'}, but "
        f"{takes}, inputs= and id=; its settings are set by its methods.",
        node=name,
        hint=hint,
    )


class KeywordsChecked:
    """The base of every builder: each public method a builder class defines with named
    parameters is wrapped by :func:`checked_keywords` as the class is made, so a method added
    later refuses a keyword it does not take too; one taking ``**values`` (``.settings()``,
    ``.ask()``) takes any. Too many or too few positional arguments are refused the same way,
    naming the method and what it takes (``.writes("a", "b")``, a route's ``.when("bug")``)."""

    __slots__ = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, value in list(vars(cls).items()):
            if not name.startswith("_") and inspect.isfunction(value) and _named(value):
                setattr(cls, name, checked_keywords(value))
        made = vars(cls).get("__init__")
        if inspect.isfunction(made):
            cls.__init__ = _counted_constructor(made)  # type: ignore[method-assign]


#: What each builder's steps or branches are given by, for a constructor given them.
_PARTS = {
    "Pipeline": "Pipeline(name).step(a).step(b), or a >> b",
    "FanOut": "FanOut(name).branch(a).branch(b), or a | b",
    "Loop": "Loop(name).step(body).max_iterations(n), or body * n",
    "MapOver": "MapOver(name).over(key).step(body)",
    "Route": "Route(name).on(key).when(value, branch)",
    "Agent": "Agent(name).instruct(text).writes(key)",
    "Gate": "Gate(name, message).writes(key)",
    "Transform": "Transform(name, fn).reads(key).writes(key)",
}


#: Why a method other builders have is not this one's, by the builder and the method.
_NOT_HERE = {
    ("Transform", "output"): "a transform's return value is stored as it is",
    ("Transform", "instruct"): "a transform calls its function, with the keys it reads",
    ("Agent", "reads"): "an agent reads the keys its instruction and system prompt name as {key}",
    ("Route", "step"): "a route's branches are given by .when(value, step) and .otherwise(step)",
    ("MapOver", "output"): "each item's step gives its value, and .writes(key) keeps the list",
    ("Loop", "output"): "the steps in its body write the state",
    ("Gate", "output"): (
        "a gate's answer is a person's text, not a model's reply, so there is no schema to "
        "hold it to; to check or parse it, add a Transform that reads the answer's key"
    ),
    ("Gate", "model"): "a gate asks a person, shown its .message(), not a model",
    ("Gate", "instruct"): "a gate shows a person its .message(text), which may read {key}",
}
#: Methods every builder has, left out of a listing of what one builder takes.
_EVERY = frozenset({"ask", "ask_async", "to_ir", "name", "inputs"})


def unknown_method(builder: Any, item: str) -> str:
    """What to say of ``builder.item`` that no builder of its kind has: the closest method,
    else the builders that have it (``.output()`` is an Agent's, not a Transform's) and why
    not this one, with the methods it has.

    >>> from irgraph import Transform
    >>> print(unknown_method(Transform("count", len), "output"))  # doctest: +ELLIPSIS
    Transform 'count' has no method 'output'. Agent has .output(), a Transform does not: a ...
    """
    cls = type(builder)
    kind = getattr(cls, "_kind", cls.__name__)
    methods = [m for m in dir(cls) if not m.startswith("_")]
    said = f"{kind} {builder.name!r} has no method {item!r}."
    close = closest_keys(item, methods)
    if close:
        return said + suggestion_text(close)
    having = sorted({k.__name__ for k in _builders() if k is not cls and item in dir(k)})
    if having:
        why = _NOT_HERE.get((kind, item))
        names = " and ".join([", ".join(having[:-1]), having[-1]] if having[1:] else having)
        said += f" {names} {'has' if len(having) == 1 else 'have'} .{item}(), "
        said += f"{a_or_an(kind)} {kind} does not{f': {why}' if why else ''}."
    listed = ", ".join(m for m in methods if m not in _EVERY)
    return f"{said} The methods of {a_or_an(kind)} {kind}: {listed}."


def _builders() -> list[type]:
    """Every builder class made from :class:`KeywordsChecked` (``Agent``, ``Route``, ...),
    not the bases between them (``Builder``)."""
    found, todo = [], list(KeywordsChecked.__subclasses__())
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        if not cls.__name__.startswith("_") and cls.__name__ == getattr(cls, "_kind", None):
            found.append(cls)
    return found


def _counted_constructor(made: Callable[P, None]) -> Callable[P, None]:
    """A builder's ``__init__`` refusing positional arguments past those it takes (``Pipeline(
    "p", [a, b])``, as other frameworks take steps) with the methods that give them, and one it
    needs left out (``Agent()``, ``Transform("t")``) with the call to write, naming the builder
    (Python's ``TypeError`` names ``Builder.__init__()``)."""
    positional = [
        p
        for p in inspect.signature(made).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    most = len(positional)
    needed = [p.name for p in positional if p.default is p.empty]

    @functools.wraps(made)
    def counted(*args: P.args, **kwargs: P.kwargs) -> None:
        if len(args) > most:
            builder, extra = args[0], args[most:]
            kind = type(builder).__name__
            name = args[1] if len(args) > 1 else "?"
            takes = _TAKES.get(kind, "a builder takes only its name")
            shown = ", ".join(_short(value) for value in extra[:3])  # not a screenful
            shown += f" and {len(extra) - 3} more" if len(extra) > 3 else ""
            more = f"{len(extra)} more argument{'' if len(extra) == 1 else 's'}"
            raise BuilderArgumentError(
                f"{kind}({name!r}) got {more} ({shown}), but {takes}, inputs= and id=; "
                "everything else is given by its methods.",
                node=name if isinstance(name, str) else None,
                hint=f"Write {_PARTS.get(kind, f'{kind}(name).method(...)')}.",
            )
        try:
            made(*args, **kwargs)
        except TypeError as error:
            # Raised where made was called, in no frame of its own: an argument left out.
            if error.__traceback__ is not None and error.__traceback__.tb_next is None:
                where = f"{type(args[0]).__name__}()" if args else "Builder()"
                names = [p.name for p in positional]
                lacking = missing_text(where, args, kwargs, names, needed)
                if lacking is not None:
                    raise BuilderArgumentError(lacking) from None
            raise

    return counted


def _named(method: Callable[..., Any]) -> bool:
    """Whether ``method`` has parameters besides ``self``."""
    return len(inspect.signature(method).parameters) > 1


def checked_keywords(method: Callable[P, R]) -> Callable[P, R]:
    """``method`` of a builder, refusing a keyword it does not take with a
    :class:`BuilderArgumentError` that names the method, what it takes and the
    closest keyword (Python's own ``TypeError`` names neither the node nor the fix)."""
    signature = inspect.signature(method)
    every = list(signature.parameters.values())
    named = every[1:]  # not self, which Agent.instruct(self=agent, text=...) names too
    takes = frozenset(p.name for p in every if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
    any_keyword = any(p.kind == p.VAR_KEYWORD for p in every)  # .settings(**values)
    positional = [p for p in every if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    least = sum(p.default is p.empty for p in positional)
    most = float("inf") if any(p.kind == p.VAR_POSITIONAL for p in every) else len(positional)

    @functools.wraps(method)
    def checked(*args: P.args, **kwargs: P.kwargs) -> R:
        if kwargs and not (any_keyword or takes.issuperset(kwargs)):  # the happy path
            builder = args[0] if args else kwargs.get(every[0].name)
            unknown = {word: value for word, value in kwargs.items() if word not in takes}
            if builder is not None:  # with no builder, Python's TypeError says it is missing
                raise _not_taken(builder, method.__name__, unknown, named)
        if args and not least <= len(args) <= most:  # too many, or maybe too few: bind them
            try:
                signature.bind(*args, **kwargs)
            except TypeError as error:
                raise _miscounted(args[0], method.__name__, args[1:], named, error) from None
        return method(*args, **kwargs)

    return checked


def _not_taken(
    builder: Any, method: str, unknown: dict[str, Any], named: list[inspect.Parameter]
) -> BuilderArgumentError:
    name = builder.name
    shown = ", ".join(f"{word}=..." for word in unknown)
    listed, call = [], []
    for p in named:  # in the order of the signature: f(a, *keys, b=...)
        if p.kind == p.VAR_POSITIONAL:
            listed.append(f"{p.name} as positional arguments")
            call.append(_spread(list(unknown.values())))
        else:
            word = f"{p.name}=" if p.kind == p.KEYWORD_ONLY else p.name
            listed.append(word)
            call.append(f"{word}..." if p.kind == p.KEYWORD_ONLY else word)
    listing = " and ".join([", ".join(listed[:-1]), listed[-1]] if len(listed) > 1 else listed)
    takes = [p.name for p in named if p.kind != p.VAR_POSITIONAL]
    meant = [found[0] for word in unknown if (found := closest_keys(word, takes, n=1))]
    many = len(unknown) > 1
    return BuilderArgumentError(
        f"'{name}'.{method}() got {shown}, {'keywords' if many else 'a keyword'} it does not "
        f"take (it takes {listing}).",
        node=name,
        hint=f"Did you mean {' and '.join(f'{word}=' for word in meant)}?"
        if meant
        else f"Write '{name}'.{method}({', '.join(call)}).",
    )


def _miscounted(
    builder: Any, method: str, given: tuple[Any, ...], named: list[inspect.Parameter], why: Any
) -> BuilderArgumentError:
    """The error for ``.method(*given)`` given too many or too few arguments (``why``:
    Python's own reason), naming the builder and what the method takes."""
    name = getattr(builder, "name", type(builder).__name__)
    call = ", ".join(map(_shown_parameter, named))
    shown = ", ".join(_short(value) for value in given)
    count = f"{len(given)} argument{'' if len(given) == 1 else 's'}"
    return BuilderArgumentError(
        f"'{name}'.{method}() got {count} ({shown or 'none'}), but it takes "
        f"{method}({call}): {why}.",
        node=name,
        hint=f"Write '{name}'.{method}({call}).",
    )


def _shown_parameter(p: inspect.Parameter) -> str:
    """How a call writes parameter ``p``: ``text``, ``*keys``, ``**values``, ``equals=...``."""
    if p.kind == p.VAR_POSITIONAL:
        return f"*{p.name}"
    if p.kind == p.VAR_KEYWORD:
        return f"**{p.name}"
    if p.kind == p.KEYWORD_ONLY:
        return f"{p.name}=..."
    return p.name if p.default is p.empty else f"{p.name}={p.default!r}"


def _short(value: Any) -> str:
    """``value`` as the call showed it, cut to stay readable."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _spread(given: list[Any]) -> str:
    """The positional arguments of a ``*keys`` parameter, from what one keyword gave it
    (``keys=['topic', 'audience']``: ``'topic', 'audience'``), else an example of them."""
    value = given[0] if len(given) == 1 else None
    values = [value] if isinstance(value, str) else value
    if isinstance(values, (list, tuple)) and values and all(isinstance(v, str) for v in values):
        return ", ".join(repr(v) for v in values)
    return "'topic', 'audience'"
