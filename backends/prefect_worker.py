"""Generate a standalone Prefect flow module from a compiled pipeline, ready to deploy.

:func:`generate_flow_code` turns a :class:`~irgraph.backends.prefect_backend.PrefectRunnable`
into the source of one readable Python module: one cached ``@task`` per agent, one async
``@flow`` whose body mirrors the pipeline (sequences are successive awaits, parallel branches
an ``asyncio.gather``, loops a ``for`` with their stop condition, map-overs a gather over the
items with a private state layer per item, routes an ``if``/``elif`` over their branches after
``choose`` picks one, transforms inline, gates ``pause_flow_run``), and a
``__main__`` that deploys the flow to a work pool (``python flow.py``) or runs it once, here
(``python flow.py run --state '{"topic": "owls"}'``, printing the final state as JSON).

Agent results are cached under the same key as :class:`PrefectBackend` runs use
(:func:`~irgraph.backends.prefect_runtime.agent_cache_key`): run key (the ``run_key`` flow
parameter, default the flow run id), node id, loop/map position, prompt hash, model, system
prompt, settings, output schema and attempt.

The generated code never contains pipeline text except as ``repr()`` literals, and Python
names made from pipeline names are sanitized and numbered, so any name, instruction, model or
key produces valid code whose literals equal the input. The same pipeline and configuration
always give byte-identical code.

This module is the contract face: the configuration, the plan (how each node maps onto
Prefect, which :class:`PrefectRunnable` shows as ``node_plan``) and its task list, and the
entry point. The generator is :mod:`irgraph.backends.prefect_codegen`; what the generated module
runs is :mod:`irgraph.backends.prefect_runtime`. Neither this module nor those import
``prefect``; the generated module does.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import os
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from irgraph import checks
from irgraph.errors import IrgraphError, PipelineError, did_you_mean
from irgraph.ir import (
    AgentNode,
    LoopNode,
    MapOverNode,
    Node,
    ParallelNode,
    RouteNode,
    SequenceNode,
)
from irgraph.provider_spec import SPEC_FORMS, is_import_spec
from irgraph.schema import KIND

from .prefect_codegen import flow_module
from .prefect_runtime import is_prefect_name, prefect_name

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "PrefectWorkerConfig",
    "generate_flow_code",
    "_collect_tasks",
    "build_plan",
    "PREFECT_TYPES",
    "CompiledPipeline",
    "PREFECT_NAME",
    "check_prefect_name",
]


PREFECT_TYPES: dict[type[Any], str] = {
    AgentNode: "task",
    SequenceNode: "flow",
    ParallelNode: "flow",
    LoopNode: "flow",
    MapOverNode: "map",
}
_OTHER_TYPES = {"transform": "inline", "gate": "pause", "route": "branch"}


# Configuration ----------------------------------------------------------------------------


def _provider_spec(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    checks.text(instance, attribute, value)
    name, _, model = value.partition(":")
    looks_secret = value.startswith("sk-") or model.startswith("sk-")
    known = name in ("fake", "openai") or is_import_spec(value)
    if looks_secret or not known or (name == "fake" and model):
        near = "" if looks_secret else _near_spec(name, model)
        raise PipelineError(
            f"PrefectWorkerConfig.provider must be a provider spec, {SPEC_FORMS} "
            f"(got {'an API key' if looks_secret else repr(value)}).{near} Never put an API "
            "key in generated code: the worker reads OPENAI_API_KEY from its environment.",
            expected=SPEC_FORMS,
            got="an API key" if looks_secret else value,
        )
    if is_import_spec(value) and not _findable(name):
        raise PipelineError(
            f"PrefectWorkerConfig.provider {value!r} names the module {name!r}, which cannot "
            f"be found here.{_near_spec(name, model)} The generated module imports it on the "
            "worker: install it (or put it on the path) where you generate the flow too, or "
            "use 'fake' or 'openai:MODEL'.",
            expected=SPEC_FORMS,
            got=value,
        )
    if name == "openai" and not model.strip():
        raise PipelineError(
            f"PrefectWorkerConfig.provider {value!r} names no model; write 'openai:MODEL', "
            "e.g. 'openai:gpt-4o-mini'.",
            expected="'openai:MODEL'",
            got=value,
        )


def _near_spec(name: str, model: str) -> str:
    """`` Did you mean 'openai:gpt-4o'?`` for a spec whose provider name is a near miss of
    'fake' or 'openai' (the model kept), or nothing."""
    near = did_you_mean(name, ["fake", "openai"])
    if not near:
        return ""
    meant = "fake" if "'fake'" in near else f"openai:{model or 'MODEL'}"
    return f" Did you mean {meant!r}?"


def _findable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


#: The rule for a name given to Prefect as it is (a flow, deployment or work pool name).
PREFECT_NAME = checks.Check(
    "a name Prefect accepts (not blank or only quotes, without / % & < > or control characters)",
    is_prefect_name,
    hint="Prefect refuses those characters in the names of flows, deployments and work pools.",
)


def _prefect_name_rule(value: Any) -> checks.Check:
    """:data:`PREFECT_NAME`, its hint naming the nearest name Prefect accepts."""
    if not isinstance(value, str) or not value.strip():
        return PREFECT_NAME
    return attrs.evolve(PREFECT_NAME, hint=f"{PREFECT_NAME.hint} Use e.g. {prefect_name(value)!r}.")


def check_prefect_name(value: Any, where: str) -> str:
    """``value`` if Prefect accepts it as a name, else a :class:`PipelineError` naming
    ``where``, what was got, and a name that would do."""
    result: str = _prefect_name_rule(value).check(value, where)
    return result


def _prefect_named(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        _prefect_name_rule(value)(instance, attribute, value)


def _path_or_none(value: Any) -> Any:
    return os.fspath(value) if isinstance(value, os.PathLike) else value


_RESULT_DIR = checks.Check(
    "a directory path (a non-empty string or path), or None",
    lambda v: v is None or (isinstance(v, str) and v != "" and "\x00" not in v),
    hint="Pass a directory such as 'results' (relative to the generated file) or an absolute "
    "path; leave it None for Prefect's own result storage.",
)


@attrs.frozen
class PrefectWorkerConfig:
    """How :func:`generate_flow_code` builds and deploys the flow module; every field is
    checked when the config is built (a :class:`PipelineError` names the field).

    ``provider`` is a provider *spec* (``"fake"`` or ``"openai:MODEL"``), never a key: the
    worker's environment supplies credentials. ``deployment_name`` defaults to ``flow_name``.
    ``result_dir`` is where agent results are persisted (relative paths are taken from the
    generated file's directory; default: Prefect's own storage); share it between runs to
    resume after a crash with the same ``run_key``. ``cache_across_runs=True`` makes every
    run reuse stored answers for the same prompt to the same node. ``flow_name``,
    ``work_pool`` and ``deployment_name`` go to Prefect as they are, so they follow
    :data:`PREFECT_NAME` (the error suggests a name that does).
    """

    flow_name: str = attrs.field(validator=_prefect_named)
    work_pool: str = attrs.field(validator=_prefect_named)
    task_retries: int = attrs.field(default=0, validator=checks.count(0))
    flow_retries: int = attrs.field(default=0, validator=checks.count(0))
    retry_delay_seconds: float = attrs.field(default=0, validator=checks.seconds(allow_zero=True))
    provider: str = attrs.field(default="fake", validator=_provider_spec)
    deployment_name: str | None = attrs.field(default=None, validator=_prefect_named)
    result_dir: str | None = attrs.field(
        default=None, converter=_path_or_none, validator=_RESULT_DIR
    )
    cache_across_runs: bool = attrs.field(default=False, validator=checks.flag)

    def __attrs_post_init__(self) -> None:
        if self.deployment_name is None:
            object.__setattr__(self, "deployment_name", self.flow_name)
        home = self.result_dir
        if home is not None and os.path.expanduser(home) != home:  # '~/results'
            raise PipelineError(
                f"PrefectWorkerConfig.result_dir {home!r} starts with '~', which the generated "
                "module does not expand to a home directory (it would name a folder '~' beside "
                f"the module); write the directory out, e.g. os.path.expanduser({home!r}) for "
                "this machine's home (on a work pool: a path every worker reaches).",
                expected="a path",
                got=home,
            )


def _checked_options(init: Callable[..., None]) -> Callable[..., None]:
    """``init``, refusing a misspelt option (with the nearest one) or a missing or extra
    argument with an :class:`IrgraphError`, not Python's bare ``TypeError``."""
    signature = inspect.signature(init)

    @functools.wraps(init)
    def checked(self: Any, *args: Any, **kwargs: Any) -> None:
        checks.keywords(init, kwargs, "PrefectWorkerConfig()")
        try:
            signature.bind(self, *args, **kwargs)
        except TypeError as error:
            raise IrgraphError(
                f"PrefectWorkerConfig() {str(error).removeprefix('__init__() ')}; e.g. "
                "PrefectWorkerConfig('research', work_pool='gpu-pool')."
            ) from None
        init(self, *args, **kwargs)

    return checked


PrefectWorkerConfig.__init__ = _checked_options(  # type: ignore[method-assign]
    PrefectWorkerConfig.__init__
)


# The plan ---------------------------------------------------------------------------------


def build_plan(ir: Node, G: nx.DiGraph) -> list[dict[str, Any]]:
    """One dict per node, composites included, in topological (reading) order.

    Each entry has ``id``, ``node_type`` (IR class), ``name``, ``prefect_type`` (``task``,
    ``flow``, ``inline``, ``pause``, ``map``, ``branch``), ``model``, ``max_iterations``,
    ``reads``, ``writes``, ``depends_on`` and ``parent`` (the enclosing composite's id). A route
    (``branch``: an ``if``/``elif`` in the flow) also has ``on`` and ``cases`` (the label of
    each case, in order), and each of its branches ``branch`` (the case's index) and
    ``condition`` (its label).
    """
    graph_ids = iter(G.nodes)
    used = set(G.nodes)
    plan: list[dict[str, Any]] = []

    def composite_id(name: str) -> str:
        candidate, n = name, 1
        while candidate in used:
            n += 1
            candidate = f"{name}#{n}"
        used.add(candidate)
        return candidate

    def visit(node: Node, parent: str | None) -> list[str]:
        if isinstance(node, (SequenceNode, ParallelNode)):
            nid = composite_id(node.name)
            entry = _entry(nid, node, parent, PREFECT_TYPES[type(node)])
            plan.append(entry)
            members: list[str] = []
            for child in node.children:
                members += visit(child, nid)
            entry["children"] = [c.name for c in node.children]
            entry["depends_on"] = (
                sorted({p for m in members[:1] for p in G.pred[m]})
                if (members and members[0] in G)
                else []
            )
            return members
        nid = next(graph_ids)
        data = G.nodes[nid]
        kind = data["kind"]
        prefect_type = PREFECT_TYPES.get(type(node)) or _OTHER_TYPES[kind]
        entry = _entry(nid, node, parent, prefect_type)
        entry["reads"] = sorted(
            {
                *data.get("reads", ()),
                *data.get("optional_reads", ()),
                *data.get("body_reads", ()),
                *data.get("body_optional_reads", ()),
            }
        )
        entry["writes"] = list(data.get("writes", ()))
        entry["depends_on"] = list(G.pred[nid])
        plan.append(entry)
        if isinstance(node, (LoopNode, MapOverNode, RouteNode)):
            entry["children"] = [c.name for c in node.children]
            for number, child in enumerate(node.children):
                first = len(plan)
                visit(child, nid)
                if isinstance(node, RouteNode):  # the branch's own entry says when it runs
                    plan[first].update(branch=number, condition=node.cases[number].label)
        if isinstance(node, RouteNode):
            entry.update(on=node.on, cases=[case.label for case in node.cases])
        return [nid]

    visit(ir, None)
    return plan


def _entry(nid: str, node: Node, parent: str | None, prefect_type: str) -> dict[str, Any]:
    return {
        "id": nid,
        "node_type": type(node).__name__,
        "kind": KIND[type(node)],
        "name": node.name,
        "prefect_type": prefect_type,
        "model": getattr(node, "model", None),
        "max_iterations": getattr(node, "max_iterations", None),
        "reads": [],
        "writes": [],
        "depends_on": [],
        "parent": parent,
    }


def _collect_tasks(plan: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The plan entries that become Prefect tasks (the agents: LLM calls, cached on retry)."""
    return [dict(entry) for entry in plan if entry.get("prefect_type") == "task"]


class CompiledPipeline(Protocol):
    """What :func:`generate_flow_code` reads from a compiled pipeline (a ``PrefectRunnable``):
    the IR as ``node`` and its graph as ``graph``."""

    @property
    def node(self) -> Node: ...
    @property
    def graph(self) -> nx.DiGraph: ...


def generate_flow_code(compiled: CompiledPipeline, config: PrefectWorkerConfig) -> str:
    """The source of a standalone module that runs ``compiled`` as a Prefect flow.

    ``compiled`` is what ``PrefectBackend().compile(ir)`` returns (anything with the IR as
    ``.node`` and its graph as ``.graph`` works). The module imports prefect and irgraph;
    ``python module.py`` deploys it to ``config.work_pool``, ``python module.py run --state
    JSON`` runs it once locally. Raises :class:`PipelineError` for a transform, loop predicate
    or route test without an import path (a lambda or local function) or of ``__main__`` (a
    script's or notebook's own function, which no worker can import).

    >>> from irgraph import Agent
    >>> from irgraph.backends.prefect_backend import PrefectBackend
    >>> compiled = PrefectBackend().compile(Agent("writer").instruct("Write.").to_ir())
    >>> code = generate_flow_code(compiled, PrefectWorkerConfig("notes", work_pool="local"))
    >>> print(code[code.index("@flow"):code.index("    check_result_storage")].strip())
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
    if not (hasattr(compiled, "node") and hasattr(compiled, "graph")):
        raise IrgraphError(
            "generate_flow_code() needs a compiled pipeline, what PrefectBackend(...).compile("
            f"pipeline.to_ir()) returns (got {type(compiled).__name__}): compile it first, e.g. "
            "generate_flow_code(PrefectBackend().compile(pipeline.to_ir()), config)."
        )
    return flow_module(compiled.node, compiled.graph, config)
