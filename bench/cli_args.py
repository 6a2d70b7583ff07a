"""Argument types the benchmark scripts share: a count must be a whole number of at least 1.

A count of 0 or less made a script fail deep inside (no run to take the best of, an empty
pipeline) or print NaN as a result; argparse now refuses it with the option's name.

>>> positive("3"), sizes("100,1000")
(3, [100, 1000])
"""

from __future__ import annotations

import argparse
from collections.abc import Callable


def positive(text: str) -> int:
    """``text`` as a whole number of at least 1, for ``type=`` of an argparse option."""
    return at_least(1)(text)


def at_least(least: int) -> Callable[[str], int]:
    """A ``type=`` for a whole number of at least ``least``.

    >>> at_least(2)("2")
    2
    """

    def count(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"{value} is less than {least}; give at least {least}")
        return value

    return count


def sizes(text: str) -> list[int]:
    """A comma-separated list of counts, each at least 1 (``"1000,10000"``)."""
    return [positive(part.strip()) for part in text.split(",")]
