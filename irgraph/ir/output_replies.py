"""A model's reply that an output schema refused, and what is said about it.

:class:`OutputError` carries the reply. When the reply is asked again, :func:`feedback` tells
the model what was wrong and quotes its reply, and :func:`~irgraph.ir.outputs.schema_error`
quotes the value it refused: a reply may be very long (a model that ran on), so each quote is
cut to :data:`QUOTE_CHARS` in the middle, keeping its start and end and saying how much was
cut, and a 100 000-character reply never becomes a 200 000-character prompt.

>>> cut("x" * 50, 20)
'xxxxxxxxxx[... 30 of 50 characters cut ...]xxxxxxxxxx'
"""

from __future__ import annotations

from typing import Any

__all__ = ["OutputError", "QUOTE_CHARS", "SentReply", "cut", "feedback", "sent_text"]

#: How much of a reply (and of the error that quotes it) the feedback to the model quotes.
QUOTE_CHARS = 2000


class OutputError(ValueError):
    """A model's reply that is not JSON or does not match the node's output schema."""

    def __init__(self, message: str, reply: str) -> None:
        super().__init__(message)
        self.reply = reply


class SentReply(str):
    """A reply a provider took a value out of before handing it on (the OpenAI provider's
    answer to a schema it sent wrapped as ``{"value": ...}``): the text is the value, which is
    parsed and validated; ``sent`` is what the model sent, which feedback and errors quote,
    so a model asked again is shown its own reply.

    >>> reply = SentReply('"bug"', sent='{"value": "bug"}')
    >>> reply, sent_text(reply), sent_text('"bug"')
    ('"bug"', '{"value": "bug"}', '"bug"')
    """

    sent: str

    def __new__(cls, text: str, *, sent: str) -> SentReply:
        reply = super().__new__(cls, text)
        reply.sent = sent
        return reply

    def __reduce__(self) -> tuple[Any, ...]:
        return _sent_reply, (str(self), self.sent)


def _sent_reply(text: str, sent: str) -> SentReply:
    return SentReply(text, sent=sent)


def sent_text(reply: str) -> str:
    """What the model sent for ``reply``: its :attr:`SentReply.sent`, else the reply itself."""
    return reply.sent if isinstance(reply, SentReply) else reply


def cut(text: str, limit: int = QUOTE_CHARS) -> str:
    """``text``, or when it is longer than ``limit``, its first and last ``limit // 2``
    characters around a note of how many were cut."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}[... {len(text) - 2 * half} of {len(text)} characters cut ...]" + (
        text[-half:] if half else ""
    )


def feedback(error: OutputError) -> str:
    """What the model is told when its reply is asked again: what was wrong and its reply,
    each cut to :data:`QUOTE_CHARS`."""
    return (
        f"Your previous reply was not usable: {cut(str(error))}. Previous reply: "
        f"{cut(repr(sent_text(error.reply)))}. Answer again with JSON that matches the schema, and "
        "nothing else."
    )
