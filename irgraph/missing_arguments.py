"""A call that leaves out a required argument, or gives too many, told with the call to write.

Python says only ``diff() missing 1 required positional argument: 'G2'``;
:func:`missing_text` names the function, what it was given, what it lacks and the call that
gives everything, and :func:`too_many_text` what it takes by position and the keywords to give
the rest by, for :func:`irgraph.errors.keyword_options` to raise as an ``IrgraphError``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["missing_text", "too_many_text"]


def missing_text(
    where: str,
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    positional: Sequence[str],
    needed: Sequence[str],
    keyword_only: Sequence[str] = (),
) -> str | None:
    """What ``where`` given ``args`` and ``kwargs`` lacks, or ``None`` when it lacks nothing:
    ``positional`` are its positional parameters in order, ``needed`` those without a
    default, ``keyword_only`` its keyword-only parameters without one.

    >>> print(missing_text("diff()", ("G",), {}, ["G1", "G2"], ["G1", "G2"]))
    diff() needs G1 and G2, and got only G1 ('G'): G2 is missing. Call it as diff(G1, G2).
    >>> missing_text("diff()", (1, 2), {}, ["G1", "G2"], ["G1", "G2"]) is None
    True
    """
    given = {*positional[: len(args)], *kwargs}
    lacking = [name for name in (*needed, *keyword_only) if name not in given]
    if not lacking:
        return None
    shown_args, names = args, list(positional)
    if names[:1] == ["self"]:  # a method: the instance is no argument the user wrote
        shown_args, names = args[1:], names[1:]
    needs = [name for name in needed if name != "self"]
    got = [
        *(f"{name} ({_short(value)})" for name, value in zip(names, shown_args, strict=False)),
        *(f"{name}=" for name in kwargs if name in needs or name in keyword_only),
    ]
    takes = _and([*needs, *keyword_only])
    said = f"and got only {_and(got)}" if got else "and got no argument"
    verb = "is" if len(lacking) == 1 else "are"
    call = where.removesuffix("()")
    written = ", ".join([*needs, *(f"{name}=..." for name in keyword_only)])
    missing = f"{_and(lacking)} {verb} missing"
    return f"{where} needs {takes}, {said}: {missing}. Call it as {call}({written})."


def too_many_text(
    where: str,
    args: tuple[Any, ...],
    positional: Sequence[str],
    options: Sequence[str],
) -> str:
    """What to say of ``where`` given ``args``, more than its ``positional`` parameters: what
    it takes by position, and the call with the rest given by the keyword each looks meant for
    (``run(pipeline, {'topic': 'owls'})``: ``state=``), else the keywords it takes.

    >>> print(too_many_text("run()", ("p", {"a": 1}), ["pipeline"], ["state"]))
    ... # doctest: +NORMALIZE_WHITESPACE
    run() got 2 positional arguments ('p', {'a': 1}), but takes only pipeline by position;
    give the others by name: run(pipeline, state={'a': 1}).
    """
    shown_args, names = args, list(positional)
    if names[:1] == ["self"]:  # a method: the instance is no argument the user wrote
        shown_args, names = args[1:], names[1:]
    keywords = [option for option in options if option not in names]
    extra = args[len(positional) :]
    guesses = [_meant_option(value, keywords) for value in extra]
    shown = ", ".join(_cut(value) for value in shown_args)
    count = f"{len(shown_args)} positional argument{'' if len(shown_args) == 1 else 's'}"
    takes = f"only {_and(names)} by position" if names else "no positional argument"
    call = where.removesuffix("()")
    if all(guesses) and len(set(guesses)) == len(guesses):
        given = [f"{word}={_cut(value)}" for word, value in zip(guesses, extra, strict=True)]
        fix = f"{call}({', '.join([*names, *given])})"
    else:
        fix = f"{call}({', '.join([*names, *(_keyword(word) for word in keywords[:3])])})"
        fix += f" (its options: {', '.join(keywords)})" if len(keywords) > 3 else ""
    rest = "give the others by name" if keywords else "it takes nothing else"
    return f"{where} got {count} ({shown}), but takes {takes}; {rest}: {fix}."


def _keyword(word: str) -> str:
    """How a call gives option ``word``: ``state=...``; ``**options`` as it is."""
    return word if word.startswith("**") else f"{word}=..."


def _meant_option(value: Any, options: Sequence[str]) -> str | None:
    """The keyword ``value`` given by position looks meant for, among ``options``: a state
    for ``state=``, a provider for ``provider=``, keys for ``inputs=``, a backend's name for
    ``backend=``; ``None`` when none fits."""
    if isinstance(value, Mapping):
        meant = "state"
    elif callable(getattr(value, "complete", None)):
        meant = "provider"
    elif isinstance(value, (set, frozenset, list, tuple)) and all(
        isinstance(k, str) for k in value
    ):
        meant = "inputs"
    elif isinstance(value, str):
        meant = "backend"
    else:
        return None
    return meant if meant in options else None


def _cut(value: Any) -> str:
    """``value`` as a call shows it, cut to stay readable (an object whose ``repr`` shows its
    memory address, as its type: ``<FakeProvider>``)."""
    text = repr(value)
    if " at 0x" in text:
        return f"<{type(value).__name__}>"
    return text if len(text) <= 40 else text[:37] + "..."


def _and(words: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return " and ".join(words) if len(words) < 3 else f"{', '.join(words[:-1])} and {words[-1]}"


def _short(value: Any) -> str:
    """``value`` as a call shows it, cut to stay readable (an object whose ``repr`` is long or
    shows its memory address, as its type: ``<DiGraph>``)."""
    text = repr(value)
    if " at 0x" in text or len(text) > 40:
        return f"<{type(value).__name__}>"
    return text
