"""Numbers within a schema's bounds and steps, for :class:`~irgraph.testing.FakeProvider`'s
made-up values: the one nearest 1 that ``minimum``/``maximum`` (exclusive too) and
``multipleOf`` allow, or, for a ``variant``, another (what a ``not`` or ``uniqueItems`` tries).
Bounds that leave no number are an :class:`UnsatisfiableSchema` naming the bound.

>>> number_in({"minimum": 3}), number_in({"type": "integer", "multipleOf": 5}, 0)
(3, 5)
>>> [on_steps({"minimum": 0, "maximum": 2}, 1, variant) for variant in range(4)]
[1, 2, 0, 2]
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from .fake_merge import UnsatisfiableSchema, UnsupportedSchema

__all__ = ["number_in", "on_steps"]


def number_in(schema: Mapping[str, Any], variant: int = 0) -> float | int:
    """The number nearest 1 the schema's bounds and ``multipleOf`` allow; for a ``variant``
    above 0, another one (inside both bounds, else half steps away from the one there is)."""
    if "multipleOf" in schema:
        return on_steps(schema, schema["multipleOf"], variant)
    low, high = _bounds(schema)
    if low is not None and high is not None:
        exclusive = schema.get("exclusiveMinimum") == low or schema.get("exclusiveMaximum") == high
        if low > high or (low == high and exclusive):
            raise UnsatisfiableSchema(
                f"no number lies between {_limits(schema)}", _low_keyword(schema)
            )
    value = 1.0
    if low is not None and value <= low:
        gap = 1.0 if high is None else (high - low) / 2
        value = low + gap if low == schema.get("exclusiveMinimum") else low
    if high is not None and value >= high:
        gap = 1.0 if low is None else (high - low) / 2
        value = high - gap if high == schema.get("exclusiveMaximum") else high
    if variant and low is not None and high is not None:
        return low + (high - low) * variant / (variant + 1)  # inside, a new one
    if variant:  # half steps away from the bound there is: 1.5 is no integer
        return value - variant / 2 if low is None and high is not None else value + variant / 2
    return value


def _bounds(schema: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """The lowest and highest number allowed (each ``None`` when unbounded; whether a bound
    is exclusive is the schema's ``exclusive...`` keyword, as JSON Schema 6 and later say)."""
    for keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        if isinstance(schema.get(keyword), bool):
            raise UnsupportedSchema(f"a boolean {keyword} (draft 4) is not supported", keyword)
    lows = [schema[k] for k in ("minimum", "exclusiveMinimum") if k in schema]
    highs = [schema[k] for k in ("maximum", "exclusiveMaximum") if k in schema]
    return (max(lows) if lows else None), (min(highs) if highs else None)


def on_steps(schema: Mapping[str, Any], step: Any, variant: int = 0) -> int | float:
    """The multiple of ``step`` nearest 1 (``step`` itself, unless the bounds say otherwise)
    allowed by the schema's bounds; for a ``variant`` above 0, ``variant`` steps above that,
    or below when the bounds end first."""
    if isinstance(step, bool) or not isinstance(step, (int, float)) or step <= 0:
        raise UnsupportedSchema(f"multipleOf must be above 0 (got {step!r})", "multipleOf")
    if isinstance(step, float) and step.is_integer():
        step = int(step)  # 2.0 is the step 2, as JSON reads it
    if schema.get("type") == "integer" and not isinstance(step, int):
        raise UnsupportedSchema("an integer's multipleOf must be a whole number", "multipleOf")
    exact = Fraction(repr(step))  # the decimals as written: 0.3 / 0.05 is 6, not 5.99...

    def steps(keyword: str) -> Fraction:
        bound = schema[keyword]
        if isinstance(bound, bool) or not isinstance(bound, (int, float)):
            raise UnsupportedSchema(f"{keyword} must be a number (got {bound!r})", keyword)
        return Fraction(repr(bound)) / exact

    lows, highs = [], []
    if "minimum" in schema:
        lows.append(math.ceil(steps("minimum")))
    if "exclusiveMinimum" in schema:
        lows.append(math.floor(steps("exclusiveMinimum")) + 1)
    if "maximum" in schema:
        highs.append(math.floor(steps("maximum")))
    if "exclusiveMaximum" in schema:
        highs.append(math.ceil(steps("exclusiveMaximum")) - 1)
    count = 1
    if lows:
        count = max(count, *lows)
    if highs:
        count = min(count, *highs)
    if lows and count < max(lows):
        if "multipleOf" in schema:
            raise UnsatisfiableSchema(
                f"no multiple of {step!r} lies between {_limits(schema)}", "multipleOf"
            )
        raise UnsatisfiableSchema(
            f"no integer lies between {_limits(schema)}", _low_keyword(schema)
        )
    if variant:
        count = _nth_near(
            count, variant, max(lows) if lows else None, min(highs) if highs else None
        )
    # The decimal the step is written as, times count: 3 * 0.1 is 0.3, not 0.30000000000000004.
    return count * step if isinstance(step, int) else float(count * Fraction(repr(step)))


def _nth_near(count: int, variant: int, low: int | None, high: int | None) -> int:
    """The ``variant``-th whole number after ``count`` in the order ``count + 1``,
    ``count - 1``, ``count + 2``... that lies from ``low`` to ``high`` (``count`` when no
    other does)."""
    found, step = 0, 0
    while True:
        step += 1
        above, below = count + step, count - step
        if (high is not None and above > high) and (low is not None and below < low):
            return count if found == 0 else _nth_near(count, (variant - 1) % found + 1, low, high)
        for near in (above, below):
            if (low is None or near >= low) and (high is None or near <= high):
                found += 1
                if found == variant:
                    return near


def _limits(schema: Mapping[str, Any]) -> str:
    """The schema's bounds as words: ``minimum 3 and maximum 2``."""
    lows = [f"{k} {schema[k]!r}" for k in ("minimum", "exclusiveMinimum") if k in schema]
    highs = [f"{k} {schema[k]!r}" for k in ("maximum", "exclusiveMaximum") if k in schema]
    return f"{', '.join(lows)} and {', '.join(highs)}"


def _low_keyword(schema: Mapping[str, Any]) -> str:
    return "minimum" if "minimum" in schema else "exclusiveMinimum"
