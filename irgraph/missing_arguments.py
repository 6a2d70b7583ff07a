"""A call that leaves out a required argument, told with the call to write.

Python says only ``diff() missing 1 required positional argument: 'G2'``;
:func:`missing_text` names the function, what it was given, what it lacks and the call that
gives everything, for :func:`irgraph.errors.keyword_options` to raise as an ``IrgraphError``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["missing_text"]


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
