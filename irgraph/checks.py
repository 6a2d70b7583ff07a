"""The one family of validators: names, state keys, counts, seconds, and "did you mean".

Every value a user hands irgraph — an IR field, a builder argument, a declared input, a run
option, a worker setting — is checked by one of these, so one kind of value follows one rule
wherever it enters, and a refusal always reads the same: what, expected, got, and a fix. A
:class:`Check` is both an attrs validator (``attrs.field(validator=key)``) and a function
(``key.check(value, "the argument of 'writer'.writes()")``); it raises
:class:`~irgraph.errors.PipelineError` carrying ``expected`` and ``got`` as attributes.

>>> key.check("findings", "a key")
'findings'
>>> try:
...     key.check("café", "the argument of 'writer'.writes()")
... except PipelineError as exc:
...     error = exc
>>> error.got, error.expected is key.expected
('café', True)
>>> print(str(error).replace(" (", "\\n("))
The argument of 'writer'.writes() must be a state key
(ASCII letters, digits and underscores, not starting with a digit)
(got 'café' of type str). Use a key such as 'findings' or 'draft_v2'.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import attrs

from irgraph.errors import (
    PipelineError,
    closest_keys,
    did_you_mean,
    keyword_names,
    keyword_options,
    keywords,
    suggestion_text,
    unknown_option,
)

__all__ = [
    "Check",
    "KEY_PATTERN",
    "KEY_RULE",
    "not_a_key",
    "is_key",
    "name",
    "model_name",
    "engine_name",
    "text",
    "key",
    "keys",
    "flag",
    "function",
    "count",
    "whole_between",
    "output_retries",
    "MAX_OUTPUT_RETRIES",
    "integer",
    "seconds",
    "optional",
    "one_of",
    "input_keys",
    "MAX_DEPTH",
    "nesting",
    "too_deep",
    "modules",
    "closest_keys",
    "did_you_mean",
    "unknown_option",
    "keywords",
    "keyword_names",
    "keyword_options",
]

#: The one rule for a state key: an ASCII identifier, so it reads the same in a template, a
#: JSON file, generated Python code and a shell argument.
T = TypeVar("T")

KEY_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def is_key(value: Any) -> bool:
    """Whether ``value`` is a valid state key.

    >>> is_key("draft_v2"), is_key("café"), is_key("2nd")
    (True, False, False)
    """
    # The strings KEY_PATTERN matches are exactly the ASCII identifiers; two string methods
    # say so in a third of the time of the match, and every IR node checks a few keys.
    return isinstance(value, str) and value.isascii() and value.isidentifier()


def key_like(text: str) -> str:
    """A state key made from ``text``, for advice about a key that is not one: each run of
    other characters an underscore, accents dropped, a leading digit prefixed with ``k_``.

    >>> key_like("bad key"), key_like("café"), key_like("2nd"), key_like("\x1b")
    ('bad_key', 'cafe', 'k_2nd', 'draft_v2')
    """
    import re
    import unicodedata

    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    key = re.sub(r"[^A-Za-z0-9_]+", "_", plain).strip("_")
    if not key:
        return "draft_v2"
    return f"k_{key}" if key[0].isdigit() else key


#: What a state key is, as a command says of a key that is not one.
KEY_RULE = "a state key is ASCII letters, digits and underscores, not starting with a digit"


def not_a_key(option: str, key: str) -> str:
    """What a command line says of a key of its JSON state (given with ``option``) that is
    not a state key: the rule, and a key to rename it to.

    >>> print(not_a_key("--state-json", "my key"))  # doctest: +NORMALIZE_WHITESPACE
    --state-json has the key 'my key', which is not a state key (a state key is ASCII
    letters, digits and underscores, not starting with a digit); rename it, e.g. to 'my_key'.
    """
    return (
        f"{option} has the key {key!r}, which is not a state key ({KEY_RULE}); rename it, "
        f"e.g. to {key_like(key)!r}."
    )


def builtin(value: T) -> T:
    """``value`` with a ``str`` subclass (a ``StrEnum`` member used as a node name or a state
    key) made the plain string it is, also inside a list or tuple: node ids, attributes and a
    run's state then hold builtin strings only, as the graph's plain data must.

    >>> import enum
    >>> Key = enum.StrEnum("Key", {"TOPIC": "topic"})
    >>> type(builtin(Key.TOPIC)), builtin((Key.TOPIC, "a"))
    (<class 'str'>, ('topic', 'a'))
    """
    if type(value) is str:
        return value
    if isinstance(value, str):
        return str.__str__(value)  # type: ignore[return-value]
    if isinstance(value, (list, tuple)) and not all(type(v) is str for v in value):
        return type(value)(builtin(v) for v in value)
    return value


def _got(value: Any) -> str:
    return f"{shown(value)} of type {type(value).__name__}"


def shown(value: Any) -> str:
    """``repr(value)``, but a whole number of more than 30 digits by its size: its digits
    would fill the message (and past 4300 of them, Python refuses to write them)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 100:
        digits = int(value.bit_length() * math.log10(2))
        return f"a{' negative' if value < 0 else ''} number of {digits}+ digits"
    return repr(value)


@attrs.frozen
class Check:
    """One rule: a test, what it expects (in words), and a hint for the fix."""

    expected: str
    test: Callable[[Any], bool]
    hint: str | None = None
    #: Whether the value is a state key, so a refusal also names it as the error's ``key``.
    about_keys: bool = False
    #: The values allowed, when the rule is one of them: a refused text is told the nearest.
    choices: tuple[Any, ...] = ()
    #: This rule as a plain function, for ``attrs.field(validator=...)`` on IR nodes: attrs
    #: calls a validator for every field of every node built, and calling a function costs a
    #: quarter of calling this object (whose ``__call__`` does the same).
    validator: Callable[[Any, attrs.Attribute[Any], Any], None] = attrs.field(
        init=False, eq=False, repr=False
    )

    @validator.default
    def _validator(self) -> Callable[[Any, attrs.Attribute[Any], Any], None]:
        test, refuse = self.test, self._field_error

        def validate(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
            if not test(value):
                raise refuse(instance, attribute, value)

        return validate

    def check(self, value: T, where: str, *, node: str | None = None) -> T:
        """Return ``value`` if it passes (a ``StrEnum`` member as its plain string:
        :func:`builtin`); else raise naming ``where`` (a noun phrase)."""
        if not self.test(value):
            raise self.error(value, where, node=node)
        return builtin(value)

    def error(
        self, value: Any, where: str, *, node: str | None = None, method: str = "key"
    ) -> PipelineError:
        """The error for a ``value`` that fails this rule at ``where`` (a builder's ``method``,
        which a key's refusal names in its hint when the value reads a field of a key)."""
        if self.about_keys:
            from irgraph.key_fields import field_key_error  # only a refusal needs it

            if (error := field_key_error(value, where, method, node, self.expected)) is not None:
                return error
        message = f"{where[:1].upper()}{where[1:]} must be {self.expected} (got {_got(value)})."
        if self.choices and isinstance(value, str):
            message += _nearest(value, self.choices)
        hint = self.hint
        if self.about_keys and isinstance(value, str):  # a key written as a template reads it
            bare = value.strip().removeprefix("{").removesuffix("}").removesuffix("?").strip()
            if bare != value and self.test(bare):
                hint = (
                    f"Write the key alone, {bare!r}: braces, a '?' and spaces belong to a "
                    f"template's {{{bare}}}, not to the name of a key."
                )
        return PipelineError(
            message,
            node=node,
            key=value if isinstance(value, str) and self.about_keys else None,
            hint=hint,
            expected=self.expected,
            got=value,
        )

    def __call__(self, instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        """Use as an attrs validator: the message names the field and the node."""
        self.validator(instance, attribute, value)

    def _field_error(
        self, instance: Any, attribute: attrs.Attribute[Any], value: Any
    ) -> PipelineError:
        owner = getattr(instance, "name", None)
        node = owner if isinstance(owner, str) else None
        kind = type(instance).__name__
        where = f"the {attribute.name} of {kind} {owner!r}" if node else f"{kind}.{attribute.name}"
        return self.error(value, where, node=node)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def finite(value: int | float) -> bool:
    """``math.isfinite(value)``, but ``False`` for a whole number too large for a float (which
    ``math.isfinite`` raises ``OverflowError`` for): no limit or setting needs one, and each
    place that takes a number as a float would fail on it."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


name = Check(
    "a non-empty string",
    lambda v: isinstance(v, str) and bool(v.strip()),
    hint="Pass a short descriptive name, such as 'researcher'.",
)
#: A name that is no node's: an agent's model, a builder's engine (the example fits it).
model_name = attrs.evolve(
    name,
    hint="Name the model as its provider knows it, such as 'gpt-4o-mini', or leave .model() "
    "out for the provider's default.",
)
engine_name = attrs.evolve(name, hint="Name a registered backend, such as 'asyncio' or 'prefect'.")
text = Check("a string", lambda v: isinstance(v, str))
key = Check(
    "a state key (ASCII letters, digits and underscores, not starting with a digit)",
    is_key,
    hint="Use a key such as 'findings' or 'draft_v2'.",
    about_keys=True,
)
keys = Check(
    "a list of state keys (ASCII letters, digits and underscores, not starting with a digit)",
    lambda v: isinstance(v, (tuple, list)) and all(map(is_key, v)),
    hint="Use keys such as 'findings' or 'draft_v2'.",
)
flag = Check("True or False", lambda v: isinstance(v, bool))
function = Check("a function", callable)
integer = Check("a whole number", lambda v: isinstance(v, int) and not isinstance(v, bool))


def count(minimum: int = 1) -> Check:
    """A whole number of at least ``minimum``."""
    return Check(
        f"a whole number of at least {minimum}",
        lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= minimum,
    )


def whole_between(low: int, high: int) -> Callable[[Any], bool]:
    """The test of a whole number from ``low`` to ``high``: a setting sent to a provider, which
    fails late (at the call, after the steps before it ran) or is read wrong (a server's 32-
    or 64-bit integer overflowing) for a value no model or server takes."""
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and low <= v <= high


#: The most times an agent's reply that does not match its output schema is asked again:
#: each is one more paid model call, and a model that gave no matching reply in a hundred
#: attempts will not give one in the next (a mistyped ``10**30`` would ask for ever).
MAX_OUTPUT_RETRIES = 100

output_retries = Check(
    f"a whole number from 0 to {MAX_OUTPUT_RETRIES}",
    whole_between(0, MAX_OUTPUT_RETRIES),
    hint=f"Each retry is one more model call; allow a few, e.g. retries=2 (at most "
    f"{MAX_OUTPUT_RETRIES}), and say in the instruction what the JSON must hold.",
)


def seconds(*, allow_zero: bool = False) -> Check:
    """A finite number of seconds, positive (a timeout) or, with ``allow_zero``, 0 or more
    (a delay). NaN and infinity are refused: a limit that never triggers is ``None``."""
    if allow_zero:
        return Check(
            "a finite number of seconds, 0 or more",
            lambda v: _is_number(v) and finite(v) and v >= 0,
        )
    return Check(
        "a positive, finite number of seconds",
        lambda v: _is_number(v) and finite(v) and v > 0,
        hint="Leave it unset (None) for no limit.",
    )


def optional(rule: Check) -> Check:
    """``rule``, or ``None``."""
    test = rule.test
    return attrs.evolve(
        rule, expected=f"{rule.expected}, or None", test=lambda v: v is None or test(v)
    )


def one_of(*choices: Any) -> Check:
    """One of ``choices``; a text refused is told the choice it may have meant.

    >>> one_of("topological", "dataflow").error("Dataflow", "the schedule").args[0][-54:]
    "(got 'Dataflow' of type str). Did you mean 'dataflow'?"
    """
    shown = ", ".join(map(repr, choices))
    return Check(f"one of {shown}", lambda v: v in choices, choices=choices)


def _nearest(value: str, choices: tuple[Any, ...]) -> str:
    """`` Did you mean 'x'?`` for the text choice ``value`` differs from only in case or
    spaces, else for the closest by spelling; ``""`` when none is near."""
    texts = [choice for choice in choices if isinstance(choice, str)]
    same = [text for text in texts if text.casefold() == value.strip().casefold()]
    return suggestion_text(same or closest_keys(value.strip().casefold(), texts))


def input_keys(value: Any, where: str = "inputs") -> frozenset[str]:
    """The keys of an ``inputs=`` argument, one rule for every entry point: ``None`` is none,
    a string is one key, any other iterable lists keys (a state dict gives its keys); every
    key follows :data:`key`.

    >>> sorted(input_keys("topic")), sorted(input_keys(["a", "b"])), input_keys(None)
    (['topic'], ['a', 'b'], frozenset())
    """
    return _named_items(value, where, key, "a state key", "the declared input", "inputs={'topic'}")


def _named_items(
    value: Any, where: str, rule: Check, noun: str, item: str, example: str
) -> frozenset[str]:
    """The one rule of ``inputs=`` and ``allow=``: ``None`` is none, a string is one item, any
    other iterable (not bytes) lists them, and each item follows ``rule``."""
    if value is None:
        return frozenset()
    if isinstance(value, str):
        value = (value,)
    elif not isinstance(value, Iterable) or isinstance(value, bytes):
        raise PipelineError(
            f"{where} must be {noun} or a collection of {noun[2:]}s (got {_got(value)}).",
            hint=f"Pass e.g. {example}.",
            expected=f"{noun} or a collection of {noun[2:]}s",
            got=value,
        )
    items = list(value)
    for name in items:
        rule.check(name, f"{item} {name!r} in {where}")
    return frozenset(map(builtin, items))


#: How deeply scopes (Pipeline, FanOut, Loop, MapOver) may nest. Real pipelines nest a few
#: levels; the limit keeps every walk over a pipeline (build, load, graph, run, draw, generated
#: code) far from Python's recursion limit, so a deep pipeline gets this error wherever it
#: enters instead of a ``RecursionError`` wherever it first breaks.
MAX_DEPTH = 100


def too_deep(what: str, *, node: str | None = None) -> PipelineError:
    """The error for ``what`` (e.g. "Loop 'refine'") nesting deeper than :data:`MAX_DEPTH`."""
    return PipelineError(
        f"{what[:1].upper()}{what[1:]} takes the nesting of scopes past {MAX_DEPTH} levels, the "
        "most irgraph takes (each Pipeline, FanOut, Loop or MapOver inside another is one level).",
        node=node,
        hint="Flatten it: a >> b >> c is one sequence of three steps, not three nested ones, "
        "and a loop inside a loop can usually be one loop.",
        expected=f"at most {MAX_DEPTH} levels of nesting",
    )


def nesting(depth: int, what: str, *, node: str | None = None) -> int:
    """``depth`` if it is within :data:`MAX_DEPTH`, else :func:`too_deep`'s error.

    >>> nesting(3, "Pipeline 'p'")
    3
    """
    if depth > MAX_DEPTH:
        raise too_deep(what, node=node)
    return depth


def modules(value: Any, where: str = "allow") -> frozenset[str]:
    """The module names of an ``allow=`` argument: ``None`` is none, a string is one module,
    any other iterable lists them; each a dotted module name (``"mypkg.transforms"``).

    >>> sorted(modules("json")), sorted(modules(["a.b", "c"])), modules(None)
    (['json'], ['a.b', 'c'], frozenset())
    """
    return _named_items(
        value, where, module_name, "a module name", "the module", "allow=['mypkg.transforms']"
    )


_MODULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\Z")
module_name = Check(
    "a dotted module name",
    lambda v: isinstance(v, str) and _MODULE.match(v) is not None,
    hint="Name the module that defines the functions, e.g. 'mypkg.transforms'.",
)
