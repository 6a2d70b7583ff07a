"""A provider from a spec string: ``"fake"`` or ``"openai:MODEL"``.

Kept apart from the protocol (:mod:`irgraph.providers`) so that the implementations can import
the protocol without the protocol importing them.
"""

from __future__ import annotations

import os
from typing import Any

from irgraph.providers import ModelProvider, ProviderError

__all__ = ["provider_from_spec"]


def provider_from_spec(spec: str | None = None, **options: Any) -> ModelProvider:
    """Make a provider from ``"fake"`` or ``"openai:MODEL"`` (default: ``$IRGRAPH_PROVIDER``).

    >>> type(provider_from_spec("fake")).__name__
    'FakeProvider'
    """
    if spec is None:
        spec = os.environ.get("IRGRAPH_PROVIDER") or "fake"
    if not isinstance(spec, str) or not spec.strip():
        raise ProviderError(
            f"A provider spec must be a non-empty string such as 'fake' or 'openai:gpt-4o-mini' "
            f"(got {spec!r} of type {type(spec).__name__}); leave it out (None) for the default "
            "($IRGRAPH_PROVIDER, else 'fake')."
        )
    name, _, arg = spec.partition(":")
    if name == "fake":
        from irgraph.testing.fake import FakeProvider

        return FakeProvider(**options)
    if name == "openai":
        if not arg:
            raise ProviderError(
                f"Provider spec {spec!r} names no model; write it as 'openai:MODEL', "
                "e.g. 'openai:gpt-4o-mini'."
            )
        from irgraph.openai_provider import OpenAIProvider

        return OpenAIProvider(arg, **options)
    raise ProviderError(
        f"Unknown provider spec {spec!r}; known providers are 'fake' and 'openai:MODEL'."
    )
