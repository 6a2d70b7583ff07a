"""Fake model providers for tests, demos and benchmarks.

:class:`FakeProvider` answers deterministically, like a well-behaved model. The misbehaving
providers — :func:`answering` (a value that is not a ``str``), :func:`raising`,
:func:`hanging` and :func:`answering_synchronously` (a ``complete()`` that is not async) —
check that a backend or a pipeline reports a broken provider clearly; they live in
:mod:`~irgraph.testing.broken_providers` and are named here too.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from typing import Any

import attrs

from irgraph import checks
from irgraph.errors import IrgraphError, PipelineError, did_you_mean
from irgraph.providers import ModelRequest
from irgraph.testing.broken_providers import (
    FunctionProvider,
    SynchronousProvider,
    answering,
    answering_synchronously,
    hanging,
    raising,
)
from irgraph.testing.fake_names import WHAT, lookalike, misspelt_names, refuse_misspelt
from irgraph.testing.fake_values import (
    UnsatisfiableSchema,
    UnsupportedSchema,
    fake_value,
    stable_hash,
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
]

Response = str | Sequence[str] | Callable[[ModelRequest], str]


class FakeProviderError(IrgraphError):
    """What a :class:`FakeProvider` raises instead of answering: the failure ``fail=``
    injects, or an answer it cannot give (an output schema beyond
    :mod:`~irgraph.testing.fake_values`, a configured name that looks like a typo of the asked
    agent's)."""


def _texts(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)


def _fail_count(agent: str) -> checks.Check:
    """The rule for ``fail[agent]``: how many of the agent's first calls raise, so at least 1
    (0 would configure nothing, a likely reading of it as the index of the call to fail)."""
    return attrs.evolve(
        checks.count(1),
        hint=f"fail={{{agent!r}: 1}} makes the first call of {agent!r} raise, "
        f"fail={{{agent!r}: 2}} its first two; leave {agent!r} out of fail for no failure.",
    )


class FakeProvider:
    """A provider that answers without a model.

    - Without ``responses`` it answers ``f"<{agent}: {prompt}>"``, or, when the request has
      an ``output_schema``, the JSON of a schema-valid value
      (:func:`irgraph.testing.fake_values.fake_value`): the same for the same agent and
      prompt, an ``enum`` member picked by a stable hash of the two.
    - ``responses={"critic": "ok"}`` answers by agent name: a string, a non-empty list (one
      per call, the last repeated) or a function of the request that returns a string (for an
      agent with an output schema, JSON text: ``json.dumps(value)``).
    - ``latency`` (seconds, or a dict by agent name) sleeps before answering.
    - ``fail={"writer": 1}`` makes the first call of agent ``writer`` raise (``2``, its first
      two); a count below 1 configures no failure and is refused.

    A made-up answer is valid under the JSON Schema, which is all the request carries: a
    pydantic type whose rule the schema does not say gets an answer its model refuses:
    ``NaiveDatetime`` (a ``date-time`` like any datetime's: the fake writes one with a time
    zone), ``FutureDate``/``FutureDatetime`` or a bound on a date (the fake writes days of
    2024), a DSN or URL of a scheme other than ``https`` or, for ``multi-host-uri``,
    ``postgres`` (``RedisDsn``, ``MongoDsn``, ``KafkaDsn``, ``FileUrl``...), and ``complex``
    or ``pydantic_extra_types``' ``MacAddress``, ``PaymentCardNumber``, ``ISBN``... (plain
    strings in the schema). Give such a field's value with a response function (the table
    and the example in docs/testing.md).

    Before a run's first node, runners hand the fake the pipeline's agent names
    (:meth:`check_agents`): a name in ``responses``, ``fail`` or ``latency`` that is no agent
    of the pipeline and equals one of its agents' names but for case, or is close to it
    (difflib, 0.8), is taken for a typo and the run refused with a :class:`PipelineError`
    ("did you mean 'editors'?"). A fake may serve several pipelines, so a name far from every
    agent, or an agent of a pipeline it ran before, is not refused: it may be another
    pipeline's; and while the fake holds such a far name of a pipeline it has not run, a close
    name is not refused either, as that pipeline's agent (``check_names=False`` turns the
    check off, for a fake holding only a close name of a pipeline not run yet; names that
    differ in a trailing number or ``_x``, as ``writer`` and ``writer2``, are two agents,
    never a typo). Called directly, outside a run, an agent asked with no
    entry of its own while a configured name not asked yet is close to its name fails the
    call with :class:`FakeProviderError`. After a run, :meth:`unused` and :meth:`assert_used`
    tell the names no call asked for.

    Every request is recorded in ``calls``; ``max_in_flight`` is the most calls seen at once.
    Its answers are made up (``made_up_answers``): a keyed batch keeps them apart from a real
    provider's, so a later run with a real provider asks the model.

    >>> import asyncio
    >>> from irgraph.providers import ModelRequest
    >>> fake = FakeProvider()
    >>> asyncio.run(fake.complete(ModelRequest("w", "w", "Write.")))
    '<w: Write.>'
    """

    made_up_answers = True

    @checks.keyword_options
    def __init__(
        self,
        latency: float | Mapping[str, float] = 0.0,
        responses: Mapping[str, Response] | None = None,
        fail: Mapping[str, int] | None = None,
        chunk_size: int = 8,
        check_names: bool = True,
    ) -> None:
        delay = checks.seconds(allow_zero=True)
        if isinstance(latency, Mapping):
            if latency and all(isinstance(v, (str, list)) for v in latency.values()):
                shown = repr(dict(latency)) if len(repr(dict(latency))) <= 60 else "{...}"
                raise PipelineError(  # FakeProvider({'critic': 'Looks good.'}): answers
                    "FakeProvider's first argument is its latency, but it got answers by "
                    f"agent name ({shown}).",
                    hint=f"Give the answers by name: FakeProvider(responses={shown}).",
                )
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
        by_agent: dict[str, Any] = {"responses": responses, "fail": fail, "latency": latency}
        for label, value in by_agent.items():
            for name in value if isinstance(value, Mapping) else ():
                if not isinstance(name, str):
                    raise PipelineError(
                        f"FakeProvider's {label} are keyed by agent name, a str (got {name!r} "
                        f"of type {type(name).__name__}).",
                        hint=f"e.g. {label}={{'writer': ...}}, with the name given to Agent().",
                    )
        for agent, response in (responses or {}).items():
            if not (isinstance(response, str) or callable(response) or _texts(response)):
                raise PipelineError(
                    f"FakeProvider's response for {agent!r} must be a string, a list of "
                    f"strings or a function of the request (got {response!r} of type "
                    f"{type(response).__name__}).",
                    hint=_as_text_hint(agent, response),
                )
            if _texts(response) and not response:
                raise PipelineError(
                    f"FakeProvider's response for {agent!r} is an empty list, which has no "
                    "answer to give: give at least one answer (the last one is repeated).",
                    hint=f"e.g. responses={{{agent!r}: ['Revise.', 'Approved.']}}.",
                )
            if callable(response):
                _takes_the_request(response, agent)
        for agent, times in (fail or {}).items():
            _fail_count(agent).check(times, f"FakeProvider's fail count for {agent!r}")
        self.latency = latency
        self.responses = dict(responses or {})
        self.fail = dict(fail or {})
        self.chunk_size = chunk_size
        self.check_names = check_names
        self.calls: list[ModelRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._per_agent: dict[str, int] = {}
        #: Agents whose names were checked against the configured ones and found no typo.
        self._named: set[str] = set()
        #: The agents of every pipeline this fake was checked against before a run, and each
        #: pipeline's agents as one set.
        self._agents: set[str] = set()
        self._accepted: set[frozenset[str]] = set()

    def _configured(self) -> dict[str, Mapping[str, Any]]:
        """The by-agent options, by their keyword."""
        latency = self.latency if isinstance(self.latency, Mapping) else {}
        return {"responses": self.responses, "fail": self.fail, "latency": latency}

    def unused(self) -> dict[str, list[str]]:
        """The names in ``responses``, ``fail`` and ``latency`` no call has asked for yet,
        by option (only the options that have some), each list sorted: after a run, a typo or
        an agent the run never reached (a route's other branch, a loop that stopped early).

        >>> fake = FakeProvider(responses={"writer": "Owls.", "critc": "Fine."})
        >>> _ = asyncio.run(fake.complete(ModelRequest("w", "writer", "Write.")))
        >>> fake.unused()
        {'responses': ['critc']}
        """
        found = {
            option: sorted(name for name in names if name not in self._per_agent)
            for option, names in self._configured().items()
        }
        return {option: names for option, names in found.items() if names}

    def assert_used(self) -> None:
        """Raise ``AssertionError`` naming each entry of :meth:`unused`, with the asked agent
        it may have been meant for; do nothing when every configured name was asked for."""
        unused = self.unused()
        if not unused:
            return
        asked = list(self._per_agent)
        shown = ", ".join(repr(agent) for agent in asked) or "none"
        lines = [
            f"{name!r} in {option}=: no agent asked for it.{did_you_mean(name, asked)}"
            for option, names in unused.items()
            for name in names
        ]
        raise AssertionError(
            f"FakeProvider was configured for agents no call asked for (agents asked: {shown}):"
            + "".join(f"\n  {line}" for line in lines)
            + "\nFix a misspelt name; the name of an agent the run did not reach (a route's "
            "other branch, say) means the test did not take the path it configures."
        )

    def check_agents(self, agents: Collection[str]) -> None:
        """Refuse, before a run, a configured name that looks like a misspelling of an agent
        of the pipeline about to run (``agents``), raising :class:`PipelineError` naming it,
        the agent meant and the pipeline's agents. Runners call this before the first node.

        Names of agents of a pipeline checked before (this fake may serve several), or asked
        for already, are never refused; names far from every agent are left alone (they may
        be another pipeline's agents), and while there is one, so are close names (they may be
        that pipeline's agents too): :meth:`unused` tells them after the run.

        >>> fake = FakeProvider(fail={"editor": 1})
        >>> fake.check_agents({"writer", "editors"})
        Traceback (most recent call last):
        ...
        irgraph.errors.PipelineError: FakeProvider is configured for agents this pipeline ...
        """
        agents = frozenset(agents)
        if agents in self._accepted:  # each item of a batch: known to pass (names only join)
            return
        if self.check_names:
            known = self._agents.union(self._per_agent)
            refuse_misspelt(misspelt_names(self._configured(), agents, known), agents)
            self._named.update(agents)  # no configured name left looks like a typo of them
        self._agents.update(agents)
        self._accepted.add(agents)

    def _check_name(self, agent: str) -> None:
        """Refuse to give ``agent`` a default when a configured name looks like a typo of it."""
        problems = []
        for option, names in self._configured().items():
            if not names or agent in names:
                continue
            candidates = [
                name for name in names if name not in self._per_agent and name not in self._agents
            ]
            found = lookalike(agent, candidates)
            if found is None:
                continue
            name, how = found
            differs = "differs from it only in case" if how == "case" else "is close"
            problems.append(
                f"no {WHAT[option]} is configured for agent {agent!r}; {name!r} in {option}= "
                f"{differs}: did you mean it?"
            )
        if problems:
            raise FakeProviderError(
                "FakeProvider: "
                + " Also, ".join(problems)
                + f" Rename the key to {agent!r}; if the configured name is another agent's "
                f"and {agent!r} should get the default, make the FakeProvider with "
                "check_names=False."
            )
        self._named.add(agent)

    def _delay(self, agent: str) -> float:
        if isinstance(self.latency, Mapping):
            return float(self.latency.get(agent, 0.0))
        return float(self.latency)

    async def _wait(self, agent: str) -> None:
        """What a call does before it answers: sleep its latency."""
        delay = self._delay(agent)
        if delay:
            await asyncio.sleep(delay)

    def _answer(self, request: ModelRequest, index: int) -> str:
        response = self.responses.get(request.agent)
        if response is None:
            if request.output_schema is not None:
                return _structured_answer(request)
            return f"<{request.agent}: {request.prompt}>"
        if isinstance(response, str):
            return response
        if callable(response):
            try:
                answer = response(request)
            except KeyError as exc:  # request.state holds only the keys the agent reads
                raise _unread_key(request, exc) from exc
            return _function_answer(request.agent, answer)
        items = list(response)
        return str(items[min(index, len(items) - 1)])

    async def complete(self, request: ModelRequest) -> str:
        self.calls.append(request)
        index = self._per_agent.get(request.agent, 0)
        self._per_agent[request.agent] = index + 1
        if self.check_names and request.agent not in self._named:
            self._check_name(request.agent)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await self._wait(request.agent)
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


def _as_text_hint(agent: str, response: Any) -> str:
    """The hint for a response that is no text: a JSON value is given as its JSON text."""
    values = response if isinstance(response, (list, tuple)) else [response]
    if response is not None and all(not isinstance(v, str) for v in values):
        try:
            shown = [json.dumps(value) for value in values]
        except (TypeError, ValueError):
            pass
        else:
            given = repr(shown) if isinstance(response, (list, tuple)) else repr(shown[0])
            return (
                f"An agent with an output schema is answered with the JSON text of its value, "
                f"as a model answers: responses={{{agent!r}: {given}}} (json.dumps(value))."
            )
    return "e.g. responses={'critic': ['Revise.', 'Approved.']}."


def _unread_key(request: ModelRequest, error: KeyError) -> Exception:
    """What a response function that looked up a key ``request.state`` lacks fails with:
    the state a request carries holds only the keys the agent's templates read."""
    key = error.args[0] if error.args else None
    if not isinstance(key, str) or key in request.state:
        return error  # a KeyError of the function's own
    held = ", ".join(repr(name) for name in request.state) or "none"
    return FakeProviderError(
        f"FakeProvider's response function for agent {request.agent!r} raised KeyError: "
        f"{key!r}: request.state holds only the keys the agent's instruction and system "
        f"prompt read ({held}), not {key!r}. Read {{{key}}} in the agent's instruction, or "
        "answer from request.prompt."
    )


def _function_answer(agent: str, answer: Any) -> str:
    """What a response function returned, refused unless it is the text a model answers."""
    if isinstance(answer, str):
        return answer
    if inspect.iscoroutine(answer):
        answer.close()  # never awaited: no "coroutine was never awaited" warning on top
        raise TypeError(
            f"FakeProvider's response function for agent {agent!r} returned a coroutine: it "
            "is an async def, and FakeProvider calls it without awaiting. Make it a plain def "
            "that returns the str the model would answer."
        )
    raise TypeError(
        f"FakeProvider's response function for agent {agent!r} returned {answer!r} "
        f"({type(answer).__name__}), not a str: return the text the model would answer, e.g. "
        "json.dumps(value) for an agent with an output schema."
    )


def _structured_answer(request: ModelRequest) -> str:
    """The JSON of a value valid under the request's output schema, or the error that says
    the schema is beyond the fake and how to answer instead."""
    try:
        value = fake_value(request.output_schema, stable_hash(request.agent + request.prompt))
    except UnsatisfiableSchema as exc:
        raise FakeProviderError(
            f"FakeProvider cannot make up a value for the output schema of agent "
            f"'{request.agent}' (node '{request.node}'){_part(exc)}: {exc}, so no answer can "
            "match it: fix the schema."
        ) from None
    except UnsupportedSchema as exc:
        raise FakeProviderError(
            f"FakeProvider cannot make up a value for the output schema of agent "
            f"'{request.agent}' (node '{request.node}'){_part(exc)}: {exc}. Give its answer "
            f"instead: FakeProvider(responses={{{request.agent!r}: '<JSON text>'}})."
        ) from None
    return json.dumps(value)


def _part(error: UnsupportedSchema) -> str:
    """Which part of the schema ``error`` is about, as words to follow the agent's name."""
    return f", in the schema of {error.place}" if error.path else ""


def _takes_the_request(fn: Callable[..., Any], agent: str) -> None:
    """Refuse a response function that cannot be called with the request, its one argument:
    it would fail as a bare TypeError at the agent's first call, mid-run."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin that hides it: only a call tells
        return
    try:
        signature.bind(None)
    except TypeError as exc:
        name = getattr(fn, "__qualname__", type(fn).__name__)
        raise PipelineError(
            f"FakeProvider's response function for {agent!r} ({name}{signature}) is called "
            f"with one argument, the request, which fails: {exc}.",
            hint=f"e.g. responses={{{agent!r}: lambda request: 'Looks good.'}} (the request "
            "has .prompt, .attempt, .state, ...).",
        ) from None
