"""``--state-json`` text that is not JSON, told as what it most likely is: JSON a shell took
the double quotes of, JSON written without them, Python's single quotes, or ``--state``'s
``key=value``.

A shell removes the double quotes of JSON that is not inside single quotes: bash passes
``{"topic": "owls"}`` written bare as the two words ``{topic:`` and ``owls}`` (split at the
space), and ``"{"topic": 1}"`` as ``{topic: 1}``. So a text with a double quote lost none, a
text cut short at a ``:`` or ``,`` was split by a shell, and a text with no quote at all may
have come either way (``'{topic: 1}'`` gives the same text as ``"{"topic": 1}"``): the message
says both then, and never blames the shell for a text it cannot have made.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from difflib import get_close_matches
from itertools import pairwise
from typing import Any

from irgraph import checks

__all__ = ["not_json", "split_by_shell", "split_words"]

#: A word JSON would need in double quotes, unless it is one of JSON's ``_LITERALS``.
_BARE_WORD = re.compile(r"(?<![\w\".+-])([A-Za-z_][\w-]*)(?![\w\"])")
_LITERALS = ("true", "false", "null")
#: Python's words for JSON's literals, as a dict written in Python has them.
_PYTHON = {"True": "true", "False": "false", "None": "null"}

#: A piece of an object bash's brace expansion cut up: ``{"a":1,"b":2}`` is ``a:1`` ``b:2``.
_PIECE = re.compile(r"[A-Za-z_]\w*:[^\"'{}]*$")

#: What the messages show when the text gives no better example.
_EXAMPLE = '--state-json \'{"topic": "owls"}\''


def split_by_shell(text: str) -> bool:
    """Whether ``text`` is the first word of unquoted JSON a shell split at a space and took
    the double quotes of (``{topic:`` of ``{"topic": "owls"}``): an object cut short after a
    ``:`` or ``,``, with no quote in it."""
    stripped = text.strip()
    return (
        stripped.startswith("{")
        and stripped.endswith((":", ","))
        and not any(quote in stripped for quote in "\"'")
    )


def split_words(words: Sequence[str]) -> str:
    """What argparse's "unrecognized arguments" adds when a ``--state-json`` among ``words``
    (a command line) is the first word of JSON a shell split (:func:`split_by_shell`): the
    rest of the JSON is what argparse did not know."""
    given = [v for o, v in pairwise(words) if o == "--state-json"]
    given += [w.partition("=")[2] for w in words if w.startswith("--state-json=")]
    for value in given:
        if split_by_shell(value):
            return (
                f"; --state-json got {value.strip()}, the first word of JSON a shell split at "
                "its spaces and took the double quotes of (it was not inside single quotes), "
                f"and the rest of it came as the words argparse did not know: write e.g. {_EXAMPLE}"
            )
        if _PIECE.match(value.strip()):
            return (
                f"; --state-json got {value.strip()}, a piece of a JSON object a shell cut up "
                "(bash splits {...} written without single quotes at its commas, and takes its "
                "double quotes), and the other pieces came as the words argparse did not know: "
                f"write e.g. {_EXAMPLE}"
            )
    return ""


def _misspelt_literal(words: set[str]) -> bool:
    """Whether a word of ``words`` is one of JSON's literals misspelt (``nul``, ``flase``)."""
    return any(get_close_matches(word.lower(), _LITERALS, n=1, cutoff=0.75) for word in words)


def _word(word: str) -> str:
    """A bare word as JSON has it: a literal as it is, Python's ``True``, ``False`` and
    ``None`` as JSON's, anything else a string."""
    return word if word in _LITERALS else _PYTHON.get(word, f'"{word}"')


def _quoted(text: str) -> str | None:
    """``text`` with its bare words and single quotes made JSON's double quotes, as the
    option to write (single-quoted for the shell), when that makes a JSON object; else
    ``None``."""
    fixed = text.replace("'", '"') if '"' not in text else text
    bare = {m[0] for m in _BARE_WORD.finditer(fixed)} - set(_LITERALS) - set(_PYTHON)
    if _misspelt_literal(bare):  # 'nul' is null misspelt, not the text "nul"
        return None
    fixed = _BARE_WORD.sub(lambda m: _word(m[0]), fixed)
    try:
        loaded: Any = json.loads(fixed)
    except ValueError:
        return None
    if not isinstance(loaded, dict) or not loaded:
        return None
    dumped = json.dumps(loaded, ensure_ascii=False)
    return None if "'" in dumped else f"--state-json '{dumped}'"


def not_json(text: str, error: ValueError) -> str:
    """The message for ``--state-json text``, which ``json.loads`` refused with ``error``."""
    stripped = text.strip()
    if not stripped:
        return f"--state-json is not valid JSON: it is empty; give a JSON object, e.g. {_EXAMPLE}."
    # The text as the command got it, which shows what a shell took: short ones only.
    got = stripped if len(stripped) <= 60 and stripped.isprintable() else ""
    said = f"--state-json got {got}, which is not valid JSON ({error})"
    if not got:
        said = f"--state-json is not valid JSON ({error})"
    key, equals, value = stripped.partition("=")
    if equals and checks.is_key(key) and not stripped.startswith(("{", "[")):
        return (
            f"{said}; it looks like --state's KEY=VALUE: write --state {key}={value} (a text), "
            f"or --state-json '{{\"{key}\": ...}}' for a JSON value."
        )
    if split_by_shell(stripped):
        return (
            f"{said}: it is cut short after {stripped[-1]!r} with no double quotes, as a shell "
            "passes the first word of JSON written without single quotes (split at its spaces, "
            f"its double quotes removed); put the whole JSON in single quotes, e.g. {_EXAMPLE}."
        )
    if _PIECE.match(stripped):
        return (
            f"{said}: it looks like a piece of a JSON object a shell cut up (bash splits "
            "{...} written without single quotes at its commas, and takes its double quotes); "
            f"put the whole JSON in single quotes, e.g. {_EXAMPLE}."
        )
    fixed = _quoted(stripped)
    example = fixed or _EXAMPLE
    if '"' in stripped:  # the shell took none of its quotes: the text is as written
        if fixed is None:  # not a matter of quotes: JSON's own words say what is wrong
            return f"{said}; give a JSON object, e.g. {_EXAMPLE}."
        return f"{said}; JSON puts every key and string in double quotes: {fixed}."
    if "'" in stripped:
        return (
            f"{said}; JSON quotes keys and strings with double quotes, not single ones: {example}."
        )
    if stripped.startswith("{") and any(
        m[0] not in _LITERALS for m in _BARE_WORD.finditer(stripped)
    ):
        return (
            f"{said}: it has no double quotes, which JSON puts around every key and string; "
            "either they were left out, or a shell removed them (as it does when the JSON is "
            f"not inside single quotes, bare or in double quotes): write {example}."
        )
    return f"{said}; give a JSON object, e.g. {example}."
