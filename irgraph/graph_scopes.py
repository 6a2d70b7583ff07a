"""How the graph walk (:mod:`irgraph.graph`) handles a loop and a map-over: scopes whose body
runs again and again (a loop, up to its bound) or once per item (a map-over).

The scope is a node; its body's nodes carry it as ``parent``. The scope has a control edge to
each entry of its body, and each exit of the body leads to what follows the scope (added by the
walk once that is known), so ``topological_sort(G)`` is a run order for one iteration; keys
the body writes are written, at the scope's level, by the scope itself.
"""

from __future__ import annotations

from typing import Any

from irgraph.errors import closest_keys
from irgraph.graph_routes import Walker, lookup, partial, partly_collected
from irgraph.ir import FunctionRef, LoopNode, MapOverNode
from irgraph.ir.key_paths import path_root
from irgraph.walk import Env, Summary

__all__ = ["walk_loop", "walk_map_over", "walk_body"]


def walk_body(
    w: Walker, node: LoopNode | MapOverNode, env: Env, sid: str, item: str | None
) -> tuple[Env, Any]:
    """Walk a scope's body: the scope enters it (control edges to its entries), and its
    exits are remembered, to lead to what follows the scope once that is known."""
    body_env = Env(env, scope=sid, item=item)
    body = w.sequence(node.children, body_env, sid)
    w.control([sid], body.entries)
    w.exits[sid] = body.exits
    return body_env, {"node": sid, "children": body.tree}


def walk_loop(w: Walker, node: LoopNode, env: Env, parent: str | None) -> Summary:
    """A loop: its bound and stop key checked, its body walked; at this level the loop reads
    what its body reads from outside (and its stop key) and writes what its body writes."""
    # Problems name the scope's graph id, which differs from its name when reused.
    sid = w.open_scope(node, parent)
    if not node.children:
        w.empty(node, "Loop", "steps", ".step(...)", sid)
    if node.max_iterations is None:
        w.problem(
            f"Loop '{sid}' has no max_iterations, so it could run forever.",
            node=sid,
            hint="Bound it with .max_iterations(n) (or write it as x * n).",
        )
    elif node.max_iterations < 1:
        w.problem(
            f"Loop '{sid}' has max_iterations={node.max_iterations}, but it must be at least 1.",
            node=sid,
            hint="Use .max_iterations(n) with n >= 1.",
        )
    if isinstance(node.until, FunctionRef):
        w.predicate(sid, node.until, "Loop")
    body_env, tree = walk_body(w, node, env, sid, None)
    attrs_ = w.G.nodes[sid]
    own_reads: list[str] = []
    stop = path_root(node.until) if isinstance(node.until, str) else None  # (review.verdict)
    if stop is not None:
        w.types.loop_stop(sid, node, body_env)
        maybe = w.maybe.get((body_env.local.get(stop, ""), stop))
        if maybe is not None:  # a route in the body writes it on some branches only
            several = len(maybe[1]) > 1
            w.warnings.append(
                f"Loop '{node.name}' stops on '{node.until}', but route '{maybe[0]}' writes "
                f"it only on some branches ({'its branches' if several else 'its branch'} "
                f"{' and '.join(maybe[1])} {'do' if several else 'does'} not): an iteration "
                "that takes them leaves it unset, and the loop does not stop early then."
            )
    if stop is not None and stop not in body_env.local:
        own_reads = [stop]
        w.bind(sid, stop, env, optional=False)
        if lookup(stop, env) is not None:  # (an unknown key is a problem of its own)
            w.types.stop_unwritten(sid, sorted(body_env.local))
    attrs_["reads"] = own_reads
    attrs_["writes"] = sorted(body_env.local)
    writes = {}
    for key in sorted(body_env.local):
        # The real writer is in the body; the loop is what writes at this level.
        writer = body_env.local[key]
        if partial(w, writer, key, lookup(key, env)):
            env.local[key] = writer  # a pass may leave it as it was: no overwrite
        else:
            w.write(env, key, writer, by=sid)
        writes[key] = sid
    reads = {key: sid for key in w.body_reads[sid]}
    reads.update({key: sid for key in own_reads})
    return Summary([sid], [sid], reads, writes, tree)


def walk_map_over(w: Walker, node: MapOverNode, env: Env, parent: str | None) -> Summary:
    """A map-over: it reads its list (which must hold items, not text), its body sees each
    item as the ``item`` key, and it writes the list of each run's ``collect`` value."""
    sid = w.open_scope(node, parent)
    if not node.children:
        w.empty(node, "MapOver", "steps", ".step(...)", sid)
    body_env, tree = walk_body(w, node, env, sid, node.item)
    attrs_ = w.G.nodes[sid]
    reads: dict[str, str] = {}
    if node.over is None:
        w.problem(
            f"MapOver '{node.name}' has no list to iterate.",
            node=sid,
            hint="Name the state key holding the list with .over('papers', item='paper').",
        )
    else:
        root = path_root(node.over)  # (plan of plan.topics: the key it reads)
        attrs_["reads"] = [root]
        w.bind(sid, root, env, optional=False)
        w.types.map_list(sid, node.over, env)
        reads[root] = sid
    partly = node.collect and partly_collected(w, sid, node.collect, body_env)
    if node.collect is None or node.collect not in body_env.local or partly:
        what = (
            "names no key to collect"
            if node.collect is None
            else f"collects '{node.collect}', but {partly}"
            if partly
            else f"collects '{node.collect}', which its body never writes"
        )
        near = closest_keys(node.collect, body_env.local) if node.collect and not partly else []
        w.problem(
            f"MapOver '{node.name}' {what}.",
            node=sid,
            key=node.collect,
            suggestion=tuple(near),
            hint="Give a body step .writes(key) and collect it with .collect(key).",
        )
    if node.writes is None:
        w.problem(
            f"MapOver '{node.name}' does not say where to store its results.",
            node=sid,
            hint="Add .writes('results') to name the list it produces.",
        )
        writes: dict[str, str] = {}
    else:
        w.write(env, node.writes, sid)
        writes = {node.writes: sid}
    reads.update({key: sid for key in w.body_reads[sid]})
    return Summary([sid], [sid], reads, writes, tree)
