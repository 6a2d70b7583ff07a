"""A catalog of bad inputs and the errors irgraph gives for them.

Each :class:`BadInput` is one mistake a user can make: the code that makes it (a Python
expression, shown as is in the documentation), the :class:`~irgraph.errors.IrgraphError`
subclass it must raise, and pieces of text its message must hold — what is wrong (the node,
key, file or package) and how to fix it. Command-line mistakes also carry the ``irgraph``
command that makes them. The misbehaving providers the rows use (``answering``, ``raising``,
...) are public, in :mod:`irgraph.testing`.

The expressions run in the namespace :func:`namespace` builds from :data:`IMPORTS` and
:data:`FIXTURES`, so the documentation can print exactly the code that is tested:

>>> row = next(r for r in CATALOG if r.id == "loop-times-zero")
>>> row.code
'writer * 0'
>>> type(trigger(row)).__name__
'PipelineError'
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import attrs

from irgraph.builder import UnknownMethodError
from irgraph.builder_keywords import BuilderArgumentError
from irgraph.cli import CliError
from irgraph.compile import BackendNotFoundError
from irgraph.errors import ArgumentError, IrgraphError, MissingExtraError, PipelineError, RunError
from irgraph.providers import ProviderError

__all__ = [
    "BadInput",
    "CATALOG",
    "IMPORTS",
    "FIXTURES",
    "namespace",
    "trigger",
    "ir_json",
    "deep_json",
    "loops",
    "saved",
    "without",
]


# Helpers the catalog's expressions use ---------------------------------------------------


def ir_json(root: dict[str, Any], *, format: str = "irgraph-ir", version: Any = 1) -> str:
    """The IR JSON text of a file whose root node is ``root``.

    >>> ir_json({"kind": "AgentNode", "name": "a"})
    '{"format": "irgraph-ir", "version": 1, "root": {"kind": "AgentNode", "name": "a"}}'
    """
    import json

    return json.dumps({"format": format, "version": version, "root": root})


def deep_json(depth: int) -> str:
    """IR JSON text nesting ``depth`` sequences around one agent.

    >>> from irgraph.ir import from_json
    >>> from_json(deep_json(2)).children[0].children[0].name
    'a'
    """
    head = "".join(f'{{"kind": "SequenceNode", "name": "s{i}", "children": [' for i in range(depth))
    leaf = '{"kind": "AgentNode", "name": "a", "instruction": "Hi."}'
    return f'{{"format": "irgraph-ir", "version": 1, "root": {head}{leaf}{"]}" * depth}}}'


def loops(depth: int) -> Any:
    """``depth`` loops nested around one agent, built one level at a time."""
    from irgraph import Agent, Loop

    pipeline: Any = Agent("writer").instruct("Write.").writes("text")
    for i in range(depth):
        pipeline = Loop(f"l{i}").step(pipeline).max_iterations(1)
    return pipeline


def saved(pipeline: Any) -> Any:
    """``pipeline``'s graph after a trip through node-link JSON, as another process reads it."""
    import json

    import networkx as nx

    from irgraph import to_graph

    return nx.node_link_graph(json.loads(json.dumps(nx.node_link_data(to_graph(pipeline)))))


@contextmanager
def _hidden(package: str) -> Iterator[None]:
    # A None entry in sys.modules makes `import package` (and its submodules) raise
    # ImportError; only these entries are touched, so nothing else is re-imported later.
    names = [n for n in sys.modules if n == package or n.startswith(package + ".")]
    saved = {n: sys.modules[n] for n in names}
    for name in {package, *names}:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        for name in {package, *names}:
            del sys.modules[name]
        sys.modules.update(saved)


def without(package: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``fn(*args, **kwargs)`` as if ``package`` were not installed."""
    with _hidden(package):
        return fn(*args, **kwargs)


# The namespace ---------------------------------------------------------------------------

#: The imports the catalog's expressions need (also printed in the documentation).
IMPORTS = """\
import asyncio
import time

import networkx as nx

from irgraph import (
    Agent, FanOut, Gate, Loop, MapOver, Pipeline, Route, Transform, compile, from_graph,
    arun_many, from_portable, portable, run, run_many, to_graph, validate
)
from irgraph.backends.asyncio_backend import AsyncioBackend
from irgraph.backends.prefect_backend import PrefectBackend
from irgraph.backends.prefect_worker import PrefectWorkerConfig
from irgraph.analysis import critical_path, lineage, makespan
from irgraph.backends.dot import to_dot
from irgraph.backends.mermaid import to_mermaid
from irgraph.cli import (
    check_backend, check_keys, check_modules, check_output, check_provider, check_spelling,
    gate_handler, load_target, parse_answers, parse_state,
)
from irgraph.compile import get_backend
from irgraph.display import render
from irgraph.ir import AgentNode, LoopNode, SequenceNode, from_json
from irgraph.openai_provider import OpenAIProvider
from irgraph.provider_spec import provider_from_spec
from irgraph.testing import FakeProvider, answering, answering_synchronously, hanging, raising
from tests.support.bad_inputs import deep_json, ir_json, loops, saved, without
"""

#: Names the expressions share, as ``(name, expression)`` pairs evaluated in order.
FIXTURES: tuple[tuple[str, str], ...] = (
    ("writer", 'Agent("writer").instruct("Write about {topic}.").writes("text")'),
    ("critic", 'Agent("critic").instruct("Criticise {text}.").writes("notes")'),
    (
        "classify",
        'Agent("classify").instruct("Classify {ticket}.")'
        '.output({"type": "string", "enum": ["bug", "feature", "question"]}).writes("category")',
    ),
    ("fix", 'Agent("fix").instruct("Write a patch for {ticket}.").writes("patch")'),
    ("reply", 'Agent("reply").instruct("Answer {ticket}.").writes("reply")'),
    ("summarise", 'Agent("summarise").instruct("Summarise {paper}.").writes("summary")'),
    (
        "summaries",
        'MapOver("summaries").over("papers", item="paper").step(summarise).writes("summaries")',
    ),
)


def namespace() -> dict[str, Any]:
    """A fresh namespace holding :data:`IMPORTS` and :data:`FIXTURES`."""
    names: dict[str, Any] = {}
    exec(IMPORTS, names)
    for name, code in FIXTURES:
        names[name] = eval(code, names)
    return names


# The catalog -----------------------------------------------------------------------------


@attrs.frozen
class BadInput:
    """One bad input: ``code`` must raise ``error`` with every string of ``contains`` in its
    message. ``command`` is the ``irgraph`` command line that makes the same mistake."""

    id: str
    area: str
    code: str
    error: type[IrgraphError]
    contains: tuple[str, ...]
    command: tuple[str, ...] = ()


def trigger(row: BadInput, names: dict[str, Any] | None = None) -> BaseException | None:
    """Evaluate ``row.code``; return what it raised (``None`` if it raised nothing)."""
    try:
        eval(row.code, namespace() if names is None else names)
    except Exception as error:
        return error
    return None


def _row(
    id: str,
    area: str,
    code: str,
    error: type[IrgraphError],
    *contains: str,
    command: tuple[str, ...] = (),
) -> BadInput:
    return BadInput(id, area, code, error, contains, command)


def _json(id: str, root: str, *contains: str) -> BadInput:
    return _row(id, "IR JSON", f"from_json(ir_json({root}))", PipelineError, *contains)


CATALOG: tuple[BadInput, ...] = (
    # builder ---------------------------------------------------------------------------
    _row(
        "empty-name",
        "builder",
        'Agent("")',
        PipelineError,
        "non-empty string",
        "such as 'researcher'",
    ),
    _row("name-not-str", "builder", "Agent(42)", PipelineError, "got 42 of type int", "Pass a"),
    _row(
        "loop-times-zero",
        "builder",
        "writer * 0",
        PipelineError,
        "'writer' * 0",
        "at least 1",
        "Repeat with e.g. * 3",
    ),
    _row(
        "loop-times-true",
        "builder",
        "writer * True",
        PipelineError,
        "'writer' * True",
        "got True of type bool",
        "Repeat with e.g. * 3",
    ),
    _row(
        "loop-times-float",
        "builder",
        "writer * 2.5",
        PipelineError,
        "'writer' * 2.5",
        "whole number",
        "max_iterations(n)",
    ),
    _row(
        "transform-not-callable",
        "builder",
        'Transform("clean", 42)',
        PipelineError,
        "'clean' needs a callable",
        "Pass a function",
    ),
    _row(
        "transform-bad-path",
        "builder",
        'Transform("clean", "os.system")',
        PipelineError,
        "'clean'",
        "'package.module:function'",
    ),
    _row(
        "writes-not-identifier",
        "builder",
        'Agent("writer").writes("final text")',
        PipelineError,
        "'writer'.writes()",
        "'final text'",
        "Use a key such as 'findings'",
    ),
    _row(
        "reads-not-identifier",
        "builder",
        'Transform("clean", str.strip).reads("raw-text")',
        PipelineError,
        "'clean'.reads()",
        "'raw-text'",
        "Use a key such as",
    ),
    _row(
        "inputs-not-identifier",
        "builder",
        'Agent("writer").inputs("not a key")',
        PipelineError,
        "'writer'.inputs()",
        "'not a key'",
        "Use a key such as",
    ),
    _row(
        "id-empty",
        "builder",
        'Agent("writer", id="")',
        PipelineError,
        "The id given to Agent('writer')",
        "non-empty string",
        "Pass a short descriptive name",
    ),
    _row(
        "over-not-identifier",
        "builder",
        'MapOver("each").over("1papers")',
        PipelineError,
        "'each'.over()",
        "'1papers'",
        "Use a key such as",
    ),
    _row(
        "over-path-trailing-dot",
        "builder",
        'MapOver("drafts").over("plan.")',
        PipelineError,
        "'drafts'.over()",
        "'plan.' ends with a dot",
        "Write .over('plan') to iterate that",
    ),
    _row(
        "over-path-leading-dot",
        "builder",
        'MapOver("drafts").over(".topics")',
        PipelineError,
        "'drafts'.over()",
        "'.topics' starts with a dot",
        "e.g. .over('plan.topics')",
    ),
    _row(
        "over-path-double-dot",
        "builder",
        'MapOver("drafts").over("plan..topics")',
        PipelineError,
        "'drafts'.over()",
        "'plan..topics' has two dots in a row",
        "Write .over('plan.topics')",
    ),
    _row(
        "over-path-optional",
        "builder",
        'MapOver("drafts").over("plan.topics?")',
        PipelineError,
        "'drafts'.over()",
        "a map-over's list is never optional",
        "Write .over('plan.topics')",
    ),
    _row(
        "over-item-not-identifier",
        "builder",
        'MapOver("each").over("papers", item="a paper")',
        PipelineError,
        "'each'.over()",
        "'a paper'",
        "Use a key such as",
    ),
    _row(
        "step-not-builder",
        "builder",
        'Pipeline("report").step("writer")',
        PipelineError,
        "'report'.step()",
        "got 'writer' that is a str",
        "Compose Agent",
    ),
    _row(
        "step-function",
        "builder",
        'Pipeline("report").step(str.strip)',
        PipelineError,
        "'report'.step()",
        "Transform('name', fn)",
    ),
    _row(
        "sequence-int-left",
        "builder",
        "3 >> writer",
        PipelineError,
        "'writer'.>>()",
        "got 3",
        "Compose Agent",
    ),
    _row(
        "parallel-str-left",
        "builder",
        '"critic" | writer',
        PipelineError,
        "'writer'.|()",
        "got 'critic'",
        "Compose Agent",
    ),
    _row("instruct-not-str", "builder", "writer.instruct(42)", PipelineError, "'writer'", "string"),
    _row(
        "timeout-zero",
        "builder",
        "writer.timeout(0)",
        PipelineError,
        "'writer'.timeout()",
        "positive, finite number of seconds",
    ),
    _row(
        "max-iterations-zero",
        "builder",
        'Loop("refine").max_iterations(0)',
        PipelineError,
        "'refine'.max_iterations()",
        "at least 1",
    ),
    _row(
        "until-not-key-or-function",
        "builder",
        'Loop("refine").until(3)',
        PipelineError,
        "'refine'.until() stops on a state key or a predicate of the state (got 3 of type int)",
        ".until('done')",
        ".until(lambda state: ...)",
    ),
    _row(
        "method-typo",
        "builder",
        'writer.wrties("text")',
        UnknownMethodError,
        "'wrties'",
        "Did you mean 'writes'?",
    ),
    _row(
        "method-of-another-builder",
        "builder",
        'Transform("count", len).reads("text").output({"type": "integer"})',
        UnknownMethodError,
        "Transform 'count' has no method 'output'",
        "Agent has .output(), a Transform does not",
        "The methods of a Transform:",
    ),
    # templates -------------------------------------------------------------------------
    _row(
        "template-unclosed",
        "template",
        'Agent("writer").instruct("Write about {topic")',
        PipelineError,
        "instruction of 'writer'",
        "expected '}'",
        "'{{'",
    ),
    _row(
        "template-stray-close",
        "template",
        'Agent("writer").instruct("Use a set like {a, b}}")',
        PipelineError,
        "instruction of 'writer'",
        "'}}'",
    ),
    _row(
        "template-format-spec",
        "template",
        'Agent("writer").instruct("Write {topic:>20}.")',
        PipelineError,
        "'writer'",
        "{topic:>20}",
        "Format the value in a Transform",
    ),
    _row(
        "template-conversion",
        "template",
        'Agent("writer").instruct("Write {topic!r}.")',
        PipelineError,
        "'writer'",
        "{topic!r}",
        "Format the value in a Transform",
    ),
    _row(
        "template-brackets",
        "template",
        """Agent("writer").instruct("Write {paper['title']}.")""",
        PipelineError,
        "'writer'",
        "{paper['title']}",
        "Write {paper.title}",
    ),
    _row(
        "template-index",
        "template",
        'Agent("writer").instruct("Write {papers[0]}.")',
        PipelineError,
        "'writer'",
        "{papers[0]}",
        "{papers} gives the whole value",
    ),
    _row(
        "template-field-of-free-text",
        "template",
        'validate(to_graph(Agent("judge").instruct("Judge {ticket}.").writes("verdict") >> '
        'Agent("fixer").instruct("Fix: {verdict.reason}"), inputs={"ticket"}))',
        PipelineError,
        "The instruction of 'fixer' reads {verdict.reason}, the field 'reason' of 'verdict'",
        "agent 'judge' writes 'verdict' as free text",
        ".output(Model) with a 'reason' field",
    ),
    _row(
        "template-field-misspelt",
        "template",
        'validate(to_graph(Agent("judge").instruct("Judge {ticket}.").output({"type": "object", '
        '"properties": {"reason": {"type": "string"}}}).writes("verdict") >> '
        'Agent("fixer").instruct("Fix: {verdict.reasn}"), inputs={"ticket"}))',
        PipelineError,
        "declares no field 'reasn' in 'verdict' (its fields: 'reason')",
        "Did you mean {verdict.reason}?",
    ),
    _row(
        "template-empty-field",
        "template",
        'Agent("writer").instruct("Write {}.")',
        PipelineError,
        "'writer'",
        "empty field",
        "'{{'",
    ),
    _row(
        "template-system-json",
        "template",
        """Agent("writer").system('Reply as JSON like {"title": "..."}.')""",
        PipelineError,
        "system prompt of 'writer'",
        "which is not a plain key",
        "'{{'",
    ),
    _row(
        "template-system-unknown-key",
        "template",
        'validate(to_graph(writer >> Agent("editor").system("You edit {txt}."), inputs={"topic"}))',
        PipelineError,
        "'editor' reads {txt}",
        "Did you mean 'text'?",
    ),
    _row(
        "template-gate-message",
        "template",
        'Gate("approve").message("Approve {text")',
        PipelineError,
        "message of 'approve'",
        "'{{'",
    ),
    _row(
        "template-unknown-key",
        "template",
        'validate(to_graph(writer >> Agent("editor").instruct("Edit {txt}."), inputs={"topic"}))',
        PipelineError,
        "'editor' reads {txt}",
        "Did you mean 'text'?",
        "{txt?}",
    ),
    # graphs ----------------------------------------------------------------------------
    _row(
        "parallel-write-race",
        "graph",
        'validate(to_graph(writer | Agent("poet").writes("text"), inputs={"topic"}))',
        PipelineError,
        "'writer_and_poet' both write 'text'",
        "Give each branch its own key",
    ),
    _row(
        "parallel-sibling-read",
        "graph",
        "validate(to_graph(writer | critic, inputs={'topic'}))",
        PipelineError,
        "'critic' reads 'text'",
        "sibling 'writer'",
        "Run 'writer' before the parallel block",
    ),
    _row(
        "empty-fanout",
        "graph",
        'validate(to_graph(FanOut("reviews")))',
        PipelineError,
        "FanOut 'reviews' has no branches",
        ".branch(...)",
    ),
    _row(
        "empty-pipeline",
        "graph",
        'validate(to_graph(Pipeline("report")))',
        PipelineError,
        "Pipeline 'report' has no steps",
        ".step(...)",
    ),
    _row(
        "empty-loop",
        "graph",
        'validate(to_graph(Loop("refine").max_iterations(3)))',
        PipelineError,
        "Loop 'refine' has no steps",
        ".step(...)",
    ),
    _row(
        "loop-unbounded",
        "graph",
        'validate(to_graph(Loop("refine").step(critic), inputs={"text"}))',
        PipelineError,
        "Loop 'refine' has no max_iterations",
        ".max_iterations(n)",
    ),
    _row(
        "map-over-incomplete",
        "graph",
        'validate(to_graph(MapOver("each").step(critic), inputs={"text"}))',
        PipelineError,
        "MapOver 'each' has no list to iterate",
        ".over('papers', item='paper')",
        ".writes('results')",
    ),
    _row(
        "graph-of-non-pipeline",
        "graph",
        'to_graph("writer")',
        PipelineError,
        "got 'writer' of type str",
        ".to_ir()",
    ),
    _row(
        "mermaid-of-non-pipeline",
        "graph",
        'to_mermaid("writer")',
        PipelineError,
        "got 'writer' of type str",
        "a graph from to_graph",
        "to_graph(pipeline)",
    ),
    _row(
        "validate-builder",
        "graph",
        "validate(writer)",
        PipelineError,
        "Agent('writer')",
        "validate(to_graph(pipeline))",
    ),
    _row(
        "input-not-identifier",
        "graph",
        'to_graph(writer, inputs={"the topic"})',
        PipelineError,
        "'the topic'",
        "must be a state key",
    ),
    _row(
        "inputs-not-keys",
        "graph",
        "to_graph(writer, inputs=5)",
        PipelineError,
        "to_graph(inputs=...) must be a state key or a collection of state keys",
        "got 5 of type int",
    ),
    _row(
        "writes-not-ascii",
        "builder",
        'writer.writes("café")',
        PipelineError,
        "'writer'.writes()",
        "ASCII letters",
        "got 'café'",
    ),
    # IR JSON ---------------------------------------------------------------------------
    _row(
        "json-malformed",
        "IR JSON",
        'from_json("{not json")',
        PipelineError,
        "Invalid IR JSON",
        "line 1 column 2",
        "irgraph.ir.to_json",
    ),
    _row(
        "json-not-text",
        "IR JSON",
        "from_json(None)",
        PipelineError,
        "Invalid IR JSON",
        "NoneType",
        "irgraph.ir.to_json",
    ),
    _row(
        "json-wrong-format",
        "IR JSON",
        'from_json(ir_json({"kind": "AgentNode", "name": "a"}, format="langgraph"))',
        PipelineError,
        '"format": "irgraph-ir"',
        "irgraph.ir.to_json",
    ),
    _row(
        "json-wrong-version",
        "IR JSON",
        'from_json(ir_json({"kind": "AgentNode", "name": "a"}, version=2))',
        PipelineError,
        "version 2 is not supported",
        "Write the file again",
    ),
    _json(
        "json-unknown-kind",
        '{"kind": "ShellNode", "name": "a"}',
        "at root",
        "'ShellNode'",
        "Known kinds: AgentNode",
    ),
    _json(
        "json-misspelt-kind",
        '{"kind": "AgentNod", "name": "a"}',
        "at root",
        "'AgentNod'",
        "Did you mean 'AgentNode'?",
    ),
    _json(
        "json-graph-kind-word",
        '{"kind": "map_over", "name": "a"}',
        "at root",
        "'map_over'",
        "Did you mean 'MapOverNode'?",
    ),
    _json(
        "json-system-not-text",
        '{"kind": "AgentNode", "name": "a", "instruction": "Hi.", "system": 5}',
        "at root",
        "The system prompt of 'a' must be a string",
        "got 5 that is an int",
    ),
    _json(
        "json-timeout-too-large-for-a-float",
        '{"kind": "AgentNode", "name": "a", "instruction": "Hi.", "timeout": 10**400}',
        "at root",
        "The timeout of AgentNode 'a' must be a positive, finite number of seconds",
        "got a number of 400+ digits",
        "Leave it unset (None) for no limit",
    ),
    _json(
        "json-misspelt-field",
        '{"kind": "AgentNode", "name": "a", "instructoin": "Hi."}',
        "at root",
        "no field(s) 'instructoin'",
        "Did you mean 'instruction'?",
    ),
    _json(
        "json-unknown-field",
        '{"kind": "AgentNode", "name": "a", "command": "rm -rf /"}',
        "at root",
        "no field(s) 'command'",
        "AgentNode fields: name",
    ),
    _json(
        "json-wrong-type",
        '{"kind": "AgentNode", "name": "a", "timeout": "5"}',
        "at root",
        "The timeout of AgentNode 'a' must be a positive, finite number of seconds",
        "(got '5' of type str)",
    ),
    _json(
        "json-two-wrong-fields",
        '{"kind": "AgentNode", "name": "a", "timeout": "5", "writes": "the text"}',
        "2 problems found",
        "1. Invalid IR JSON at root: The timeout of AgentNode 'a'",
        "2. Invalid IR JSON at root: The writes of AgentNode 'a'",
    ),
    _json(
        "json-children-not-list",
        '{"kind": "SequenceNode", "name": "s", "children": {"kind": "AgentNode"}}',
        "at root.children",
        "expected a list of nodes",
    ),
    _json(
        "json-function-as-string",
        '{"kind": "TransformNode", "name": "t", "fn": "os:system"}',
        "at root.fn",
        '{"function": "package.module:name"}',
    ),
    _json(
        "json-function-with-arguments",
        '{"kind": "TransformNode", "name": "t", "fn": {"function": "os:system", "args": ["ls"]}}',
        "at root.fn",
        '{"function": "package.module:name"}',
    ),
    _json(
        "json-template-attribute",
        '{"kind": "AgentNode", "name": "a", "instruction": "{text.__class__}"}',
        "at root",
        "{text.__class__}",
        "such as {findings}",
    ),
    _row(
        "json-too-deep",
        "IR JSON",
        "from_json('[' * 100_000 + ']' * 100_000)",
        PipelineError,
        "nested too deeply",
        "Nest less",
    ),
    _row(
        "json-function-imported-only-to-run",
        "IR JSON",
        'run(from_json(ir_json({"kind": "TransformNode", "name": "t", '
        '"fn": {"function": "no_such_module:payload"}, "writes": "out"}), '
        'allow=["no_such_module"]))',
        PipelineError,
        "'t' calls 'no_such_module:payload', which cannot be imported",
        "Check that the module is importable",
    ),
    # command line ----------------------------------------------------------------------
    _row(
        "cli-target-without-colon",
        "command line",
        'load_target("irgraph.demo")',
        CliError,
        "'irgraph.demo' is not of the form module:attr",
        "e.g. irgraph.demo:research_pipeline",
        command=("check", "irgraph.demo"),
    ),
    _row(
        "cli-target-module-missing",
        "command line",
        'load_target("no_such_module:pipeline")',
        CliError,
        "'no_such_module'",
        "No module named",
        "Run irgraph from the directory that holds it",
        command=("check", "no_such_module:pipeline"),
    ),
    _row(
        "cli-target-attribute-missing",
        "command line",
        'load_target("irgraph.demo:research_pipelin")',
        CliError,
        "no attribute 'research_pipelin'",
        "Did you mean 'research_pipeline'?",
        command=("check", "irgraph.demo:research_pipelin"),
    ),
    _row(
        "cli-target-not-pipeline",
        "command line",
        'load_target("irgraph.demo:__name__")',
        CliError,
        "'irgraph.demo:__name__' is a str ('irgraph.demo'), not a pipeline",
        "Pipelines in irgraph.demo: irgraph.demo:research_pipeline",
        command=("check", "irgraph.demo:__name__"),
    ),
    _row(
        "cli-state-without-equals",
        "command line",
        'parse_state(["topic"])',
        CliError,
        "--state topic gives 'topic' no value",
        "write --state topic=VALUE",
        command=("run", "irgraph.demo:research_pipeline", "--state", "topic"),
    ),
    _row(
        "cli-state-json-malformed",
        "command line",
        'parse_state([], "{topic: owls}")',
        CliError,
        "--state-json got {topic: owls}, which is not valid JSON",
        "enclosed in double quotes",
        command=("run", "irgraph.demo:research_pipeline", "--state-json", "{topic: owls}"),
    ),
    _row(
        "cli-state-json-not-object",
        "command line",
        "parse_state([], '[\"owls\"]')",
        CliError,
        "--state-json must be a JSON object",
        '\'{"topic": "owls"}\'',
        command=("run", "irgraph.demo:research_pipeline", "--state-json", '["owls"]'),
    ),
    _row(
        "cli-unknown-backend",
        "command line",
        'check_backend("asynco")',
        CliError,
        "--backend 'asynco' names no registered backend",
        "Did you mean 'asyncio'?",
        "entry-point group",
        command=(
            "run",
            "irgraph.demo:research_pipeline",
            "--state",
            "topic=owls",
            "--backend",
            "asynco",
        ),
    ),
    _row(
        "cli-unknown-provider",
        "command line",
        'check_provider("gpt-4o")',
        CliError,
        "--provider 'gpt-4o' is not a provider spec",
        "'openai:MODEL'",
        "--provider openai:gpt-4o-mini",
        command=(
            "run",
            "irgraph.demo:research_pipeline",
            "--state",
            "topic=owls",
            "--provider",
            "gpt-4o",
        ),
    ),
    _row(
        "cli-provider-misspelt",
        "command line",
        'check_provider("fak")',
        CliError,
        "--provider 'fak' is not a provider spec",
        "Did you mean 'fake'?",
        "'package.module:factory'",
        command=(
            "run",
            "irgraph.demo:research_pipeline",
            "--state",
            "topic=owls",
            "--provider",
            "fak",
        ),
    ),
    # provider answers ------------------------------------------------------------------
    _row(
        "provider-answers-int",
        "provider",
        'run(writer, provider=answering(42), state={"topic": "owls"})',
        RunError,
        "Node 'writer' failed",
        "answered 42 (an int)",
        "complete() must return a str",
    ),
    _row(
        "provider-answers-none",
        "provider",
        'run(writer, provider=answering(None), state={"topic": "owls"})',
        RunError,
        "Node 'writer' failed",
        "answered None (did it forget to return?)",
        "complete() must return a str",
    ),
    _row(
        "provider-not-async",
        "provider",
        'run(writer, provider=answering_synchronously("Owls."), state={"topic": "owls"})',
        RunError,
        "Node 'writer' failed",
        "SynchronousProvider.complete() returned a str",
        "define it with async def",
    ),
    _row(
        "provider-without-complete",
        "provider",
        'run(writer, provider=provider_from_spec, state={"topic": "owls"})',
        IrgraphError,
        "The provider (the function provider_from_spec) has no complete() method",
        "async def complete(self, request) -> str",
    ),
    _row(
        "provider-raises",
        "provider",
        'run(writer, provider=raising(ConnectionError("quota exceeded")), state={"topic": "owls"})',
        RunError,
        "Node 'writer' failed",
        "ConnectionError: quota exceeded",
    ),
    _row(
        "provider-hangs-node-timeout",
        "provider",
        'run(writer.timeout(0.05), provider=hanging(), state={"topic": "owls"})',
        RunError,
        "Node 'writer' failed",
        "timeout of 0.05 s",
        "allow more time with .timeout(seconds)",
    ),
    _row(
        "provider-hangs-run-timeout",
        "provider",
        'run(writer, provider=hanging(), state={"topic": "owls"}, timeout=0.05)',
        RunError,
        "Node 'writer' failed",
        "timeout of 0.05 s",
        "run(..., timeout=seconds)",
    ),
    # run-time state --------------------------------------------------------------------
    _row(
        "state-missing-input",
        "run-time state",
        "run(writer)",
        PipelineError,
        "'writer' reads {topic}",
        "run(..., state={'topic': ...})",
    ),
    _row(
        "state-missing-input-two-readers",
        "run-time state",
        'run(writer >> Agent("editor").instruct("Edit {text} on {topic}."))',
        PipelineError,
        "Key 'topic' is read by 'writer' and 'editor', but no step before them writes it",
        "read it as {topic?} in 'writer' and 'editor' if it may be unset.",
    ),
    _row(
        "state-missing-declared-input",
        "run-time state",
        'compile(writer, inputs={"topic"}).runnable.run(state={"topc": "owls"})',
        PipelineError,
        "initial state has no 'topic'",
        "Did you mean 'topc'?",
        "state={'topic': ...}",
    ),
    _row(
        "state-not-mapping",
        "run-time state",
        'run(writer, state=["topic", "owls"])',
        PipelineError,
        "state must be a mapping",
        "state={'topic': 'owls'}",
    ),
    _row(
        "state-map-over-not-list",
        "run-time state",
        'run(summaries, state={"papers": "owls.pdf"})',
        PipelineError,
        "MapOver 'summaries' iterates over 'papers'",
        "'owls.pdf' (a str), not a list",
        "state={'papers': ['a', 'b']}",
    ),
    _row(
        "runnable-state-not-mapping",
        "run-time state",
        'compile(writer).runnable.run(["topic", "owls"])',
        PipelineError,
        "state must be a mapping",
        "state={'topic': 'owls'}",
    ),
    _row(
        "run-a-graph",
        "run-time state",
        'run(to_graph(writer), state={"topic": "owls"})',
        PipelineError,
        "got a graph (a DiGraph)",
        "holds its pipeline: rebuild it with from_graph(G)",
        "run(from_graph(G), ...)",
    ),
    _row(
        "run-option-typo",
        "run-time state",
        'run(writer, state={"topic": "owls"}, on_evnt=print)',
        ArgumentError,
        "'on_evnt'",
        "Did you mean 'on_event'?",
    ),
    _row(
        "run-state-by-position",
        "run-time state",
        'run(writer, {"topic": "owls"})',
        ArgumentError,
        "run() got 2 positional arguments",
        "run(pipeline, state={'topic': 'owls'})",
    ),
    _row(
        "run-option-hook-not-callable",
        "run-time state",
        'run(writer, state={"topic": "owls"}, on_event="print")',
        PipelineError,
        "on_event must be a function",
        "got 'print'",
    ),
    _row(
        "run-option-max-concurrency",
        "run-time state",
        'run(writer, state={"topic": "owls"}, max_concurrency=-1)',
        PipelineError,
        "max_concurrency",
        "whole number of at least 1",
    ),
    _row(
        "run-option-max-concurrency-zero",
        "run-time state",
        'run(writer, state={"topic": "owls"}, max_concurrency=0)',
        PipelineError,
        "The run option max_concurrency",
        "got 0",
    ),
    _row(
        "run-option-timeout",
        "run-time state",
        'run(writer, state={"topic": "owls"}, timeout=-1)',
        PipelineError,
        "timeout",
        "positive, finite number of seconds",
    ),
    _row(
        "run-option-timeout-zero",
        "run-time state",
        'run(writer, state={"topic": "owls"}, timeout=0)',
        PipelineError,
        "The run option timeout",
        "got 0",
    ),
    _row(
        "run-option-timeout-nan",
        "run-time state",
        'run(writer, state={"topic": "owls"}, timeout=float("nan"))',
        PipelineError,
        "The run option timeout",
        "finite",
        "got nan",
    ),
    _row(
        "state-gate-without-handler",
        "run-time state",
        'run(Gate("approve", "Publish?").writes("ok"))',
        PipelineError,
        "the gate 'approve'",
        "refused before anything runs",
        "Pass on_gate=handler to run()/arun()",
        "--answer approve=VALUE",
    ),
    _row(
        "state-gate-answers-as-a-dict",
        "run-time state",
        'run(Gate("approve", "Publish?").writes("ok"), on_gate={"approve": "yes"})',
        PipelineError,
        "The run option on_gate must be a function",
        "got the dict {'approve': 'yes'}",
        "on_gate=lambda request: answers[request.name]",
    ),
    _row(
        "asyncio-gate-answers-as-a-dict",
        "run-time state",
        'AsyncioBackend(on_gate={"approve": "yes"})',
        PipelineError,
        "AsyncioBackend's on_gate must be a function",
        "on_gate=lambda request: answers[request.name]",
    ),
    # missing extras --------------------------------------------------------------------
    _row(
        "extra-pydot",
        "missing extra",
        'without("pydot", to_dot, writer)',
        MissingExtraError,
        "'pydot'",
        "pip install 'irgraph[dot]'",
    ),
    _row(
        "extra-pydot-svg",
        "missing extra",
        'without("pydot", render, writer, "svg")',
        MissingExtraError,
        "'pydot'",
        "pip install 'irgraph[dot]'",
    ),
    _row(
        "extra-prefect",
        "missing extra",
        'without("prefect", run, writer, backend="prefect", state={"topic": "owls"})',
        MissingExtraError,
        "'prefect'",
        "pip install 'irgraph[prefect]'",
    ),
    _row(
        "extra-openai",
        "missing extra",
        'without("openai", provider_from_spec, "openai:gpt-4o-mini")',
        MissingExtraError,
        "'openai'",
        "pip install 'irgraph[openai]'",
    ),
    *(
        # round two: numbers, types, nesting, None, strict JSON, untrusted pipelines ---------
        _row(
            "timeout-infinite",
            "builder",
            'writer.timeout(float("inf"))',
            PipelineError,
            "finite number of seconds",
            "got inf",
            "Leave it unset (None) for no limit",
        ),
        _row(
            "timeout-nan",
            "builder",
            'writer.timeout(float("nan"))',
            PipelineError,
            "finite number of seconds",
            "got nan",
        ),
        _row(
            "timeout-bool",
            "builder",
            "writer.timeout(True)",
            PipelineError,
            "'writer'.timeout()",
            "got True of type bool",
        ),
        _row(
            "timeout-text",
            "builder",
            'Gate("approve").timeout("5")',
            PipelineError,
            "'approve'.timeout()",
            "got '5' of type str",
        ),
        _row(
            "max-iterations-nan",
            "builder",
            'Loop("refine").max_iterations(float("nan"))',
            PipelineError,
            "'refine'.max_iterations()",
            "whole number of at least 1",
        ),
        _row(
            "max-iterations-float",
            "builder",
            'Loop("refine").max_iterations(2.0)',
            PipelineError,
            "'refine'.max_iterations()",
            "got 2.0 of type float",
        ),
        _row(
            "map-concurrency-zero",
            "builder",
            'MapOver("each").max_concurrency(0)',
            PipelineError,
            "'each'.max_concurrency()",
            "at least 1",
        ),
        _row(
            "map-concurrency-infinite",
            "builder",
            'MapOver("each").max_concurrency(float("inf"))',
            PipelineError,
            "'each'.max_concurrency()",
            "got inf",
        ),
        _row(
            "loop-times-infinite",
            "builder",
            'writer * float("inf")',
            PipelineError,
            "'writer' * inf",
            "Repeat with e.g. * 3",
        ),
        _row(
            "inputs-keyword-not-keys",
            "builder",
            'Agent("writer", inputs=5)',
            PipelineError,
            "inputs given to Agent('writer')",
            "got 5 of type int",
        ),
        _row(
            "id-not-str",
            "builder",
            'Agent("writer", id=5)',
            PipelineError,
            "id given to Agent('writer')",
            "got 5 of type int",
        ),
        _row(
            "setting-as-constructor-keyword",
            "builder",
            'Agent("writer", instruction="Draft {topic}.")',
            BuilderArgumentError,
            "Agent('writer') got instruction=... as a keyword",
            "Write Agent('writer').instruct(...).",
        ),
        _row(
            "gate-setting-as-constructor-keyword",
            "builder",
            'Gate("approve", "Publish {text}?", writes="answer")',
            BuilderArgumentError,
            "Gate('approve') got writes=... as a keyword",
            "a Gate takes only its name, its message, inputs= and id=",
            "Write Gate('approve').writes(...).",
        ),
        _row(
            "transform-setting-as-constructor-keyword",
            "builder",
            'Transform("count", len, reads=["text"])',
            BuilderArgumentError,
            "Transform('count') got reads=... as a keyword",
            "a Transform takes only its name, its function, inputs= and id=",
            "Write Transform('count', fn).reads(...).",
        ),
        _row(
            "method-keyword-misspelt",
            "builder",
            'Loop("review").step(critic).until("notes", equal="done")',
            BuilderArgumentError,
            "'review'.until() got equal=...",
            "it takes condition and equals=",
            "Did you mean equals=?",
        ),
        _row(
            "method-keyword-not-its-parameter",
            "builder",
            'Agent("writer").instruct(instruction="Draft {topic}.")',
            BuilderArgumentError,
            "'writer'.instruct() got instruction=...",
            "it takes text",
            "Write 'writer'.instruct(text).",
        ),
        _row(
            "method-keys-given-as-keyword",
            "builder",
            'Pipeline("p").inputs(keys=["topic", "audience"])',
            BuilderArgumentError,
            "'p'.inputs() got keys=...",
            "it takes keys as positional arguments",
            "Write 'p'.inputs('topic', 'audience').",
        ),
        _row(
            "route-keyword-misspelt",
            "builder",
            'Route("triage").on("category").when("bug", then=fix)',
            BuilderArgumentError,
            "'triage'.when() got then=...",
            "it takes condition and branch",
            "Write 'triage'.when(condition, branch).",
        ),
        _row(
            "model-not-str",
            "builder",
            'Agent("writer").model(42)',
            PipelineError,
            "'writer'.model()",
            "got 42 of type int",
            "such as 'gpt-4o-mini'",
        ),
        _row(
            "describe-none",
            "builder",
            'Agent("writer").describe(None)',
            PipelineError,
            "'writer'.describe()",
            "must be a string",
        ),
        _row(
            "gate-message-not-str",
            "builder",
            'Gate("approve", 42)',
            PipelineError,
            "'approve'.message()",
            "got 42 of type int",
        ),
        _row(
            "writes-none",
            "builder",
            "writer.writes(None)",
            PipelineError,
            "'writer'.writes()",
            "Use a key such as 'findings'",
        ),
        _row(
            "ir-node-holds-builder",
            "builder",
            'SequenceNode("s", (writer,))',
            PipelineError,
            "'s' contains Agent('writer')",
            "Compose Agent, Pipeline",
        ),
        _row(
            "ir-timeout-nan",
            "builder",
            'AgentNode("a", timeout=float("nan"))',
            PipelineError,
            "timeout of AgentNode 'a'",
            "got nan",
        ),
        _row(
            "nesting-too-deep-step",
            "builder",
            'Loop("outer").step(loops(100))',
            PipelineError,
            "Loop 'outer'",
            "past 100 levels",
            "Flatten it",
        ),
        _row(
            "nesting-too-deep-operator",
            "builder",
            "loops(100) * 2",
            PipelineError,
            "past 100 levels",
            "a >> b >> c is one sequence",
        ),
        _row(
            "nesting-too-deep-ir",
            "builder",
            'SequenceNode("top", (loops(100).to_ir(),))',
            PipelineError,
            "SequenceNode 'top'",
            "past 100 levels",
        ),
        _row(
            "fake-latency-nan",
            "provider",
            'FakeProvider(latency=float("nan"))',
            PipelineError,
            "FakeProvider's latency",
            "got nan",
        ),
        _row(
            "fake-latency-negative",
            "provider",
            "FakeProvider(latency=-1)",
            PipelineError,
            "FakeProvider's latency",
            "0 or more",
        ),
        _row(
            "fake-latency-per-agent-infinite",
            "provider",
            'FakeProvider(latency={"writer": float("inf")})',
            PipelineError,
            "latency for 'writer'",
            "got inf",
        ),
        _row(
            "fake-chunk-size-zero",
            "provider",
            "FakeProvider(chunk_size=0)",
            PipelineError,
            "FakeProvider's chunk_size",
            "at least 1",
        ),
        _row(
            "validate-inputs-not-keys",
            "graph",
            "validate(to_graph(writer), inputs=5)",
            PipelineError,
            "validate(inputs=...)",
            "Pass e.g. inputs={'topic'}",
        ),
        _row(
            "validate-inputs-not-key",
            "graph",
            "validate(to_graph(writer), inputs=[1])",
            PipelineError,
            "declared input 1 in validate(inputs=...)",
            "Use a key such as",
        ),
        _row(
            "validate-allow-unbound-not-flag",
            "graph",
            'validate(to_graph(writer), allow_unbound="yes")',
            PipelineError,
            "allow_unbound argument of validate()",
            "True or False",
        ),
        _row(
            "compile-inputs-not-keys",
            "graph",
            "compile(writer, inputs=5)",
            PipelineError,
            "inputs=...",
            "Pass e.g. inputs={'topic'}",
        ),
        _row(
            "graph-inputs-bytes",
            "graph",
            'to_graph(writer, inputs=b"topic")',
            PipelineError,
            "got b'topic' of type bytes",
            "Pass e.g. inputs={'topic'}",
        ),
        _row(
            "validate-not-graph",
            "graph",
            "validate(5)",
            PipelineError,
            "got 5",
            "validate(to_graph(pipeline))",
        ),
        _row(
            "from-graph-not-graph",
            "graph",
            "from_graph(5)",
            PipelineError,
            "no 'tree' graph attribute",
            "Build it with to_graph(pipeline)",
        ),
        _row(
            "from-graph-attributes-dropped",
            "graph",
            "from_graph(nx.transitive_reduction(to_graph(writer >> critic)))",
            PipelineError,
            "a networkx function that returns a new graph",
            "copy the attributes back",
        ),
        _row(
            "from-graph-too-deep",
            "graph",
            "from_graph(saved(loops(100)), allow=[]) and from_graph(saved(loops(101)))",
            PipelineError,
            "past 100 levels",
            "Flatten it",
        ),
        _row(
            "json-timeout-nan",
            "IR JSON",
            'from_json(ir_json({"kind": "AgentNode", "name": "a", "timeout": float("nan")}))',
            PipelineError,
            "timeout of AgentNode 'a'",
            "got nan",
        ),
        _row(
            "json-timeout-infinite",
            "IR JSON",
            'from_json(ir_json({"kind": "AgentNode", "name": "a", "timeout": float("inf")}))',
            PipelineError,
            "timeout of AgentNode 'a'",
            "got inf",
        ),
        _row(
            "json-max-iterations-bool",
            "IR JSON",
            'from_json(ir_json({"kind": "LoopNode", "name": "l", "max_iterations": True}))',
            PipelineError,
            "max_iterations of LoopNode 'l'",
            "got True of type bool",
        ),
        _row(
            "json-max-concurrency-zero",
            "IR JSON",
            'from_json(ir_json({"kind": "MapOverNode", "name": "m", "max_concurrency": 0}))',
            PipelineError,
            "max_concurrency of MapOverNode 'm'",
            "at least 1",
        ),
        _row(
            "json-version-bool",
            "IR JSON",
            'from_json(ir_json({"kind": "AgentNode", "name": "a"}, version=True))',
            PipelineError,
            "version True is not supported",
            "Write the file again",
        ),
        _row(
            "json-version-text",
            "IR JSON",
            'from_json(ir_json({"kind": "AgentNode", "name": "a"}, version="1"))',
            PipelineError,
            "version '1' is not supported",
            "reads version 1",
        ),
        _row(
            "json-unknown-top-level-key",
            "IR JSON",
            'from_json(\'{"format": "irgraph-ir", "version": 1, "root": '
            '{"kind": "AgentNode", "name": "a"}, "author": "x"}\')',
            PipelineError,
            "unknown top-level key(s) 'author'",
            "holds only 'format', 'version', 'root'",
        ),
        _row(
            "json-no-root",
            "IR JSON",
            'from_json(\'{"format": "irgraph-ir", "version": 1}\')',
            PipelineError,
            'no "root" node',
            "Invalid IR JSON",
        ),
        _row(
            "json-inputs-as-string",
            "IR JSON",
            'from_json(ir_json({"kind": "AgentNode", "name": "a", "inputs": "topic"}))',
            PipelineError,
            "root.inputs",
            "a list of key strings",
        ),
        _row(
            "json-nested-too-deep",
            "IR JSON",
            "from_json(deep_json(300))",
            PipelineError,
            "past 100 levels",
            "Flatten it",
        ),
        _row(
            "state-none-required",
            "run-time state",
            'run(writer, state={"topic": None})',
            PipelineError,
            "holds None for 'topic'",
            "None means no value",
            "write {topic?} in 'writer'",
        ),
        _row(
            "state-none-written-later",
            "run-time state",
            'run(Agent("planner").writes("plan") >> Transform("lookup", lambda plan: None)'
            '.reads("plan").writes("topic") >> writer, provider=FakeProvider())',
            RunError,
            "Node 'writer' failed",
            "holds None for 'topic'",
            "{topic?}",
        ),
        _row(
            "run-option-max-concurrency-bool",
            "run-time state",
            'run(writer, state={"topic": "owls"}, max_concurrency=True)',
            PipelineError,
            "run option max_concurrency",
            "got True of type bool",
        ),
        _row(
            "run-option-timeout-infinite",
            "run-time state",
            'run(writer, state={"topic": "owls"}, timeout=float("inf"))',
            PipelineError,
            "run option timeout",
            "Leave it unset (None)",
        ),
        _row(
            "backend-max-concurrency-zero",
            "run-time state",
            "AsyncioBackend(max_concurrency=0)",
            PipelineError,
            "AsyncioBackend's max_concurrency",
            "at least 1",
        ),
        _row(
            "backend-timeout-nan",
            "run-time state",
            'AsyncioBackend(timeout=float("nan"))',
            PipelineError,
            "AsyncioBackend's timeout",
            "got nan",
        ),
        _row(
            "cli-state-json-too-deep",
            "command line",
            'parse_state([], "[" * 100_000)',
            CliError,
            "--state-json nests arrays or objects too deeply",
            "pass a value nested less deeply",
        ),
        _row(
            "cli-state-json-key-not-identifier",
            "command line",
            'parse_state([], \'{"1st": "owls"}\')',
            CliError,
            "--state-json has the key '1st', which is not a state key",
            "rename it",
            command=("run", "irgraph.demo:research_pipeline", "--state-json", '{"1st": "owls"}'),
        ),
        _row(
            "cli-state-key-misspelt",
            "command line",
            'check_spelling(to_graph(load_target("irgraph.demo:research_pipeline")), '
            '{"topc": "--state"}, ["topic"])',
            CliError,
            "The key 'topc' given with --state is read by no step",
            "it looks like 'topic', which 'researcher' needs",
            "write --state topic=... instead",
            command=("run", "irgraph.demo:research_pipeline", "--state", "topc=owls"),
        ),
        _row(
            "cli-input-not-identifier",
            "command line",
            'check_keys(["1x"])',
            CliError,
            "--input '1x' is not a state key",
            "--input topic",
            command=("check", "irgraph.demo:research_pipeline", "--input", "1x"),
        ),
        _row(
            "cli-target-file-missing",
            "command line",
            'load_target("no_such_dir/pipelines.py:pipeline")',
            CliError,
            "There is no file 'no_such_dir/pipelines.py'",
            "check the path",
            command=("check", "no_such_dir/pipelines.py:pipeline"),
        ),
        _row(
            "cli-target-path-not-python-file",
            "command line",
            'load_target("pipelines/research:pipeline")',
            CliError,
            "is a path but not a Python file",
            "pipelines/research.py:ATTR",
            "pipelines.research:ATTR",
            command=("check", "pipelines/research:pipeline"),
        ),
        _row(
            "cli-target-not-python-file",
            "command line",
            'load_target("no_such_notes.txt:pipeline")',
            CliError,
            "There is no file 'no_such_notes.txt'",
            "a .txt file holds no pipeline",
            "file.py:pipeline",
            "module:pipeline",
            command=("check", "no_such_notes.txt:pipeline"),
        ),
        _row(
            "cli-target-nothing-after-colon",
            "command line",
            'load_target("pipelines.py:")',
            CliError,
            "'pipelines.py:' names no pipeline after the colon",
            "pipelines.py:pipeline",
            command=("check", "pipelines.py:"),
        ),
        _row(
            "cli-target-nothing-before-colon",
            "command line",
            'load_target(":pipeline")',
            CliError,
            "':pipeline' names no file or module before the colon",
            "pipelines.py:pipeline",
            command=("check", ":pipeline"),
        ),
        _row(
            "cli-pipeline-file-missing",
            "command line",
            'load_target("no_such_pipeline.json")',
            CliError,
            "Cannot read the pipeline file 'no_such_pipeline.json'",
            "check the path",
            command=("run", "no_such_pipeline.json"),
        ),
        _row(
            "cli-output-directory-missing",
            "command line",
            'check_output("no_such_dir/pipeline.svg")',
            CliError,
            "Cannot write 'no_such_dir/pipeline.svg'",
            "there is no directory 'no_such_dir'",
            "mkdir -p no_such_dir",
            command=("show", "irgraph.demo:research_pipeline", "-o", "no_such_dir/pipeline.svg"),
        ),
        _row(
            "cli-output-only-a-suffix",
            "command line",
            'check_output(".svg")',
            CliError,
            "-o '.svg' is only a suffix, not a file name",
            "hidden file named '.svg'",
            "e.g. -o pipeline.svg",
            command=("show", "irgraph.demo:research_pipeline", "-o", ".svg"),
        ),
        _row(
            "cli-output-format-contradicts-name",
            "command line",
            'check_output("pipeline.svg", "mermaid")',
            CliError,
            "--format mermaid does not match the file name 'pipeline.svg'",
            "drop --format",
            "pipeline.mmd",
            command=(
                "show",
                "irgraph.demo:research_pipeline",
                "--format",
                "mermaid",
                "-o",
                "pipeline.svg",
            ),
        ),
        _row(
            "cli-gate-unanswered",
            "command line",
            'gate_handler(to_graph(writer >> Gate("approve", "Publish {text}?").writes("ok")), {})',
            CliError,
            "stops at the gate 'approve' to ask a person",
            "--answer approve=VALUE",
        ),
        _row(
            "cli-answer-names-no-gate",
            "command line",
            'gate_handler(to_graph(load_target("irgraph.demo:research_pipeline")), '
            '{"approve": "yes"})',
            CliError,
            "--answer approve=... names a gate",
            "the pipeline has none; drop it",
            command=(
                "run",
                "irgraph.demo:research_pipeline",
                "--state",
                "topic=owls",
                "--answer",
                "approve=yes",
            ),
        ),
        _row(
            "cli-answer-without-equals",
            "command line",
            'parse_answers(["approve"])',
            CliError,
            "--answer 'approve' is not of the form GATE=VALUE",
            "e.g. --answer approve=yes",
            command=(
                "run",
                "irgraph.demo:research_pipeline",
                "--state",
                "topic=owls",
                "--answer",
                "approve",
            ),
        ),
        _row(
            "cli-allow-module-not-module",
            "command line",
            'check_modules(["mypkg.transforms:split"])',
            CliError,
            "--allow-module 'mypkg.transforms:split' is not a module name",
            "--allow-module mypkg.transforms",
            command=(
                "run",
                "irgraph.demo:research_pipeline",
                "--state",
                "topic=owls",
                "--allow-module",
                "mypkg.transforms:split",
            ),
        ),
        _row(
            "backend-unknown",
            "running",
            'run(writer, backend="asynco", state={"topic": "owls"})',
            BackendNotFoundError,
            "No backend named 'asynco'",
            "Did you mean 'asyncio'?",
            "entry-point group",
        ),
        _row(
            "provider-raises-cancelled",
            "running",
            'run(writer, provider=raising(asyncio.CancelledError()), state={"topic": "owls"})',
            RunError,
            "Node 'writer' failed",
            "the model provider raised CancelledError, though nothing cancelled the run",
        ),
        _row(
            "provider-runs-failing-pipeline",
            "running",
            'run(writer, provider=FakeProvider(responses={"writer": lambda request: '
            'run(Agent("x").instruct("Go."), provider=raising(ValueError("inner")))}), '
            'state={"topic": "owls"})',
            RunError,
            "Node 'writer' failed",
            "the model provider raised RunError: Node 'x' failed: ValueError: inner",
        ),
        _row(
            "transform-blocks-past-timeout",
            "running",
            'run(Transform("wait", time.sleep).reads("seconds").writes("done").timeout(0.1), '
            'state={"seconds": 2})',
            RunError,
            "Node 'wait' failed",
            "allow more time with .timeout(seconds)",
        ),
        _row(
            "gate-handler-blocks-past-timeout",
            "running",
            'run(Gate("approve", "Publish?").writes("ok").timeout(0.1), '
            "on_gate=lambda request: time.sleep(2))",
            RunError,
            "Node 'approve' failed",
            "timeout of 0.1 s",
        ),
        _row(
            "on-event-handler-raises",
            "running",
            'run(writer, provider=FakeProvider(), state={"topic": "owls"}, '
            "on_event=lambda event: 1 / 0)",
            RunError,
            "Node 'writer' failed",
            "the on_event handler raised ZeroDivisionError",
        ),
        _row(
            "provider-own-timeout-error",
            "running",
            'run(writer.timeout(60), provider=raising(TimeoutError("read timed out")), '
            'state={"topic": "owls"})',
            RunError,
            "Node 'writer' failed",
            "TimeoutError: read timed out",
        ),
        _row(
            "untrusted-transform",
            "untrusted pipeline",
            'run(from_json(ir_json({"kind": "TransformNode", "name": "t", "fn": '
            '{"function": "os:system"}, "reads": ["cmd"]})), state={"cmd": "true"})',
            PipelineError,
            "'t' calls 'os:system'",
            "module 'os' is not allowed",
            "allow=['os']",
            "--allow-module os",
        ),
        _row(
            "untrusted-loop-predicate",
            "untrusted pipeline",
            'run(from_json(ir_json({"kind": "LoopNode", "name": "l", "children": '
            '[{"kind": "AgentNode", "name": "a"}], "max_iterations": 2, '
            '"until": {"function": "builtins:eval"}})))',
            PipelineError,
            "'l' calls 'builtins:eval'",
            "module 'builtins' is not allowed",
        ),
        _row(
            "untrusted-compile",
            "untrusted pipeline",
            'compile(from_json(ir_json({"kind": "TransformNode", "name": "t", "fn": '
            '{"function": "subprocess:run"}, "reads": ["cmd"]})), inputs={"cmd"})',
            PipelineError,
            "'t' calls 'subprocess:run'",
            "allow=['subprocess']",
        ),
        _row(
            "untrusted-saved-graph",
            "untrusted pipeline",
            'run(from_graph(saved(from_json(ir_json({"kind": "TransformNode", "name": "t", '
            '"fn": {"function": "shutil:rmtree"}, "reads": ["path"]})))), state={"path": "/"})',
            PipelineError,
            "'t' calls 'shutil:rmtree'",
            "a saved graph",
            "from_graph(G, allow=['shutil'])",
        ),
        _row(
            "batch-one-state",
            "batches",
            'run_many(writer, {"topic": "owls"})',
            PipelineError,
            "must be an iterable of states",
            "got one state (a dict)",
            "for one state, use run()",
        ),
        _row(
            "batch-store-without-key",
            "batches",
            'run_many(writer, [{"topic": "owls"}], store=".batches")',
            PipelineError,
            "got a store but no batch_key",
            "Pass batch_key=",
        ),
        _row(
            "batch-run-key",
            "batches",
            'run_many(writer, [{"topic": "owls"}], run_key="nightly")',
            PipelineError,
            "sets the run option 'run_key' itself",
            "every item's run key comes from batch_key and the item",
        ),
        _row(
            "batch-pool-provider",
            "batches",
            'arun_many(writer, [{"topic": "owls"}], backend=PrefectBackend(work_pool="gpu"), '
            "provider=FakeProvider())",
            PipelineError,
            "A batch on a work pool runs on the pool's workers, where provider cannot reach",
            "PrefectWorkerConfig(provider=...)",
        ),
        _row(
            "batch-pool-deployment-name",
            "batches",
            'PrefectBackend(work_pool="gpu", deployment="writer")',
            PipelineError,
            "PrefectBackend's deployment must be a deployment name 'FLOW/DEPLOYMENT'",
            "got 'writer'",
            "the name 'python flow.py' printed",
        ),
        _row(
            "batch-pool-chunk-size",
            "batches",
            'PrefectBackend(work_pool="gpu", chunk_size=0)',
            PipelineError,
            "PrefectBackend's chunk_size must be a whole number of at least 1",
            "how many items of a batch one flow run on the pool takes",
        ),
        _row(
            "provider-spec-missing-module",
            "provider",
            'provider_from_spec("no_such_llm_module:make")',
            ProviderError,
            "the module 'no_such_llm_module' cannot be imported",
            "Install it where this runs",
        ),
        _row(
            "provider-spec-missing-name",
            "provider",
            'provider_from_spec("irgraph.testing:NoSuchProvider")',
            ProviderError,
            "the module 'irgraph.testing' has no 'NoSuchProvider'",
            "'package.module:name'",
        ),
        _row(
            "provider-spec-factory-fails",
            "provider",
            'provider_from_spec("irgraph.ir:to_json")',
            ProviderError,
            "calling to_json() raised ArgumentError: to_json() needs node",
            "a function that returns a provider when called with no arguments",
        ),
        _row(
            "provider-spec-not-a-provider",
            "provider",
            'provider_from_spec("irgraph.ir:SAFE_FUNCTIONS")',
            ProviderError,
            "gives a frozenset, which has no complete() method",
            "A provider has 'async def complete(self, request) -> str'",
        ),
        _row(
            "provider-spec-an-int",
            "provider",
            'provider_from_spec("logging:DEBUG")',
            ProviderError,
            "gives an int (10), which has no complete() method",
            "A provider has 'async def complete(self, request) -> str'",
        ),
        _row(
            "worker-provider-module-not-found",
            "provider",
            'PrefectWorkerConfig("notes", "gpu", provider="no_such_llm_module:make")',
            PipelineError,
            "names the module 'no_such_llm_module', which cannot be found here",
            "install it (or put it on the path) where you generate the flow too",
        ),
        _row(
            "provider-spec-empty",
            "provider",
            'provider_from_spec("")',
            ProviderError,
            "non-empty string such as 'fake'",
            "leave it out (None) for the default",
        ),
        _row(
            "provider-spec-not-str",
            "provider",
            "provider_from_spec(5)",
            ProviderError,
            "got 5 of type int",
            "'openai:gpt-4o-mini'",
        ),
        _row(
            "backend-provider-without-complete",
            "provider",
            'AsyncioBackend(provider="fake")',
            IrgraphError,
            "AsyncioBackend's provider ('fake' of type str) has no complete() method",
            "irgraph.testing.FakeProvider()",
        ),
        _row(
            "fake-responses-not-mapping",
            "provider",
            'FakeProvider(responses="Looks good.")',
            PipelineError,
            "FakeProvider's responses must be a dict keyed by agent name",
            "responses={'critic': 'Looks good.'}",
        ),
        _row(
            "fake-response-not-text",
            "provider",
            'FakeProvider(responses={"critic": 42})',
            PipelineError,
            "FakeProvider's response for 'critic'",
            "a list of strings or a function",
        ),
        _row(
            "fake-fail-negative",
            "provider",
            'FakeProvider(fail={"writer": -1})',
            PipelineError,
            "FakeProvider's fail count for 'writer'",
            "at least 1",
        ),
        _row(
            "fake-fail-zero",
            "provider",
            'FakeProvider(fail={"writer": 0})',
            PipelineError,
            "FakeProvider's fail count for 'writer'",
            "fail={'writer': 1} makes the first call of 'writer' raise",
        ),
        _row(
            "openai-timeout-nan",
            "provider",
            'OpenAIProvider("gpt-4o-mini", "http://127.0.0.1:9/v1", timeout=float("nan"))',
            ProviderError,
            "OpenAIProvider's timeout",
            "the default is 60",
        ),
        _row(
            "openai-temperature-infinite",
            "provider",
            'OpenAIProvider("gpt-4o-mini", "http://127.0.0.1:9/v1", temperature=float("inf"))',
            ProviderError,
            "OpenAIProvider's temperature",
            "leave it None",
        ),
        _row(
            "openai-base-url-empty",
            "provider",
            'OpenAIProvider("gpt-4o-mini", base_url="")',
            ProviderError,
            "OpenAIProvider's base_url",
            "$OPENAI_BASE_URL",
        ),
        _row(
            "openai-max-retries-bool",
            "provider",
            'OpenAIProvider("gpt-4o-mini", "http://127.0.0.1:9/v1", max_retries=True)',
            ProviderError,
            "OpenAIProvider's max_retries",
            "use 0 to disable retries",
        ),
        _row(
            "analysis-latency-nan",
            "graph",
            'critical_path(writer, latency=float("nan"))',
            PipelineError,
            "latency must be a finite number of seconds",
            "Pass e.g. latency=1.0",
        ),
        _row(
            "analysis-latency-unknown-node",
            "graph",
            'makespan(writer, latency={"writr": 2.0})',
            PipelineError,
            "'writr', which is not a node",
            "Did you mean 'writer'?",
        ),
        _row(
            "analysis-lineage-typo",
            "graph",
            'lineage(writer, "txt")',
            PipelineError,
            "reads or writes 'txt'",
            "Did you mean 'text'?",
        ),
        _row(
            "mermaid-data-edges-not-flag",
            "graph",
            'to_mermaid(writer, data_edges="no")',
            PipelineError,
            "data_edges argument of to_mermaid()",
            "True or False",
        ),
        _row(
            "portable-not-graph",
            "graph",
            "portable(writer)",
            PipelineError,
            "portable() takes a networkx graph",
            "to_graph(pipeline)",
        ),
        _row(
            "from-portable-not-graph",
            "graph",
            'from_portable("graph.graphml")',
            PipelineError,
            "from_portable() takes a networkx graph",
            "got 'graph.graphml' of type str",
        ),
        _row(
            "allow-not-modules",
            "untrusted pipeline",
            'from_json(ir_json({"kind": "AgentNode", "name": "a"}), allow=5)',
            PipelineError,
            "from_json(allow=...)",
            "Pass e.g. allow=['mypkg.transforms']",
        ),
        _row(
            "allow-not-module-name",
            "untrusted pipeline",
            'run(writer, state={"topic": "owls"}, allow=["os system"])',
            PipelineError,
            "The module 'os system' in run(allow=...)",
            "dotted module name",
        ),
        # round three (issue 17): routes, settings, structured outputs, typed edges ---------
        _row(
            "settings-temperature-out-of-range",
            "routes and outputs",
            "writer.settings(temperature=5)",
            PipelineError,
            "The setting temperature of 'writer'",
            "a number from 0 to 2 (got 5)",
            ".settings(temperature=0.2)",
        ),
        _row(
            "settings-max-tokens-zero",
            "routes and outputs",
            "writer.settings(max_tokens=0)",
            PipelineError,
            "The setting max_tokens of 'writer'",
            "a whole number from 1 to 10,000,000 (got 0)",
            "or leave it out",
        ),
        _row(
            "settings-max-tokens-huge",
            "routes and outputs",
            "writer.settings(max_tokens=10**30)",
            PipelineError,
            "The setting max_tokens of 'writer'",
            "a whole number from 1 to 10,000,000 (got 1000000000000000000000000000000)",
            ".settings(max_tokens=1000)",
        ),
        _row(
            "settings-seed-huge",
            "routes and outputs",
            "writer.settings(seed=10**30)",
            PipelineError,
            "The setting seed of 'writer' must be a whole number that fits in 64 bits",
            ".settings(seed=42)",
        ),
        _row(
            "settings-set-elsewhere",
            "routes and outputs",
            'writer.settings(model="gpt-4o")',
            PipelineError,
            "'writer' cannot take the setting 'model'",
            "a setting would silently replace it",
            ".model('gpt-4o') on the agent",
        ),
        _row(
            "output-schema-ref-loop",
            "routes and outputs",
            'writer.output({"$defs": {"A": {"$ref": "#/$defs/B"}, "B": {"$ref": "#/$defs/A"}}, '
            '"$ref": "#/$defs/A"})',
            PipelineError,
            "The output schema of 'writer' refers to itself without end",
            "following '#/$defs/A', then '#/$defs/B' ($ref)",
            "go through a property or an item",
        ),
        _row(
            "settings-not-json",
            "routes and outputs",
            'writer.settings(user=b"ann")',
            PipelineError,
            "The settings of 'writer' must be JSON data",
            "user is a bytes",
            "Use strings, numbers, booleans, None, and lists or dicts of them",
        ),
        _row(
            "output-invalid-schema",
            "routes and outputs",
            'writer.output({"type": "strng"})',
            PipelineError,
            "The output schema of 'writer' is not a valid JSON Schema",
            "(at type)",
            "Did you mean 'string'?",
        ),
        _row(
            "output-bounds-cross",
            "routes and outputs",
            'writer.output({"type": "integer", "minimum": 5, "maximum": 1})',
            PipelineError,
            "The output schema of 'writer' at the top level asks for a number of at least 5",
            "every reply fails the schema and the run would fail at this agent",
            "fix the bounds",
        ),
        _row(
            "output-invalid-schema-python-type",
            "routes and outputs",
            'writer.output({"type": "array", "items": {"type": "str"}})',
            PipelineError,
            "(at items/type)",
            "Did you mean 'string'?",
        ),
        _row(
            "output-invalid-schema-keyword",
            "routes and outputs",
            'writer.output({"type": "object", "required": "title"})',
            PipelineError,
            "is not of type 'array' (at required)",
            "required takes a list: {'required': ['title']}",
        ),
        _row(
            "output-not-a-schema",
            "routes and outputs",
            'writer.output("string")',
            PipelineError,
            "The output schema of 'writer'",
            "a JSON Schema dict or a pydantic model class (got 'string' of type str)",
            "Write the type as a schema: .output({'type': 'string'})",
        ),
        _row(
            "output-retries-negative",
            "routes and outputs",
            'writer.output({"type": "string"}, retries=-1)',
            PipelineError,
            "The retries argument of 'writer'.output()",
            "a whole number from 0 to 100 (got -1",
        ),
        _row(
            "output-pattern-catastrophic",
            "routes and outputs",
            'writer.output({"type": "string", "pattern": "^(a+)+$"})',
            PipelineError,
            "The output schema of 'writer' has the pattern '^(a+)+$' (at /pattern), whose "
            "repeat inside a repeat can take exponential time",
            "'^(a+)+$' matches what '^a+$' does",
        ),
        _row(
            "output-retries-huge",
            "routes and outputs",
            'writer.output({"type": "string"}, retries=10**30)',
            PipelineError,
            "The retries argument of 'writer'.output() must be a whole number from 0 to 100",
            "Each retry is one more model call",
        ),
        _row(
            "route-when-list",
            "routes and outputs",
            'Route("triage").on("category").when(["bug", "crash"], fix)',
            PipelineError,
            "'triage'.when() compares with a string, number, boolean or None",
            "got ['bug', 'crash'] of type list",
            "Write .when('bug', branch)",
        ),
        _row(
            "route-two-branches-for-one-value",
            "routes and outputs",
            'validate(to_graph(classify >> Route("triage").on("category").when("bug", fix)'
            '.when("bug", reply), inputs={"ticket"}))',
            PipelineError,
            "Route 'triage' has two branches for \"bug\"",
            "only the first could ever run",
            "Give each value one branch",
        ),
        _row(
            "route-empty",
            "routes and outputs",
            'validate(to_graph(Route("triage").on("category"), inputs={"category"}))',
            PipelineError,
            "Route 'triage' has no branches",
            "Add one with .when(value, step) or .otherwise(step)",
        ),
        _row(
            "until-equals-with-predicate",
            "routes and outputs",
            'Loop("review").until(lambda state: state["score"] > 8, equals="approved")',
            PipelineError,
            "'review'.until() takes equals= only with a state key",
            ".until('verdict', equals='approved')",
        ),
        _row(
            "predicate-signature",
            "routes and outputs",
            'Loop("review").step(writer).until(lambda state, verdict: verdict == "approved")',
            PipelineError,
            "Loop 'review' calls its predicate <lambda>(state, verdict) with one positional",
            "missing a required argument: 'verdict'",
            ".until(lambda state: state['verdict'] == 'approved')",
        ),
        _row(
            "maybe-written-key",
            "routes and outputs",
            'validate(to_graph(classify >> Route("triage").on("category").when("bug", fix)'
            '.otherwise(reply) >> Agent("review").instruct("Review {patch}."), inputs={"ticket"}))',
            PipelineError,
            "'review' reads {patch}",
            "route 'triage' writes 'patch' only on some branches",
            "its branch otherwise does not",
            "Write 'patch' on every branch of 'triage'",
            "read it as {patch?}",
        ),
        _row(
            "map-over-text",
            "routes and outputs",
            'validate(to_graph(Agent("find").instruct("Find papers on {topic}.").writes("papers")'
            ' >> summaries, inputs={"topic"}))',
            PipelineError,
            "MapOver 'summaries' iterates over 'papers'",
            "agent 'find' writes it as free text, not a list",
            ".output({'type': 'array', 'items': {'type': 'string'}})",
            "a Transform that reads 'papers'",
        ),
        _row(
            "route-value-not-in-enum",
            "routes and outputs",
            'validate(to_graph(classify >> Route("triage").on("category").when("bugs", fix)'
            '.otherwise(reply), inputs={"ticket"}))',
            PipelineError,
            "Route 'triage' has a branch for \"bugs\"",
            '\'category\' can only be one of "bug", "feature", "question"',
            "add \"bugs\" to the enum of 'classify'",
        ),
        _row(
            "route-value-taken-by-an-enclosing-route",
            "routes and outputs",
            'validate(to_graph(classify >> Route("triage").on("category").when("bug", fix)'
            '.otherwise(Route("rest").on("category").when("bug", fix).otherwise(reply)), '
            'inputs={"ticket"}))',
            PipelineError,
            "Route 'rest' has a branch for \"bug\", but 'category' cannot be \"bug\"",
            "'rest' is in the otherwise branch of route 'triage'",
            "move 'rest' out of that branch",
        ),
        _row(
            "route-no-branch-at-run-time",
            "routes and outputs",
            'run(classify >> Route("triage").on("category").when("bug", fix), '
            'provider=FakeProvider(responses={"classify": \'"feature"\'}), '
            'state={"ticket": "Add dark mode."})',
            RunError,
            "Node 'triage' failed",
            "Route 'triage' has no branch for category = \"feature\"",
            "add .when('feature', step) for it, or .otherwise(step)",
        ),
        _row(
            "route-predicate-raises",
            "routes and outputs",
            'run(Route("triage").when(lambda state: state["priority"] > 2, fix).otherwise(reply), '
            'provider=FakeProvider(), state={"ticket": "It crashes."})',
            RunError,
            "Node 'triage' failed: its predicate '<lambda>' (written at <string>:1) raised "
            "KeyError: 'priority'",
            "the state held the key 'ticket', not 'priority'",
            "Read a key that may be unset with state.get('priority')",
        ),
        _row(
            "route-predicate-not-bool",
            "routes and outputs",
            'run(Route("triage").when(lambda state: state["verdict"], fix).otherwise(reply), '
            'provider=FakeProvider(), state={"ticket": "It crashes.", "verdict": "no"})',
            RunError,
            "Node 'triage' failed: TypeError: its predicate '<lambda>' (written at <string>:1) "
            "returned 'no' (a str), not True or False",
            "e.g. lambda state: state['verdict'] == 'yes'",
        ),
        _row(
            "route-initial-value-no-branch",
            "routes and outputs",
            'run(Route("triage").on("category").when("bug", fix), '
            'state={"ticket": "Add dark mode.", "category": "feature"})',
            PipelineError,
            "Route 'triage' compares 'category'",
            "the initial state's 'category' is \"feature\", which none of its branches",
            "add .when('feature', step) for it, or .otherwise(step)",
        ),
        _row(
            "output-reply-invalid-after-retries",
            "routes and outputs",
            'run(classify.output({"type": "string", "enum": ["bug", "feature"]}, retries=1), '
            'provider=FakeProvider(responses={"classify": "A bug, I think."}), '
            'state={"ticket": "It crashes."})',
            RunError,
            "Node 'classify' failed",
            "no reply matching its output schema in 2 attempts",
            "the reply is not JSON",
            "The last reply was 'A bug, I think.'",
            "Allow more attempts with .output(schema, retries=n)",
        ),
    ),
)
