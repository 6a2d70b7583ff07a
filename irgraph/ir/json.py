"""JSON form of the IR: ``{"format": "irgraph-ir", "version": 1, "root": NODE}``.

Each NODE is an object whose ``"kind"`` is the IR class name; ``"inputs"`` (a list of keys)
and ``"id"`` (a pinned node id) are written only when a node has them. Functions are written
as import paths and read back as :class:`~irgraph.ir.FunctionRef` without importing anything,
so reading a file never runs code from it. Every structural problem in a file is reported with
its JSON path (``root.children[2].writes``); each bad field of a node and each bad child is
said, in the order the file holds them (:mod:`irgraph.ir.json_fields`).
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import attrs

from irgraph import checks
from irgraph.errors import IrgraphError, PipelineError, Problem, closest_keys, refused_calls
from irgraph.ir.functions import main_function_warning
from irgraph.ir.json_fields import made_node, refused_fields
from irgraph.ir.nodes import (
    NODE_KINDS,
    FunctionRef,
    Node,
    RouteCase,
    RouteNode,
    TransformNode,
)
from irgraph.ir.trust import functions_of
from irgraph.ir.values import JsonObject, numbers_by_value

__all__ = [
    "to_json",
    "from_json",
    "to_dict",
    "from_dict",
    "pipeline_digest",
    "pipeline_digests",
    "FORMAT",
    "VERSION",
]

FORMAT = "irgraph-ir"
VERSION = 1
_CLASSES: dict[str, type[Any]] = {cls.__name__: cls for cls in NODE_KINDS}
# Fields that earlier files of this version hold but that no longer mean anything: read and
# dropped, so those files still load.
_RETIRED: dict[str, set[str]] = {"AgentNode": {"engine"}}


def _fields(cls: type[Any]) -> dict[str, attrs.Attribute[Any]]:
    return {a.name: a for a in attrs.fields(cls) if a.init}


def _function_to_json(ref: FunctionRef, node: str) -> str:
    if not ref.importable:
        raise PipelineError(
            f"'{node}' uses the function {ref.ref!r}, which cannot be written to JSON because "
            "it has no import path (a lambda or a function defined inside another function).",
            node=node,
            hint="Define the function at the top level of a module and pass it by name.",
        )
    return ref.ref


#: Fields written only when set, so files of pipelines that do not use them read as before.
_WHEN_SET = frozenset(
    {"inputs", "id", "system", "settings", "output", "output_retries", "until_equals"}
)
#: Fields whose JSON value is an object or list that the IR holds as frozen data.
_JSON_VALUED = {"settings": dict, "output": dict, "until_equals": list}


def _case_to_json(case: RouteCase, node: str) -> dict[str, Any]:
    if case.kind == "test":
        return {"test": {"function": _function_to_json(case.value, node)}}
    if case.kind == "otherwise":
        return {"otherwise": True}
    return {"equals": case.value}


def _case_from_json(data: Any, where: str, allowed: frozenset[str]) -> RouteCase:
    shapes = '{"equals": VALUE}, {"test": {"function": "module:name"}} or {"otherwise": true}'
    if not isinstance(data, dict) or len(data) != 1:
        raise _fail(where, f"a route case must be one of {shapes}.")
    ((kind, value),) = data.items()
    if kind == "otherwise" and value is True:
        return RouteCase("otherwise")
    if kind == "equals" and (value is None or isinstance(value, (str, int, float, bool))):
        return RouteCase("equals", value)
    if kind == "test" and isinstance(value, dict):
        ref = value.get("function")
        if set(value) == {"function"} and isinstance(ref, str) and ":" in ref:
            return RouteCase("test", FunctionRef(ref, allow=allowed))
    raise _fail(where, f"a route case must be one of {shapes}.")


@refused_calls
def to_dict(node: Node) -> dict[str, Any]:
    """Return the JSON-ready dict for one IR node (children included)."""
    return _to_dict(node)


def _to_dict(node: Node) -> dict[str, Any]:
    if not isinstance(node, NODE_KINDS):
        graph = hasattr(node, "graph") and hasattr(node, "adj")  # a networkx graph
        got = f"a {type(node).__name__}" if graph else f"{node!r} of type {type(node).__name__}"
        raise PipelineError(
            f"to_json expects an IR node (got {got if len(got) <= 80 else got[:77] + '...'}).",
            hint="Rebuild the pipeline a graph holds first: to_json(from_graph(G))."
            if graph
            else "Call .to_ir() on a builder first, or pass the builder to irgraph.to_graph.",
        )
    out: dict[str, Any] = {"kind": type(node).__name__}
    for name in _fields(type(node)):
        value = getattr(node, name)
        if name == "children":
            value = [_to_dict(child) for child in value]
        elif isinstance(value, FunctionRef):
            value = {"function": _function_to_json(value, node.name)}
        elif name in _WHEN_SET and not value:
            continue  # rarely set; a file without them reads as before
        elif isinstance(value, JsonObject):
            value = value.to_dict()
        elif name == "cases" and isinstance(node, RouteNode):
            value = [_case_to_json(case, node.name) for case in value]
        elif isinstance(value, tuple):
            value = list(value)
        out[name] = value
    return out


@checks.keyword_options
def to_json(node: Node, *, indent: int | None = 2) -> str:
    """Serialise an IR tree to JSON text (stable key order). A function of ``__main__`` (a
    script's or a notebook's own) is written, with a warning: nothing else can import it."""
    text = json.dumps({"format": FORMAT, "version": VERSION, "root": _to_dict(node)}, indent=indent)
    for name, ref in functions_of(node):
        warning = main_function_warning(name, ref.ref, "to_json()")
        if warning is not None:
            warnings.warn(warning, UserWarning, stacklevel=3)  # past keyword_options: the caller
    return text


def pipeline_digest(node: Node, *, by_value: bool = True) -> str:
    """A short hash of the IR's JSON form (keys sorted): equal for equal pipelines however
    they were built, different when any instruction, model, schema, key or function path is.
    Numbers count by value, as a run compares them (``1.0`` is ``1``: ``when(1.0)`` and
    ``when(1)`` are one pipeline); ``by_value=False`` gives the digest of the form as written,
    which an irgraph before this one made (a deployed flow module may still carry it, see
    :func:`pipeline_digests`).

    >>> from irgraph.ir import AgentNode
    >>> len(pipeline_digest(AgentNode("a", instruction="Hi.")))
    16
    >>> hot = AgentNode("a", settings={"temperature": 1.0})
    >>> pipeline_digest(hot) == pipeline_digest(AgentNode("a", settings={"temperature": 1}))
    True
    """
    root = _to_dict(node)
    data = {
        "format": FORMAT,
        "version": VERSION,
        "root": numbers_by_value(root) if by_value else root,
    }
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    import hashlib  # here, not at the top: only digests need it, and it is slow to import

    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def pipeline_digests(node: Node) -> frozenset[str]:
    """Every digest that names ``node``'s pipeline: :func:`pipeline_digest`'s, and the one
    an earlier irgraph made of the form as written (``1.0`` apart from ``1``), which flow
    modules it generated and deployed carry: both are this pipeline."""
    return frozenset(pipeline_digest(node, by_value=flag) for flag in (True, False))


def _fail(path: str, message: str, hint: str | None = None) -> PipelineError:
    return PipelineError(f"Invalid IR JSON at {path}: {message}", hint=hint)


@refused_calls
def from_dict(data: Any, path: str = "root", *, allow: Any = None) -> Node:
    """Build an IR node from its dict form, checking kinds, fields and types. Its functions
    may import only from the modules in ``allow`` (see :mod:`irgraph.ir.trust`)."""
    return _from_dict(data, path, allow=allow)


def _from_dict(data: Any, path: str, *, allow: Any = None, _depth: int = 0) -> Node:
    allowed = allow if isinstance(allow, frozenset) else checks.modules(allow)
    if not isinstance(data, dict):
        raise _fail(path, f"expected an object, got {type(data).__name__}.")
    kind = data.get("kind")
    cls = _CLASSES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        known = ", ".join(sorted(_CLASSES))
        close = closest_keys(kind, _CLASSES, 1) if isinstance(kind, str) else []
        if isinstance(kind, str) and not close:  # a graph's kind word: "agent", "map_over"
            close = [c for c in _CLASSES if c.lower() == kind.replace("_", "").lower() + "node"]
        said = f" Did you mean {close[0]!r}?" if close else ""
        raise _fail(path, f"unknown node kind {kind!r}.{said}", hint=f"Known kinds: {known}.")
    fields = _fields(cls)
    # Every mistake of the node, each at its field's place in the document (a child's at
    # its children's): the first one a reader finds is the first one said.
    found: list[tuple[int, Problem]] = []
    unknown = sorted(set(data) - set(fields) - {"kind"} - _RETIRED.get(cls.__name__, set()))
    if unknown:
        near = {name: closest_keys(name, fields, 1) for name in unknown}
        said = "".join(f" Did you mean {c[0]!r} for {n!r}?" for n, c in near.items() if c)
        if len(unknown) == 1 and said:
            said = f" Did you mean {near[unknown[0]][0]!r}?"
        refusal = _fail(
            path,
            f"{kind} has no field(s) {', '.join(map(repr, unknown))}.{said}",
            hint=f"{kind} fields: {', '.join(fields)}.",
        )
        found.append((min(list(data).index(name) for name in unknown), refusal.problems[0]))
    kwargs: dict[str, Any] = {}
    for place, (name, value) in enumerate(data.items()):
        if name == "kind" or name not in fields:
            continue  # the kind, or a retired field
        if name in _SHAPED or isinstance(value, (list, dict)):  # a scalar is the class's to check
            try:
                value = _field_value(cls, name, value, f"{path}.{name}", data, allowed, _depth)
            except PipelineError as exc:  # a child's too: said where the children are
                found += [(place, problem) for problem in exc.problems]
                continue
        kwargs[name] = value
    if issubclass(cls, TransformNode) and "fn" not in kwargs and "fn" not in data:
        found.append((len(data), _fail(path, "a TransformNode needs 'fn'.").problems[0]))
    if "name" not in data:
        found.append((len(data), _fail(path, f"{kind} needs a 'name'.").problems[0]))
    if not found:
        try:
            return made_node(cls, kwargs)
        except (IrgraphError, TypeError, ValueError):
            pass  # which fields: below, each in its place
    if cls is RouteNode and ("cases" in data) != ("cases" in kwargs):
        # Its cases were refused (said above): a route's branches and cases go in pairs, so
        # the others are tried without both, not told of a count that only looks wrong.
        kwargs = {**kwargs, "children": (), "cases": ()}
    pairs = ("children", "cases") if cls is RouteNode else ()
    fail = lambda exc: _fail(path, str(exc))  # noqa: E731
    found += refused_fields(cls, kwargs, list(data), fail, together=pairs)
    found.sort(key=lambda pair: pair[0])
    raise PipelineError([problem for _, problem in found])


#: The fields read into something else than their JSON value, or checked for their shape.
_SHAPED = frozenset({"children", "fn", "until", "reads", "inputs", "id", "cases", *_JSON_VALUED})


def _field_value(
    cls: type[Any],
    name: str,
    value: Any,
    where: str,
    data: dict[str, Any],
    allowed: frozenset[str],
    depth: int,
) -> Any:
    """The value of field ``name`` of a ``cls`` node read from JSON (``where``: its path),
    its shape checked; the node's class checks the value itself."""
    if name == "children":
        if not isinstance(value, list):
            raise _fail(where, "expected a list of nodes.")
        if depth >= checks.MAX_DEPTH and value:
            named = data.get("name")
            raise checks.too_deep(f"the IR JSON's {cls.__name__} {named!r}", node=named)
        children, problems = [], []
        for i, child in enumerate(value):
            try:
                children.append(_from_dict(child, f"{where}[{i}]", allow=allowed, _depth=depth + 1))
            except PipelineError as exc:  # every child's mistakes, in order
                problems += exc.problems
        if problems:
            raise PipelineError(problems)
        return tuple(children)
    if name in ("fn", "until") and isinstance(value, dict):
        ref = value.get("function")
        if set(value) != {"function"} or not isinstance(ref, str) or ":" not in ref:
            raise _fail(where, 'a function must be {"function": "package.module:name"}.')
        return FunctionRef(ref, allow=allowed)
    if name in ("reads", "inputs"):
        if not isinstance(value, list) or not all(isinstance(k, str) for k in value):
            raise _fail(where, "expected a list of key strings.")
        return tuple(value)
    if name == "id" and value is not None and not isinstance(value, str):
        raise _fail(where, f"expected the pinned id as a string, got {type(value).__name__}.")
    if name == "fn":
        raise _fail(where, 'a function must be {"function": "package.module:name"}.')
    if name == "cases" and issubclass(cls, RouteNode):
        if not isinstance(value, list):
            raise _fail(where, "expected a list of route cases.")
        return tuple(
            _case_from_json(case, f"{where}[{i}]", allowed) for i, case in enumerate(value)
        )
    if name in _JSON_VALUED:
        shape = _JSON_VALUED[name]
        if not isinstance(value, shape):
            raise _fail(where, f"expected a{'n object' if shape is dict else ' list'}.")
    elif isinstance(value, (list, dict)):
        raise _fail(where, f"expected a scalar, got {type(value).__name__}.")
    return value


_TOP_LEVEL = ("format", "version", "root")


@checks.keyword_options
def from_json(text: str | bytes, *, allow: Any = None) -> Node:
    """Read an IR tree written by :func:`to_json`. Never imports or evaluates code.

    The functions the file names (transforms, loop predicates) may later be imported only from
    the modules in ``allow`` (a module name or a list of them; a package allows its submodules)
    or from :data:`~irgraph.ir.SAFE_FUNCTIONS`: a file cannot make a run import ``os:system``.
    ``run(..., allow=[...])`` widens the list when running.
    """
    allowed = checks.modules(allow, "from_json(allow=...)")
    try:
        data = json.loads(text)
    except RecursionError:
        raise _too_deep() from None
    except (TypeError, ValueError) as exc:
        raise PipelineError(f"Invalid IR JSON: {exc}.", hint=_given_hint(text)) from None
    if isinstance(data, dict) and "nodes" in data and data.get("format") is None:
        raise PipelineError(
            "Invalid IR JSON: this is a node-link graph (what nx.node_link_data(to_graph(p)) "
            "writes), not IR JSON.",
            hint="Read it with from_graph(nx.node_link_graph(json.loads(text))) (from irgraph "
            "import from_graph); irgraph run and check read either kind of file.",
        )
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise PipelineError(
            f'Invalid IR JSON: expected an object with "format": "{FORMAT}".',
            hint="Pass the text written by irgraph.ir.to_json.",
        )
    unknown = sorted(set(data) - set(_TOP_LEVEL))
    if unknown:
        raise PipelineError(
            f"Invalid IR JSON: unknown top-level key(s) {', '.join(map(repr, unknown))}.",
            hint=f"An IR file holds only {', '.join(map(repr, _TOP_LEVEL))}; write it with "
            "irgraph.ir.to_json.",
        )
    version = data.get("version")
    if type(version) is not int or version != VERSION:
        raise PipelineError(
            f"Invalid IR JSON: version {version!r} is not supported "
            f"(this irgraph reads version {VERSION}).",
            hint="Write the file again with this version of irgraph.",
        )
    if "root" not in data:
        raise PipelineError('Invalid IR JSON: no "root" node.')
    try:
        return _from_dict(data["root"], "root", allow=allowed)
    except RecursionError:
        raise _too_deep() from None


def _given_hint(text: Any) -> str:
    """What to pass to :func:`from_json` instead of ``text``, which is no JSON text: the
    text of a file rather than its name, the text of data rather than the data."""
    if isinstance(text, (dict, list)):
        return (
            "Pass the text written by irgraph.ir.to_json; data already parsed goes back to "
            "text with json.dumps(data)."
        )
    if isinstance(text, str) and text.strip().lower().endswith(".json") and "\n" not in text:
        return (
            f"from_json takes a file's text, not its name: from_json(Path({text.strip()!r})"
            ".read_text()) (from pathlib import Path)."
        )
    return "Pass the text written by irgraph.ir.to_json."


def _too_deep() -> PipelineError:
    return PipelineError(
        "Invalid IR JSON: it is nested too deeply to read (deeper than Python's recursion limit).",
        hint="Nest less: a >> b >> c is one sequence of three steps, not three nested ones.",
    )
