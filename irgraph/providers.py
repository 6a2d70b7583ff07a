"""The model-provider protocol and the request a provider receives.

A provider is any object with one coroutine, ``complete(request) -> str``. It may also offer
``stream(request)``, an async iterator of text chunks, which backends use when someone is
streaming the run. ``provider_from_spec`` turns a spec string (``"fake"``,
``"openai:MODEL"``) into a provider, reading ``IRGRAPH_PROVIDER`` when no spec is given.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

import attrs

from irgraph.errors import IrgraphError

__all__ = [
    "ModelRequest",
    "ModelProvider",
    "StreamingProvider",
    "PlaceholderProvider",
    "ProviderError",
    "provider_from_spec",
]

_EMPTY: Mapping[str, Any] = MappingProxyType({})


class ProviderError(IrgraphError):
    """A provider could not be set up or gave an unusable answer."""


@attrs.frozen
class ModelRequest:
    """What an agent asks its model.

    ``prompt`` is the instruction with every ``{key}`` substituted; ``state`` is a read-only
    view of just the keys the agent reads.
    """

    node: str
    agent: str
    prompt: str
    model: str | None = None
    state: Mapping[str, Any] = attrs.field(default=_EMPTY, eq=False)


@runtime_checkable
class ModelProvider(Protocol):
    """One coroutine: answer a request with text."""

    async def complete(self, request: ModelRequest) -> str: ...


@runtime_checkable
class StreamingProvider(ModelProvider, Protocol):
    """A provider that can also stream its answer in chunks."""

    def stream(self, request: ModelRequest) -> AsyncIterator[str]: ...


class PlaceholderProvider:
    """Answers without a model, so a pipeline can run before a provider is configured."""

    async def complete(self, request: ModelRequest) -> str:
        return f"[{request.agent}: placeholder answer, no model provider configured]"


def provider_from_spec(spec: str | None = None, **options: Any) -> ModelProvider:
    """Make a provider from ``"fake"`` or ``"openai:MODEL"`` (default: ``$IRGRAPH_PROVIDER``).

    >>> type(provider_from_spec("fake")).__name__
    'FakeProvider'
    """
    spec = spec or os.environ.get("IRGRAPH_PROVIDER") or "fake"
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
