"""Providers that go wrong, to check that a backend or a pipeline reports a broken provider
clearly: :func:`answering` (a value that is not a ``str``), :func:`raising`, :func:`hanging`
and :func:`answering_synchronously` (a ``complete()`` that is not async).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from irgraph.errors import PipelineError
from irgraph.providers import ModelRequest

__all__ = [
    "FunctionProvider",
    "SynchronousProvider",
    "answering",
    "answering_synchronously",
    "hanging",
    "raising",
]


class FunctionProvider:
    """A provider whose ``complete()`` awaits ``answer(request)`` and returns what it gives,
    unchecked: even a value that is not a ``str``, which a backend must report.

    >>> import asyncio
    >>> from irgraph.providers import ModelRequest
    >>> async def shout(request: ModelRequest) -> str:
    ...     return request.prompt.upper()
    >>> asyncio.run(FunctionProvider(shout).complete(ModelRequest("w", "w", "Write.")))
    'WRITE.'
    """

    def __init__(self, answer: Callable[[ModelRequest], Awaitable[Any]]) -> None:
        self.answer = answer

    async def complete(self, request: ModelRequest) -> Any:
        return await self.answer(request)


class SynchronousProvider:
    """A provider whose ``complete()`` is a plain ``def`` returning ``value``: the mistake of
    forgetting ``async``, which a backend must report instead of awaiting a ``str``.

    >>> from irgraph.providers import ModelRequest
    >>> SynchronousProvider("Owls.").complete(ModelRequest("w", "w", "Write."))
    'Owls.'
    """

    def __init__(self, value: Any) -> None:
        self.value = value

    def complete(self, request: ModelRequest) -> Any:
        return self.value


def answering(value: Any) -> FunctionProvider:
    """A provider whose ``complete()`` returns ``value`` whatever the request (a bad provider
    when ``value`` is not a ``str``).

    >>> import asyncio
    >>> from irgraph.providers import ModelRequest
    >>> asyncio.run(answering(42).complete(ModelRequest("w", "w", "Write.")))
    42
    """

    async def answer(request: ModelRequest) -> Any:
        return value

    return FunctionProvider(answer)


def raising(error: BaseException) -> FunctionProvider:
    """A provider whose ``complete()`` raises ``error``.

    >>> import asyncio
    >>> from irgraph.providers import ModelRequest
    >>> asyncio.run(raising(ConnectionError("quota")).complete(ModelRequest("w", "w", "W.")))
    Traceback (most recent call last):
    ...
    ConnectionError: quota
    """

    if not isinstance(error, BaseException) and not (
        isinstance(error, type) and issubclass(error, BaseException)
    ):
        raise PipelineError(
            f"raising() takes the exception to raise (got {error!r} of type "
            f"{type(error).__name__}).",
            hint="e.g. raising(ConnectionError('quota')).",
        )

    async def answer(request: ModelRequest) -> Any:
        raise error

    return FunctionProvider(answer)


def answering_synchronously(value: Any) -> SynchronousProvider:
    """A provider whose ``complete()`` is a plain ``def`` returning ``value`` (not async)."""
    return SynchronousProvider(value)


def hanging() -> FunctionProvider:
    """A provider whose ``complete()`` never returns (it sleeps for an hour), to test timeouts.

    >>> import asyncio
    >>> from irgraph.providers import ModelRequest
    >>> call = hanging().complete(ModelRequest("w", "w", "Write."))
    >>> asyncio.run(asyncio.wait_for(call, timeout=0.01))
    Traceback (most recent call last):
    ...
    TimeoutError
    """

    async def answer(request: ModelRequest) -> Any:
        await asyncio.sleep(3600)

    return FunctionProvider(answer)
