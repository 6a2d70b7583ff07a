"""A model provider for any OpenAI-compatible chat-completions server (OpenAI, vLLM, Ollama).

``OpenAIProvider`` sends each :class:`~irgraph.providers.ModelRequest` to
``/chat/completions`` through the official ``openai`` async client — the agent's system prompt
as a system message, the prompt as a user message, its settings (``temperature``,
``max_tokens``, ...) as request fields, and with an output schema the server's
structured-output mode (``response_format`` of type ``json_schema``, not strict, since
irgraph validates the reply itself) — and returns the answer text (``complete``) or yields it
chunk by chunk (``stream``). The ``openai`` package is an optional
extra: it is imported only when a provider is built, so ``import irgraph.openai_provider`` stays
light, and a missing package raises :class:`~irgraph.errors.MissingExtraError`.

Design notes:

- Retries are the client's own: it retries connection errors, timeouts, HTTP 408/409/429 and
  5xx with exponential back-off (0.5 s doubling, up to 8 s) and honours ``retry-after-ms`` /
  ``retry-after`` headers. ``max_retries`` is passed straight through.
- ``timeout`` bounds each attempt's connect, read and write (httpx semantics); when streaming,
  it bounds the wait for each chunk, not the whole answer.
- One client per event loop. An ``openai`` async client pools connections that belong to the
  loop that opened them, and backends run providers from several loops (``run()`` starts a new
  loop per call; Prefect runs each async task in its own loop in a pool thread). Sharing one
  client across loops fails with "Event loop is closed", so clients are cached per loop, and
  each is closed while its loop shuts down (see ``_client``), so no socket outlives its loop.
- A structured answer the server cut at its token limit (``finish_reason`` ``"length"``) is an
  error naming ``max_tokens``, not a reply to ask again: cut JSON is not the model's answer
  (even when it parses). A text answer cut there is still the answer (``max_tokens`` may be
  the agent's own bound), told with a :class:`~irgraph.openai_errors.CutAnswerWarning`.
- The API key never leaves the client: ``repr``/``str`` mask it, errors are built from the
  status, type and server message with the key redacted, and the original ``openai`` exception
  is chained only when its text does not contain the key.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import weakref
from collections.abc import AsyncGenerator, AsyncIterator
from typing import TYPE_CHECKING, Any

from irgraph import checks
from irgraph.errors import MissingExtraError
from irgraph.openai_errors import (
    MASK,
    PAGE_HINT,
    STREAMLESS_HINT,
    OpenAIProviderError,
    content_type,
    describe,
    failure_text,
    finish_reason,
    preview,
    redact_url,
    refusal_of,
    warn_cut,
)
from irgraph.openai_request import messages, request_fields, unwrapped_answer, wraps
from irgraph.providers import ModelRequest, ProviderError

if TYPE_CHECKING:
    from openai import AsyncOpenAI

__all__ = ["OpenAIProvider", "OpenAIProviderError"]

_LoopClient = tuple["AsyncOpenAI", AsyncGenerator[None, None]]

DEFAULT_BASE_URL = "https://api.openai.com/v1"

# Local servers (vLLM, Ollama) ignore the key, but the openai client refuses to start without
# one; "EMPTY" is the placeholder vLLM's own documentation uses.
_NO_KEY = "EMPTY"


def _import_openai() -> Any:
    """Import ``openai`` on first use, so the core never pays for it or needs it."""
    try:
        import openai
    except ImportError as exc:
        raise MissingExtraError("openai", "openai", "OpenAIProvider") from exc
    return openai


class _Secret:
    """Holds the API key so that printing, logging or formatting it shows only a mask."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return repr(MASK)

    __str__ = __repr__


class OpenAIProvider:
    """Answer agent requests with a model behind an OpenAI-compatible API.

    ``base_url`` and ``api_key`` default to ``$OPENAI_BASE_URL`` and ``$OPENAI_API_KEY``;
    without a base URL the provider talks to OpenAI itself, which needs a key. A server of your
    own (``http://localhost:8000/v1`` for vLLM, ``http://localhost:11434/v1`` for Ollama) may
    go without one. ``request.model``, when set, overrides ``model`` for that request.

    >>> p = OpenAIProvider("llama3", base_url="http://localhost:11434/v1", api_key="sk-secret")
    >>> p
    OpenAIProvider('llama3', base_url='http://localhost:11434/v1', api_key='***', timeout=60.0, max_retries=2)
    """  # noqa: E501

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 60.0,
        max_retries: int = 2,
        temperature: float | None = None,
    ) -> None:
        _import_openai()  # fail here, where the provider is configured, not mid-run
        if not isinstance(model, str) or not model:
            raise ProviderError(
                f"OpenAIProvider needs a model name (got {model!r}). "
                "Pass one, e.g. OpenAIProvider('gpt-4o-mini'), or use the spec 'openai:MODEL'."
            )
        if not checks.seconds().test(timeout):
            raise ProviderError(
                f"OpenAIProvider's timeout must be a positive, finite number of seconds (got "
                f"{checks.shown(timeout)}); the default is 60."
            )
        if temperature is not None and not (
            isinstance(temperature, int | float)
            and not isinstance(temperature, bool)
            and checks.finite(temperature)
            and temperature >= 0
        ):
            raise ProviderError(
                f"OpenAIProvider's temperature must be a finite number, 0 or more, or None "
                f"(got {checks.shown(temperature)}); leave it None for the model's default."
            )
        for label, value, variable in (
            ("base_url", base_url, "OPENAI_BASE_URL"),
            ("api_key", api_key, "OPENAI_API_KEY"),
        ):
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ProviderError(
                    f"OpenAIProvider's {label} must be a non-empty string or None (got "
                    f"{value!r}); leave it None to use ${variable}."
                )
        if not checks.count(0).test(max_retries):
            raise ProviderError(
                f"OpenAIProvider's max_retries must be a whole number, 0 or more (got "
                f"{max_retries!r}); use 0 to disable retries."
            )
        self.model = model
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip(
            "/"
        )
        if not self.base_url.lower().startswith(("http://", "https://")):
            where = "base_url" if base_url else "base_url (OPENAI_BASE_URL)"
            raise ProviderError(
                f"OpenAIProvider's {where} {redact_url(self.base_url)!r} does not start with "
                "http:// or https://, so no request could reach it; write the whole URL, e.g. "
                "'http://localhost:11434/v1'."
            )
        key = api_key or os.environ.get("OPENAI_API_KEY")
        if not key:
            if self.base_url == DEFAULT_BASE_URL:
                raise ProviderError(
                    f"OpenAIProvider for model {model!r} has no API key for {DEFAULT_BASE_URL}. "
                    "Set OPENAI_API_KEY, pass api_key=..., or point base_url (or "
                    "OPENAI_BASE_URL) at your own OpenAI-compatible server."
                )
            key = _NO_KEY
        self._api_key = _Secret(key)
        self.timeout = float(timeout)
        self.max_retries = max_retries
        self.temperature = temperature
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopClient] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        key = "None" if self._api_key.value == _NO_KEY else repr(MASK)
        extra = "" if self.temperature is None else f", temperature={self.temperature!r}"
        return (
            f"{type(self).__name__}({self.model!r}, base_url={redact_url(self.base_url)!r}, "
            f"api_key={key}, timeout={self.timeout!r}, max_retries={self.max_retries!r}{extra})"
        )

    __str__ = __repr__

    def __getstate__(self) -> dict[str, Any]:
        """Pickle the settings only: clients and locks belong to this process."""
        state = self.__dict__.copy()
        state["_api_key"] = self._api_key.value
        del state["_clients"], state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._api_key = _Secret(state["_api_key"])
        self._clients = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    # -- the provider protocol ----------------------------------------------------------

    async def complete(self, request: ModelRequest) -> str:
        """Ask the model and return its whole answer."""
        openai = _import_openai()
        model = request.model or self.model
        client = await self._client()
        sent, fields = messages(request), request_fields(request, self.temperature)
        failure: Exception | None = None
        page: str | None = None
        try:
            response = await client.chat.completions.create(model=model, messages=sent, **fields)
        except openai.OpenAIError as exc:
            failure = exc
        except json.JSONDecodeError as exc:  # HTTP 200 whose "JSON" body does not parse
            page = exc.doc
        if failure is not None:
            # Raised outside the except block so an error whose text holds the key is not
            # even kept as implicit context.
            raise self._wrap(failure, model, request) from self._chainable(failure)
        if page is None and isinstance(response, str):  # not JSON: the client gave its text
            page = response
        if page is not None:
            raise self._error(
                f"Model {model!r} at {self._url} answered node {request.node!r} with a page "
                f"that is not a chat completion: {preview(page)}.",
                PAGE_HINT,
                model,
                request,
            )
        text = _answer_text(response)
        refusal = refusal_of(response)
        if (not isinstance(text, str) or not text) and refusal:
            raise self._refused(refusal, model, request)
        if not isinstance(text, str) or not text:
            raise self._error(
                f"Model {model!r} at {self._url} gave no text for node {request.node!r} "
                + (
                    f"(the answer's content was {describe(text)})."
                    if getattr(response, "choices", None)
                    else "(the answer's list of choices was empty or missing)."
                ),
                "Check that the model is a chat model and that its server returns "
                "choices[0].message.content; a model that only calls tools answers no text, "
                "and a server or proxy that filters content may answer no choice at all.",
                model,
                request,
            )
        if finish_reason(response) == "length":
            if request.output_schema is not None:
                raise self._cut(text, model, request)
            warn_cut(text, model, self._url, request.node, request.settings)
        if request.output_schema is not None and wraps(request.output_schema):
            return unwrapped_answer(text)
        return text

    async def stream(self, request: ModelRequest) -> AsyncIterator[str]:
        """Ask the model and yield its answer in chunks as they arrive.

        Failures before the first chunk are retried like ``complete``; a stream that breaks
        off midway is not retried (the chunks already yielded cannot be taken back).
        """
        openai = _import_openai()
        model = request.model or self.model
        client = await self._client()
        received, tail = False, ""  # tail: the end of the text, for a cut answer's warning
        refused: list[str] = []  # a refusal comes as delta.refusal pieces, with no content
        kind = "text/event-stream"
        structured, finish = request.output_schema is not None, None
        said: list[str] = []  # a structured answer's text, for the error if it was cut
        # A wrapped schema's reply is {"value": ...}: kept whole, its value yielded at the end.
        hold = request.output_schema is not None and wraps(request.output_schema)
        sent, fields = messages(request), request_fields(request, self.temperature)
        try:
            chunks = await client.chat.completions.create(
                model=model, messages=sent, stream=True, **fields
            )
            kind = content_type(chunks) or kind
            async with chunks:
                async for chunk in chunks:
                    for choice in chunk.choices or ():
                        finish = getattr(choice, "finish_reason", None) or finish
                        delta = getattr(choice, "delta", None)
                        piece = getattr(delta, "content", None)
                        declined = getattr(delta, "refusal", None)
                        if isinstance(declined, str):
                            refused.append(declined)
                        if isinstance(piece, str) and piece:
                            received, tail = True, (tail + piece)[-60:]
                            if structured:
                                said.append(piece)
                            if not hold:
                                yield piece
        except (openai.OpenAIError, ValueError) as exc:
            broken: Exception | None = exc
        else:
            broken = None
        if broken is not None:
            raise self._wrap(broken, model, request) from self._chainable(broken)
        if not received and "".join(refused):
            raise self._refused("".join(refused), model, request)
        if not received and not kind.startswith("text/event-stream"):
            raise self._error(
                f"Model {model!r} at {self._url} streamed no text for node {request.node!r}: "
                f"the server answered with {kind}, not server-sent events (text/event-stream).",
                STREAMLESS_HINT if kind.endswith("json") else PAGE_HINT,
                model,
                request,
            )
        if not received:
            raise self._error(
                f"Model {model!r} at {self._url} streamed no text for node {request.node!r}.",
                "Check that the model is a chat model and that its server sends "
                "choices[0].delta.content chunks when stream=True.",
                model,
                request,
            )
        if structured and finish == "length":
            raise self._cut("".join(said), model, request)
        if finish == "length":
            warn_cut(tail, model, self._url, request.node, request.settings)
        if hold:
            yield unwrapped_answer("".join(said))

    async def aclose(self) -> None:
        """Close the running loop's client now rather than when the loop shuts down."""
        loop = asyncio.get_running_loop()
        with self._lock:
            entry = self._clients.pop(loop, None)
        if entry is not None:
            await entry[1].aclose()

    # -- internals ----------------------------------------------------------------------

    @property
    def _url(self) -> str:
        return redact_url(self.base_url)

    async def _client(self) -> AsyncOpenAI:
        """The running loop's client, made on first use and closed when the loop shuts down.

        asyncio has no "loop closing" callback, but ``asyncio.run`` (and anyio, which Prefect
        uses) finishes every started async generator before closing the loop. A generator
        parked at ``yield`` whose ``finally`` closes the client is therefore the hook: pooled
        connections are closed on their own loop instead of failing later with "Event loop is
        closed" when they are garbage-collected.
        """
        loop = asyncio.get_running_loop()
        with self._lock:
            entry = self._clients.get(loop)
            if entry is None:
                openai = _import_openai()
                client = openai.AsyncOpenAI(
                    api_key=self._api_key.value,
                    base_url=self.base_url,
                    timeout=self.timeout,
                    max_retries=self.max_retries,
                )
                entry = (client, self._close_with_loop(loop, client))
                self._clients[loop] = entry
                started = False
            else:
                started = True
        if not started:
            await entry[1].__anext__()  # registers it with the loop's async-generator hooks
        return entry[0]

    async def _close_with_loop(
        self, loop: asyncio.AbstractEventLoop, client: AsyncOpenAI
    ) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            # The generator refers to the loop, so the entry must go for the loop to be freed.
            with self._lock:
                if self._clients.get(loop, (None,))[0] is client:
                    del self._clients[loop]
            await client.close()

    def _redact(self, text: str) -> str:
        key = self._api_key.value
        if key and key != _NO_KEY:
            text = text.replace(key, MASK)
        return text

    def _chainable(self, exc: BaseException) -> BaseException | None:
        """The original exception, unless its text would reveal the key in a traceback."""
        key = self._api_key.value
        if key != _NO_KEY and (key in str(exc) or key in repr(exc)):
            return None
        return exc

    def _error(
        self,
        message: str,
        hint: str,
        model: str,
        request: ModelRequest,
        status_code: int | None = None,
    ) -> OpenAIProviderError:
        return OpenAIProviderError(
            self._redact(message),
            model=model,
            base_url=self._url,
            node=request.node,
            status_code=status_code,
            hint=self._redact(hint),
        )

    def _refused(self, refusal: str, model: str, request: ModelRequest) -> OpenAIProviderError:
        return self._error(
            f"Model {model!r} at {self._url} refused to answer node {request.node!r}: "
            f"{preview(refusal, 300)}.",
            "The model declined the request itself: reword the agent's instruction or system "
            "prompt, or use another model.",
            model,
            request,
        )

    def _cut(self, text: str, model: str, request: ModelRequest) -> OpenAIProviderError:
        return self._error(
            f"Model {model!r} at {self._url} stopped at its token limit before it finished the "
            f"structured answer of node {request.node!r}, which ends {preview(text[-80:])}.",
            "Raise the agent's max_tokens (.settings(max_tokens=...)), or ask for a shorter "
            "answer: a cut answer is not the model's whole answer, so it is not kept.",
            model,
            request,
        )

    def _wrap(self, exc: Exception, model: str, request: ModelRequest) -> OpenAIProviderError:
        """Turn an ``openai`` exception into a ProviderError that says what to do."""
        where = f"model {model!r} at {self._url} (node {request.node!r})"
        tries = f"{self.max_retries + 1} attempt{'s' if self.max_retries else ''}"
        message, hint, status = failure_text(_import_openai(), exc, where, tries, self.timeout)
        return self._error(message, hint, model, request, status)


def _answer_text(response: Any) -> Any:
    """``choices[0].message.content``, tolerating servers that leave parts out."""
    choices = getattr(response, "choices", None) or ()
    if not choices:
        return None
    message = getattr(choices[0], "message", None)
    return getattr(message, "content", None)
