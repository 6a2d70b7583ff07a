"""How :class:`~irgraph.openai_provider.OpenAIProvider` reports failures: its error class and the
pieces of its messages (the server's own text, a hint by HTTP status, a masked URL, a model's
refusal, the start of a page that is no answer), and the warning for a text answer cut at its
token limit.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from irgraph.providers import ProviderError

__all__ = [
    "OpenAIProviderError",
    "CutAnswerWarning",
    "warn_cut",
    "MASK",
    "PAGE_HINT",
    "STREAMLESS_HINT",
    "redact_url",
    "status_hint",
    "server_message",
    "describe",
    "preview",
    "refusal_of",
    "content_type",
    "failure_text",
    "finish_reason",
]

MASK = "***"

# For an answer that is no chat completion at all: a web app's page at base_url, not its API.
PAGE_HINT = (
    "Check that base_url (or OPENAI_BASE_URL) is the server's OpenAI-compatible API, not a "
    "web page or a proxy's; it usually ends in /v1."
)
# For a stream request answered with one whole JSON body: a server that does not stream.
STREAMLESS_HINT = (
    "The server may not stream (it ignored stream=True): run the pipeline without streaming "
    "(run() or arun(), not .stream()), or check the server's streaming support."
)


def redact_url(url: str) -> str:
    """Hide a password written into a URL (``http://user:secret@host``)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{MASK}@{host}"))


class OpenAIProviderError(ProviderError):
    """A request to an OpenAI-compatible server failed or gave an unusable answer.

    Carries its pieces as attributes: ``model``, ``base_url`` (password masked), ``node``,
    ``status_code`` (``None`` when there was no HTTP answer) and ``hint``.
    """

    def __init__(
        self,
        message: str,
        *,
        model: str,
        base_url: str,
        node: str,
        status_code: int | None = None,
        hint: str = "",
    ) -> None:
        super().__init__(f"{message} {hint}" if hint else message)
        self.model = model
        self.base_url = base_url
        self.node = node
        self.status_code = status_code
        self.hint = hint


def status_hint(status: int, tries: str) -> str:
    if status in (401, 403):
        return "Check the API key (api_key=... or OPENAI_API_KEY) and that it may use this model."
    if status == 404:
        return (
            "Check that the server serves this model name (vLLM: --served-model-name; "
            "Ollama: ollama pull MODEL) and that base_url ends in /v1."
        )
    if status == 429:
        return (
            f"The server kept rate limiting for {tries}; raise max_retries, lower the "
            "backend's max_concurrency, or wait for your quota."
        )
    if status >= 500:
        return f"The server kept failing for {tries}; check its logs, or raise max_retries."
    return "The server rejected the request; check the model name and options (temperature)."


def server_message(exc: Any) -> str:
    """The server's own error text: OpenAI's ``{"error": {"message": ...}}``, Ollama's
    ``{"error": "..."}``, FastAPI's ``{"detail": "..."}``, or a body that is not JSON (a proxy's
    ``Bad Gateway``, a web page), cut short; else the client's own message.

    >>> class Failed: body, message = {"error": "model 'x' not found"}, "Error code: 404"
    >>> server_message(Failed())
    "model 'x' not found."
    """
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"]).rstrip(".") + "."
        said = inner if isinstance(inner, str) else body.get("detail")
        if isinstance(said, str) and said.strip():
            return said.strip().rstrip(".") + "."
    if isinstance(body, str) and body.strip():
        text = " ".join(body.split())
        return (text[:200] + "…") if len(text) > 200 else text.rstrip(".") + "."
    text = str(getattr(exc, "message", "") or exc).strip()
    return (text.rstrip(".") + ".") if text else "no error message."


def describe(value: Any) -> str:
    if value is None:
        return "missing"
    if value == "":
        return "empty"
    return f"{value!r} of type {type(value).__name__}"


def preview(text: str, width: int = 80) -> str:
    """The start of ``text`` as a Python literal, cut at ``width`` characters.

    >>> preview("<html>" + "x" * 100, 10)
    "'<html>xxxx'…"
    """
    cut = text[:width]
    return repr(cut) + ("…" if len(text) > width else "")


def refusal_of(response: Any) -> str:
    """``choices[0].message.refusal``: the text of a model that declined, or ``""``."""
    choices = getattr(response, "choices", None) or ()
    refusal = getattr(getattr(choices[0], "message", None), "refusal", None) if choices else None
    return refusal if isinstance(refusal, str) else ""


def finish_reason(response: Any) -> Any:
    """``choices[0].finish_reason``: ``"length"`` for an answer cut at its token limit."""
    choices = getattr(response, "choices", None) or ()
    return getattr(choices[0], "finish_reason", None) if choices else None


class CutAnswerWarning(UserWarning):
    """A model stopped at its token limit in a text answer: the answer kept is cut short."""


def warn_cut(text: str, model: str, url: str, node: str, settings: Mapping[str, Any]) -> None:
    """Warn that ``model`` stopped at its token limit in its text answer to ``node``: the cut
    text is still the answer (``max_tokens`` may bound it on purpose), but a run that shows it
    as whole would hide that the model had more to say."""
    limit = settings.get("max_tokens", settings.get("max_completion_tokens"))
    bound = (
        f"the agent's max_tokens={limit!r}"
        if limit is not None
        else "no max_tokens of the agent's: the server's or the model's own limit"
    )
    warnings.warn(
        f"Model {model!r} at {url} stopped at its token limit ({bound}) in its answer to node "
        f"{node!r}, which is kept cut short, ending {preview(text[-60:])}. Raise the limit "
        f"with .settings(max_tokens=...) on {node!r}, or ask for a shorter answer, for answers "
        "the model finished.",
        CutAnswerWarning,
        stacklevel=2,
    )


def content_type(stream: Any) -> str:
    """The content type the server sent with a stream (``""`` when the client hides it)."""
    headers = getattr(getattr(stream, "response", None), "headers", None)
    value = headers.get("content-type", "") if headers is not None else ""
    return value.split(";")[0].strip() if isinstance(value, str) else ""


def failure_text(
    openai: Any, exc: Exception, where: str, tries: str, timeout: float
) -> tuple[str, str, int | None]:
    """The message, hint and HTTP status (``None`` without one) of an ``openai`` client's
    exception for the request ``where`` names, after ``tries`` of ``timeout`` seconds each."""
    if isinstance(exc, openai.APITimeoutError):
        return (
            f"Timed out waiting for {where} after {tries} of {timeout:g} s each.",
            "Raise the provider's timeout=..., or check that the server is up and not overloaded.",
            None,
        )
    if isinstance(exc, openai.APIConnectionError):
        return (
            f"Could not reach {where} after {tries}.",
            "Check that the server is running and that base_url (or OPENAI_BASE_URL) is "
            "right; it usually ends in /v1.",
            None,
        )
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        message = f"{where} answered HTTP {status}: {server_message(exc)}"
        return message[0].upper() + message[1:], status_hint(status, tries), status
    if isinstance(exc, ValueError):
        return (
            f"The stream from {where} was not valid server-sent events: {exc}.",
            "Check that the server implements OpenAI's streaming format.",
            None,
        )
    return (
        f"The openai client failed for {where}: {type(exc).__name__}: {exc}.",
        "Check the provider's settings and the server's logs.",
        None,
    )
