"""The code generator behind :func:`~irgraph.backends.prefect_worker.generate_flow_code`.

:class:`_Generator` walks the IR in reading order (the graph's node order, which also numbers
the generated functions) and turns each node into a call with literal arguments: agents into
cached ``@task`` functions awaited through ``ask``, parallels into ``together`` (a gather that
cancels the rest on a failure), loops and map-overs into functions of their own.
:func:`flow_module` puts those between the module's settings and its ``__main__``. What the
calls do at run time lives in :mod:`irgraph.backends.prefect_runtime`, which the module
imports, so this file is only layout.
Pipeline text appears only as ``repr()`` literals (:func:`_lit`), and names made from pipeline
names are sanitized and numbered (:func:`_identifier`). Nothing here imports ``prefect``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Protocol

from irgraph.ir import (
    AgentNode,
    FunctionRef,
    GateNode,
    LoopNode,
    MapOverNode,
    Node,
    ParallelNode,
    RouteCase,
    RouteNode,
    SequenceNode,
    TransformNode,
)
from irgraph.ir.json import pipeline_digest, pipeline_digests, to_json
from irgraph.validate import required_inputs

from .prefect_codegen_templates import BATCH_FLOW, DOC, FLOW, MAIN
from .prefect_codegen_text import (
    _WIDTH,
    _call,
    _flow_function_name,
    _function_ref,
    _identifier,
    _indent,
    _lit,
    _prefixed,
    _refuse_main_functions,
    _signature,
    _wrapped,
)
from .prefect_flow_values import value_checks
from .prefect_runtime import prefect_name

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["FlowSettings", "flow_module"]

_DEFAULT_GATE_TIMEOUT = 3600
_RETURNS = {"map_over": "list[Any]", "route": "str"}  # what a scope's function returns


class FlowSettings(Protocol):
    """What the generated module is configured with (a ``PrefectWorkerConfig``)."""

    @property
    def flow_name(self) -> str: ...
    @property
    def work_pool(self) -> str: ...
    @property
    def deployment_name(self) -> str | None: ...
    @property
    def provider(self) -> str: ...
    @property
    def task_retries(self) -> int: ...
    @property
    def flow_retries(self) -> int: ...
    @property
    def retry_delay_seconds(self) -> float: ...
    @property
    def result_dir(self) -> str | None: ...
    @property
    def cache_across_runs(self) -> bool: ...


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
            self.uses.add("together")
            return _call("together", branches)
        if isinstance(node, AgentNode):
            return self.agent(node, state, path)
        if isinstance(node, TransformNode):
            return self.transform(node, state, path)
        if isinstance(node, GateNode):
            return self.gate(node, state, path)
        if isinstance(node, LoopNode):
            return self.loop(node, state, path)
        if isinstance(node, MapOverNode):
            return self.map_over(node, state, path)
        if isinstance(node, RouteNode):
            return self.route(node, state, path)
        raise TypeError(f"not an IR node: {node!r}")

    # executable nodes ------------------------------------------------------------------
    def agent(self, node: AgentNode, state: str, path: str) -> list[str]:
        index = self._next()
        nid = next(self.ids)
        name = _identifier("agent", index, nid)
        options = [
            f"name={_lit(prefect_name(nid))}",
            "task_run_name=agent_run_name",
            "retries=TASK_RETRIES",
            "retry_delay_seconds=RETRY_DELAY_SECONDS",
            "persist_result=True",
            "cache_key_fn=AGENT_CACHE_KEY",
            "result_storage=RESULT_STORAGE",
        ]
        if node.timeout is not None:
            options.append(f"timeout_seconds={_lit(float(node.timeout))}")
        self.tasks.append(
            [
                f"# Agent {nid!r}",
                *_prefixed("@", _call("task", [[o] for o in options])),
                *_signature(name, ["request: ModelRequest", "path: Position"], "str"),
                "    return await limited(model_provider(PROVIDER), request)",
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
        if node.system:
            args.append(f"system={_lit(node.system)}")
        if node.settings:
            args.append(f"settings={_lit(node.settings.to_dict())}")
        if node.output is not None:
            args.append(f"output={_lit(node.output.to_dict())}")
        if node.output_retries:
            args.append(f"retries={_lit(node.output_retries)}")
        return _call("ask", [[a] for a in args], groups=[4, 2, 1, 2])

    def transform(self, node: TransformNode, state: str, path: str) -> list[str]:
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
        if path != "()":  # inside a loop or map-over: named in the message of a failure
            args.append(f"path={path}")
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
            "run_key",
            f"node={_lit(nid)}",
            f"message={_lit(node.message)}",
            f"writes={_lit(node.writes)}",
            f"timeout={_lit(timeout)}",
            "storage=RESULT_STORAGE",
            "provider=PROVIDER",  # a fake provider's gate answers are kept apart
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
        if isinstance(until, str) and node.until_equals:
            self.uses.add("stops")
            equals = _lit(node.until_equals[0])
            named = f"node={_lit(nid)}, path=path"
            body += [f"if stops(state, {_lit(until)}, {equals}, {named}):", "    break"]
        elif isinstance(until, str):  # a key, or a field of one
            self.uses.add("stops")
            body += [f"if stops(state, {_lit(until)}, node={_lit(nid)}, path=path):", "    break"]
        elif isinstance(until, FunctionRef):
            self.uses.add("until_holds")
            ref = _function_ref(until, nid, "until predicate")
            args = [[_lit(ref)], ["state"], [f"node={_lit(nid)}"], ["path=path"]]
            test = _prefixed("if await ", _call("until_holds", args, width=_WIDTH - 10))
            body += [*test[:-1], test[-1] + ":", "    break"]
        assert node.max_iterations is not None
        lines = [f"for iteration in range({_lit(node.max_iterations)}):", *_indent(body)]
        doc = f"Loop {nid!r}: its body up to {node.max_iterations} times."
        self._function(name, doc, lines, (nid, "loop"))
        return [f"{name}({state}, {path}, run_key)"]

    def map_over(self, node: MapOverNode, state: str, path: str) -> list[str]:
        index = self._next()
        nid = next(self.ids)
        name = _identifier("map_over", index, nid)
        self.uses.update(("map", "map_items", "collected", "together"))
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
        lines = [f"items = map_items(state, {_lit(node.over)}, {_lit(nid)})"]
        if node.max_concurrency:
            lines.append(f"limit = asyncio.Semaphore({_lit(node.max_concurrency)})")
        lines += ["", *one, ""]
        lines.append("results = await together(*(one(i, x) for i, x in enumerate(items)))")
        if node.writes is not None:
            lines.append(f"state[{_lit(node.writes)}] = results")
        lines.append("return results  # the map-over's output")
        doc = f"Map-over {nid!r}: its body once per item, concurrently."
        self._function(name, doc, lines, (nid, "map_over"))
        return [f"{name}({state}, {path}, run_key)"]

    def route(self, node: RouteNode, state: str, path: str) -> list[str]:
        index = self._next()
        nid = next(self.ids)
        name = _identifier("route", index, nid)
        self.uses.add("choose")
        cases = tuple(_case(case, nid) for case in node.cases)
        listed = [f"cases={_lit(cases)}"]
        if len(listed[0]) > 60:  # one case a line
            listed = ["cases=(", *_indent(_lit(case) + "," for case in cases), ")"]
        args = [["state"], [f"node={_lit(nid)}"], [f"on={_lit(node.on)}"], listed, ["path=path"]]
        lines = _prefixed("branch = await ", _call("choose", args))
        for number, child in enumerate(node.children):
            body = self.statements(child, "state", "path")
            lines += [f"{'if' if number == 0 else 'elif'} branch == {number}:"]
            lines += _indent(body or ["pass"])
        labels = _indent(f"{_lit(case.label)}," for case in node.cases)
        lines += [
            "return (  # the route's output: the label of the case taken",
            *labels,
            ")[branch]",
        ]
        doc = f"Route {nid!r}: the branch of the first case that holds, and only that one."
        self._function(name, doc, lines, (nid, "route"))
        return [f"{name}({state}, {path}, run_key)"]

    def _function(
        self, name: str, doc: str, body: list[str], node: tuple[str, str] | None = None
    ) -> None:
        """A function of the module (``state, path, run_key``); one that runs a ``node`` (its
        id and kind) is decorated to fail and complete as that node, and returns its output
        (a map-over's list, a route's case label; a loop's is ``None``)."""
        decorator = []
        if node is not None:
            self.uses.add("as_node")
            decorator = [f"@as_node({_lit(node[0])}, {_lit(node[1])})"]
        returns = _RETURNS.get(node[1] if node else "", "None")
        signature = _signature(name, ["state: State", "path: Position"], returns)
        self.functions.append([f"# {doc}", *decorator, *signature, *_indent(body)])


def _case(case: RouteCase, owner: str) -> tuple[str, Any]:
    """A route case as :func:`~irgraph.backends.prefect_runtime.choose` takes it."""
    if case.kind == "test":
        return ("test", _function_ref(case.value, owner, "route test"))
    return (case.kind, case.value)


# The module -------------------------------------------------------------------------------


def _gates(G: nx.DiGraph) -> dict[str, str]:
    return {nid: str(data["label"]) for nid, data in G.nodes(data=True) if data["kind"] == "gate"}


def _state_checks(checks: dict[str, Any]) -> list[str]:
    """The ``STATE_CHECKS`` setting: one line per node, then the keys bound before nodes."""
    nodes = [f"        {_lit(nid)}: {_lit(data)}," for nid, data in checks["nodes"].items()]
    return [
        "# What checks the initial state (a value refused, a key misspelt), as in-process runs do:",
        "STATE_CHECKS = {",
        '    "nodes": {',
        *nodes,
        "    },",
        f'    "bound": {_lit(checks["bound"])},  # [node, key]: a step before the node writes key',
        "}",
    ]


def flow_module(ir: Node, G: nx.DiGraph, config: FlowSettings) -> str:
    """The source of a flow module that runs ``ir`` (whose graph is ``G``) as configured."""
    _refuse_main_functions(ir)
    gen = _Generator(G)
    body = gen.statements(ir, "state", "()")
    uses = gen.uses
    fn = _flow_function_name(config.flow_name)

    imports = ["import asyncio", "import json", "import sys"]
    if "map" in uses:
        imports.append("from collections import ChainMap")
    imports += ["from pathlib import Path", "from typing import Any", ""]
    names = {"Position", "agent_cache_key_for", "agent_run_name", "ask", "model_provider"}
    names |= {"answering", "run_record"}
    names |= uses & {"as_node", "choose", "collected", "gate", "map_items", "stops"}
    names |= uses & {"transform", "until_holds", "together"}
    names |= {"State"} if gen.functions else set()
    imports += [
        "from irgraph.backends.prefect_chunks import check_pipeline, limited, run_chunk",
        "from irgraph.backends.prefect_flow_cli import (",
        "    check_deploy_target,",
        "    deployment_run_command,",
        "    initial_state,",
        "    state_warnings_told,",
        "    worker_command,",
        ")",
        "from irgraph.backends.prefect_flow_command import failure_told, read_command",
        "from irgraph.backends.prefect_flow_ends import partial_on_stop",
        "from irgraph.backends.prefect_names import check_run_key",
        "from irgraph.backends.prefect_result_dir import check_result_storage",
        "from irgraph.backends.prefect_runtime import (",
        *[f"    {name}," for name in sorted(names)],
        ")",
        "from irgraph.backends.prefect_server import lean_prefect_settings, "
        "settle_services_at_exit",
        "from irgraph.backends.prefect_watchdog import watch_temporary_server",
        "from irgraph.providers import ModelRequest",
    ]
    prefect = [
        "# Before Prefect loads: no usage data sent; for `run` on a temporary local server, the",
        "# services a run does not need off and time to start it. Your environment's values win.",
        "lean_prefect_settings()",
        "",
        "# Run as a script, the command line is read first: a mistake in it is told at once.",
        "COMMAND = (",
        "    read_command(sys.argv[1:], INPUTS, GATES, RESULT_STORAGE, STATE_CHECKS)",
        '    if __name__ == "__main__"',
        "    else None",
        ")",
        "",
        "from prefect import flow, task  # noqa: E402  (after the settings above)",
        "from prefect.runtime import flow_run  # noqa: E402",
    ]

    settings = [
        "# Settings ---------------------------------------------------------------------------",
        "",
        f"PIPELINE = {_lit(str(G.graph.get('name', ir.name)))}",
        f"PIPELINE_DIGEST = {_lit(pipeline_digest(ir))}  # batches refuse other versions",
        f"SAME_PIPELINE = {_lit(tuple(sorted(pipeline_digests(ir))))}  # an older irgraph's too",
        f"FLOW_NAME = {_lit(config.flow_name)}",
        f"BATCH_FLOW_NAME = {_lit(config.flow_name + '-batch')}  # runs a chunk of a batch",
        f"DEPLOYMENT_NAME = {_lit(config.deployment_name)}",
        f"WORK_POOL = {_lit(config.work_pool)}",
        f"PROVIDER = {_lit(config.provider)}  # a provider spec; keys come from the environment",
        f"TASK_RETRIES = {_lit(config.task_retries)}",
        f"FLOW_RETRIES = {_lit(config.flow_retries)}",
        f"RETRY_DELAY_SECONDS = {_lit(config.retry_delay_seconds)}",
        f"CACHE_ACROSS_RUNS = {_lit(config.cache_across_runs)}",
        f"RESULT_DIR = {_lit(config.result_dir)}",
        f"INPUTS = {_lit(tuple(sorted(required_inputs(G))))}  # keys the initial state must hold",
        f"GATES = {_lit(_gates(G))}  # each gate's id and name, for run --answer",
        *_state_checks(value_checks(G)),
        "# The pipeline (its IR JSON) and the inputs it was compiled with: a failed run's",
        "# RunError carries its graph, as an in-process run's does (error.graph, error.view()).",
        *_prefixed("PIPELINE_JSON = ", _wrapped(to_json(ir, indent=None))),
        f"PIPELINE_INPUTS = {_lit(tuple(G.graph.get('inputs', ())))}",
    ]
    if config.result_dir is not None:
        settings.append("RESULT_STORAGE = Path(__file__).parent / RESULT_DIR  # a local directory")
    else:
        settings.append("RESULT_STORAGE = None  # Prefect's default result storage")

    sections: list[str] = [
        DOC + "\n" + "\n".join(imports),
        "\n".join(settings),
        "\n".join(prefect),
        "# Agents: one cached Prefect task each -----------------------------------------------"
        "\n\n"
        "AGENT_CACHE_KEY = agent_cache_key_for(PROVIDER)  # made-up answers are cached apart",
    ]
    sections += ["\n".join(lines) for lines in gen.tasks]
    if gen.functions:
        sections.append(
            "# Loops, map-overs and parallel branches ---------------------------------------"
        )
        sections += ["\n".join(lines) for lines in gen.functions]
    sections += [
        "# The flow ---------------------------------------------------------------------------",
        FLOW.format(fn=fn, body="\n".join(_indent(_indent(body)))).rstrip("\n"),
        BATCH_FLOW.format(fn=fn).rstrip("\n"),
        MAIN.format(fn=fn).rstrip("\n"),
    ]
    return "\n\n\n".join(section.rstrip("\n") for section in sections) + "\n"
