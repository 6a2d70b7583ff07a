"""Asking an agent for a structured value: parse, validate, and ask again with feedback.

An agent with an output schema gets ``request`` (attempt 1, no feedback). Its reply is parsed
and validated by :func:`irgraph.ir.outputs.parse_reply`. A reply that does not do is asked
again with the same prompt, the next attempt number and the error as ``feedback``, while the
attempts so far are at most the node's retries; then the run fails with an
:class:`~irgraph.ir.outputs.OutputError` saying the schema error and the raw reply, which the
scheduler turns into the ``RunError`` at the node. Each attempt is one call of ``ask`` (the
scheduler's model call, with its timeout and concurrency slot), so a backend that caches calls
caches each attempt under its own number.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import attrs

from irgraph.ir.output_replies import sent_text
from irgraph.ir.outputs import OutputError, feedback, parse_reply
from irgraph.providers import ModelRequest

__all__ = ["structured_value", "shown_reply"]

#: How much of a raw reply an error message quotes.
REPLY_CHARS = 200


async def structured_value(
    request: ModelRequest, retries: int, ask: Callable[[ModelRequest], Awaitable[str]]
) -> Any:
    """The value of the first reply to ``request`` that matches its ``output_schema``."""
    schema = request.output_schema
    assert schema is not None
    current = request
    while True:
        reply = await ask(current)
        try:
            return parse_reply(reply, schema, node=request.node)
        except OutputError as error:
            if current.attempt > retries:
                raise _exhausted(request.node, current.attempt, error) from error
            current = attrs.evolve(current, attempt=current.attempt + 1, feedback=feedback(error))


def shown_reply(reply: str) -> str:
    """``reply`` as a message quotes it: repr'd, cut to about :data:`REPLY_CHARS`."""
    shown = repr(reply)
    if len(shown) > REPLY_CHARS:
        shown = shown[: REPLY_CHARS - 3] + "..."
    return shown


def _exhausted(node: str, attempts: int, error: OutputError) -> OutputError:
    tries = f"{attempts} attempt{'s' if attempts != 1 else ''}"
    return OutputError(
        f"agent '{node}' gave no reply matching its output schema in {tries}: {error}. The "
        f"last reply was {shown_reply(sent_text(error.reply))}. Allow more attempts with "
        ".output(schema, retries=n), loosen the schema, or say in the instruction what the "
        "JSON must hold",
        error.reply,
    )
