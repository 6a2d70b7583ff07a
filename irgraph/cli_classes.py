"""What the ``irgraph`` command says when a target names something that is not a pipeline.

``irgraph check m:Agent`` names the builder class itself; ``m:split`` a function, perhaps one
that makes a pipeline; ``irgraph:__version__`` a string; ``m:os`` a module. The command refuses
each in one line (exit 2) that names the target and what it is, and says what to name instead:
an instance made from the class's own arguments (``Agent('name')``, ``Transform('name', fn)``),
the function's result kept in a module-level variable, or one of the module's pipelines.
What :func:`irgraph.compile` returns, or its ``.runnable``, is a pipeline too: the target is the
IR it was compiled from (:func:`compiled_ir`). A dotted attribute path (``m:holder.count``)
that reaches something else is told with what it reached, what a path must reach, and the
pipelines the object before its last dot is or holds.
"""

from __future__ import annotations

import inspect
import reprlib
import sys
from types import ModuleType
from typing import Any

import attrs

from irgraph.errors import a_or_an

__all__ = [
    "as_target",
    "class_named",
    "compiled_ir",
    "is_pipeline",
    "listing",
    "not_a_pipeline",
    "sole_pipeline",
]

#: How many of a module's pipelines a message lists.
_LISTED = 5


def is_pipeline(value: Any) -> bool:
    """Whether ``value`` is what a target must name: a builder (it has ``to_ir()``) or an IR
    node."""
    from irgraph.ir import NODE_KINDS

    if isinstance(value, NODE_KINDS) or compiled_ir(value) is not None:
        return True
    if isinstance(value, type):
        return False
    try:
        return callable(getattr(value, "to_ir", None))
    except Exception:  # a property of the user's object that raises is no builder
        return False


def compiled_ir(value: Any) -> Any:
    """The IR node a compiled pipeline was compiled from: ``value`` is what
    :func:`irgraph.compile` returns or its ``.runnable`` (which holds the IR as ``.node``);
    ``None`` for anything else."""
    from irgraph.compile import CompileResult
    from irgraph.ir import NODE_KINDS

    if isinstance(value, CompileResult):
        value = value.runnable
    if isinstance(value, type):
        return None
    try:
        node = getattr(value, "node", None)
    except Exception:  # a property of the user's object that raises holds no IR
        return None
    return node if isinstance(node, NODE_KINDS) and hasattr(value, "graph") else None


def not_a_pipeline(
    spec: str, source: str, module: ModuleType, value: Any, holder: Any = None
) -> str | None:
    """What to say when the target ``spec`` (``source:attr``, looked up in ``module``) names
    ``value``, which is not a pipeline (read from ``holder``, the object before the last dot
    of a dotted attribute); ``None`` when it is one."""
    if is_pipeline(value):
        return None
    if isinstance(value, type):
        return class_named(spec, source, value, module)
    where, target = _where(source, module)
    if inspect.ismodule(value):
        return (
            f"{spec!r} is the module {value.__name__}, not a pipeline; name a pipeline in it: "
            f"{value.__name__}:ATTR.{listing(value, value.__name__)}"
        )
    if hasattr(value, "graph") and hasattr(value, "adj"):  # a networkx graph
        return (
            f"{spec!r} is a graph (a {type(value).__name__}), not a pipeline; name the pipeline "
            "it was made from, or save the graph with json.dump(nx.node_link_data(G), file) "
            "and name the .json file."
        )
    listed = listing(module, source)
    path = spec[len(source) + 1 :]
    if "." in path and not isinstance(value, type):  # an attribute path: it led elsewhere
        return _path_ends_elsewhere(spec, (source, module), path, value, holder, listed)
    # perhaps a function of the user's that makes a pipeline
    if callable(value) and _is_own(module):
        call = spec.rpartition(".")[2].rpartition(":")[2]
        return (
            f"{spec!r} is {_callable_kind(value)}, not a pipeline; a target names a pipeline "
            f"itself. If {call}(...) makes one, call it in a module-level variable {where} "
            f"(p = {call}(...)) and name that: {target}.{listed}"
        )
    return (
        f"{spec!r} is {_kind(value)}, not a pipeline; name a builder "
        f"or IR node instead: make one {where} (p = Agent('a') >> Agent('b')) and name it: "
        f"{target}.{listed}"
    )


def _path_ends_elsewhere(
    spec: str, where: tuple[str, ModuleType], path: str, value: Any, holder: Any, listed: str
) -> str:
    """The message for the attribute path ``path`` of ``spec`` that reached ``value``, not
    a pipeline: what it is, what a target's path must reach, and the pipelines ``holder``
    (the object it was read from) is or holds, else those of the module in ``where``."""
    source, module = where
    before = path.rpartition(".")[0]
    if is_pipeline(holder):
        near = f" {source}:{before} is a pipeline: name it alone."
    else:
        held = [n for n in _attributes(holder) if is_pipeline(_static(holder, n))]
        shown = ", ".join(f"{source}:{before}.{n}" for n in held[:_LISTED])
        near = f" {source}:{before} holds pipelines: {shown}." if held else listed
    if not near and _is_own(module):
        near = f" Make one in {source} (p = Agent('a') >> Agent('b')) and name it: {source}:p."
    return (
        f"{spec!r} is {_kind(value)}, not a pipeline: a target's attribute path ({path}) must "
        "reach a pipeline, that is a builder (Agent, Pipeline, FanOut, ...), an IR node, or "
        f"what irgraph.compile returns.{near}"
    )


def _attributes(value: Any) -> list[str]:
    """The public attribute names of ``value``, sorted (none when listing them fails)."""
    try:
        return sorted(n for n in dir(value) if not n.startswith("_"))
    except Exception:  # a __dir__ of the user's that raises
        return []


def _static(value: Any, name: str) -> Any:
    """``value``'s attribute ``name`` as stored, running no property or ``__getattr__``."""
    try:
        return inspect.getattr_static(value, name)
    except Exception:  # AttributeError, or a metaclass of the user's that raises
        return None


def pipelines_in(module: ModuleType) -> list[str]:
    """The names of the pipelines a module holds at its top level."""
    return [n for n, v in sorted(vars(module).items()) if not n.startswith("_") and is_pipeline(v)]


def as_target(value: Any) -> Any:
    """What a target naming pipeline ``value`` runs: its IR when it was compiled, declaring
    the inputs it was compiled with too (``compile(p, inputs=["topic"])``), else it."""
    from irgraph.checks import is_key
    from irgraph.compile import CompileResult

    compiled = compiled_ir(value)
    if compiled is None:
        return value
    runnable = value.runnable if isinstance(value, CompileResult) else value
    data = getattr(runnable.graph, "graph", None)  # a networkx graph's attributes
    given = data.get("inputs", ()) if isinstance(data, dict) else ()
    given = given if isinstance(given, (list, tuple)) else ()
    extra = [k for k in given if isinstance(k, str) and is_key(k) and k not in compiled.inputs]
    return attrs.evolve(compiled, inputs=(*compiled.inputs, *extra)) if extra else compiled


def sole_pipeline(module: ModuleType, path: str) -> tuple[Any, str | None]:
    """The pipeline of a file named alone (``irgraph check pipe.py``) and ``None``, or
    ``None`` and why there is none: the one pipeline at the file's top level that no other
    of its pipelines holds (:func:`whole_pipelines`)."""
    tops: dict[Any, str] = {}  # one pipeline, two names: the first compiled one, else first
    whole = whole_pipelines(module)
    for name in sorted(whole, key=lambda n: compiled_ir(getattr(module, n)) is None):
        tops.setdefault(whole[name], name)
    names = list(tops.values())
    if len(names) == 1:
        return getattr(module, names[0]), None
    if not names:
        return None, (
            f"{path!r} holds no pipeline at its top level (a builder such as Agent('a') >> "
            f"Agent('b'), or an IR node); define one there (a function's result too: "
            f"pipeline = build()), or name one as {path}:ATTR."
        )
    named = ", ".join(f"{path}:{n}" for n in names[:_LISTED])
    more = f" (and {len(names) - _LISTED} more)" if len(names) > _LISTED else ""
    return None, f"{path!r} holds {len(names)} pipelines; name the one to use: {named}{more}."


def whole_pipelines(module: ModuleType) -> dict[str, Any]:
    """The names of the pipelines at ``module``'s top level that none of its other pipelines
    holds (a file defines the parts, ``classify``, ``triage``, and the whole, ``pipeline =
    classify >> triage``), each name of one, with the root of its IR (one pipeline under two
    names has one root)."""
    from irgraph.graph import root_of

    roots: dict[str, Any] = {}
    for name, value in sorted(vars(module).items()):
        if name.startswith("_") or not is_pipeline(value):
            continue
        try:  # the IR compiled, whatever inputs it was compiled with: one pipeline
            compiled = compiled_ir(value)
            roots[name] = root_of(value if compiled is None else compiled)
        except Exception:  # a builder that cannot make its IR: when used, it says why
            roots[name] = object()
    inner: set[Any] = set()  # IR nodes are values: a part equals its copy inside the whole
    runs: list[tuple[type, tuple[Any, ...]]] = []  # what each composite holds, in order
    for node in roots.values():
        todo = [node]
        while todo:
            part = todo.pop()
            if part is not node:
                inner.add(part)
            children = tuple(getattr(part, "children", ()))
            runs.append((type(part), children))
            todo.extend(children)
    return {n: r for n, r in roots.items() if r not in inner and not _flattened_into(r, runs)}


def _flattened_into(node: Any, runs: list[tuple[type, tuple[Any, ...]]]) -> bool:
    """Whether ``node`` is a sequence or parallel block whose members another composite of its
    kind holds among more (``front >> c`` flattens ``front = a >> b`` into ``a, b, c``)."""
    from irgraph.ir import ParallelNode, SequenceNode

    members = tuple(getattr(node, "children", ()))
    if not members or type(node) not in (SequenceNode, ParallelNode):
        return False
    size = len(members)
    for kind, children in runs:
        if kind is not type(node) or len(children) <= size:
            continue
        if kind is ParallelNode:
            if all(member in children for member in members):
                return True
        elif any(children[i : i + size] == members for i in range(len(children) - size + 1)):
            return True
    return False


def listing(module: ModuleType, source: str) -> str:
    """`` Pipelines in m: m:a, m:b.``, or ``""`` when the module holds none: the whole ones
    (:func:`whole_pipelines`), not the parts they are made of, when there are any."""
    found = list(whole_pipelines(module)) or pipelines_in(module)
    named = ", ".join(f"{source}:{n}" for n in found[:_LISTED])
    more = f" (and {len(found) - _LISTED} more)" if len(found) > _LISTED else ""
    return f" Pipelines in {source}: {named}{more}." if found else ""


def _callable_kind(value: Any) -> str:
    """What a callable is, with its name: ``the function split``, ``a callable K object``."""
    name = getattr(value, "__name__", None)
    for test, what in (
        (inspect.ismethod, "the method"),
        (inspect.isbuiltin, "the built-in function"),
        (inspect.isfunction, "the function"),
    ):
        if test(value) and name:
            return f"{what} {name}"
    return f"a callable {type(value).__name__} object"


def _kind(value: Any) -> str:
    """What a value is: ``the function run``, ``a str ('0.1.0')``, ``an int (3)``."""
    if callable(value):
        return _callable_kind(value)
    kind = type(value).__name__
    article = a_or_an(kind)
    if isinstance(value, _SHOWN):  # a value whose short repr reads well
        return f"{article} {kind} ({reprlib.repr(value)})"
    return f"{article} {kind} object"  # its repr may be long, or only a memory address


#: The values shown with their (shortened) repr in a message.
_SHOWN = (str, bytes, int, float, complex, bool, list, tuple, dict, set, frozenset, type(None))


def _is_own(module: ModuleType) -> bool:
    """Whether ``module`` is the user's own code: not irgraph, the standard library or an
    installed package, which nobody should edit to add a pipeline."""
    top = module.__name__.partition(".")[0]
    if top == "irgraph" or top in sys.stdlib_module_names:
        return False
    path = getattr(module, "__file__", None) or ""
    return "site-packages" not in path and "dist-packages" not in path


def _where(source: str, module: ModuleType | None = None) -> tuple[str, str]:
    """Where to make the pipeline and the target naming it: the user's own module, or, for a
    target in irgraph itself, the standard library or an installed package, theirs."""
    own = _is_own(module) if module is not None else source.partition(".")[0] != "irgraph"
    if own:
        return f"in {source}", f"{source}:p"
    return "in your module", "module:p"


def class_named(spec: str, source: str, cls: type, module: ModuleType | None = None) -> str:
    """What to say when a target names a class rather than a pipeline made from one."""
    from irgraph.ir import NODE_KINDS

    name = cls.__name__
    where, target = _where(source, module)
    if callable(getattr(cls, "to_ir", None)):  # a builder class: Agent, Pipeline, ...
        example = f"{name}({_arguments(cls)})"
        return (
            f"{spec!r} is the class {name}, not a pipeline; did you mean {example}? Make the "
            f"pipeline {where} (p = {example}...) and name it: {target}."
        )
    what = "an IR node class" if issubclass(cls, NODE_KINDS) else "a class"
    return (
        f"{spec!r} is {what}, {name}, not a pipeline; name a builder or IR node instead: make "
        f"one {where} (p = Agent('a') >> Agent('b')) and name it: {target}."
    )


def _arguments(cls: type) -> str:
    """The arguments a builder class needs, as an example: 'name', then the other required
    ones by name (Transform('name', fn))."""
    try:
        params = list(inspect.signature(cls).parameters.values())
    except (TypeError, ValueError):
        return "'name'"
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    required = [p.name for p in params if p.kind in positional and p.default is p.empty]
    return ", ".join(["'name'", *required[1:]]) if required else "'name'"
