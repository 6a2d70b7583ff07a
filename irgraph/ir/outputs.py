"""Structured outputs and model settings: the rules every layer shares.

An agent may declare ``.output(schema)``: a JSON Schema (a dict, or a pydantic model class,
whose schema is taken), checked as a schema when the pipeline is built. At run time the reply
is parsed as JSON (one surrounding markdown code fence is allowed, since models add them) and
validated with the ``jsonschema`` library; the **value** is what goes to state. A reply that
does not validate is asked again, up to the node's retries, with the error and the reply as
feedback (each cut to a few thousand characters, :mod:`irgraph.ir.output_replies`); after that
the run fails naming the node, the schema error and the raw reply. ``.settings(...)``
(temperature, max_tokens, ...) are JSON values passed to the provider on each request; the
known ones are range-checked here, before anything runs.

>>> schema = checked_schema({"type": "string", "enum": ["bug", "feature"]}, node="triage")
>>> parse_reply('"bug"', schema, node="triage")
'bug'
>>> value_type(schema), schema_enum(schema)
('string', ['bug', 'feature'])
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from irgraph.checks import finite, shown, whole_between
from irgraph.errors import PipelineError
from irgraph.ir.allowed_values import (
    AllowedValues,
    allows_nothing,
    schema_enum,
    schema_values,
    value_type,
)
from irgraph.ir.output_replies import QUOTE_CHARS, OutputError, cut, feedback
from irgraph.ir.schema_checks import check_refs, check_valid, model_schema, not_a_schema_hint
from irgraph.ir.schema_memo import SchemaMemo
from irgraph.ir.schema_patterns import check_patterns
from irgraph.ir.schema_validator import answer_validator
from irgraph.ir.values import JsonObject, json_problem

__all__ = [
    "OutputError",
    "checked_schema",
    "checked_settings",
    "parse_reply",
    "schema_error",
    "value_type",
    "schema_enum",
    "feedback",
    "KNOWN_SETTINGS",
    "SET_ELSEWHERE",
    # what a schema allows (irgraph.ir.allowed_values), importable from here as before
    "AllowedValues",
    "allows_nothing",
    "schema_values",
]


def _number_between(low: float, high: float) -> Any:
    return lambda v: (
        (isinstance(v, (int, float)) and not isinstance(v, bool) and finite(v)) and low <= v <= high
    )


#: The most tokens ``max_tokens`` may ask for: ten times the longest reply a model writes
#: today, far below the 32-bit integer a server reads it as (a mistyped ``10**30`` fails at the
#: call, after the steps before it ran, or overflows in a local server).
MAX_TOKENS = 10_000_000
#: A ``seed``: what a provider's 64-bit integer holds.
SEEDS = (-(2**63), 2**63 - 1)


#: The settings irgraph knows, with their rule in words; any other JSON value passes through
#: to the provider unchecked (providers differ in what they accept).
KNOWN_SETTINGS: dict[str, tuple[str, Any]] = {
    "temperature": ("a number from 0 to 2", _number_between(0, 2)),
    "top_p": ("a number from 0 to 1", _number_between(0, 1)),
    "max_tokens": (f"a whole number from 1 to {MAX_TOKENS:,}", whole_between(1, MAX_TOKENS)),
    "seed": (
        f"a whole number that fits in 64 bits, from {SEEDS[0]} to {SEEDS[1]}",
        whole_between(*SEEDS),
    ),
    "presence_penalty": ("a number from -2 to 2", _number_between(-2, 2)),
    "frequency_penalty": ("a number from -2 to 2", _number_between(-2, 2)),
    "stop": (
        "a string or a list of strings",
        lambda v: (
            isinstance(v, str) or (isinstance(v, list) and all(isinstance(s, str) for s in v))
        ),
    ),
}


#: Setting names a request must not take from ``.settings(...)``, with why and what to write
#: instead: irgraph fills these fields itself, or they name what another method sets. Sent as a
#: setting, each would go beside irgraph's own fields and win (the OpenAI client merges
#: ``extra_body`` over them), so a request would ask another model, drop the prompt or ignore
#: the output schema with no word said.
SET_ELSEWHERE: dict[str, tuple[str, str]] = {
    "model": (
        "a request's model is the agent's .model(...) or the provider's, and a setting would "
        "silently replace it",
        "choose the model with .model('gpt-4o') on the agent, or give it to the provider",
    ),
    "messages": (
        "irgraph writes a request's messages from the system prompt and the instruction, and a "
        "setting would silently replace them",
        "write them with .system('...') and .instruct('...')",
    ),
    "system": (
        "the system prompt goes in a request's messages, not in a field of its own",
        "write the system prompt with .system('...')",
    ),
    "prompt": (
        "the prompt is the agent's instruction, sent in a request's messages",
        "write the prompt with .instruct('...')",
    ),
    "response_format": (
        "irgraph asks for a structured reply from the agent's output schema, and a setting "
        "would silently replace that request",
        "ask for a structured reply with .output(schema)",
    ),
    "stream": (
        "irgraph decides whether a reply comes whole or in chunks, and reads it as it asked for it",
        "irgraph streams a reply where it shows it as it comes",
    ),
    "timeout": (
        "a request field bounds no call: the server would take it as an option of its own",
        "bound the agent with .timeout(seconds), or give the provider its own timeout",
    ),
}


def checked_settings(values: Any, *, node: str) -> JsonObject:
    """``values`` as a frozen JSON object, once each known setting is in range, all JSON."""
    if not isinstance(values, (JsonObject, Mapping)):  # JsonObject first: no ABC check
        raise PipelineError(
            f"The settings of '{node}' must be a mapping of names to values (got {values!r}).",
            node=node,
            hint="Pass keyword arguments: .settings(temperature=0.2, max_tokens=400).",
        )
    for name, value in values.items():
        taken = SET_ELSEWHERE.get(name)
        if taken is not None:
            raise PipelineError(
                f"'{node}' cannot take the setting {name!r}: {taken[0]}.",
                node=node,
                hint=f"Leave {name!r} out of the settings; {taken[1]}.",
                expected="a model setting irgraph does not set itself",
                got=name,
            )
        rule = KNOWN_SETTINGS.get(name)
        if rule is not None and not rule[1](value):
            raise PipelineError(
                f"The setting {name} of '{node}' must be {rule[0]} (got {shown(value)}).",
                node=node,
                hint=f"Pass e.g. .settings({name}={_example(name)}), or leave it out.",
                expected=rule[0],
                got=value,
            )
    if isinstance(values, JsonObject):  # JSON data by construction: no copy, no second check
        return values
    problem = json_problem(dict(values))
    if problem is not None:
        raise PipelineError(
            f"The settings of '{node}' must be JSON data ({problem}).",
            node=node,
            hint="Use strings, numbers, booleans, None, and lists or dicts of them.",
        )
    return JsonObject(values)


def _example(name: str) -> str:
    examples = {"temperature": "0.2", "top_p": "0.9", "max_tokens": "1000", "seed": "42"}
    return examples.get(name, "['\\n\\n']" if name == "stop" else "1")


#: The schemas ``jsonschema`` accepted and whose ``$ref`` s resolve, by content.
VALID_SCHEMAS = SchemaMemo()


def checked_schema(schema: Any, *, node: str) -> JsonObject:
    """The JSON Schema of an agent's output as a frozen JSON object: ``schema`` itself (a dict)
    or a pydantic model class's ``model_json_schema()``, once ``jsonschema`` accepts it (once
    per content: :mod:`irgraph.ir.schema_memo`)."""
    if isinstance(schema, JsonObject) and VALID_SCHEMAS.has(schema.text):
        return schema  # frozen JSON already: nothing to copy or check
    if isinstance(schema, type) and callable(getattr(schema, "model_json_schema", None)):
        schema = model_schema(schema, node=node)
    if isinstance(schema, JsonObject):
        schema = schema.to_dict()
    if not isinstance(schema, Mapping):
        raise PipelineError(
            f"The output schema of '{node}' must be a JSON Schema dict or a pydantic model "
            f"class (got {schema!r} of type {type(schema).__name__}).",
            node=node,
            hint=not_a_schema_hint(schema),
        )
    problem = json_problem(dict(schema))
    if problem is not None:
        raise PipelineError(
            f"The output schema of '{node}' must be JSON data ({problem}).",
            node=node,
            hint="Write the schema with dicts, lists, strings, numbers and booleans.",
        )
    checked = JsonObject(schema)
    if not VALID_SCHEMAS.has(checked.text):  # the same content was checked: the same answer
        check_valid(schema, node=node)
        check_refs(schema, node=node)
        check_patterns(schema, node=node)  # before a reply or a property name meets one
        VALID_SCHEMAS.add(checked.text)
    return checked


_FENCE = re.compile(r"\A\s*```[A-Za-z0-9_-]*\s*\n(?P<body>.*?)\n?\s*```\s*\Z", re.DOTALL)


def schema_error(value: Any, schema: Mapping[str, Any], validator: Any = None) -> str | None:
    """Why ``value`` does not match ``schema`` (the most relevant error, with its place), or
    ``None`` when it does; ``validator``, when given, is one built for ``schema`` to reuse."""
    import jsonschema

    if validator is None:
        plain = schema.to_dict() if isinstance(schema, JsonObject) else dict(schema)
        validator = answer_validator(plain)
    error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    if error is None:
        return None
    where = "".join(f"[{p!r}]" for p in error.absolute_path)
    # The message quotes the refused value, which may be most of a very long reply.
    message = cut(error.message, QUOTE_CHARS // 2)
    return f"{message} (at {'value' + where if where else 'the top level'})"


def parse_reply(reply: str, schema: Mapping[str, Any], *, node: str) -> Any:
    """The value of a model's ``reply`` under ``schema``, or :class:`OutputError` saying why
    there is none (not JSON, or not matching)."""
    text = reply
    fenced = _FENCE.match(reply)
    if fenced:
        text = fenced.group("body")
    try:
        value = json.loads(text, parse_constant=_not_json_number, parse_float=_finite_number)
    except ValueError as exc:
        raise OutputError(f"the reply is not JSON ({exc})", reply) from None
    except RecursionError:
        raise OutputError(
            "the reply is not usable JSON (nested too deeply to read)", reply
        ) from None
    try:
        problem = schema_error(value, schema)
    except RecursionError:  # a reply nested deeper than checking it can follow (a tree's)
        raise OutputError(
            "the reply is nested too deeply to check against the output schema", reply
        ) from None
    if problem is not None:
        raise OutputError(f"the reply does not match the output schema: {problem}", reply)
    return value


def _finite_number(word: str) -> float:
    """A JSON number as a float; ``1e400`` (``inf``: past ``maximum``, no JSON) is refused."""
    value = float(word)
    if math.isinf(value):
        raise ValueError(f"{word} is too large a number")
    return value


def _not_json_number(word: str) -> Any:
    """``NaN``, ``Infinity`` and ``-Infinity``: Python's ``json`` reads them, JSON has no such
    numbers, and they would slip past ``minimum``/``maximum``."""
    raise ValueError(f"{word} is not a JSON number")
