"""Generate a standalone Prefect flow module from a compiled pipeline, ready to deploy.

:func:`generate_flow_code` turns a :class:`~irgraph.backends.prefect_backend.PrefectRunnable`
into the source of one readable Python module: one cached ``@task`` per agent, one async
``@flow`` whose body mirrors the pipeline (sequences are successive awaits, parallel branches
an ``asyncio.gather``, loops a ``for`` with their stop condition, map-overs a gather over the
items with a private state layer per item, transforms inline, gates ``pause_flow_run``), and a
``__main__`` that deploys the flow to a work pool (``python flow.py``) or runs it once, here
(``python flow.py run --state '{"topic": "owls"}'``, printing the final state as JSON).

Agent results are cached under the same key as :class:`PrefectBackend` runs use
(:func:`~irgraph.backends.prefect_backend.agent_cache_key`): run key (the ``run_key`` flow
parameter, default the flow run id), node id, loop/map position, prompt hash and model.

The generated code never contains pipeline text except as ``repr()`` literals, and Python
names made from pipeline names are sanitized and numbered, so any name, instruction, model or
key produces valid code whose literals equal the input. The same pipeline and configuration
always give byte-identical code.

This module does not import ``prefect``; the generated module does.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import inspect
import keyword
import math
import os
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeAlias

import attrs

from irgraph.errors import IrgraphError, PipelineError
from irgraph.ir import (
    AgentNode,
    FunctionRef,
    GateNode,
    LoopNode,
    MapOverNode,
    Node,
    ParallelNode,
    SequenceNode,
    TransformNode,
    resolve_function,
)
from irgraph.provider_spec import provider_from_spec
from irgraph.providers import ModelProvider, ModelRequest
from irgraph.templates import Template, parse_template, render
from irgraph.validate import unbound_reads

from .prefect_backend import agent_cache_key
from .scheduler import collected, map_items

if TYPE_CHECKING:
    import networkx as nx

    from .prefect_backend import PrefectRunnable

__all__ = [
    "PrefectWorkerConfig",
    "generate_flow_code",
    "_collect_tasks",
    # used by generated flows
    "State",
    "Position",
    "model_provider",
    "agent_cache_key_fn",
    "agent_run_name",
    "ask",
    "transform",
    "holds",
    "items_of",
    "collected",
    "gate",
    "pause_key",
]

_DEFAULT_GATE_TIMEOUT = 3600
_WIDTH = 84  # code width before indentation: most lines stay within 100


# Configuration ----------------------------------------------------------------------------


def _non_empty_str(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise IrgraphError(
            f"PrefectWorkerConfig.{attribute.name} must be a non-empty string (got {value!r})."
        )


def _optional_str(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        _non_empty_str(instance, attribute, value)


def _whole(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise IrgraphError(
            f"PrefectWorkerConfig.{attribute.name} must be a whole number >= 0 (got {value!r})."
        )


def _seconds(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise IrgraphError(
            f"PrefectWorkerConfig.{attribute.name} must be a number of seconds >= 0 "
            f"(got {value!r})."
        )


def _provider_spec(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str):
        raise IrgraphError(f"PrefectWorkerConfig.provider must be a string (got {value!r}).")
    name, _, model = value.partition(":")
    looks_secret = value.startswith("sk-") or model.startswith("sk-")
    if looks_secret or name not in ("fake", "openai") or (name == "fake" and model):
        raise IrgraphError(
            f"PrefectWorkerConfig.provider must be a provider spec, 'fake' or 'openai:MODEL' "
            f"(got {'an API key' if looks_secret else repr(value)}). Never put an API key in "
            "generated code: the worker reads OPENAI_API_KEY from its environment."
        )
    if name == "openai" and not model.strip():
        raise IrgraphError(
            f"PrefectWorkerConfig.provider {value!r} names no model; write 'openai:MODEL', "
            "e.g. 'openai:gpt-4o-mini'."
        )


def _path_or_none(value: Any) -> str | None:
    return None if value is None else os.fspath(value)


@attrs.frozen
class PrefectWorkerConfig:
    """How :func:`generate_flow_code` builds and deploys the flow module.

    ``provider`` is a provider *spec* (``"fake"`` or ``"openai:MODEL"``), never a key: the
    worker's environment supplies credentials. ``deployment_name`` defaults to ``flow_name``.
    ``result_dir`` is where agent results are persisted (relative paths are taken from the
    generated file's directory; default: Prefect's own storage); share it between runs to
    resume after a crash with the same ``run_key``. ``cache_across_runs=True`` makes every
    run reuse stored answers for the same prompt to the same node.
    """

    flow_name: str = attrs.field(validator=_non_empty_str)
    work_pool: str = attrs.field(validator=_non_empty_str)
    task_retries: int = attrs.field(default=0, validator=_whole)
    flow_retries: int = attrs.field(default=0, validator=_whole)
    retry_delay_seconds: float = attrs.field(default=0, validator=_seconds)
    provider: str = attrs.field(default="fake", validator=_provider_spec)
    deployment_name: str | None = attrs.field(default=None, validator=_optional_str)
    result_dir: str | None = attrs.field(default=None, converter=_path_or_none)
    cache_across_runs: bool = attrs.field(
        default=False, validator=attrs.validators.instance_of(bool)
    )

    def __attrs_post_init__(self) -> None:
        if self.deployment_name is None:
            object.__setattr__(self, "deployment_name", self.flow_name)


# The plan ---------------------------------------------------------------------------------


def _collect_tasks(plan: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The plan entries that become Prefect tasks (the agents: LLM calls, cached on retry)."""
    return [dict(entry) for entry in plan if entry.get("prefect_type") == "task"]


# Literals and names -----------------------------------------------------------------------


def _lit(value: Any) -> str:
    """A Python literal equal to ``value`` (str, number, bool, None, or a tuple of them)."""
    if value is None or isinstance(value, (bool, str, int)):
        return repr(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else f"float({str(value)!r})"
    if isinstance(value, tuple):
        inner = ", ".join(_lit(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    raise TypeError(f"cannot write {type(value).__name__} {value!r} as a literal")


def _slug(name: str, limit: int = 40) -> str:
    """ASCII letters, digits and single underscores from ``name``, lower case, bounded."""
    text = re.sub(r"[^0-9A-Za-z]+", "_", name).strip("_").lower()
    return text[:limit].rstrip("_")


def _identifier(prefix: str, index: int, name: str) -> str:
    slug = _slug(name)
    ident = f"{prefix}_{index}_{slug}" if slug else f"{prefix}_{index}"
    assert ident.isidentifier() and not keyword.iskeyword(ident)
    return ident


def _flow_function_name(flow_name: str) -> str:
    slug = _slug(flow_name)
    if not slug:
        return "pipeline_flow"
    return f"{slug}_flow" if not slug[0].isdigit() else f"flow_{slug}"


def _call(
    name: str, args: list[list[str]], width: int = _WIDTH, groups: list[int] | None = None
) -> list[str]:
    """Lines of the call ``name(*args)``: on one line if short, else the arguments on one
    indented line if they fit, else ``groups`` (sizes of runs of arguments) a line each,
    else one argument a line."""
    if all(len(arg) == 1 for arg in args):
        flat = [arg[0] for arg in args]
        joined = ", ".join(flat)
        if len(name) + len(joined) + 2 <= width:
            return [f"{name}({joined})"]
        if len(joined) + 4 <= width:
            return [f"{name}(", f"    {joined}", ")"]
        if groups is not None:
            lines = [f"{name}("]
            start = 0
            for size in groups:
                run = flat[start : start + size]
                start += size
                line = ", ".join(run) + ","
                if len(line) + 4 <= width:
                    lines.append("    " + line)
                else:
                    lines += [f"    {arg}," for arg in run]
            lines += [f"    {arg}," for arg in flat[start:]]
            lines.append(")")
            return lines
    lines = [f"{name}("]
    for arg in args:
        lines += ["    " + line for line in arg[:-1]]
        lines.append("    " + arg[-1] + ",")
    lines.append(")")
    return lines


def _signature(name: str, params: list[str], returns: str) -> list[str]:
    """``async def name(*params, run_key: str | None) -> returns:``, wrapped if long."""
    args = [[param] for param in [*params, "run_key: str | None"]]
    width = 100 - len("async def ") - len(f" -> {returns}:")  # def lines are not indented
    lines = _prefixed("async def ", _call(name, args, width=width))
    lines[-1] += f" -> {returns}:"
    return lines


def _prefixed(prefix: str, lines: list[str]) -> list[str]:
    return [prefix + lines[0], *lines[1:]]


def _indent(lines: Iterable[str], levels: int = 1) -> list[str]:
    pad = "    " * levels
    return [pad + line if line else line for line in lines]


def _function_ref(ref: FunctionRef, owner: str, role: str) -> str:
    if not ref.importable:
        raise PipelineError(
            f"The {role} of '{owner}' is {ref.ref!r}, which generated code cannot import "
            "(lambdas and functions defined inside other functions have no import path).",
            node=owner,
            hint="Define the function at the top level of an importable module.",
        )
    return ref.ref


def _input_keys(G: nx.DiGraph) -> tuple[str, ...]:
    """Keys the initial state must hold: required reads that no earlier step writes
    (declared inputs included, since a run must supply them too)."""
    undeclared = G.copy()
    undeclared.graph["inputs"] = frozenset()
    return tuple(sorted({str(problem.key) for problem in unbound_reads(undeclared)}))


# The generator ----------------------------------------------------------------------------


class _Generator:
    """Walks the IR in reading order (the graph's node order) and writes the module."""

    def __init__(self, G: nx.DiGraph) -> None:
        self.G = G
        self.ids = iter(G.nodes)
        self.index = 0
        self.tasks: list[list[str]] = []
        self.functions: list[list[str]] = []
        self.uses: set[str] = set()

    def _next(self) -> int:
        index = self.index
        self.index += 1
        return index

    # statements and awaitables --------------------------------------------------------
    def statements(self, node: Node, state: str, path: str) -> list[str]:
        """Statements that run ``node`` on ``state`` at position ``path``."""
        if isinstance(node, SequenceNode):
            self._next()
            lines: list[str] = []
            for child in node.children:
                lines += self.statements(child, state, path)
            return lines
        return _prefixed("await ", self.awaitable(node, state, path))

    def awaitable(self, node: Node, state: str, path: str) -> list[str]:
        """An expression that, awaited, runs ``node``."""
        if isinstance(node, SequenceNode):
            index = self._next()
            name = _identifier("sequence", index, node.name)
            body: list[str] = []
            for child in node.children:
                body += self.statements(child, "state", "path")
            self._function(name, f"Sequence {node.name!r}: its steps one after another.", body)
            return [f"{name}({state}, {path}, run_key)"]
        if isinstance(node, ParallelNode):
            self._next()
            branches = [self.awaitable(child, state, path) for child in node.children]
            return _call("asyncio.gather", branches)
        if isinstance(node, AgentNode):
            return self.agent(node, state, path)
        if isinstance(node, TransformNode):
            return self.transform(node, state)
        if isinstance(node, GateNode):
            return self.gate(node, state, path)
        if isinstance(node, LoopNode):
            return self.loop(node, state, path)
        if isinstance(node, MapOverNode):
            return self.map_over(node, state, path)
        raise TypeError(f"not an IR node: {node!r}")

    # executable nodes ------------------------------------------------------------------
    def agent(self, node: AgentNode, state: str, path: str) -> list[str]:
        index = self._next()
        nid = next(self.ids)
        name = _identifier("agent", index, nid)
        options = [
            f"name={_lit(nid)}",
            "task_run_name=agent_run_name",
            "retries=TASK_RETRIES",
            "retry_delay_seconds=RETRY_DELAY_SECONDS",
            "persist_result=True",
            "cache_key_fn=agent_cache_key_fn",
            "result_storage=RESULT_STORAGE",
        ]
        if node.timeout is not None:
            options.append(f"timeout_seconds={_lit(float(node.timeout))}")
        self.tasks.append(
            [
                f"# Agent {nid!r}",
                *_prefixed("@", _call("task", [[o] for o in options])),
                *_signature(name, ["request: ModelRequest", "path: Position"], "str"),
                "    return await model_provider(PROVIDER).complete(request)",
            ]
        )
        args = [
            name,
            state,
            path,
            "run_key",
            f"node={_lit(nid)}",
            f"name={_lit(node.name)}",
            f"instruction={_lit(node.instruction)}",
            f"model={_lit(node.model)}",
            f"writes={_lit(node.writes)}",
        ]
        return _call("ask", [[a] for a in args], groups=[4, 2, 1, 2])

    def transform(self, node: TransformNode, state: str) -> list[str]:
        self._next()
        nid = next(self.ids)
        self.uses.add("transform")
        args = [
            state,
            f"node={_lit(nid)}",
            f"function={_lit(_function_ref(node.fn, nid, 'function'))}",
            f"reads={_lit(tuple(node.reads))}",
            f"writes={_lit(node.writes)}",
        ]
        if node.timeout is not None:
            args.append(f"timeout={_lit(float(node.timeout))}")
        return _call("transform", [[a] for a in args])

    def gate(self, node: GateNode, state: str, path: str) -> list[str]:
        self._next()
        nid = next(self.ids)
        self.uses.add("gate")
        seconds = _DEFAULT_GATE_TIMEOUT if node.timeout is None else node.timeout
        timeout = max(1, math.ceil(seconds)) if math.isfinite(seconds) else 10**9
        args = [
            state,
            path,
            f"node={_lit(nid)}",
            f"message={_lit(node.message)}",
            f"writes={_lit(node.writes)}",
            f"timeout={_lit(timeout)}",
        ]
        return _call("gate", [[a] for a in args])

    # scopes ------------------------------------------------------------------------------
    def loop(self, node: LoopNode, state: str, path: str) -> list[str]:
        index = self._next()
        nid = next(self.ids)
        name = _identifier("loop", index, nid)
        body: list[str] = [f"here = (*path, ({_lit(nid)}, iteration))"]
        for child in node.children:
            body += self.statements(child, "state", "here")
        until = node.until
        if isinstance(until, str):
            body += [f"if state.get({_lit(until)}):", "    break"]
        elif isinstance(until, FunctionRef):
            self.uses.add("holds")
            ref = _function_ref(until, nid, "until predicate")
            body += [f"if holds({_lit(ref)}, state):", "    break"]
        assert node.max_iterations is not None
        lines = [f"for iteration in range({_lit(node.max_iterations)}):", *_indent(body)]
        self._function(name, f"Loop {nid!r}: its body up to {node.max_iterations} times.", lines)
        return [f"{name}({state}, {path}, run_key)"]

    def map_over(self, node: MapOverNode, state: str, path: str) -> list[str]:
        index = self._next()
        nid = next(self.ids)
        name = _identifier("map_over", index, nid)
        self.uses.update(("map", "items_of", "collected"))
        body: list[str] = []
        for child in node.children:
            body += self.statements(child, "scope", "here")
        if node.max_concurrency:
            body = ["async with limit:", *_indent(body)]
        one = [
            "async def one(index: int, item: Any) -> Any:",
            *_indent(
                [
                    f"local: dict[str, Any] = {{{_lit(node.item)}: item}}",
                    "scope = ChainMap(local, state)",
                    f"here = (*path, ({_lit(nid)}, index))",
                    *body,
                    f"return collected(local, {_lit(node.collect)}, {_lit(nid)}, index)",
                ]
            ),
        ]
        lines = [f"items = items_of(state, {_lit(node.over)}, {_lit(nid)})"]
        if node.max_concurrency:
            lines.append(f"limit = asyncio.Semaphore({_lit(node.max_concurrency)})")
        lines += ["", *one, ""]
        lines.append("results = await asyncio.gather(*(one(i, x) for i, x in enumerate(items)))")
        if node.writes is not None:
            lines.append(f"state[{_lit(node.writes)}] = results")
        doc = f"Map-over {nid!r}: its body once per item, concurrently."
        self._function(name, doc, lines)
        return [f"{name}({state}, {path}, run_key)"]

    def _function(self, name: str, doc: str, body: list[str]) -> None:
        signature = _signature(name, ["state: State", "path: Position"], "None")
        self.functions.append([f"# {doc}", *signature, *_indent(body)])


# Used by generated flows ------------------------------------------------------------------
# The generated module imports these, so every flow shares one tested implementation of
# prompt rendering, caching and scope bookkeeping with the backend.

State: TypeAlias = MutableMapping[str, Any]
Position: TypeAlias = tuple[tuple[str, int], ...]  # (loop or map-over id, index) pairs


@functools.cache
def model_provider(spec: str) -> ModelProvider:
    """The provider for a spec (``"fake"``, ``"openai:MODEL"``), made once per process."""
    return provider_from_spec(spec)


@functools.cache
def _template(text: str) -> Template:
    return parse_template(text)


@functools.cache
def _imported(ref: str) -> Callable[..., Any]:
    return resolve_function(FunctionRef(ref))


def agent_cache_key_fn(context: Any, parameters: dict[str, Any]) -> str:
    """A task's ``cache_key_fn``: :func:`agent_cache_key` of the call's run key, node,
    position, prompt and model."""
    request: ModelRequest = parameters["request"]
    return agent_cache_key(
        parameters["run_key"], request.node, parameters["path"], request.prompt, request.model
    )


def _where(node: str, path: Position) -> str:
    return node + "".join(f"[{i}]" for _, i in path)


def agent_run_name(parameters: dict[str, Any]) -> str:
    """A task's ``task_run_name``: the node id and its position, e.g. ``critic[2]``."""
    return _where(parameters["request"].node, parameters["path"])


def _values(text: str, state: State) -> dict[str, Any]:
    parsed = _template(text)
    values = {key: state[key] for key in parsed.reads}
    values.update({key: state[key] for key in parsed.optional_reads if key in state})
    return values


async def ask(
    agent_task: Callable[[ModelRequest, Position, str | None], Awaitable[str]],
    state: State,
    path: Position,
    run_key: str | None,
    *,
    node: str,
    name: str,
    instruction: str,
    model: str | None,
    writes: str | None,
) -> str:
    """Render an agent's prompt from state, await its cached task, store the answer."""
    values = _values(instruction, state)
    prompt = render(_template(instruction), values)
    request = ModelRequest(node, name, prompt, model, MappingProxyType(values))
    answer = await agent_task(request, path, run_key)
    if not isinstance(answer, str):
        raise TypeError(
            f"the provider answered {type(answer).__name__} {answer!r}; complete() must "
            "return a str"
        )
    if writes is not None:
        state[writes] = answer
    return answer


async def transform(
    state: State,
    *,
    node: str,
    function: str,
    reads: tuple[str, ...],
    writes: str | None,
    timeout: float | None = None,
) -> Any:
    """Call a transform's function (an import path) with the keys it reads; store the result."""
    fn = _imported(function)
    async with asyncio.timeout(timeout):
        value = fn(**{key: state[key] for key in reads})
        if inspect.isawaitable(value):
            value = await value
    if writes is not None:
        state[writes] = value
    return value


def holds(predicate: str, state: State) -> bool:
    """Whether a loop's stop predicate (an import path) holds for the state."""
    return bool(_imported(predicate)(MappingProxyType(state)))


items_of = map_items  # the name generated code uses


def pause_key(node: str, path: Position) -> str:
    """The pause key of a gate at a position: unique per node and loop/map position (so a
    gate in a loop pauses every iteration) and made of what Prefect allows in run-input
    keys: lowercase letters, digits and dashes.

    >>> pause_key("Approve plan", (("review", 1),))
    'gate-approve-plan-1-...'
    """
    where = _where(node, path)
    readable = re.sub(r"[^a-z0-9]+", "-", where.lower()).strip("-")[:40].strip("-")
    digest = hashlib.sha256(where.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"gate-{readable}-{digest}" if readable else f"gate-{digest}"


async def gate(
    state: State, path: Position, *, node: str, message: str, writes: str | None, timeout: int
) -> str:
    """Pause the flow run until someone resumes it with an answer (a string), e.g.
    :func:`~irgraph.backends.prefect_backend.resume_gate`."""
    from prefect.flow_runs import apause_flow_run
    from prefect.logging import get_run_logger

    text = render(_template(message), _values(message, state))
    where = _where(node, path)
    get_run_logger().info("Gate %r waits for an answer: %s", where, text)
    answer: str = await apause_flow_run(
        wait_for_input=str, timeout=timeout, poll_interval=1, key=pause_key(node, path)
    )
    if writes is not None:
        state[writes] = answer
    return answer


# The module -------------------------------------------------------------------------------

_DOC = '''\
"""A Prefect flow generated by irgraph; regenerate it rather than edit it.

    python THIS_FILE.py                                  # deploy to WORK_POOL
    python THIS_FILE.py run --state '{"topic": "owls"}'  # run once here, print the final state

Agent answers are persisted and cached per run key (`run_key`, default the flow run id),
node, loop/map position, prompt and model, so a flow retry reuses finished agents.
"""
'''

_MAIN = '''\
def deploy() -> None:
    """Create or update deployment DEPLOYMENT_NAME of this file on work pool WORK_POOL."""
    here = Path(__file__).resolve()
    entrypoint = f"{{here.name}}:{fn}"
    source = flow.from_source(str(here.parent), entrypoint)
    # to_deployment().apply() rather than .deploy(): in Prefect 3.8 .deploy() also lists the
    # pool's workers, a request that newer FastAPI servers reject (limit=null).
    deployment = source.to_deployment(name=DEPLOYMENT_NAME, work_pool_name=WORK_POOL)
    deployment_id = deployment.apply()
    print(f"Deployed {{FLOW_NAME}}/{{DEPLOYMENT_NAME}} ({{deployment_id}}) to {{WORK_POOL!r}}.")
    print(f"Start a worker: prefect worker start --pool {{WORK_POOL!r}}")
    print(f"Run it: prefect deployment run {{FLOW_NAME + '/' + DEPLOYMENT_NAME!r}}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Deploy (default) or run this Prefect flow.")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("deploy", help="deploy to the work pool (the default)")
    run = commands.add_parser("run", help="run once here and print the final state as JSON")
    run.add_argument("--state", default="{{}}", help="the initial state, a JSON object")
    run.add_argument("--run-key", default=None, help="the run key agent results cache under")
    args = parser.parse_args(argv)
    if args.command == "run":
        state = json.loads(args.state)
        final = asyncio.run({fn}(state, args.run_key))
        print(json.dumps(final, default=str))
    else:
        deploy()
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''


def generate_flow_code(compiled: PrefectRunnable, config: PrefectWorkerConfig) -> str:
    """The source of a standalone module that runs ``compiled`` as a Prefect flow.

    ``compiled`` is what ``PrefectBackend().compile(ir)`` returns (anything with the IR as
    ``.node`` and its graph as ``.graph`` works). The module imports prefect and irgraph;
    ``python module.py`` deploys it to ``config.work_pool``, ``python module.py run --state
    JSON`` runs it once locally. Raises :class:`PipelineError` for a transform or loop
    predicate without an import path (a lambda or local function).

    >>> from irgraph import Agent
    >>> from irgraph.backends.prefect_backend import PrefectBackend
    >>> compiled = PrefectBackend().compile(Agent("writer").instruct("Write.").to_ir())
    >>> code = generate_flow_code(compiled, PrefectWorkerConfig("notes", work_pool="local"))
    >>> print(code[code.index("@flow"):code.index("    state = dict")].strip())
    @flow(
    ...
    async def notes_flow(
        state: dict[str, Any] | None = None, run_key: str | None = None
    ) -> dict[str, Any]:
    ...
    """
    if not isinstance(config, PrefectWorkerConfig):
        raise IrgraphError(
            f"generate_flow_code() needs a PrefectWorkerConfig (got {type(config).__name__})."
        )
    ir: Node = compiled.node
    G: nx.DiGraph = compiled.graph
    gen = _Generator(G)
    body = gen.statements(ir, "state", "()")
    uses = gen.uses
    fn = _flow_function_name(config.flow_name)

    imports = ["import argparse", "import asyncio", "import json", "import sys"]
    if "map" in uses:
        imports.append("from collections import ChainMap")
    imports += ["from pathlib import Path", "from typing import Any", ""]
    imports += ["from prefect import flow, task", "from prefect.runtime import flow_run", ""]
    names = ["Position", "agent_cache_key_fn", "agent_run_name", "ask"]
    if gen.functions:
        names.append("State")
    names += sorted(uses & {"collected", "gate", "holds", "items_of", "transform"})
    names = sorted([*names, "model_provider"])
    imports += [
        "from irgraph.backends.prefect_worker import (",
        *[f"    {name}," for name in names],
        ")",
        "from irgraph.providers import ModelRequest",
    ]

    settings = [
        "# Settings ---------------------------------------------------------------------------",
        "",
        f"PIPELINE = {_lit(str(G.graph.get('name', ir.name)))}",
        f"FLOW_NAME = {_lit(config.flow_name)}",
        f"DEPLOYMENT_NAME = {_lit(config.deployment_name)}",
        f"WORK_POOL = {_lit(config.work_pool)}",
        f"PROVIDER = {_lit(config.provider)}  # a provider spec; keys come from the environment",
        f"TASK_RETRIES = {_lit(config.task_retries)}",
        f"FLOW_RETRIES = {_lit(config.flow_retries)}",
        f"RETRY_DELAY_SECONDS = {_lit(config.retry_delay_seconds)}",
        f"CACHE_ACROSS_RUNS = {_lit(config.cache_across_runs)}",
        f"RESULT_DIR = {_lit(config.result_dir)}",
        f"INPUTS = {_lit(_input_keys(G))}  # keys the initial state must hold",
    ]
    if config.result_dir is not None:
        settings.append("RESULT_STORAGE = Path(__file__).parent / RESULT_DIR  # a local directory")
    else:
        settings.append("RESULT_STORAGE = None  # Prefect's default result storage")

    flow_lines = [
        *_prefixed(
            "@",
            _call(
                "flow",
                [
                    ["name=FLOW_NAME"],
                    ["retries=FLOW_RETRIES"],
                    ["retry_delay_seconds=RETRY_DELAY_SECONDS"],
                    ["persist_result=True"],
                    ["log_prints=False"],
                ],
            ),
        ),
        f"async def {fn}(",
        "    state: dict[str, Any] | None = None, run_key: str | None = None",
        ") -> dict[str, Any]:",
        '    """Run the pipeline on `state` and return the final state.',
        "",
        "    `run_key` names the run for caching agent answers (default: the flow run id).",
        '    """',
        "    state = dict(state or {})",
        "    missing = [key for key in INPUTS if key not in state]",
        "    if missing:",
        '        raise ValueError(f"The initial state needs the keys {missing}.")',
        "    if CACHE_ACROSS_RUNS:",
        "        run_key = None",
        "    elif run_key is None:",
        "        run_key = flow_run.id",
        *_indent(body),
        "    return state",
    ]

    sections: list[str] = [
        _DOC + "\n" + "\n".join(imports),
        "\n".join(settings),
        "# Agents: one cached Prefect task each -----------------------------------------------",
    ]
    sections += ["\n".join(lines) for lines in gen.tasks]
    if gen.functions:
        sections.append(
            "# Loops, map-overs and parallel branches ---------------------------------------"
        )
        sections += ["\n".join(lines) for lines in gen.functions]
    sections += [
        "# The flow ---------------------------------------------------------------------------",
        "\n".join(flow_lines),
        _MAIN.format(fn=fn).rstrip("\n"),
    ]
    return "\n\n\n".join(section.rstrip("\n") for section in sections) + "\n"
