"""The model-provider protocol and the request a provider receives.

A provider is any object with one coroutine, ``complete(request) -> str``. It may also offer
``stream(request)``, an async iterator of text chunks, which backends use when someone is
streaming the run, and ``check_agents(names)``, which runners call with the pipeline's agent
names before a run (:func:`check_agents`). Implementations live elsewhere
(:mod:`irgraph.testing.fake`, :mod:`irgraph.openai_provider`); :mod:`irgraph.provider_spec`
picks one by name.
"""

from __future__ import annotations

import copy
import inspect
import weakref
from collections.abc import AsyncIterator, Awaitable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import attrs

from irgraph.errors import ArgumentError, IrgraphError, a_or_an, refused_calls

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "agent_names",
    "check_agents",
    "awaitable_answer",
    "checked_answer",
    "not_text",
    "checked_chunk",
    "completion",
    "chunks",
    "ModelRequest",
    "ModelProvider",
    "StreamingProvider",
    "PlaceholderProvider",
    "ProviderError",
]

_EMPTY: Mapping[str, Any] = MappingProxyType({})


class ProviderError(IrgraphError):
    """A provider could not be set up or gave an unusable answer."""


@refused_calls
@attrs.frozen(slots=False)  # a __dict__, which new_request fills fastest
class ModelRequest:
    """What an agent asks its model.

    ``prompt`` is the instruction with every ``{key}`` substituted; ``state`` is a read-only
    view of just the keys the agent reads. ``system`` is the agent's system prompt and
    ``settings`` its model settings (temperature, max_tokens, ...). With ``output_schema``
    (a JSON Schema) the answer must be JSON matching it; ``feedback`` then says why the
    previous reply was refused when the request is asked again (``attempt`` counts from 1).

    A request can be hashed (a cache key: its mappings do not take part, equal requests
    still hash alike), pickled and deep-copied (a provider may hand it to another process).
    """

    node: str
    agent: str
    prompt: str
    model: str | None = None
    state: Mapping[str, Any] = attrs.field(default=_EMPTY, eq=False)
    system: str = ""
    settings: Mapping[str, Any] = attrs.field(default=_EMPTY, hash=False)
    output_schema: Mapping[str, Any] | None = attrs.field(default=None, hash=False)
    attempt: int = 1
    feedback: str | None = None

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickled (and deep-copied) as its fields, read-only views as plain dicts: a
        ``mappingproxy`` cannot be pickled."""
        fields = tuple(
            dict(value) if isinstance(value, MappingProxyType) else value
            for value in attrs.astuple(self, recurse=False)
        )
        return _rebuilt, fields


def _rebuilt(*fields: Any) -> ModelRequest:
    """A pickled :class:`ModelRequest` again, its state a read-only view as it was."""
    request = ModelRequest(*fields)
    object.__setattr__(request, "state", MappingProxyType(dict(request.state)))
    return request


_new = object.__new__


def new_request(
    node: str,
    agent: str,
    prompt: str,
    model: str | None,
    state: Mapping[str, Any],
    system: str,
    settings: Mapping[str, Any],
    output_schema: Mapping[str, Any] | None,
) -> ModelRequest:
    """``ModelRequest(node, agent, prompt, model, state, system=..., settings=...,
    output_schema=...)`` for a first attempt, made as :func:`request_from` makes it."""
    return request_from(
        request_fields(node, agent, model, system, output_schema), prompt, state, settings
    )


def request_fields(
    node: str,
    agent: str,
    model: str | None,
    system: str,
    output_schema: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Every field of an agent's first-attempt ``ModelRequest``, in the class's order, with
    an empty prompt, state and settings: what :func:`request_from` fills per call. A
    scheduler keeps one per agent."""
    return {
        "node": node,
        "agent": agent,
        "prompt": "",
        "model": model,
        "state": _EMPTY,
        "system": system,
        "settings": _EMPTY,
        "output_schema": output_schema,
        "attempt": 1,
        "feedback": None,
    }


def request_from(
    fields: dict[str, Any], prompt: str, state: Mapping[str, Any], settings: Mapping[str, Any]
) -> ModelRequest:
    """The ``ModelRequest`` with ``fields`` (:func:`request_fields`) and this ``prompt``,
    ``state`` and ``settings``, filled in the instance's ``__dict__`` at once: a scheduler
    makes one per model call, and the class's own ``__init__`` (a frozen class sets each
    field through ``object.__setattr__``) was a fifth of an agent's cost in a long chain.
    (Slots filled through their setters cost half as much again; hence the ``__dict__``.)

    >>> request_from(request_fields("w", "writer", None, ""), "Hi.", {}, {}).prompt
    'Hi.'
    """
    request = _new(ModelRequest)
    own = request.__dict__
    own |= fields
    own["prompt"] = prompt
    own["state"] = state
    own["settings"] = settings
    return request


if list(request_fields("", "", None, "")) != [field.name for field in attrs.fields(ModelRequest)]:
    raise TypeError("ModelRequest's fields changed: request_fields must give each, in order.")


@runtime_checkable
class ModelProvider(Protocol):
    """One coroutine: answer a request with text."""

    async def complete(self, request: ModelRequest) -> str: ...


@runtime_checkable
class StreamingProvider(ModelProvider, Protocol):
    """A provider that can also stream its answer in chunks."""

    def stream(self, request: ModelRequest) -> AsyncIterator[str]: ...


def makes_answers_up(provider: Any) -> bool:
    """Whether ``provider`` makes its answers up (a test double such as ``FakeProvider``, which
    says so with ``made_up_answers = True``): a keyed batch keeps its answers apart, so a
    later run with a real provider asks the model rather than reusing them."""
    return bool(getattr(provider, "made_up_answers", False))


def check_agents(provider: Any, graph: nx.DiGraph | None) -> None:
    """Hand ``provider`` the names of the agents of ``graph`` before a run, when it takes them
    (``provider.check_agents(names)``): a provider configured by agent name (the test fake's
    ``fail={"editor": 1}``) is made before it sees the pipeline, and may refuse the run there,
    before its first node, rather than let a misspelt name go unused. Runners (asyncio,
    in-process Prefect, ``run_many`` once per batch) call it; other providers are not touched.
    """
    check = getattr(provider, "check_agents", None)
    if graph is None or not callable(check):
        return
    names = agent_names(graph)
    owner = type(provider).__name__
    try:
        inspect.signature(check).bind(names)
    except TypeError as exc:
        raise ArgumentError(
            f"{owner}.check_agents() is called before a run with one argument, the names of "
            f"the pipeline's agents, which fails: {exc}. Define it as "
            "def check_agents(self, names): ..., or rename it if it is no such check."
        ) from None
    except ValueError:  # a builtin whose signature is hidden: only the call tells
        pass
    done = check(names)
    if inspect.isawaitable(done):
        if inspect.iscoroutine(done):
            done.close()  # never awaited: no "coroutine was never awaited" warning on top
        raise ArgumentError(
            f"{owner}.check_agents() returned an awaitable (an async def?): it is called "
            "before a run without awaiting, so the check it makes would never happen. Make "
            "it a plain def that raises to refuse the run."
        )


#: Each graph's agent names, found once: a graph does not change after it is checked.
_AGENTS: weakref.WeakKeyDictionary[nx.DiGraph, frozenset[str]] = weakref.WeakKeyDictionary()


def agent_names(graph: nx.DiGraph) -> frozenset[str]:
    """The names of the agents in ``graph``, those inside loops and map-overs too: the names
    a run's requests carry as ``request.agent``.

    >>> from irgraph import Agent, to_graph
    >>> sorted(agent_names(to_graph(Agent("a").instruct("Hi.") >> Agent("b").instruct("Yo."))))
    ['a', 'b']
    """
    names = _AGENTS.get(graph)
    if names is None:
        nodes = graph.nodes(data=True)
        names = frozenset(data["label"] for _, data in nodes if data["kind"] == "agent")
        _AGENTS[graph] = names
    return names


class PlaceholderProvider:
    """Answers without a model, so a pipeline can run before a provider is configured. An
    agent that asks for a structured answer (an output schema) gets a :class:`ProviderError`
    saying so instead: placeholder text is no JSON, and the schema error it would meet would
    advise more retries or a looser schema, which no run without a provider can use."""

    async def complete(self, request: ModelRequest) -> str:
        if request.output_schema is not None:
            raise ProviderError(
                f"Agent '{request.agent}' asks for a structured answer (it has an output "
                "schema), and the run has no model provider to give one: without one, agents "
                "answer with placeholder text, which is no JSON. Pass a provider: "
                "provider=FakeProvider() (from irgraph.testing) answers a schema offline with "
                "a valid value, or a real one such as irgraph.openai_provider.OpenAIProvider."
            )
        return f"[{request.agent}: placeholder answer, no model provider configured]"


# What a provider hands back, checked where a backend takes it ------------------------------


def completion(provider: Any, request: ModelRequest) -> Awaitable[str]:
    """``provider.complete(request)``, refused unless it is awaitable, with what is wrong."""
    return awaitable_answer(provider, provider.complete(request))


def awaitable_answer(provider: Any, answer: Any) -> Awaitable[str]:
    """``answer`` (what ``provider.complete`` returned) if it is awaitable, else the error
    that says what is wrong with the provider."""
    if inspect.isawaitable(answer):
        return answer
    name = f"{type(provider).__name__}.complete()"
    if inspect.isasyncgen(answer):
        raise TypeError(
            f"{name} is an async generator (it contains yield), so calling it gives chunks, "
            "not the answer: complete() must return the whole text (return, not yield); to "
            "send the answer in chunks, give the provider a stream() method as well."
        )
    kind = type(answer).__name__
    raise TypeError(
        f"{name} returned {a_or_an(kind)} {kind}, not an awaitable; define it with async def "
        "(async def complete(self, request) -> str)."
    )


def checked_answer(text: Any, provider: Any = None) -> str:
    """``text`` if it is a ``str``, else :func:`not_text`'s error (naming ``provider``)."""
    if not isinstance(text, str):
        raise not_text(text, provider)
    return text


#: Setting values a request can share with others: they cannot be changed in place.
_ATOMS = (str, int, float, bool, type(None))


def fresh_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """A request's own copy of an agent's model settings, nested values (a list of stop
    sequences, a dict of options) copied too: a provider that changes what it was sent changes
    no other request, and no later run of the same compiled pipeline.

    >>> kept = {"temperature": 0.2, "stop": ["END"]}
    >>> sent = fresh_settings(kept)
    >>> sent["stop"].append("X"); kept["stop"]
    ['END']
    """
    copied = dict(settings)
    for key, value in copied.items():
        if not isinstance(value, _ATOMS):
            copied[key] = copy.deepcopy(value)  # same keys: safe while iterating
    return copied


def not_text(text: Any, provider: Any = None) -> TypeError:
    """The error for ``provider``'s answer that is not a ``str`` (a scheduler tests the type
    inline on its hot path and raises this); it names the provider's class when given.

    >>> class Echo: ...
    >>> str(not_text(42, Echo()))
    'the provider Echo answered 42 (an int); Echo.complete() must return a str'
    >>> str(not_text(None))
    'the provider answered None (did it forget to return?); complete() must return a str'
    >>> str(not_text({"category": "bug"}))  # doctest: +ELLIPSIS
    "the provider answered {'category': 'bug'} (a dict); ... its JSON text (json.dumps(value), ..."
    """
    if provider is None:
        who, method = "the provider", "complete()"
    else:
        name = type(provider).__name__
        who, method = f"the provider {name}", f"{name}.complete()"
    kind = type(text).__name__
    shown = (
        "None (did it forget to return?)"
        if text is None
        else f"{text!r:.80} ({a_or_an(kind)} {kind})"
    )
    json_hint = ""
    if isinstance(text, (dict, list)) or callable(getattr(text, "model_dump_json", None)):
        json_hint = (  # an SDK's parsed answer: an output schema's reply is its JSON text
            ": for a structured answer, its JSON text (json.dumps(value), or a pydantic "
            "model's .model_dump_json()), which irgraph parses and checks"
        )
    return TypeError(f"{who} answered {shown}; {method} must return a str{json_hint}")


def chunks(provider: Any, request: ModelRequest) -> AsyncIterator[str]:
    """``provider.stream(request)``, refused unless it is an async iterator."""
    stream = provider.stream(request)
    if not hasattr(stream, "__anext__"):
        if inspect.iscoroutine(stream):
            stream.close()  # never awaited: no "never awaited" warning on top
        kind = type(stream).__name__
        raise TypeError(
            f"{type(provider).__name__}.stream() returned {a_or_an(kind)} {kind}, not an "
            "async iterator; define it with async def and yield the answer's text in chunks."
        )
    return stream  # type: ignore[no-any-return]


def checked_chunk(provider: Any, chunk: Any, index: int) -> str:
    """A streamed ``chunk`` if it is a ``str``, else the error that names the provider's
    stream() and the chunk (``index`` from 0), before any consumer sees it."""
    if not isinstance(chunk, str):
        raise TypeError(
            f"{type(provider).__name__}.stream() yielded {type(chunk).__name__} {chunk!r:.80} "
            f"as chunk {index + 1}; stream() must yield str chunks of the answer's text "
            "(the chunks joined are the answer complete() would return)."
        )
    return chunk
