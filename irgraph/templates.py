"""Prompt templates (an agent's instruction and system prompt, a gate's message): ``{key}``
reads a state key, ``{key?}`` reads it if set, ``{key.field}`` reads a field of the object a
key holds (a dotted path, as a route's ``.on`` takes: :mod:`irgraph.prompt_values`), and
``{{``/``}}`` are literal braces.

Parsing uses the standard format-string parser, so the rules are Python's own; anything
beyond a key or a dotted path (format specs, conversions, index access) is rejected with an
error naming the node, because a prompt template is data, not code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from string import Formatter
from typing import Any

import attrs

from irgraph.checks import is_key
from irgraph.errors import PipelineError, a_or_an
from irgraph.prompt_values import as_text, none_message, path_filled, path_render, path_values

__all__ = [
    "Template",
    "parse_template",
    "render",
    "template_values",
    "filled",
    "none_message",
    "as_text",
    "system_template",
    "joined_reads",
    "filled_prompts",
    "literal_key_warnings",
    "read_as",
    "system_read",
]

_PARSE = Formatter().parse


@attrs.frozen
class Template:
    """A parsed template: literal text and keys, alternating.

    ``parts`` holds ``(literal, key, optional)`` triples; ``key`` is ``None`` for trailing text,
    and a dotted path (``"verdict.reason"``) for a field of a key. ``reads`` and
    ``optional_reads`` name whole keys (a path's first name); ``fields`` holds the paths, and
    ``where`` the text the template is (``"instruction"``), for the errors of a run.
    """

    parts: tuple[tuple[str, str | None, bool], ...]
    reads: tuple[str, ...]
    optional_reads: tuple[str, ...]
    fields: tuple[str, ...] = ()
    where: str = "instruction"
    #: ``(before, key, after)`` for a template whose only field is one required ``{key}``, and
    #: ``(text, None, "")`` for one with no field; else ``None``. Most instructions are one of
    #: these, which :func:`filled` then renders without walking ``parts``.
    simple: tuple[str, str | None, str] | None = attrs.field(init=False, eq=False, repr=False)

    @simple.default
    def _simple(self) -> tuple[str, str | None, str] | None:
        keys = [i for i, (_, key, _) in enumerate(self.parts) if key is not None]
        if not keys:
            return "".join(literal for literal, _, _ in self.parts), None, ""
        if len(keys) > 1 or self.fields or self.parts[keys[0]][2]:
            return None
        at = keys[0]
        before = "".join(literal for literal, _, _ in self.parts[: at + 1])
        after = "".join(literal for literal, _, _ in self.parts[at + 1 :])
        return before, self.parts[at][1], after


#: Templates by the text they were parsed from: a builder parses an agent's instruction to
#: check it, and the IR node it makes parses the same text again (as do JSON loading and
#: ``from_graph``). Bounded like the ``re`` module's cache: emptied when full, so it holds at
#: most :data:`_PARSED_MAX` (enough for the instructions of a 10 000-agent pipeline; past
#: that, a parse costs what it did without the cache). Templates are immutable, so sharing one
#: is safe.
_PARSED: dict[str, Template] = {}
_PARSED_MAX = 16_384


def parse_template(text: str, *, node: str = "?", field: str = "instruction") -> Template:
    """Parse ``text`` into a :class:`Template`, naming ``node`` in any error.

    >>> parse_template("Write from {findings} and {notes?}; {{literal}}").reads
    ('findings',)
    >>> parse_template("Write from {findings} and {notes?}").optional_reads
    ('notes',)
    >>> fix = parse_template("Fix {verdict.reason} ({verdict.meta.source?})")
    >>> fix.reads, fix.fields
    (('verdict',), ('verdict.reason', 'verdict.meta.source'))
    """
    known = _PARSED.get(text) if type(text) is str else None
    if known is not None:
        if known.fields and known.where != field:  # its run errors name the text it is
            return attrs.evolve(known, where=field)
        return known
    if not isinstance(text, str):
        # Checked here too: IR nodes parse their template before attrs runs validators.
        raise PipelineError(
            f"The {field} of '{node}' must be a string (got {text!r} that is "
            f"{a_or_an(type(text).__name__)} {type(text).__name__}).",
            node=node,
        )
    try:
        raw = list(_PARSE(text))
    except ValueError as exc:
        raise PipelineError(
            f"The {field} of '{node}' is not a valid template ({exc}): {text!r}.",
            node=node,
            hint="Write a literal brace as '{{' or '}}'.",
        ) from None
    parts: list[tuple[str, str | None, bool]] = []
    reads: dict[str, None] = {}
    optional: dict[str, None] = {}
    paths: dict[str, None] = {}
    for literal, name, spec, conversion in raw:
        if name is None:
            parts.append((literal, None, False))
            continue
        is_optional = name.endswith("?")
        key = name[:-1] if is_optional else name
        if conversion or spec or not is_key(key):
            if conversion or spec or not _is_path(key):
                raise _field_error(f"The {field} of '{node}'", node, name, key, spec, conversion)
            paths[key] = None
        parts.append((literal, key, is_optional))
        key = key.partition(".")[0]  # {verdict.reason} reads the key verdict
        (optional if is_optional else reads)[key] = None
    for key in reads:
        optional.pop(key, None)
    template = Template(tuple(parts), tuple(reads), tuple(optional), tuple(paths), field)
    if type(text) is str:  # a str subclass may compare equal to a different text
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        _PARSED[text] = template
    return template


def _is_path(text: str) -> bool:
    """Whether ``text`` is a key and its fields, ``verdict.reason`` (the rule of
    :func:`irgraph.ir.key_paths.is_key_path`, which this module cannot import); a field
    named like ``__class__`` is none, as a JSON value has no such field to read."""
    names = text.split(".")
    return len(names) > 1 and all(is_key(n) and not n.startswith("__") for n in names)


def _field_error(
    where: str, node: str, name: str, key: str, spec: str | None, conversion: str | None
) -> PipelineError:
    """Why the field ``{name}`` of a template is refused: first when it is no key or dotted
    path (literal braces such as ``{"a": 1}`` parse as a field with a format spec), then for
    its format spec or conversion."""
    extra = ("!" + conversion if conversion else "") + (":" + spec if spec else "")
    shown = "{" + name + extra + "}"
    if not is_key(key) and not _is_path(key):
        from irgraph.key_fields import dotted_of, field_key_hint, field_of, part_of  # a refusal

        if not extra and (field := field_of(key)) is not None:
            dotted = dotted_of(key)
            how = (
                f"its dotted path, {{{dotted}}}"
                if dotted is not None
                else f"a dotted path of names, never a list's item by its index: {{{field[0]}}} "
                "gives the whole value, as JSON"
            )
            return PipelineError(
                f"{where} contains {shown}, which reads {part_of(key)} of '{field[0]}', but a "
                f"template reads a state key, {{findings}}, or a field of one by {how}.",
                node=node,
                key=field[0],
                hint=field_key_hint(key, "template"),
            )
        what = "an empty field" if not key else f"{shown}, which is not a plain key"
        bare = name.strip().strip("?$").strip()  # { topic }, {?topic}, {topic??}, {$topic}
        if _is_path(bare.replace("?", "")):  # {verdict?.reason}: the ? goes at the end
            bare = bare.replace("?", "")
        if bare != name and (is_key(bare) or _is_path(bare)) and not extra:
            what += f" (did you mean {{{bare}{'?' if '?' in name else ''}}}?)"
        return PipelineError(
            f"{where} contains {what}; a field must be a state key such as {{findings}} or "
            "{findings?}, or a field of one such as {verdict.reason}.",
            node=node,
            key=key or None,
            hint="Write a literal brace as '{{' or '}}'.",
        )
    return PipelineError(
        f"{where} uses {shown}, but templates take keys and their fields only (no format "
        "specs or conversions).",
        node=node,
        key=name,
        hint="Format the value in a Transform and read its result with {key}.",
    )


def render(template: Template, values: Mapping[str, Any]) -> str:
    """Substitute ``values`` into ``template``; optional keys that are unset become ``""``.

    A required key that is missing raises ``KeyError``: callers check reads before running.

    >>> render(parse_template("Hi {name}{suffix?}!"), {"name": "Ada"})
    'Hi Ada!'
    """
    return path_render(template, values)  # one loop renders keys and their fields


def template_values(template: Template, state: Mapping[str, Any]) -> dict[str, Any]:
    """The values ``template`` sees in ``state``: every required key, and the optional keys
    that are set. One rule for every backend and for generated code: ``None`` means no value,
    so an optional key holding it renders as empty text and a required key holding it is an
    error (a ``ValueError`` naming the key; the backend names the node).

    >>> template_values(parse_template("{a} {b?} {c?}"), {"a": 1, "c": 3, "d": 4})
    {'a': 1, 'c': 3}
    """
    if template.fields:  # a key read for a field of it: its None is said as that
        return path_values(template, state)
    values: dict[str, Any] = {}
    for key in template.reads:  # a loop, not a comprehension: that is one more call per agent
        value = state[key]
        if value is None:
            raise ValueError(none_message(key))
        values[key] = value
    if template.optional_reads:
        for key in template.optional_reads:
            if key in state:
                values[key] = state[key]
    return values


def filled(template: Template, state: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """``render(template, values)`` and the ``values`` it used (:func:`template_values`), in
    one pass over the template's parts: every model call and gate needs both, and for a
    template with no ``{key?}`` one loop does it (one call and one walk of the parts where
    there were two of each). The values are in the order :func:`template_values` gives them.

    >>> filled(parse_template("From {a}: {b?}."), {"a": "x", "b": [1]})
    ('From x: [1].', {'a': 'x', 'b': [1]})
    """
    simple = template.simple
    if simple is not None:  # one {key}, or none: no walk of the parts
        before, key, after = simple
        if key is None:
            return before, {}
        value = state[key]
        if type(value) is str:  # else the walk below says why None is refused, or converts
            return before + value + after, {key: value}
    if template.fields:  # {verdict.reason}: irgraph.prompt_values
        return path_filled(template, state)
    values: dict[str, Any] = {}
    text = ""
    for literal, key, optional in template.parts:
        text += literal
        if key is None:
            continue
        if optional:  # optional values come after the required ones: the two-step way
            values = template_values(template, state)
            return render(template, values), values
        value = state[key]
        if value is None:
            raise ValueError(none_message(key))
        values[key] = value
        text += value if type(value) is str else as_text(value)
    return text, values


def system_template(text: str, *, node: str = "?") -> Template | None:
    """An agent's system prompt as a :class:`Template`, or ``None`` for text with no brace
    (nothing to fill: a backend sends it as it is, at no cost per call).

    >>> system_template("You are {persona}.", node="w").reads
    ('persona',)
    >>> system_template("Be brief.") is None
    True
    """
    if isinstance(text, str) and "{" not in text and "}" not in text:
        return None
    return parse_template(text, node=node, field="system prompt")  # which refuses a non-str


def read_as(data: Mapping[str, Any], key: str, optional: bool = False) -> str:
    """How a node (``data``: its graph attributes) reads ``key`` in its templates, for a
    message: ``{key}``, or ``{key.field}`` when the first read of it is a field's;
    ``optional`` gives the form that reads it if set (``{key?}``, ``{key.field?}``).

    >>> read_as({"instruction": "Fix {v.reason}."}, "v", optional=True), read_as({}, "v")
    ('{v.reason?}', '{v}')
    """
    for name in ("instruction", "system", "message"):
        text = data.get(name)
        if not isinstance(text, str) or key + "." not in text:
            continue
        try:
            parts = parse_template(text).parts
        except PipelineError:  # a foreign graph's attributes: said elsewhere
            continue
        for _, path, _ in parts:
            if path is not None and path.partition(".")[0] == key:
                return "{" + path + ("?" if optional else "") + "}"
    return "{" + key + ("?" if optional else "") + "}"


def system_read(data: Mapping[str, Any], key: str) -> bool:
    """Whether an agent's system prompt, not its instruction, requires ``key`` (``data``: the
    agent's graph attributes)."""
    try:
        system = system_template(data.get("system", ""))
        instruction = parse_template(data.get("instruction", ""))
    except (PipelineError, TypeError):  # a foreign graph's attributes: said elsewhere
        return False
    return system is not None and key in system.reads and key not in instruction.reads


def joined_reads(*templates: Template) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The keys ``templates`` require, and the keys they read only if set (a key one of them
    requires is required), each in order of first use.

    >>> joined_reads(parse_template("{a} {b?}"), parse_template("{b} {c?}"))
    (('a', 'b'), ('c',))
    """
    required = dict.fromkeys(key for template in templates for key in template.reads)
    optional = dict.fromkeys(
        key for template in templates for key in template.optional_reads if key not in required
    )
    return tuple(required), tuple(optional)


def filled_prompts(
    instruction: Template, system: Template | None, text: str, state: Mapping[str, Any]
) -> tuple[str, str, dict[str, Any]]:
    """An agent's prompt, its system prompt (``text`` as it is when ``system`` is ``None``)
    and the values both used (:func:`filled`): the instruction's keys, then the system
    prompt's others.

    >>> filled_prompts(parse_template("Go {a}."), parse_template("As {b}."), "", {"a": 1, "b": 2})
    ('Go 1.', 'As 2.', {'a': 1, 'b': 2})
    """
    prompt, values = filled(instruction, state)
    if system is None:
        return prompt, text, values
    filled_system, more = filled(system, state)
    for key, value in more.items():
        values.setdefault(key, value)
    return prompt, filled_system, values


#: {{key}}, {{ key }}, {{key.field}}: group 1 the key, group 2 its fields (".field", or "")
_LITERAL_KEY = re.compile(r"\{\{ *([A-Za-z_][A-Za-z0-9_]*)((?:\.[A-Za-z_][A-Za-z0-9_]*)*)\?? *\}\}")


def literal_key_warnings(G: Any, inputs: Any, nodes: Any = None) -> list[str]:
    """The warnings for instructions, system prompts and gate messages of graph ``G`` that
    hold ``{{key}}`` where ``key`` is a key of the pipeline (one of its ``inputs``, written by
    a step, or a map-over's item) that the node does not read: double braces are literal
    braces, so the model is sent the text ``{key}``, not the value (``{{key}}`` and
    ``{{ key }}`` are how Jinja, Mustache and LangChain's f-string-escaped templates look, and a
    slip from them).
    ``nodes``: the ids of the nodes to look at (default: every node).

    >>> from irgraph import Agent, to_graph
    >>> literal_key_warnings(to_graph(Agent("a").instruct("About {{topic}}.")), ["topic"])[0][:40]
    "The instruction of 'a' holds {{topic}}: "
    """
    found = []
    for nid in G if nodes is None else nodes:
        data = G.nodes[nid]
        agent = data["kind"] == "agent"
        texts = {"instruction": data.get("instruction"), "system prompt": data.get("system")}
        for field, text in texts.items() if agent else [("message", data.get("message"))]:
            if not isinstance(text, str) or "{{" not in text:
                continue
            read = {*data["reads"], *data["optional_reads"]}  # {{{key}}} reads it, in braces
            written: dict[str, tuple[str, str]] = {}  # each key as first written, in order
            for match in _LITERAL_KEY.finditer(text):
                written.setdefault(match[1], (match[0], match[1] + match[2]))
            names = [(k, w) for k, w in written.items() if k not in read]
            if names:
                found.append((nid, field, names))
    if not found:
        return []
    known = {*inputs}
    for _, data in G.nodes(data=True):
        known.update(data["writes"])
        known.update([data["item"]] if data["kind"] == "map_over" else [])
    warnings = []
    for nid, field, names in found:
        pairs = [(key, w) for key, w in names if key in known]
        keys = [key for key, _ in pairs]
        if keys:
            shown = ", ".join(w for _, (w, _) in pairs)
            fix = ", ".join("{" + path + "}" for _, (_, path) in pairs)
            sent = "shown" if field == "message" else "sent to the model"
            them = "the keys" if len(keys) > 1 else "the key"
            first, path = pairs[0][1]
            value = f"the state key '{keys[0]}'" if path == keys[0] else f"the field '{path}'"
            warnings.append(
                f"The {field} of '{nid}' holds {shown}: double braces are literal braces, so "
                f"the text {first[1:-1]} is {sent} as it is, not the value of {value}. "
                f"Write {fix} to read {them} (a single pair of braces)."
            )
    return warnings
