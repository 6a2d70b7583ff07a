"""The ``jsonschema`` validator an answer is checked with: the library's own, but for
``multipleOf`` and ``oneOf``. The library computes ``multipleOf`` in binary floating point, so
``19.99`` is no multiple of ``0.01`` there (``19.99 / 0.01`` is ``1998.9999999999998``) and a
model's right answer would be refused. Here a number is a multiple of another when the decimals
they are written with are (the shortest text that reads back as each float, as JSON wrote
them): exactly what a schema author means by ``"multipleOf": 0.01``.

And for ``oneOf``: ``format`` is a note there, not asserted, so the options of a ``oneOf`` that
differ only in ``format`` (what pydantic writes for a union of ``IPv4Address`` and
``IPv6Address`` with a callable ``Discriminator``) all match every string, and every answer
would be refused. A value that matches several options is taken when exactly one of them
matches it with its formats asserted: the option pydantic picks too.

>>> validator = answer_validator({"type": "number", "multipleOf": 0.01})
>>> validator.is_valid(19.99), validator.is_valid(19.995), validator.is_valid(20)
(True, False, True)
>>> addresses = answer_validator({"oneOf": [{"type": "string", "format": "ipv4"},
...                                         {"type": "string", "format": "ipv6"}]})
>>> addresses.is_valid("192.0.2.1"), addresses.is_valid("2001:db8::1"), addresses.is_valid("x")
(True, True, False)
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["answer_validator"]


def answer_validator(schema: Mapping[str, Any]) -> Any:
    """A validator of ``schema`` (plain JSON data), of the draft its ``$schema`` names."""
    import jsonschema

    return _exact_class(jsonschema.validators.validator_for(schema))(schema)


@functools.cache
def _exact_class(base: Any) -> Any:
    import jsonschema

    library = base.VALIDATORS.get("multipleOf")
    if library is None:  # a draft without multipleOf: nothing to change
        return base
    one_of = base.VALIDATORS.get("oneOf")

    def multiple_of(validator: Any, step: Any, instance: Any, schema: Any) -> Iterator[Any]:
        exact = _exact(instance, step) if validator.is_type(instance, "number") else None
        if exact is None:  # not two finite numbers: the library says what it says
            yield from library(validator, step, instance, schema)
        elif not exact:
            yield jsonschema.ValidationError(f"{instance!r} is not a multiple of {step}")

    def one_of_formats(validator: Any, options: Any, instance: Any, schema: Any) -> Iterator[Any]:
        errors = list(one_of(validator, options, instance, schema))
        if errors and validator.format_checker is None and isinstance(options, list):
            asserting = validator.evolve(format_checker=validator.FORMAT_CHECKER)
            plain = [o for o in options if validator.evolve(schema=o).is_valid(instance)]
            asserted = [o for o in plain if asserting.evolve(schema=o).is_valid(instance)]
            if len(plain) > 1 and len(asserted) == 1:
                return  # several match only because format is a note: take the one it asserts
        yield from errors

    changed: dict[str, Any] = {"multipleOf": multiple_of}
    if one_of is not None:
        changed["oneOf"] = one_of_formats
    return jsonschema.validators.extend(base, changed)


def _exact(instance: Any, step: Any) -> bool | None:
    """Whether ``instance`` is a multiple of ``step``, each as the decimal it is written as;
    ``None`` when either is no finite number."""
    numbers = (instance, step)
    if not all(isinstance(n, (int, float)) and not isinstance(n, bool) for n in numbers):
        return None
    if not all(isinstance(n, int) or math.isfinite(n) for n in numbers) or step <= 0:
        return None
    from fractions import Fraction  # here: it loads decimal, ~3 ms of every import irgraph

    return Fraction(repr(instance)) % Fraction(repr(step)) == 0
