"""Strings of a ``format`` under the schema's other string keywords, for
:class:`~irgraph.testing.FakeProvider`'s made-up values: a ``date`` that a ``pattern`` such as
``^2030-`` also finds, an ``email`` as long as ``minLength`` asks.

:func:`formatted_string` tries the format's own texts (:func:`formatted_text`, a few hundred
variants: a year of dates), then the texts of a pattern that describes the format joined with
the schema's ``pattern`` (:func:`both_patterns`), then the pattern's own texts, and keeps the
first that is of the format (as a format-asserting validator checks it), matches the pattern
and has a length within the bounds. When none does, it refuses the schema:
:class:`UnsatisfiableSchema` when the format's texts all have a length the bounds leave out (a
``date`` is 10 characters), else :class:`UnsupportedSchema` naming the format, the pattern and
the bounds.

>>> formatted_string("date", "^2030-", 0, None, 0)
'2030-01-01'
>>> formatted_string("email", None, 20, None, 0)
'userxxxx@example.com'
"""

from __future__ import annotations

import contextlib
import datetime
import re
from collections.abc import Iterator
from typing import Any

from .fake_merge import UnsatisfiableSchema, UnsupportedSchema
from .fake_patterns import both_patterns, formatted_text, text_matching

__all__ = ["conforms", "format_validator", "formatted_string"]

_DAY = r"[12]\d{3}-(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])"
_CLOCK = r"([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)"
_OCTET = r"(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
#: A pattern whose texts are of the format (some of its texts), to join with a schema's own.
_SHAPES = {
    "date": f"^{_DAY}$",
    "date-time": f"^{_DAY}T{_CLOCK}$",
    "time": f"^{_CLOCK}$",
    "email": r"^[a-z0-9._+-]+@[a-z0-9-]+(\.[a-z0-9-]+)+$",
    "idn-email": r"^[a-z0-9._+-]+@[a-z0-9-]+(\.[a-z0-9-]+)+$",
    "uuid": r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
    "ipv4": rf"^{_OCTET}(\.{_OCTET}){{3}}$",
    "hostname": r"^[a-z]([a-z0-9-]*[a-z0-9])?(\.[a-z]([a-z0-9-]*[a-z0-9])?)+$",
    "uri": r"^https?://[a-z0-9.-]+(/[a-zA-Z0-9._~/%-]*)?$",
}
#: The shortest and longest text of the formats whose texts all have a length in a range.
_LENGTHS = {"date": (10, 10), "uuid": (36, 36), "ipv4": (7, 15)}
#: How many of a format's own texts are tried for a pattern (a year of dates).
_TRIES = 400


def conforms(text: str, form: str) -> bool:
    """Whether ``text`` is of the format ``form``, as a format-asserting validator checks it
    (a format it cannot check is taken as met)."""
    import jsonschema

    return bool(jsonschema.Draft202012Validator.FORMAT_CHECKER.conforms(text, form))


def format_validator(schema: Any) -> Any:
    """The validator answers are checked with (:func:`answer_validator`), asserting each
    ``format`` it can check too, as a strict consumer of the answer would."""
    from irgraph.ir.schema_validator import answer_validator

    kind = type(answer_validator(schema))
    return kind(schema, format_checker=kind.FORMAT_CHECKER)


def _later(form: str, text: str, variant: int, tries: int) -> Iterator[str]:
    """For a ``date`` or ``date-time`` ``text``: the same text ``variant`` days later and
    on; another format has none."""
    if form not in ("date", "date-time"):
        return
    try:
        day = datetime.date.fromisoformat(text[:10])
    except ValueError:
        return
    for days in range(variant, variant + tries):
        with contextlib.suppress(OverflowError):
            yield (day + datetime.timedelta(days=days)).isoformat() + text[10:]


def formatted_string(form: str, pattern: Any, low: int, high: int | None, variant: int) -> str:
    """A text of the known format ``form`` that ``pattern`` (when not ``None``) finds, with a
    length from ``low`` to ``high``; the ``variant`` th such text, roughly, for a ``not`` or
    ``uniqueItems`` that asks for another one."""
    try:
        compiled = None if pattern is None else re.compile(str(pattern))
    except re.error:
        compiled = None  # the pattern path of the maker says what is wrong with it

    def fits(text: str | None) -> bool:
        return (
            text is not None
            and low <= len(text)
            and (high is None or len(text) <= high)
            and (compiled is None or compiled.search(text) is not None)
            and conforms(text, form)
        )

    tries = 1 if pattern is None else _TRIES
    for number in range(variant, variant + tries):
        text = formatted_text(form, number, low, high)
        if text is not None and fits(text):
            return text
    shape = _SHAPES.get(form)
    joined = shape if pattern is None or shape is None else both_patterns(str(pattern), shape)
    for shaped in [joined, pattern]:  # the pattern's own text may be of the format too
        found = [text_matching(str(shaped), low, high, variant=n) for n in range(8 * bool(shaped))]
        texts = list(dict.fromkeys(text for text in found if text is not None and fits(text)))
        if len(texts) > variant:
            return texts[variant]
        for text in _later(form, texts[0], variant, tries) if texts else ():
            if fits(text):  # one the pattern's lookaheads did not vary: the days after it
                return text
    limits = [f"{name} {value}" for name, value in (("minLength", low), ("maxLength", high))]
    limits = [limit for limit in limits if not limit.endswith((" None", "minLength 0"))]
    shortest, longest = _LENGTHS.get(form, (0, None))
    if low > (longest if longest is not None else low) or (high is not None and high < shortest):
        size = f"{shortest}" if shortest == longest else f"from {shortest} to {longest}"
        raise UnsatisfiableSchema(
            f"every {form!r} text is {size} characters long, which the schema's "
            f"{' and '.join(limits)} leave{'s' * (len(limits) == 1)} out",
            "format",
        )
    asked = " and ".join([*([f"the pattern {pattern!r}"] if pattern is not None else []), *limits])
    raise UnsupportedSchema(f"no text FakeProvider can write is a {form!r} with {asked}", "format")
