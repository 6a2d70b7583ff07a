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
  Schema; irgraph validates the reply itself and asks again). OpenAI takes only an object
  schema there, so any other (a string enum, an array, a root ``anyOf``) is sent as the
  object ``{"value": <schema>}`` (:func:`sent_schema`) and the reply's ``value`` taken back
  out (:func:`unwrapped_answer`). A schema referring to a JSON Schema meta-schema is sent
  with a copy of it under ``$defs`` (:func:`irgraph.schema_bundle.self_contained`): the
  server is never asked to fetch one.

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

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from irgraph.ir.output_replies import SentReply
from irgraph.ir.setting_names import CLIENT_FIELDS as _CLIENT_FIELDS
from irgraph.providers import ModelRequest
from irgraph.schema_bundle import self_contained

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam

__all__ = [
    "messages",
    "request_fields",
    "schema_name",
    "sent_schema",
    "unwrapped_answer",
    "wraps",
]

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
                "schema": sent_schema(self_contained(request.output_schema)),
                "strict": False,
            },
        }
    return fields


_DEFINITIONS = ("$defs", "definitions")


def wraps(schema: Mapping[str, Any]) -> bool:
    """Whether ``schema`` is sent wrapped: its root is not a plain object schema."""
    return schema.get("type") != "object" or "anyOf" in schema or "oneOf" in schema


def sent_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The schema a structured-output request sends for ``schema``: itself when its root is
    an object, else an object whose one required property ``value`` holds it (with its
    definitions kept at the root, where its ``#/$defs/...`` references point).

    >>> sent_schema({"enum": ["bug", "feature"]})["properties"]
    {'value': {'enum': ['bug', 'feature']}}
    """
    if not wraps(schema):
        return dict(schema)
    inner = {k: v for k, v in schema.items() if k not in (*_DEFINITIONS, "$schema", "$id")}
    inner = _moved_refs(inner)
    kept = {k: _moved_refs(schema[k]) for k in _DEFINITIONS if k in schema}
    return {
        "type": "object",
        "properties": {_VALUE: inner},
        "required": [_VALUE],
        "additionalProperties": False,
        **kept,
    }


_VALUE = "value"
_KEPT_REFS = tuple(f"#/{name}/" for name in _DEFINITIONS)


def _moved_refs(part: Any) -> Any:
    """``part`` with each ``$ref`` to the schema's own root (``#``, ``#/items``...) pointing
    where that root now is, under ``properties/value`` (from the definitions too); refs to
    the definitions, kept at the root, stay."""
    if isinstance(part, dict):
        moved = {k: _moved_refs(v) for k, v in part.items()}
        ref = part.get("$ref")
        if isinstance(ref, str) and ref.startswith("#") and not ref.startswith(_KEPT_REFS):
            moved["$ref"] = f"#/properties/{_VALUE}{ref[1:]}"
        return moved
    if isinstance(part, list):
        return [_moved_refs(v) for v in part]
    return part


def unwrapped_answer(text: str) -> str:
    """The reply to a wrapped schema with its ``value`` taken out (as JSON text, a
    :class:`~irgraph.ir.output_replies.SentReply` whose ``sent`` is the reply: asked again,
    the model is shown what it sent); any other reply as it is, for irgraph's own check of it
    to judge (and ask again).

    >>> unwrapped_answer('{"value": "bug"}'), unwrapped_answer('"bug"')
    ('"bug"', '"bug"')
    """
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return text
    if isinstance(data, dict) and list(data) == [_VALUE]:
        return SentReply(json.dumps(data[_VALUE], ensure_ascii=False), sent=text)
    return text


def schema_name(node: str) -> str:
    """The name a structured-output request gives its schema: the node id with what OpenAI
    refuses (anything but letters, digits, ``_`` and ``-``; over 64 characters) replaced.

    >>> schema_name("triage agent #2")
    'triage_agent_2'
    """
    return _UNSAFE_NAME.sub("_", node).strip("_")[:64] or "output"
