"""An output schema's ``pattern`` that a reply can make run for hours, refused where it is given.

A reply is checked against ``pattern`` (and the keys of ``patternProperties``) with Python's
``re``, which backtracks: ``^(a+)+$`` tries every way of splitting a run of ``a`` among the
iterations of the outer ``+`` before it refuses ``"aaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"``, 2**29 of
them. ``re`` holds the GIL while it matches, so neither the agent's ``.timeout()`` nor the run's
can stop it, not even with the check on a thread: the event loop waits with it. So the
patterns whose matching can take exponential time are refused before any model call:

- a repeat inside a repeat, when what the inner one matches can also start what comes next
  in the outer one (``(a+)+``, ``(\\w+\\s?)*``, ``(-?\\d+)+``): the text between two
  iterations can be split many ways. ``([a-z]+\\.)+`` is taken, since the dot ends each part;
- an alternation inside a repeat whose options can match the same text (``(a|aa)+``,
  ``(.|\\s)*``; ``(\\w|\\d)+`` is taken: ``re`` reads it as one class, ``[\\w\\d]+``).

Such a pattern can almost always be written without the repeat inside a repeat (``^a+$``,
``\\w+(\\s\\w+)*``), and then matches the same texts in linear time.

>>> catastrophic("^(a+)+$"), catastrophic("^[a-z0-9]+(-[a-z0-9]+)*$")
('repeat inside a repeat', None)
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from irgraph.errors import PipelineError, Problem

__all__ = ["catastrophic", "check_patterns", "REPEATS", "OPTIONS"]

#: What :func:`catastrophic` finds, as a message names it.
REPEATS = "repeat inside a repeat"
OPTIONS = "repeated alternation whose options can match the same text"

#: The characters sets are compared on: Latin, its punctuation and digits, and their
#: neighbours; two classes that share no character here are taken as apart.
_PROBES = frozenset(range(0x300))
#: The parse tree's items that match one character.
_CHARACTERS = ("LITERAL", "NOT_LITERAL", "ANY", "IN")
#: Schema keywords whose values are data, not schemas: a "pattern" inside them is a value.
_DATA = frozenset({"enum", "const", "default", "examples"})


def check_patterns(schema: Mapping[str, Any], *, node: str) -> None:
    """Refuse ``schema`` (agent ``node``'s output schema) when a ``pattern`` or
    ``patternProperties`` key in it is :func:`catastrophic`, naming each with where it is."""
    problems = []
    for where, pattern in _patterns(schema, ""):
        shape = catastrophic(pattern)
        if shape is None:
            continue
        problems.append(
            Problem(
                f"The output schema of '{node}' has the pattern {pattern!r} (at {where}), whose "
                f"{shape} can take exponential time on a reply that almost matches (a long run "
                "of one character and then a wrong one): Python's re checks it, and holds the "
                "whole process while it does, so no .timeout() can stop it.",
                node=node,
                hint="Write it so each character can be matched one way only: '^(a+)+$' "
                "matches what '^a+$' does, '^(\\w+\\s?)*$' what '^(\\w+(\\s\\w+)*\\s?)?$' does. "
                "A repeat inside a repeat is safe when each part ends with something the inner "
                "one never matches, as in '([a-z]+\\.)+'.",
            )
        )
    if problems:
        raise PipelineError(problems)


def _patterns(part: Any, where: str) -> Iterator[tuple[str, str]]:
    """Each ``pattern`` and ``patternProperties`` key in the schema ``part``, with where it is
    (``/properties/code/pattern``)."""
    if isinstance(part, Mapping):
        for word, value in part.items():
            if not isinstance(word, str) or word in _DATA:
                continue
            here = f"{where}/{word}"
            if word == "pattern" and isinstance(value, str):
                yield here, value
            elif word == "patternProperties" and isinstance(value, Mapping):
                yield from ((f"{here}/{k}", k) for k in value if isinstance(k, str))
            yield from _patterns(value, here)
    elif isinstance(part, list):
        for index, item in enumerate(part):
            yield from _patterns(item, f"{where}/{index}")


def catastrophic(pattern: str) -> str | None:
    """What in ``pattern`` can make Python's ``re`` backtrack exponentially (:data:`REPEATS`
    or :data:`OPTIONS`), or ``None`` when nothing can (or ``re`` cannot read it: a schema
    check says so)."""
    parser: Any = importlib.import_module("re._parser")  # re's own parser; no public one
    try:
        parsed = parser.parse(pattern)
    except Exception:  # re.error, or a pattern too nested for the parser
        return None
    flags = parsed.state.flags
    try:
        return _Walk(flags).sequence(list(parsed.data), frozenset(), inside=False)
    except RecursionError:
        return None


class _Walk:
    """One pattern's parse tree walked, with what may follow each part (its follow set)."""

    def __init__(self, flags: int) -> None:
        self.dotall = bool(flags & 16)  # re.DOTALL
        self.ignorecase = bool(flags & 2)  # re.IGNORECASE

    def sequence(self, items: list[Any], follow: frozenset[int], *, inside: bool) -> str | None:
        """The first dangerous part of ``items`` (a sequence), ``inside`` a repeat or not."""
        for index, (op, av) in enumerate(items):
            rest = items[index + 1 :]
            after = self.first(rest) | (follow if self.nullable(rest) else frozenset())
            found = self.item(str(op), av, after, inside=inside)
            if found is not None:
                return found
        return None

    def item(self, op: str, av: Any, follow: frozenset[int], *, inside: bool) -> str | None:
        if op in ("MAX_REPEAT", "MIN_REPEAT"):
            low, high, body = av
            body = list(body)
            if inside and high > low and self.chars(body) & follow:
                return REPEATS
            again = high > 1  # what follows the body is also the body's next iteration
            inner_follow = follow | (self.first(body) if again else frozenset())
            return self.sequence(body, inner_follow, inside=inside or again)
        if op == "BRANCH":
            options = [list(option) for option in av[1]]
            if inside and self.overlap(options, follow):
                return OPTIONS
            for option in options:
                found = self.sequence(option, follow, inside=inside)
                if found is not None:
                    return found
            return None
        if op == "SUBPATTERN":
            return self.sequence(list(av[3]), follow, inside=inside)
        if op == "GROUPREF_EXISTS":
            for option in av[1:]:
                if option is not None:
                    found = self.sequence(list(option), follow, inside=inside)
                    if found is not None:
                        return found
            return None
        if op in ("ATOMIC_GROUP", "POSSESSIVE_REPEAT"):  # nothing backtracks into them
            body = av if op == "ATOMIC_GROUP" else av[2]
            return self.sequence(list(body), frozenset(_PROBES), inside=False)
        if op in ("ASSERT", "ASSERT_NOT"):
            return self.sequence(list(av[1]), frozenset(_PROBES), inside=False)
        return None

    def overlap(self, options: list[list[Any]], follow: frozenset[int]) -> bool:
        """Whether two of a repeated alternation's ``options`` can match the same text, one
        of them empty or a single character (``(a|aa)+``, which ``re`` reads as ``a(|a)``;
        ``(.|\\s)*``): a text then splits among the iterations many ways. Options that only
        begin alike (``(bar|baz)+``, ``(x|xy|xyz)+``) part before the next iteration."""
        for index, one in enumerate(options):
            for other in options[index + 1 :]:
                if self.same_start(one, other, follow) or self.same_start(other, one, follow):
                    return True
        return False

    def same_start(self, one: list[Any], other: list[Any], follow: frozenset[int]) -> bool:
        """Whether option ``one`` (empty, or one character) and ``other`` can match alike."""
        if not one:  # ends the iteration: the next starts with what other starts with
            return bool(follow & (follow if not other else self.first(other)))
        if len(one) > 1 or str(one[0][0]) not in _CHARACTERS:
            return False
        if not self.first(one) & self.first(other):
            return False
        if not other or str(other[0][0]) not in _CHARACTERS:
            return True  # other may start with a repeat: taken as alike
        rest = other[1:]
        after = self.first(rest) | (follow if self.nullable(rest) else frozenset())
        return not rest or bool(after & follow)

    def first(self, items: list[Any]) -> frozenset[int]:
        """The characters a match of ``items`` may start with."""
        found: frozenset[int] = frozenset()
        for op, av in items:
            found |= self._first(str(op), av)
            if not self._nullable(str(op), av):
                break
        return found

    def chars(self, items: list[Any]) -> frozenset[int]:
        """Every character a match of ``items`` may hold."""
        found: frozenset[int] = frozenset()
        for op, av in items:
            found |= self._chars(str(op), av)
        return found

    def nullable(self, items: list[Any]) -> bool:
        """Whether ``items`` may match the empty text."""
        return all(self._nullable(str(op), av) for op, av in items)

    def _first(self, op: str, av: Any) -> frozenset[int]:
        return self._union(op, av, self.first)

    def _chars(self, op: str, av: Any) -> frozenset[int]:
        return self._union(op, av, self.chars)

    def _union(
        self, op: str, av: Any, walk: Callable[[list[Any]], frozenset[int]]
    ) -> frozenset[int]:
        """The characters ``walk`` (:meth:`first` or :meth:`chars`) finds in one item: a
        character item's own, the union over the item lists inside a group, repeat or
        branch, none for an anchor or lookaround, any for the rest."""
        if op in _CHARACTERS:
            return self._set(op, av)
        inner = _inner(op, av)
        if inner is not None:
            return frozenset().union(*map(walk, inner))
        if op in ("AT", "ASSERT", "ASSERT_NOT"):
            return frozenset()
        return _PROBES  # a back reference, a conditional: anything

    def _nullable(self, op: str, av: Any) -> bool:
        if op in _CHARACTERS:
            return False
        if op in _REPEAT_OPS and av[0] == 0:
            return True
        inner = _inner(op, av)
        if inner is None:
            return True  # anchors, lookarounds, back references (which may be empty)
        return any(map(self.nullable, inner))  # a branch's any option; else its one list

    def _set(self, op: str, av: Any) -> frozenset[int]:
        """The probe characters one character item matches."""
        if op == "ANY":
            return _PROBES if self.dotall else _PROBES - {10}
        if op == "LITERAL":
            return self._cased({av})
        if op == "NOT_LITERAL":
            return _PROBES - self._cased({av})
        negate = False
        found: set[int] = set()
        for kind, value in av:
            kind = str(kind)
            if kind == "NEGATE":
                negate = True
            elif kind == "LITERAL":
                found |= {value}
            elif kind == "RANGE":
                found |= set(range(value[0], min(value[1], 0x2FF) + 1))
            elif kind == "CATEGORY":
                found |= _category(str(value))
            else:  # a class re adds itself: anything
                found |= _PROBES
        found = set(self._cased(found))
        return _PROBES - found if negate else frozenset(found)

    def _cased(self, codes: set[int]) -> frozenset[int]:
        if not self.ignorecase:
            return frozenset(codes)
        both = set(codes)
        for code in codes:
            for other in (chr(code).lower(), chr(code).upper()):
                if len(other) == 1:
                    both.add(ord(other))
        return frozenset(both)


def _category(name: str) -> frozenset[int]:
    """The probe characters of ``\\d``, ``\\w``, ``\\s`` (and their opposites) as ``re`` reads
    them in a str pattern."""
    tests = {
        "DIGIT": str.isdecimal,
        "WORD": lambda c: c.isalnum() or c == "_",
        "SPACE": str.isspace,
    }
    for word, test in tests.items():
        if word in name:
            chosen = frozenset(c for c in _PROBES if test(chr(c)))
            return _PROBES - chosen if "NOT" in name else chosen
    return _PROBES


#: The repeat operators of ``re``'s parser (a repeat's items are ``av[2]``).
_REPEAT_OPS = ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")


def _inner(op: str, av: Any) -> list[list[Any]] | None:
    """The item lists inside one parsed item: a repeat's or a group's one list, a branch's
    list per option; ``None`` for an item holding none."""
    if op in _REPEAT_OPS:
        return [list(av[2])]
    if op == "SUBPATTERN":
        return [list(av[3])]
    if op == "ATOMIC_GROUP":
        return [list(av)]
    if op == "BRANCH":
        return [list(option) for option in av[1]]
    return None
