"""How the graph walk (:mod:`irgraph.graph`) handles a fan-out: branches that run at the same
time.

Each branch walks on a private layer of the environment, so no sibling sees another's writes;
the layers merge back after the block. Because the branches race, two of them writing one key,
or one reading a key a sibling writes, is a problem for :func:`irgraph.validate`, naming both
nodes and the fix; both writers are kept as possible last writers, so later checks of the
value count each.
"""

from __future__ import annotations

from irgraph.graph_routes import Walker
from irgraph.ir import ParallelNode
from irgraph.schema import tree_entry
from irgraph.walk import Env, Summary, empty_summary

__all__ = ["walk_parallel"]


def walk_parallel(w: Walker, node: ParallelNode, env: Env, parent: str | None) -> Summary:
    """A fan-out's branches each walk on a private layer of the environment (siblings never
    see each other's writes), merged back after it; two branches writing one key, or one
    reading what a sibling writes, is a problem: they run at the same time."""
    if not node.children:
        w.empty(node, "FanOut", "branches", ".branch(...)")
    out = empty_summary()
    # Keep only each branch's reads, not its summary and layer: a wide fan-out would
    # otherwise hold several containers per branch and trigger full gc passes.
    branch_reads: list[dict[str, str]] = []
    written: dict[str, str] = {}
    writer_branch: dict[str, tuple[str, int]] = {}
    for index, child in enumerate(node.children):
        layer = Env(env)
        part = w.walk(child, layer, parent)
        branch_reads.append(part.reads)
        clash = written and not written.keys().isdisjoint(layer.local)  # rare: a dict then
        earlier = {key: written[key] for key in layer.local if key in written} if clash else {}
        written.update(layer.local)
        out.writes.update(part.writes)
        out.entries += part.entries
        out.exits += part.exits
        out.tree.append(part.tree)
        for key, writer in part.writes.items():
            if key in writer_branch:
                first = writer_branch[key][0]
                # Either may be what a later reader sees: checks of the value count both.
                if key in earlier:
                    w.alternatives.setdefault((layer.local[key], key), []).append(earlier[key])
                w.problem(
                    f"Parallel branches of '{node.name}' both write '{key}': '{first}' "
                    f"and '{writer}'. Branches run at the same time, so the result would "
                    "depend on timing.",
                    node=writer,
                    key=key,
                    hint=f"Give each branch its own key (e.g. '{key}_1', '{key}_2') and "
                    "combine them in a later step.",
                )
            else:
                writer_branch[key] = (writer, index)
    for index, reads in enumerate(branch_reads):
        for key, reader in reads.items():
            owner = writer_branch.get(key)
            if owner is not None and owner[1] != index:
                w.problem(
                    f"'{reader}' reads '{key}', which its parallel sibling '{owner[0]}' "
                    f"writes in '{node.name}'; siblings run at the same time, so "
                    f"'{reader}' could see either value.",
                    node=reader,
                    key=key,
                    hint=f"Run '{owner[0]}' before the parallel block, e.g. "
                    f"{owner[0]} >> ({reader} | ...).",
                )
            out.reads.setdefault(key, reader)
    env.local.update(written)
    out.tree = tree_entry("parallel", node, out.tree)
    return out
