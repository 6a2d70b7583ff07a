"""The problems of required reads that no step before them writes: one per missing key.

A key no step writes and the initial state does not give is one mistake however many nodes
read it, so it is one :class:`~irgraph.errors.Problem` naming every reader ("Key 'topic' is read
by 'writer' and 'editor', ..."), and a batch line or a state missing it counts one problem. Reads
whose fix differs stay apart: those that a step writing the key too late could serve are grouped
by that step, and a read after a map-over of a key that exists only inside it is its own problem.
Each problem carries what it is about as data (``readers``, the ``fields`` of the key they read,
the path a map-over ``over`` iterates), so a caller (the command line's advice) reads those, not
the text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from irgraph.errors import Problem, closest_keys
from irgraph.item_shadows import item_hint
from irgraph.templates import read_as, system_read

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["unbound_problems", "maybe_problems", "declare_input_advice", "names_text"]

#: How a scope's own read reads in a message (it cannot be made optional with ``{key?}``).
SCOPE_READS = {"loop": "stops on", "map_over": "iterates over", "route": "compares"}


def declare_input_advice(key: str) -> str:
    """How a caller of the Python API makes ``key`` an input, as a problem's hint words it
    (the command line puts it in its own options' words)."""
    return (
        f"declare it as an input (to_graph(..., inputs={{'{key}'}}) or "
        f"run(..., state={{'{key}': ...}}))"
    )


def names_text(names: Sequence[str]) -> str:
    """``'a'``, ``'a' and 'b'``, ``'a', 'b' and 'c'``: node names in a sentence.

    >>> print(names_text(["writer", "editor", "critic"]))
    'writer', 'editor' and 'critic'
    """
    quoted = [f"'{name}'" for name in names]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} and {quoted[-1]}"


@attrs.frozen
class _Read:
    """One unbound read: the reader, how the message shows it, and what the fix depends on."""

    nid: str
    what: str  # "reads", or a scope's verb ("iterates over")
    shown: str  # {topic}, {topic.name} in its system prompt, 'plan.topics'
    optional: str | None  # the optional form ({topic?}), None for a scope's read
    suggestion: tuple[str, ...]
    per_item: str | None  # the hint for a key that exists only inside a map-over
    real: tuple[str, ...]  # steps writing the key that do not run before the reader
    item_writers: tuple[str, ...]  # map-overs whose item the key is


def unbound_problems(
    G: nx.DiGraph, unbound: Iterable[tuple[str, str]], inputs: Iterable[str]
) -> list[Problem]:
    """The problems of the ``unbound`` reads (``(reader, key)`` pairs in the graph's order)
    given ``inputs``: one per key (and per fix), in the order of its first reader."""
    known = _known_keys(G, inputs)
    items = {w: d["item"] for w, d in G.nodes(data=True) if d["kind"] == "map_over"}
    groups: dict[tuple[str, ...], list[_Read]] = {}
    for nid, key in unbound:
        read = _read_of(G, nid, key, known, items)
        group = (key, "item", nid) if read.per_item else (key, "late", *read.real[:1])
        groups.setdefault(group, []).append(read)
    return [_problem(G, group[0], reads, known) for group, reads in groups.items()]


def _known_keys(G: nx.DiGraph, inputs: Iterable[str]) -> dict[str, list[str]]:
    writers: dict[str, list[str]] = {}
    for nid, data in G.nodes(data=True):
        if data["kind"] in ("loop", "route"):
            continue  # a loop's or route's writes are its body's, listed there
        for key in data.get("writes", ()):
            writers.setdefault(key, []).append(nid)
        if data["kind"] == "map_over":
            writers.setdefault(data["item"], []).append(nid)
    for key in list(G.graph.get("inputs", ())) + list(inputs):
        writers.setdefault(key, [])
    return writers


def _read_of(
    G: nx.DiGraph, nid: str, key: str, known: dict[str, list[str]], items: dict[str, str]
) -> _Read:
    """The read of ``key`` by ``nid`` (``items``: each map-over's item key, by its id)."""
    data = G.nodes[nid]
    kind = data["kind"]
    what = SCOPE_READS.get(kind, "reads")
    template = kind in ("agent", "gate")  # a transform reads the key as an argument
    shown = read_as(data, key) if template else f"'{key}'"
    said = data.get({"loop": "until", "map_over": "over", "route": "on"}.get(kind, ""))
    if isinstance(said, str) and said.startswith(f"{key}."):  # a field of it: plan.topics
        shown = f"'{said}'"
    if kind == "agent" and system_read(data, key):
        shown += " in its system prompt"
    writers = [w for w in known.get(key, []) if w != nid]
    hidden = _items_outside(G, nid, known, items)
    # Only a template read can be made optional (as this); a transform's argument, a loop's
    # until, a map-over's list or a route's key cannot.
    optional = read_as(data, key, optional=True) if template else None
    real = tuple(w for w in writers if key in G.nodes[w].get("writes", ()))  # not as an item
    return _Read(
        nid=nid,
        what=what,
        shown=shown,
        optional=optional,
        suggestion=tuple(closest_keys(key, [k for k in known if k != key and k not in hidden])),
        per_item=_per_item_hint(G, nid, key, writers),
        real=real,
        item_writers=tuple(w for w in writers if w not in real),
    )


def _problem(G: nx.DiGraph, key: str, reads: list[_Read], known: dict[str, list[str]]) -> Problem:
    first = reads[0]
    names = names_text([read.nid for read in reads])
    several = len(reads) > 1
    suggestion = tuple(dict.fromkeys(s for read in reads for s in read.suggestion))[:3]
    # A close key given as an input that no step writes or reads: the input may be the one
    # misspelled (a batch line's key, a --state's), so the text names both ways.
    unread = tuple(k for k in suggestion if not known[k] and not _read(G, k))
    optional = _optional_text(reads) if all(read.optional for read in reads) else None
    if first.per_item:
        hint = first.per_item
    elif first.real:
        who = "they" if several else f"'{first.nid}'"
        hint = f"'{first.real[0]}' writes '{key}' but does not run before {names}; move it earlier"
        hint += f", or use {optional} if {who} can do without it." if optional else "."
    else:
        hint = f"Write it with .writes('{key}') on an earlier step, "
        if optional:
            hint += f"{declare_input_advice(key)}, or read it as {optional} if it may be unset."
        else:  # the last of two ways takes the "or"
            hint += f"or {declare_input_advice(key)}."
        hint += item_hint(G, key, list(first.item_writers))
    if several:
        readers = ", ".join(_reader_text(read, key) for read in reads[:-1])
        message = (
            f"Key '{key}' is read by {readers} and {_reader_text(reads[-1], key)}, but no step "
            "before them writes it and it is not a pipeline input."
        )
    else:
        message = (
            f"'{first.nid}' {first.what} {first.shown}, but no step before it writes '{key}' "
            "and it is not a pipeline input."
        )
    return Problem(
        message,
        node=first.nid,
        key=key,
        suggestion=suggestion,
        hint=hint,
        unread_inputs=unread,
        readers=[read.nid for read in reads],
        fields=_fields_read(G, key, [read.nid for read in reads]),
        over=next((o for read in reads if (o := _over(G, read.nid, key))), None),
    )


def _reader_text(read: _Read, key: str) -> str:
    """A reader in a grouped problem's list: its name, and how it reads the key when that is
    not a plain ``{key}`` (``'editor' (as {topic.name} in its system prompt)``)."""
    if read.what != "reads":
        return f"'{read.nid}' ({read.what} {read.shown})"
    if read.shown == f"'{key}'":  # a transform's argument
        return f"'{read.nid}'"
    how = read.shown.replace(f"{{{key}}}", "").strip()
    how = f"as {how}" if how.startswith("{") else how
    return f"'{read.nid}' ({how})" if how else f"'{read.nid}'"


def _optional_text(reads: list[_Read]) -> str:
    """``{topic?}`` (one reader), ``{topic?} in 'a' and 'b'``, or each form and its readers
    (``{v?} in 'a' and 'b', and {v.reason?} in 'c'``)."""
    if len(reads) == 1:
        return str(reads[0].optional)
    forms: dict[str, list[str]] = {}
    for read in reads:
        forms.setdefault(str(read.optional), []).append(read.nid)
    each = [f"{form} in {names_text(nids)}" for form, nids in forms.items()]
    if len(each) == 1:
        return each[0]
    last = ", and " if any(len(nids) > 1 for nids in forms.values()) else " and "  # 'a' and 'b'
    return f"{', '.join(each[:-1])}{last}{each[-1]}"


def _over(G: nx.DiGraph, nid: str, key: str) -> str | None:
    """The path map-over ``nid`` iterates, when it is ``key`` or a field of it."""
    data = G.nodes[nid]
    over = data.get("over") if data["kind"] == "map_over" else None
    if isinstance(over, str) and (over == key or over.startswith(f"{key}.")):
        return over
    return None


def _fields_read(G: nx.DiGraph, key: str, readers: list[str]) -> list[str]:
    """The fields of ``key`` the templates of ``readers`` read, each once: those any read
    requires, or those read only with ``?`` when none is required."""
    from irgraph.errors import PipelineError
    from irgraph.template_fields import field_reads

    fields: dict[str, bool] = {}  # each field read, whether only optionally
    for nid in readers:
        data = G.nodes[nid]
        try:
            reads = field_reads(data) if data["kind"] in ("agent", "gate") else []
        except (PipelineError, KeyError, TypeError):  # a foreign graph's attributes
            reads = []
        for _, path, optional in reads:
            root, _, rest = path.partition(".")
            if root == key and rest:
                field = rest.split(".")[0]
                fields[field] = fields.get(field, True) and optional
    return [f for f, optional in fields.items() if not optional] or list(fields)


def _items_outside(
    G: nx.DiGraph, nid: str, known: dict[str, list[str]], item: dict[str, str]
) -> set[str]:
    """The keys only map-overs that do not hold ``nid`` set, as their item: unset at ``nid``."""
    holders, scope = set(), G.nodes[nid].get("parent")
    while scope is not None:
        holders.add(scope)
        scope = G.nodes[scope].get("parent")
    return {k for k, ws in known.items() if ws and all(
        item.get(w) == k and w not in holders for w in ws)}  # fmt: skip


def _read(G: nx.DiGraph, key: str) -> bool:
    """Whether any node of ``G`` reads ``key``, required or optional."""
    return any(
        key in data.get("reads", ()) or key in data.get("optional_reads", ())
        for data in G._node.values()
    )


def _per_item_hint(G: nx.DiGraph, nid: str, key: str, writers: list[str]) -> str | None:
    """The hint for a read, after a map-over, of a key that exists only inside it, once per
    item (its item, or a key its body writes), when one of ``writers`` is such a writer."""
    import networkx as nx

    around = set()
    scope = G.nodes[nid]["parent"]
    while scope is not None:
        around.add(scope)
        scope = G.nodes[scope]["parent"]
    for writer in writers:
        data = G.nodes[writer]
        outer = writer if data["kind"] == "map_over" and data["item"] == key else None
        scope = data["parent"]
        while outer is None and scope is not None:  # the innermost map-over around it
            if G.nodes[scope]["kind"] == "map_over":
                outer = scope
            scope = G.nodes[scope]["parent"]
        if outer is None or outer in around or not nx.has_path(G, outer, nid):
            continue
        move = f"or move '{nid}' into the body of '{outer}'."
        if outer == writer:
            return (
                f"Map-over '{outer}' sets '{key}' to one item at a time for its body, so "
                f"'{key}' exists only inside '{outer}', not after it: read the whole list "
                f"{{{data['over']}}}, {move}"
            )
        scope_data, listed = G.nodes[outer], f"all_{key}"
        where = (
            f"'{writer}' writes '{key}' inside map-over '{outer}', once per item, so '{key}' "
            f"exists only inside '{outer}', not after it: "
        )
        if scope_data["collect"] == key and scope_data["writes"]:
            return (
                where + f"read the list '{outer}' collects, {{{scope_data['writes'][0]}}}, {move}"
            )
        if scope_data["collect"] == key:
            return where + f"give '{outer}' .writes('{listed}') and read that list, {move}"
        return where + (
            f"have '{outer}' collect it with .collect('{key}').writes('{listed}') and read "
            f"that list, {move}"
        )
    return None


def maybe_problems(G: nx.DiGraph, entries: Iterable[dict[str, Any]]) -> list[Problem]:
    """The required reads of keys that a route writes on only some branches (``entries``:
    ``G.graph["maybe_written"]``'s), one problem per key and route, naming every reader."""
    groups: dict[tuple[str, str, tuple[str, ...]], list[str]] = {}
    for entry in entries:
        group = (entry["key"], entry["route"], tuple(entry["missing"]))
        groups.setdefault(group, []).append(entry["node"])
    return [_maybe_problem(G, *group, readers) for group, readers in groups.items()]


def _maybe_problem(
    G: nx.DiGraph, key: str, route: str, branches: tuple[str, ...], readers: list[str]
) -> Problem:
    missing = " and ".join(branches)
    several = len(branches) > 1
    reads = [_read_of(G, nid, key, {}, {}) for nid in readers]
    hint = f"Write '{key}' on every branch of '{route}', or write it before the route"
    if all(read.optional for read in reads):  # {key?}, or {key.field?}: a template's read
        where = "" if len(reads) > 1 else f" in '{readers[0]}'"  # several: said with each
        hint += f", or read it as {_optional_text(reads)}{where} if it may be unset."
    else:
        hint += "."
    if len(reads) > 1:
        listed = ", ".join(_reader_text(read, key) for read in reads[:-1])
        who = f"Key '{key}' is read by {listed} and {_reader_text(reads[-1], key)}, but"
    else:
        what = SCOPE_READS.get(G.nodes[readers[0]]["kind"], "reads")
        shown = f"reads {read_as(G.nodes[readers[0]], key)}" if reads[0].optional else ""
        shown = shown or f"{what} '{key}'"
        who = f"'{readers[0]}' {shown}, but"
    return Problem(
        f"{who} route '{route}' writes '{key}' only on some branches: "
        f"{'its branches' if several else 'its branch'} {missing} "
        f"{'do' if several else 'does'} not, so '{key}' may be unset there.",
        node=readers[0],
        key=key,
        hint=hint,
        readers=readers,
        fields=_fields_read(G, key, readers),
        over=next((o for nid in readers if (o := _over(G, nid, key))), None),
    )
