"""The compile layer: engine capabilities, the backend registry, and ``compile``.

A backend is any object with ``name``, ``capabilities`` and ``compile(ir, *, inputs=None)``
returning a runnable. Built-in backends are registered by import path, so this module never
imports a backend until one is asked for; third parties register through the entry-point group
``irgraph.backends``. ``compile`` also computes warnings: every node a backend cannot honour
is named here, before anything runs.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from difflib import get_close_matches
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import attrs

from irgraph import checks
from irgraph.errors import IrgraphError, did_you_mean, refused_calls
from irgraph.ir.nodes import FunctionRef, resolve_function

if TYPE_CHECKING:
    import networkx as nx

    from irgraph.events import RunResult
    from irgraph.ir import Node

__all__ = [
    "EngineCapabilities",
    "Backend",
    "Runnable",
    "CompileResult",
    "BackendNotFoundError",
    "register_backend",
    "get_backend",
    "available_backends",
    "capability_warnings",
    "compile",
]


@refused_calls
@attrs.frozen
class EngineCapabilities:
    """What an execution engine can honour."""

    durable: bool = False
    parallel: bool = False
    signals: bool = False
    distributed: bool = False
    streaming: bool = False
    replay: bool = False
    checkpointing: bool = False


@runtime_checkable
class Runnable(Protocol):
    """A compiled pipeline: the IR (``node``), its checked graph (``graph``), and ``arun``,
    which checks the initial state and runs. ``run`` is its blocking twin. It may also have
    ``async def prepare(say)``, which a batch awaits before its first item and does not time
    (Prefect's starts its temporary server; :mod:`irgraph.batch_clock`), and
    ``batch_span()``, an async context manager a batch holds open around all its items
    (Prefect's shares one pair of API clients among the items' flow runs)."""

    node: Node
    graph: nx.DiGraph

    def run(self, state: Mapping[str, Any] | None = None, **options: Any) -> RunResult: ...

    async def arun(self, state: Mapping[str, Any] | None = None, **options: Any) -> RunResult: ...


@runtime_checkable
class Backend(Protocol):
    """The backend interface."""

    name: str
    capabilities: EngineCapabilities

    def compile(self, ir: Node, *, inputs: Iterable[str] | None = None) -> Runnable: ...


class BackendNotFoundError(IrgraphError, LookupError):
    """No backend is registered under the requested name."""


@attrs.frozen
class CompileResult:
    """The outcome of :func:`compile`: which backend, what it can do, what it warns about,
    and the runnable."""

    backend_name: str
    capabilities: EngineCapabilities
    warnings: list[str]
    runnable: Any

    if not TYPE_CHECKING:  # at run time only: mypy still flags a misspelt attribute

        def __getattr__(self, name: str) -> Any:
            """``run``, ``arun`` and ``stream`` are the runnable's: said so, with the call."""
            if name in ("run", "arun", "stream"):
                raise AttributeError(
                    f"'CompileResult' object has no attribute {name!r}: compile() returns the "
                    "backend's name, capabilities and warnings beside the runnable, which runs "
                    f"the pipeline; call compile(...).runnable.{name}(...)."
                )
            raise AttributeError(f"'CompileResult' object has no attribute {name!r}")


_BUILTIN: dict[str, str] = {
    "asyncio": "irgraph.backends.asyncio_backend:AsyncioBackend",
    "prefect": "irgraph.backends.prefect_backend:PrefectBackend",
}
_REGISTRY: dict[str, Callable[..., Any] | str] = dict(_BUILTIN)
_ENTRY_POINTS_LOADED = False


def register_backend(
    name: str, factory: Callable[..., Any] | str, *, replace: bool = False
) -> None:
    """Register a backend factory (a class, a callable, or an import path ``"mod:Class"``)
    under ``name``. A name already registered (``asyncio``, ``prefect``, an entry point's)
    is refused unless ``replace=True``: replacing the default backend by accident would
    change every later ``run()``."""
    if not isinstance(name, str) or not name.strip() or name != name.strip():
        raise BackendNotFoundError(
            f"register_backend's name must be a non-empty name without surrounding spaces "
            f"(got {name!r}); e.g. register_backend('mine', MyBackend)."
        )
    if isinstance(factory, str):
        module, _, attr = factory.partition(":")
        if not (module and attr):
            raise BackendNotFoundError(
                f"register_backend({name!r}, {factory!r}): an import path is of the form "
                "'module:Class', e.g. 'mypackage.backend:MyBackend'."
            )
    elif not callable(factory):
        raise BackendNotFoundError(
            f"register_backend({name!r}, ...) got {factory!r} of type "
            f"{type(factory).__name__}, which makes no backend: pass the backend class, a "
            "function returning a backend, or its import path 'module:Class'."
        )
    _load_entry_points()
    if name in _REGISTRY and not replace and _REGISTRY[name] != factory:  # the same: no-op
        raise BackendNotFoundError(
            f"A backend named {name!r} is registered already ({_REGISTRY[name]!r}); pass "
            f"replace=True to replace it, or register yours under another name."
        )
    _REGISTRY[name] = factory


def _load_entry_points() -> None:
    global _ENTRY_POINTS_LOADED
    if _ENTRY_POINTS_LOADED:
        return
    _ENTRY_POINTS_LOADED = True
    from importlib.metadata import entry_points

    for ep in entry_points(group="irgraph.backends"):
        _REGISTRY.setdefault(ep.name, ep.value)


def available_backends() -> list[str]:
    """Names of every registered backend (built-in and entry points)."""
    _load_entry_points()
    return sorted(_REGISTRY)


def get_backend(backend: str | Any, **options: Any) -> Any:
    """Return a backend instance for a registered name (made with ``options``) or pass an
    instance through."""
    if not isinstance(backend, str):
        if isinstance(backend, type):
            raise BackendNotFoundError(
                f"{backend.__name__} is a backend class, not a backend: make one, e.g. "
                f"{backend.__name__}(provider=...)."
            )
        return _a_backend(backend, repr(backend))
    factory = _REGISTRY.get(backend)
    if factory is None:  # maybe an entry point's: the scan of every installed package's
        _load_entry_points()  # metadata (~10 ms) is paid only for a name not known yet
        factory = _REGISTRY.get(backend)
    if factory is None:
        known = ", ".join(repr(n) for n in sorted(_REGISTRY))
        guess = did_you_mean(backend, _REGISTRY)
        raise BackendNotFoundError(
            f"No backend named {backend!r}.{guess} Known backends: {known}. Third-party "
            "backends register through the 'irgraph.backends' entry-point group."
        )
    if isinstance(factory, str):
        # Built-ins are named by import path like entry points, so the core never imports a
        # backend until one is asked for.
        try:
            factory = resolve_function(FunctionRef(factory))
        except IrgraphError as exc:
            raise BackendNotFoundError(
                f"The backend {backend!r} is registered as {factory!r}, which cannot be "
                f"imported: {exc}"
            ) from exc
    if not callable(factory):
        raise BackendNotFoundError(
            f"The backend {backend!r} is registered as {factory!r}, which makes no backend "
            "(it cannot be called); register the backend class or its import path instead."
        )
    try:
        made = factory(**options)
    except IrgraphError:
        raise  # the backend's own refusal of an option, worded already
    except Exception as exc:
        raise BackendNotFoundError(
            f"Making the backend {backend!r} failed: its factory {factory!r} raised "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    return _a_backend(made, f"{made!r}, made by the factory of the backend {backend!r},")


def compiled_by(engine: Any, node: Any, inputs: Iterable[str] | None) -> Any:
    """``engine.compile(node, inputs=inputs)``, refused naming the backend when what it
    returns cannot run (no ``arun``): otherwise the run would fail on an attribute."""
    try:
        runnable = engine.compile(node, inputs=inputs)
    except TypeError as exc:
        if _takes_inputs(engine.compile):
            raise  # a TypeError inside compile: the backend's own
        name = getattr(engine, "name", type(engine).__name__)
        raise BackendNotFoundError(
            f"The backend {name!r} cannot compile the pipeline: {type(engine).__name__}."
            "compile takes no 'inputs' keyword, which run() and the conformance suite pass "
            "(the keys the initial state will hold, or None); define it as "
            "compile(self, ir, *, inputs=None)."
        ) from exc
    if not callable(getattr(runnable, "arun", None)):
        name = getattr(engine, "name", type(engine).__name__)
        raise BackendNotFoundError(
            f"The backend {name!r} compiled the pipeline to {runnable!r}, which cannot run: "
            "a runnable has an async 'arun(state, *, provider=None, ...)' (and 'graph'); "
            f"fix {type(engine).__name__}.compile to return one."
        )
    return runnable


def _takes_inputs(compile_method: Any) -> bool:
    """Whether a backend's ``compile`` takes ``inputs=`` (``True`` when its signature cannot
    be read: nothing is known to be wrong)."""
    try:
        parameters = inspect.signature(compile_method).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.name == "inputs" or p.kind is p.VAR_KEYWORD for p in parameters)


def _a_backend(backend: Any, what: str) -> Any:
    """``backend`` if it has what a backend has, else an error naming what it lacks."""
    lacks = [m for m in ("name", "capabilities", "compile") if not hasattr(backend, m)]
    if lacks:
        raise BackendNotFoundError(
            f"{what} is not a backend: it has no {', '.join(map(repr, lacks))} (a backend "
            "has 'name', 'capabilities' and 'compile(ir, inputs=...)', which returns a "
            "runnable with 'graph' and 'arun'); see irgraph.backends.asyncio_backend."
        )
    return backend


_NEEDS: dict[str, tuple[str, str]] = {
    "gate": ("signals", "it cannot pause for a human; the gate will fail when reached"),
    "map_over": ("parallel", "items will run one at a time"),
}


def capability_warnings(
    G: nx.DiGraph, backend_name: str, capabilities: EngineCapabilities
) -> list[str]:
    """Warnings for nodes the backend cannot honour fully, each naming the node."""
    warnings: list[str] = []
    for nid, data in G.nodes(data=True):
        need = _NEEDS.get(data["kind"])
        if need and not getattr(capabilities, need[0]):
            warnings.append(
                f"Backend '{backend_name}' has no '{need[0]}' capability, so for "
                f"{data['kind']} '{nid}' {need[1]}."
            )
    if not capabilities.parallel and _has_parallel_steps(G):
        warnings.append(
            f"Backend '{backend_name}' has no 'parallel' capability, so parallel branches "
            "will run one at a time."
        )
    return warnings


def _has_parallel_steps(G: nx.DiGraph) -> bool:
    """Whether two steps of one scope (one route branch) may run at once: a node followed by
    two of them, or two of them that wait for no step of their own scope (the pipeline's, a
    loop's or a route branch's first steps). Only control edges count: a data edge to a
    later reader is no branch, and a route's branches are choices, not work side by side."""

    def where(v: str) -> tuple[Any, Any]:
        return G.nodes[v]["parent"], G.nodes[v].get("branch")

    entries: set[tuple[Any, Any]] = set()
    for v in G:
        after = [u for u, _, control in G.in_edges(v, data="control") if control]
        if not any(where(u) == where(v) for u in after):
            if where(v) in entries:
                return True
            entries.add(where(v))
        following = [w for _, w, control in G.out_edges(v, data="control") if control]
        if len({where(w) for w in following}) < len(following):
            return True
    return False


#: What :func:`compile` takes itself; its other keywords make the backend.
_COMPILE_OWN = ("backend", "inputs", "allow")


@checks.keyword_options
def compile(
    ir: Any,
    backend: str | Any = "asyncio",
    *,
    inputs: Iterable[str] | None = None,
    allow: Iterable[str] | str | None = None,
    **options: Any,
) -> CompileResult:
    """Compile a pipeline (builder or IR) for a backend, with warnings computed up front.
    ``allow`` names modules a pipeline read from data may import functions from (see
    :mod:`irgraph.ir.trust`).

    >>> from irgraph import Agent
    >>> result = compile(Agent("a").instruct("Hi."), backend="asyncio")
    >>> result.backend_name, result.warnings
    ('asyncio', [])
    """
    from irgraph.graph import root_of
    from irgraph.ir.trust import with_allowed

    allowed = checks.modules(allow, "compile(allow=...)")
    for key in sorted(options):  # the rest make the backend: a misspelt own one is not its
        if get_close_matches(key, _COMPILE_OWN, n=1, cutoff=0.75):
            said = f"compile() got the option {key!r}, which it does not take (its other "
            said += "keywords make the backend)."
            raise checks.unknown_option(key, _COMPILE_OWN, said)
    engine = get_backend(backend, **options)
    node = with_allowed(root_of(ir), allowed)
    runnable = compiled_by(engine, node, inputs)
    G = getattr(runnable, "graph", None)
    warnings: list[str] = []
    if G is not None:
        warnings += list(G.graph.get("warnings", ()))
        warnings += capability_warnings(G, engine.name, engine.capabilities)
    return CompileResult(engine.name, engine.capabilities, warnings, runnable)
