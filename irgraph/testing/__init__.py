"""Test helpers that are public API: fake model providers and hypothesis strategies.

``FakeProvider`` answers like a well-behaved model; ``answering``, ``raising``, ``hanging``
and ``answering_synchronously`` make misbehaving providers, to check how failures are reported.

``strategies`` imports hypothesis, so it is loaded only when first used.
"""

from __future__ import annotations

from typing import Any

from irgraph.testing.fake import (
    FakeProvider,
    FakeProviderError,
    FunctionProvider,
    SynchronousProvider,
    answering,
    answering_synchronously,
    hanging,
    raising,
)

__all__ = [
    "FakeProvider",
    "FakeProviderError",
    "FunctionProvider",
    "SynchronousProvider",
    "answering",
    "answering_synchronously",
    "hanging",
    "raising",
    "strategies",
]


def __getattr__(name: str) -> Any:
    # Imported on first use: strategies imports hypothesis, which plain test helpers don't need.
    if name == "strategies":
        import irgraph.testing.strategies as strategies

        return strategies
    raise AttributeError(f"module 'irgraph.testing' has no attribute {name!r}")
