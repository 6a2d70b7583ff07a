"""The agent node: :class:`AgentNode`, an LLM call, and :func:`checked_agent_node`, which
builds one from an ``Agent`` builder's fields, already checked, without checking them again.

A pipeline of thousands of agents makes thousands of these, so the fast construction sets each
slot in straight-line code; a check at import keeps it in step with the class's fields.

>>> node = checked_agent_node("writer", {"instruction": "Write from {findings}."})
>>> node == AgentNode("writer", instruction="Write from {findings}."), node.reads
(True, ('findings',))
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import attrs

from irgraph import checks
from irgraph.errors import refused_calls
from irgraph.ir.base import (
    _check_output,
    _check_settings,
    _json_object,
    _key_tuple,
    _keys,
    _optional_key,
    _optional_name,
    _optional_seconds,
    _optional_text,
    _Templated,
)
from irgraph.ir.values import JsonObject
from irgraph.slots import slot_setters
from irgraph.templates import Template, joined_reads, parse_template, system_template

__all__ = ["AgentNode", "checked_agent_node", "AGENT_FIELDS"]


#: The settings of an agent that sets none: one read-only object that every such agent shares.
_NO_SETTINGS = JsonObject()


@refused_calls
@attrs.frozen
class AgentNode(_Templated):
    """An LLM call: render ``instruction`` from state, ask the model, store the answer."""

    name: str = attrs.field(validator=checks.name.validator)
    instruction: str = attrs.field(default="", validator=checks.text.validator)
    writes: str | None = attrs.field(default=None, validator=_optional_key)
    model: str | None = attrs.field(default=None, validator=_optional_text)
    description: str = attrs.field(default="", validator=checks.text.validator)
    timeout: float | None = attrs.field(default=None, validator=_optional_seconds)
    #: The system prompt sent with every request, a template like the instruction.
    system: str = attrs.field(default="", validator=checks.text.validator, kw_only=True)
    #: Model settings passed to the provider on each request (temperature, max_tokens, ...).
    settings: JsonObject = attrs.field(
        default=_NO_SETTINGS, converter=_json_object, validator=_check_settings, kw_only=True
    )
    #: The JSON Schema of the answer: set, the parsed value (not text) is written to state.
    output: JsonObject | None = attrs.field(
        default=None, converter=_json_object, validator=_check_output, kw_only=True
    )
    #: How many times a reply that does not match ``output`` is asked again.
    output_retries: int = attrs.field(
        default=0, validator=checks.output_retries.validator, kw_only=True
    )
    inputs: tuple[str, ...] = attrs.field(default=(), converter=_key_tuple, validator=_keys)
    id: str | None = attrs.field(default=None, validator=_optional_name)
    depth = 0  # a leaf holds no scope
    template: Template = attrs.field(init=False, eq=False, repr=False)
    #: The system prompt's template; ``None`` for a system prompt with no brace (sent as is).
    system_template: Template | None = attrs.field(init=False, eq=False, repr=False)

    @template.default
    def _parse(self) -> Template:
        return parse_template(self.instruction, node=self.name)

    @system_template.default
    def _parse_system(self) -> Template | None:
        return system_template(self.system, node=self.name)

    @property
    def reads(self) -> tuple[str, ...]:
        """Keys the instruction or the system prompt requires (``{key}``), in order of first
        use, the instruction's first."""
        system = self.system_template
        if system is None:
            return self.template.reads
        return joined_reads(self.template, system)[0]

    @property
    def optional_reads(self) -> tuple[str, ...]:
        """Keys the instruction or the system prompt uses if set (``{key?}``) and neither
        requires."""
        system = self.system_template
        if system is None:
            return self.template.optional_reads
        return joined_reads(self.template, system)[1]


#: Each field ``checked_agent_node`` sets, with the default it gives a field the builder left
#: unset; the check below keeps this in step with the class.
_AGENT_DEFAULTS: dict[str, Any] = {
    "instruction": "",
    "writes": None,
    "model": None,
    "description": "",
    "timeout": None,
    "system": "",
    "settings": _NO_SETTINGS,
    "output": None,
    "output_retries": 0,
    "inputs": (),
    "id": None,
}
#: The names of the fields an ``Agent`` builder's settings may set (all but ``name``).
AGENT_FIELDS = frozenset(_AGENT_DEFAULTS)
if (
    {f.name: f.default for f in attrs.fields(AgentNode) if f.init and f.name != "name"}
    != _AGENT_DEFAULTS
    or {f.name for f in attrs.fields(AgentNode)}
    != AGENT_FIELDS | {"name", "template", "system_template"}
    or hasattr(AgentNode, "__attrs_post_init__")
    or {f.name: cast(Any, f.converter) for f in attrs.fields(AgentNode) if f.converter}
    != {"settings": _json_object, "output": _json_object, "inputs": _key_tuple}
):
    raise TypeError("AgentNode changed: checked_agent_node must set each of its fields.")


(
    _NAME,
    _INSTRUCTION,
    _WRITES,
    _MODEL,
    _DESCRIPTION,
    _TIMEOUT,
    _SYSTEM,
    _SETTINGS,
    _OUTPUT,
    _RETRIES,
    _INPUTS,
    _ID,
    _TEMPLATE,
    _SYSTEM_TEMPLATE,
) = slot_setters(AgentNode, "name", *_AGENT_DEFAULTS, "template", "system_template")


def checked_agent_node(name: str, fields: Mapping[str, Any]) -> AgentNode:
    """The :class:`AgentNode` of an ``Agent`` builder, whose methods checked each value as
    it was set: built without running the field validators again, which were a third of
    ``to_ir``'s time for a 10 000-agent pipeline, and slot by slot in straight-line code (a
    loop over the fields cost twice as much). Converters still run, and a field the node does
    not have goes through the class itself, for its error."""
    if not AGENT_FIELDS.issuperset(fields):
        return AgentNode(name, **fields)
    get = fields.get
    node = object.__new__(AgentNode)
    instruction = get("instruction", "")
    _NAME(node, name)
    _INSTRUCTION(node, instruction)
    _WRITES(node, get("writes"))
    _MODEL(node, get("model"))
    _DESCRIPTION(node, get("description", ""))
    _TIMEOUT(node, get("timeout"))
    system = get("system", "")
    _SYSTEM(node, system)
    settings = get("settings")
    _SETTINGS(node, _NO_SETTINGS if settings is None else _json_object(settings))
    output = get("output")
    _OUTPUT(node, None if output is None else _json_object(output))
    _RETRIES(node, get("output_retries", 0))
    inputs = get("inputs")
    _INPUTS(node, () if inputs is None else _key_tuple(inputs))
    _ID(node, get("id"))
    _TEMPLATE(node, parse_template(instruction, node=name))
    _SYSTEM_TEMPLATE(node, system_template(system, node=name))
    return node
