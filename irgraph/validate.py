"""Check a pipeline graph before anything runs.

:func:`validate` gathers every problem — those the graph walk recorded (parallel write races,
sibling reads, empty composites, loop bounds) and every read with no writer — and raises one
:class:`~irgraph.errors.PipelineError` listing them all, each naming the node and key with
"did you mean" suggestions. It returns the warnings (values overwritten before anyone read
them) when there is nothing to raise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from irgraph import checks
from irgraph.errors import PipelineError, Problem, closest_keys
from irgraph.gc_pause import gc_paused
from irgraph.graph import to_graph
from irgraph.graph_foreign import built_acyclic, rebuilt, structure_problems, unchanged_here
from irgraph.graph_mistakes import class_error, named
from irgraph.initial_values import given_state, refuse_values
from irgraph.state_keys import misspelled_input_warnings, warn_misspelled_optional
from irgraph.unbound_problems import maybe_problems, unbound_problems

if TYPE_CHECKING:
    import networkx as nx

    from irgraph.ir import Node

__all__ = [
    "validate",
    "unbound_reads",
    "required_inputs",
    "check_initial_state",
    "check_given_values",
    "incoming_keys",
    "is_bound",
    "written_before",
    "checked_graph",
    "initial_state",
]


def incoming_keys(G: nx.DiGraph, node: str) -> set[str]:
    """The state keys that flow into ``node`` along its in-edges."""
    keys: set[str] = set()
    # networkx's own predecessor dict: called once a node, and a view per call costs more
    # than the lookup (networkx's algorithms read G._pred the same way).
    for data in G._pred[node].values():
        keys.update(data["keys"])
    return keys


def is_bound(G: nx.DiGraph, node: str, key: str, inputs: Iterable[str] = ()) -> bool:
    """Whether a read of ``key`` by ``node`` has a source: an in-edge carrying it, an enclosing
    scope that receives it (or is the map-over whose item it is), or a pipeline input."""
    return _is_bound(G, node, key, set(inputs), {})


def _is_bound(
    G: nx.DiGraph,
    node: str,
    key: str,
    inputs: set[str],
    incoming: dict[str, set[str]],
    *,
    use_declared: bool = True,
) -> bool:
    # ``incoming`` caches the in-edge keys of a node with many in-edges: one after a wide
    # fan-out has many in-edges and many reads, and rescanning them per read is quadratic.
    # A node with a few is read directly (most nodes: a set for each would cost more).
    nodes, pred = G._node, G._pred  # as in incoming_keys: no view per lookup
    current: str | None = node
    hops = 0
    while current is not None:
        hops += 1
        if hops > len(nodes):  # a parent chain edited into a loop would never end
            raise _parents_loop(node)
        before = pred[current]
        if len(before) <= _FEW_EDGES:
            for data in before.values():
                if key in data["keys"]:
                    return True
        else:
            keys = incoming.get(current)
            if keys is None:
                keys = incoming[current] = incoming_keys(G, current)
            if key in keys:
                return True
        parent = nodes[current]["parent"]
        if parent is not None and nodes[parent]["kind"] == "map_over":
            if nodes[parent]["item"] == key:
                return True
        current = parent
    return (use_declared and key in G.graph.get("inputs", ())) or key in inputs


_FEW_EDGES = 8


def _parents_loop(node: str) -> PipelineError:
    """The error for a graph whose chain of ``parent`` attributes from ``node`` loops."""
    return PipelineError(
        f"The chain of parents of node {node!r} (its 'parent' attribute, that one's, ...) "
        "loops back on itself, which no pipeline's graph does: the graph was changed after "
        "to_graph built it.",
        node=node,
        hint="Make the graph again from the pipeline (to_graph(pipeline)), or from its nodes' "
        "own settings (G = to_graph(from_graph(G, check=False))).",
    )


def written_before(G: nx.DiGraph, node: str, key: str) -> bool:
    """Whether a step before ``node`` writes ``key`` (so its read never sees the initial
    value): an in-edge carrying it, or the map-over whose item it is."""
    return _is_bound(G, node, key, set(), {}, use_declared=False)


def required_inputs(G: nx.DiGraph) -> frozenset[str]:
    """The keys a run's initial state must hold: required reads that no step writes first
    (declared inputs included, since declaring a key does not give it a value).

    Backends compute this once at compile time, so a run checks its state with one set
    difference and builds the full error only when something is missing.
    """
    incoming: dict[str, set[str]] = {}
    needed: set[str] = {entry["key"] for entry in G.graph.get("maybe_written", ())}
    for nid, data in G.nodes(data=True):
        for key in data.get("reads", ()):
            if key not in needed and not _is_bound(
                G, nid, key, set(), incoming, use_declared=False
            ):
                needed.add(key)
    return frozenset(needed)


def check_initial_state(
    G: nx.DiGraph, keys: Iterable[str], needs: frozenset[str] | None = None
) -> None:
    """Raise :class:`PipelineError` before a run if its initial state lacks a key the
    pipeline needs (``needs`` from :func:`required_inputs`, computed here when not given)."""
    present = set(keys)
    needs = required_inputs(G) if needs is None else needs
    missing = needs - present
    if not missing:
        return
    problems = unbound_reads(G, present)
    if not problems:  # declared inputs that the state does not hold
        problems = [
            Problem(
                f"The pipeline reads the input '{key}', but the initial state has no '{key}'.",
                key=key,
                suggestion=tuple(closest_keys(key, present)),
                hint=f"Pass it in the state, e.g. run(..., state={{'{key}': ...}}).",
            )
            for key in sorted(missing)
        ]
    raise PipelineError(problems)


def initial_state(
    G: nx.DiGraph, state: Mapping[str, Any] | None, needs: frozenset[str] | None = None
) -> dict[str, Any]:
    """A run's starting state: a copy of ``state``, which must be a mapping holding every key
    the pipeline needs (``needs`` from :func:`required_inputs`). Every backend's run starts
    here, so a bad state is refused the same way, before any node runs."""
    current = given_state(state)
    needs = required_inputs(G) if needs is None else needs
    if not needs <= current.keys():
        check_initial_state(G, current.keys(), needs)
    refuse_values(G, current, needs, lambda node, key: written_before(G, node, key))
    warn_misspelled_optional(G, current)
    return current


def check_given_values(G: nx.DiGraph, state: Mapping[str, Any]) -> None:
    """Raise the :class:`PipelineError` a run starting from ``state`` would raise for the
    values it gives (None for a required read, no list for a map-over), whether or not it
    gives every input: what ``irgraph check --state`` checks without running."""
    needs = required_inputs(G) & state.keys()
    refuse_values(G, state, needs, lambda node, key: written_before(G, node, key))


def unbound_reads(G: nx.DiGraph, inputs: Iterable[str] = ()) -> list[Problem]:
    """Every required read with no writer before it and no declared input, as problems: one
    per missing key, naming all its readers (:mod:`irgraph.unbound_problems`)."""
    inputs = set(inputs)
    unbound: list[tuple[str, str]] = []
    incoming: dict[str, set[str]] = {}
    for nid, data in G._node.items():  # as in incoming_keys: no view per node
        for key in data.get("reads", ()):
            if not _is_bound(G, nid, key, inputs, incoming):
                unbound.append((nid, key))
    problems = unbound_problems(G, unbound, inputs) if unbound else []
    maybe = [e for e in G.graph.get("maybe_written", ()) if e["key"] not in inputs]
    return problems + maybe_problems(G, maybe) if maybe else problems


def _problem(data: Any) -> Problem:
    """A problem recorded in ``G.graph["problems"]`` (plain data) as a :class:`Problem`."""
    if isinstance(data, Problem):
        return data
    return Problem(**{**data, "suggestion": tuple(data.get("suggestion", ()))})


@checks.keyword_options
def validate(
    G: nx.DiGraph, *, inputs: Iterable[str] | None = None, allow_unbound: bool = False
) -> list[str]:
    """Raise one :class:`PipelineError` listing every problem in ``G``; return its warnings.

    ``inputs`` adds keys the initial state will hold to those declared in ``to_graph``.
    ``allow_unbound=True`` skips the unbound-read check, for callers that will check reads
    against the initial state when a run starts. A graph ``to_graph`` did not make in this
    process (read back from a file, cut out, given nodes or edges), or one it made that was
    edited since (an instruction, a node or an edge), is checked as the pipeline it holds,
    which is what a run does, and each derived attribute or edge of it that no longer follows
    from that pipeline is a problem too (:mod:`irgraph.graph_foreign`).

    >>> from irgraph import Agent, to_graph
    >>> validate(to_graph(Agent("w").instruct("Write {topic}."), inputs={"topic"}))
    []
    """
    import networkx as nx

    if isinstance(G, nx.Graph):  # another networkx class: say which and why it cannot be
        mistaken = class_error(G)
        if mistaken is not None:
            raise mistaken
    if not isinstance(G, nx.DiGraph):
        raise PipelineError(
            f"validate() expects the graph of a pipeline (got {named(G)}).",
            hint="Build the graph first: validate(to_graph(pipeline)).",
        )
    checks.flag.check(allow_unbound, "the allow_unbound argument of validate()")
    stale: list[Problem] = []
    if not unchanged_here(G):  # read back, cut out or edited: check it against its pipeline
        G, stale = rebuilt(G, to_graph)
    try:
        return _checked(G, stale, inputs, allow_unbound)
    except (KeyError, TypeError, AttributeError):
        broken = structure_problems(G)  # a graph of this process edited by hand, say
        if broken:
            raise PipelineError(broken) from None
        raise


def _checked(
    G: nx.DiGraph, stale: list[Problem], inputs: Iterable[str] | None, allow_unbound: bool
) -> list[str]:
    import networkx as nx

    problems = stale + [_problem(p) for p in G.graph.get("problems", ())]
    if not built_acyclic(G) and not _acyclic(G):  # G: to_graph's, unchanged (validate)
        cycle = nx.find_cycle(G)
        path = " -> ".join(str(u) for u, _ in cycle) + f" -> {cycle[0][0]}"
        problems.append(
            Problem(
                f"The graph has a cycle ({path}); pipelines must be acyclic.",
                node=str(cycle[0][0]),
                hint="Repeat work with a Loop (x * n), not a back edge.",
            )
        )
    given = checks.input_keys(inputs, "validate(inputs=...)")
    problems += [] if allow_unbound else unbound_reads(G, given)
    if problems:
        raise PipelineError(problems)
    misspelled = misspelled_input_warnings(G, [*G.graph.get("inputs", ()), *given])
    return [*G.graph.get("warnings", ()), *misspelled]


def _acyclic(G: nx.DiGraph) -> bool:
    """Whether ``G`` has no cycle: Kahn's algorithm (take nodes with no predecessor left until
    none is left) over networkx's own adjacency dicts, several times faster than
    ``nx.is_directed_acyclic_graph``, which builds the topological generations through views."""
    succ = G._succ
    waiting = {node: len(before) for node, before in G._pred.items()}
    ready = [node for node, count in waiting.items() if count == 0]
    taken = 0
    while ready:
        taken += 1
        for after in succ[ready.pop()]:
            waiting[after] -= 1
            if waiting[after] == 0:
                ready.append(after)
    return taken == len(waiting)


@gc_paused
def checked_graph(ir: Node, inputs: Iterable[str] | None) -> nx.DiGraph:
    """The validated graph of ``ir``, for a backend's ``compile``; without ``inputs``, reads of
    keys nobody writes are left for the run to check against its initial state. A function
    the pipeline may not import (it was read from data; see :mod:`irgraph.ir.trust`) is
    refused here, before anything runs (one it may import but cannot is refused by ``run()``:
    code generated here may run where the module is installed)."""
    from irgraph.ir.trust import refused_functions

    G = to_graph(ir, inputs=inputs)
    validate(G, allow_unbound=inputs is None)
    refused = refused_functions(ir)
    if refused:
        raise PipelineError(refused)
    return G
