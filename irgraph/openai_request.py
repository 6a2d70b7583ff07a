"""The body of a chat-completions request for one :class:`~irgraph.providers.ModelRequest`.

- ``messages``: the agent's system prompt as a system message (when it has one), the prompt
  as a user message, and, when a reply is asked again, the feedback on the refused reply
  (which quotes it) as a second user message.
- fields: the node's settings over the provider's temperature; those the ``openai`` client
  takes by name go as request fields, the rest in ``extra_body`` (a server's own options,
  ``top_k`` for vLLM say, reach it too). A field that is not set is left out rather than sent
  as null, which some compatible servers reject.
- with an output schema, the server's structured-output mode: ``response_format`` of type
  ``json_schema`` named after the node, not strict (strict mode takes only a subset of JSON
  Schema; irgraph validates the reply itself and asks again).

>>> from irgraph.providers import ModelRequest
>>> request = ModelRequest("triage", "triage", "Classify.", system="Be brief.",
...                        settings={"temperature": 0.2, "top_k": 5},
...                        output_schema={"type": "string"})
>>> [m["role"] for m in messages(request)]
['system', 'user']
>>> fields = request_fields(request, None)
>>> fields["temperature"], fields["extra_body"], fields["response_format"]["json_schema"]["name"]
(0.2, {'top_k': 5}, 'triage')
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from irgraph.ir.setting_names import CLIENT_FIELDS as _CLIENT_FIELDS
from irgraph.providers import ModelRequest

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam

__all__ = ["messages", "request_fields", "schema_name"]

_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_-]+")


def messages(request: ModelRequest) -> list[ChatCompletionMessageParam]:
    """The messages of ``request``: system prompt, prompt, feedback."""
    found: list[ChatCompletionMessageParam] = []
    if request.system:
        found.append({"role": "system", "content": request.system})
    found.append({"role": "user", "content": request.prompt})
    if request.feedback:
        found.append({"role": "user", "content": request.feedback})
    return found


def request_fields(request: ModelRequest, temperature: float | None) -> dict[str, Any]:
    """The fields of ``request`` besides model and messages; ``temperature`` is the
    provider's own, which the node's settings override."""
    settings = dict(request.settings)
    if temperature is not None:
        settings.setdefault("temperature", temperature)
    fields = {name: value for name, value in settings.items() if name in _CLIENT_FIELDS}
    extra = {name: value for name, value in settings.items() if name not in _CLIENT_FIELDS}
    if extra:
        fields["extra_body"] = extra
    if request.output_schema is not None:
        fields["response_format"] = {
            "type": "json_schema",
            "json_schema": {
                "name": schema_name(request.node),
                "schema": dict(request.output_schema),
                "strict": False,
            },
        }
    return fields


def schema_name(node: str) -> str:
    """The name a structured-output request gives its schema: the node id with what OpenAI
    refuses (anything but letters, digits, ``_`` and ``-``; over 64 characters) replaced.

    >>> schema_name("triage agent #2")
    'triage_agent_2'
    """
    return _UNSAFE_NAME.sub("_", node).strip("_")[:64] or "output"
