"""Fake model providers for tests, demos and benchmarks.

:class:`FakeProvider` answers deterministically, like a well-behaved model. The misbehaving
providers — :func:`answering` (a value that is not a ``str``), :func:`raising`,
:func:`hanging` and :func:`answering_synchronously` (a ``complete()`` that is not async) —
check that a backend or a pipeline reports a broken provider clearly.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any

from irgraph import checks
from irgraph.errors import IrgraphError, PipelineError
from irgraph.providers import ModelRequest
from irgraph.testing.fake_values import UnsupportedSchema, fake_value, stable_hash

__all__ = [
    "FakeProvider",
    "FakeProviderError",
    "FunctionProvider",
    "SynchronousProvider",
    "answering",
    "answering_synchronously",
    "hanging",
    "raising",
]

Response = str | Sequence[str] | Callable[[ModelRequest], str]


class FakeProviderError(IrgraphError):
    """The failure a :class:`FakeProvider` injects."""


def _texts(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)


class FakeProvider:
    """A provider that answers without a model.

    - Without ``responses`` it answers ``f"<{agent}: {prompt}>"``, or, when the request has
      an ``output_schema``, the JSON of a schema-valid value
      (:func:`irgraph.testing.fake_values.fake_value`): the same for the same agent and
      prompt, an ``enum`` member picked by a stable hash of the two.
    - ``responses={"critic": "ok"}`` answers by agent name: a string, a list (one per call,
      the last repeated) or a function of the request.
    - ``latency`` (seconds, or a dict by agent name) sleeps before answering.
    - ``fail={"writer": 1}`` makes the first call of agent ``writer`` raise.

    Every request is recorded in ``calls``; ``max_in_flight`` is the most calls seen at once.

    >>> import asyncio
    >>> from irgraph.providers import ModelRequest
    >>> fake = FakeProvider()
    >>> asyncio.run(fake.complete(ModelRequest("w", "w", "Write.")))
    '<w: Write.>'
    """

    def __init__(
        self,
        latency: float | Mapping[str, float] = 0.0,
        responses: Mapping[str, Response] | None = None,
        fail: Mapping[str, int] | None = None,
        chunk_size: int = 8,
    ) -> None:
        delay = checks.seconds(allow_zero=True)
        if isinstance(latency, Mapping):
            for agent, seconds in latency.items():
                delay.check(seconds, f"FakeProvider's latency for {agent!r}")
        else:
            delay.check(latency, "FakeProvider's latency")
        checks.count().check(chunk_size, "FakeProvider's chunk_size")
        for label, value in (("responses", responses), ("fail", fail)):
            if value is not None and not isinstance(value, Mapping):
                raise PipelineError(
                    f"FakeProvider's {label} must be a dict keyed by agent name (got "
                    f"{value!r} of type {type(value).__name__}).",
                    hint="e.g. responses={'critic': 'Looks good.'}, fail={'writer': 1}.",
                )
        for agent, response in (responses or {}).items():
            if not (isinstance(response, str) or callable(response) or _texts(response)):
                raise PipelineError(
                    f"FakeProvider's response for {agent!r} must be a string, a list of "
                    f"strings or a function of the request (got {response!r} of type "
                    f"{type(response).__name__}).",
                    hint="e.g. responses={'critic': ['Revise.', 'Approved.']}.",
                )
        for agent, times in (fail or {}).items():
            checks.count(0).check(times, f"FakeProvider's fail count for {agent!r}")
        self.latency = latency
        self.responses = dict(responses or {})
        self.fail = dict(fail or {})
        self.chunk_size = chunk_size
        self.calls: list[ModelRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._per_agent: dict[str, int] = {}

    def _delay(self, agent: str) -> float:
        if isinstance(self.latency, Mapping):
            return float(self.latency.get(agent, 0.0))
        return float(self.latency)

    def _answer(self, request: ModelRequest, index: int) -> str:
        response = self.responses.get(request.agent)
        if response is None:
            if request.output_schema is not None:
                return _structured_answer(request)
            return f"<{request.agent}: {request.prompt}>"
        if isinstance(response, str):
            return response
        if callable(response):
            return str(response(request))
        items = list(response)
        return str(items[min(index, len(items) - 1)]) if items else ""

    async def complete(self, request: ModelRequest) -> str:
        self.calls.append(request)
        index = self._per_agent.get(request.agent, 0)
        self._per_agent[request.agent] = index + 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            delay = self._delay(request.agent)
            if delay:
                await asyncio.sleep(delay)
            if self.fail.get(request.agent, 0) > 0:
                self.fail[request.agent] -= 1
                raise FakeProviderError(
                    f"FakeProvider: injected failure of agent '{request.agent}' (call {index + 1})."
                )
            return self._answer(request, index)
        finally:
            self.in_flight -= 1

    async def stream(self, request: ModelRequest) -> AsyncIterator[str]:
        """Stream the same answer as :meth:`complete`, in chunks of ``chunk_size`` chars."""
        text = await self.complete(request)
        for start in range(0, len(text), self.chunk_size):
            await asyncio.sleep(0)
            yield text[start : start + self.chunk_size]

    def calls_of(self, agent: str) -> list[ModelRequest]:
        """The recorded requests of one agent."""
        return [call for call in self.calls if call.agent == agent]


def _structured_answer(request: ModelRequest) -> str:
    """The JSON of a value valid under the request's output schema, or the error that says
    the schema is beyond the fake and how to answer instead."""
    try:
        value = fake_value(request.output_schema, stable_hash(request.agent + request.prompt))
    except UnsupportedSchema as exc:
        raise FakeProviderError(
            f"FakeProvider cannot make up a value for the output schema of agent "
            f"'{request.agent}' (node '{request.node}'): {exc}. Give its answer instead: "
            f"FakeProvider(responses={{{request.agent!r}: '<JSON text>'}})."
        ) from None
    return json.dumps(value)


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
