"""A ``--state key=value`` gives text; a route comparing that key with a number, ``true``,
``false`` or ``null`` would never match the text and silently take another branch (or none).
Such a value is refused before anything runs, with the ``--state-json`` that gives the value
the route compares with; so is a quoted ``--state-json`` string that spells it, and a
``--state-json`` number, boolean or null the route compares only as its text. A key given that
no step reads but that looks like one a step needs (``topc`` for ``topic``) is refused as the
misspelling it is (:func:`check_spelling`)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from irgraph.cli_inputs import CliError
from irgraph.errors import closest_keys
from irgraph.ir.values import same_value

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["check_spelling", "check_texts_routed_on", "check_values", "missing_state_error"]
__all__ += ["object_option"]


def check_texts_routed_on(
    G: nx.DiGraph, texts: Mapping[str, str], state: Mapping[str, Any] | None = None
) -> None:
    """Refuse a ``--state`` text in ``texts`` (key: value, as given) that a route of ``G``
    compares with the JSON value the text spells (``1``, ``true``) and not with the text, or
    that a loop's ``until(key, equals=...)`` compares so.

    A route with a case ``.when(1, ...)`` on ``priority`` and ``--state priority=1`` is
    refused; ``--state priority=high`` is not (it spells no such value). A key a step also
    writes counts too (a route before the step, or in a branch or iteration without it,
    reads the text); a map-over's item of that name does not (the route reads the item).
    The strings of ``state`` that ``--state`` did not give are ``--state-json``'s
    (``{"flag": "true"}``), checked the same way: the quotes make the value text.
    """
    json_texts = {k: v for k, v in (state or {}).items() if isinstance(v, str) and k not in texts}
    json_scalars = {
        k: v
        for k, v in (state or {}).items()
        if (v is None or isinstance(v, (bool, int, float))) and k not in texts
    }
    for nid, data in G.nodes(data=True):
        kind = data.get("kind")
        if kind == "route":
            key = data.get("on")
            values = [case["equals"] for case in data.get("cases", ()) if "equals" in case]
            who, does = f"route '{nid}'", "compares"
        elif kind == "loop" and data.get("until_equals"):
            key, values = data.get("until"), list(data["until_equals"])
            who, does = f"loop '{nid}'", "stops on"
        else:
            continue
        if not isinstance(key, str) or _an_item(G, nid, key):
            continue
        if key in json_scalars:
            _check_scalar(key, json_scalars[key], values, who, does)
            continue
        text = texts.get(key, json_texts.get(key))
        if text is None:
            continue
        if any(same_value(text, value) for value in values):
            continue
        meant = _spelt(text)
        if meant is _NOTHING or isinstance(meant, str):
            continue
        if any(same_value(meant, value) for value in values):
            given = json.dumps({key: meant})
            if key not in texts:
                raise CliError(
                    f"--state-json gives {key} the text {json.dumps(text)}, but {who} {does} "
                    f"{key} {_as_said(does)}{json.dumps(meant)} ({_kind(meant)}), which the "
                    f"text never equals. Give the value without quotes: --state-json '{given}'."
                )
            raise CliError(
                f"--state {key}={text} gives the text {text!r}, but {who} {does} "
                f"{key} {_as_said(does)}{json.dumps(meant)} ({_kind(meant)}), which the text "
                f"never equals. Give the value as JSON: --state-json '{given}'."
            )


def _check_scalar(key: str, value: Any, values: list[Any], who: str, does: str) -> None:
    """Refuse a ``--state-json`` number, boolean or null for ``key`` that ``who`` never
    compares with, but whose text it does (``{"priority": 1}`` for a ``.when("1", ...)``)."""
    if any(same_value(value, other) for other in values):
        return
    spelt = json.dumps(value)
    if not any(isinstance(other, str) and other == spelt for other in values):
        return
    given = "null" if value is None else f"{_kind(value).replace('a ', 'the ', 1)} {spelt}"
    raise CliError(
        f"--state-json gives {key} {given}, but {who} {does} {key} {_as_said(does)}the text "
        f"{json.dumps(spelt)}, which {given} never equals. Give the value as text: "
        f"--state {key}={spelt} (or --state-json '{json.dumps({key: spelt})}')."
    )


def _as_said(does: str) -> str:
    return "with " if does == "compares" else "equal to "


def _an_item(G: nx.DiGraph, nid: str, key: str) -> bool:
    """Whether ``key`` is the item name of a map-over around ``nid`` (what it reads there)."""
    parent = G.nodes[nid].get("parent")
    while parent is not None:
        data = G.nodes[parent]
        if data.get("kind") == "map_over" and data.get("item") == key:
            return True
        parent = data.get("parent")
    return False


_NOTHING = object()


def _spelt(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return _NOTHING


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _kind(value: Any) -> str:
    if value is None:
        return "no value"
    if isinstance(value, bool):
        return "a boolean"
    return "a number" if _number(value) else "a JSON value"


def check_spelling(
    G: nx.DiGraph, given: Mapping[str, str], needed: Iterable[str], declared: Iterable[str] = ()
) -> None:
    """Refuse a given key that no step reads when it looks like a needed key nothing gives:
    ``--state topc=owls`` for a pipeline reading ``{topic}``. ``given`` maps each key the
    command line gave to its option (``--state``, ``--state-json``, ``--input``); a key the
    pipeline ``declared`` as an input is never a misspelling."""
    from irgraph.unbound_problems import names_text

    read: set[str] = set(declared)
    for _, data in G.nodes(data=True):
        for field in ("reads", "optional_reads", "body_reads", "body_optional_reads"):
            read.update(data.get(field, ()))
    unread = [key for key in given if key not in read]
    for key in sorted(set(needed) - set(given)):
        close = closest_keys(key, unread, n=1)
        if not close:
            continue
        typo, option = close[0], given[close[0]]
        readers = [n for n, d in G.nodes(data=True) if key in d.get("reads", ())]
        needs = f"{names_text(readers)} need" if readers else "a step need"
        needs += "" if len(readers) > 1 else "s"
        fix = {"--input": f"--input {key}", "--state-json": f'"{key}" in --state-json'}
        raise CliError(
            f"The key {typo!r} given with {option} is read by no step, but it looks like "
            f"{key!r}, which {needs} and nothing gives; write "
            f"{fix.get(option, f'{option} {key}=...')} instead."
        )


def check_values(G: nx.DiGraph, state: Mapping[str, Any]) -> None:
    """Refuse, as the command line's mistake it is (exit code 2), a value the state gives
    that the run would refuse before its first node: no list for a map-over, ``null`` for a
    required read (as a ``--state`` text a route never equals is refused)."""
    from irgraph.errors import PipelineError
    from irgraph.validate import check_given_values

    try:
        check_given_values(G, state)
    except PipelineError as error:
        raise CliError(str(error)) from None


def object_option(key: str, fields: list[str]) -> str:
    """The ``--state-json`` option that gives ``key`` an object holding ``fields``, each to
    fill in: what a template reading ``{key.field}`` needs (``--state`` gives text).

    >>> print(object_option("verdict", ["reason"]))
    --state-json '{"verdict": {"reason": "..."}}'
    """
    inner = ", ".join(f'"{field}": "..."' for field in fields)
    return f"--state-json '{{\"{key}\": {{{inner}}}}}'"


def list_option(over: str, fields: Iterable[str] = ()) -> str:
    """The ``--state-json`` option that gives the list a map-over iterates at ``over`` (a key,
    or a key and its fields: an object holding the list), each item to fill in, and beside
    it the ``fields`` of the key a template reads.

    >>> print(list_option("plan.topics", ["title"]))
    --state-json '{"plan": {"topics": ["...", "..."], "title": "..."}}'
    """
    from irgraph.ir.key_paths import held_at, path_root

    value = held_at(over, ["...", "..."])
    if isinstance(value, dict):  # an object holding the list: it holds the fields read too
        value.update({field: "..." for field in fields if field not in value})
    return f"--state-json '{json.dumps({path_root(over): value})}'"


def missing_state_error(G: nx.DiGraph, missing: list[str]) -> CliError:
    """The refusal of a command line that gives none of the ``missing`` keys the pipeline
    reads from its initial state: the option that gives each, ``--state-json`` with an
    object for a key whose fields a template reads (``--state`` gives text, which has none),
    and with a list for a key a map-over iterates (or an object holding it: ``plan.topics``)."""
    from irgraph.ir.key_paths import path_root
    from irgraph.template_fields import field_reads

    fields: dict[str, dict[str, bool]] = {}  # key: each field read, whether only optionally
    for _, data in G.nodes(data=True):
        for _, path, optional in field_reads(data) if data["kind"] in ("agent", "gate") else ():
            read = fields.setdefault(path_root(path), {})
            field = path.split(".")[1]
            read[field] = read.get(field, True) and optional
    lists: dict[str, str] = {}  # key: the option giving the list a map-over iterates there
    for _, over in G.nodes(data="over"):
        if over and path_root(over) not in lists:
            read = fields.get(path_root(over), {})
            named = [f for f, optional in read.items() if not optional] or list(read)
            lists[path_root(over)] = list_option(over, named)
    gives = []
    for key in missing:
        if key in lists:
            gives.append(lists[key])
        elif key in fields:
            named = [f for f, optional in fields[key].items() if not optional] or list(fields[key])
            gives.append(object_option(key, named))
        else:
            gives.append(f"--state {key}=VALUE")
    objects = [key for key in missing if key in fields and key not in lists]
    listed = [key for key in missing if key in lists]
    parts = []
    if objects:
        parts.append(f"{', '.join(map(repr, objects))}: an object, as a template reads its fields")
    if listed:
        parts.append(f"{', '.join(map(repr, listed))}: JSON, as a map-over iterates a list there")
    why = f" ({'; '.join(parts)}; --state gives text)" if parts else " (or --state-json '{...}')"
    return CliError(
        f"The pipeline reads {', '.join(map(repr, missing))} from its initial state, "
        f"which the command line does not give; add {' '.join(gives)}{why}."
    )
