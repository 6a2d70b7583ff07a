"""The model-provider protocol and the request a provider receives.

A provider is any object with one coroutine, ``complete(request) -> str``. It may also offer
``stream(request)``, an async iterator of text chunks, which backends use when someone is
streaming the run. Implementations live elsewhere (:mod:`irgraph.testing.fake`,
:mod:`irgraph.openai_provider`); :mod:`irgraph.provider_spec` picks one by name.
"""

from __future__ import annotations

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
]

_EMPTY: Mapping[str, Any] = MappingProxyType({})


class ProviderError(IrgraphError):
    """A provider could not be set up or gave an unusable answer."""


@attrs.frozen
class ModelRequest:
    """What an agent asks its model.

    ``prompt`` is the instruction with every ``{key}`` substituted; ``state`` is a read-only
    view of just the keys the agent reads. ``system`` is the agent's system prompt and
    ``settings`` its model settings (temperature, max_tokens, ...). With ``output_schema``
    (a JSON Schema) the answer must be JSON matching it; ``feedback`` then says why the
    previous reply was refused when the request is asked again (``attempt`` counts from 1).
    """

    node: str
    agent: str
    prompt: str
    model: str | None = None
    state: Mapping[str, Any] = attrs.field(default=_EMPTY, eq=False)
    system: str = ""
    settings: Mapping[str, Any] = attrs.field(default=_EMPTY)
    output_schema: Mapping[str, Any] | None = None
    attempt: int = 1
    feedback: str | None = None


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
