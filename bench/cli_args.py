"""Argument types the benchmark scripts share: a count must be a whole number of at least 1.

A count of 0 or less made a script fail deep inside (no run to take the best of, an empty
pipeline) or print NaN as a result; argparse now refuses it with the option's name.

>>> positive("3"), sizes("100,1000")
(3, [100, 1000])
"""

from __future__ import annotations

import argparse


def positive(text: str) -> int:
    """``text`` as a whole number of at least 1, for ``type=`` of an argparse option."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is less than 1; give at least 1")
    return value


def sizes(text: str) -> list[int]:
    """A comma-separated list of counts, each at least 1 (``"1000,10000"``)."""
    return [positive(part.strip()) for part in text.split(",")]
