"""The typed IR: one frozen attrs class per node kind.

IR nodes are plain, hashable data. The only behaviour is derived properties: an agent's
``reads`` come from its instruction template (``{key}`` required, ``{key?}`` optional,
``{{``/``}}`` literal braces). Functions (transforms, loop predicates) are held as
:class:`FunctionRef`, an import path plus the live callable when there is one, so the IR can be
written to JSON and read back without ever running code from the file.

Every node has ``inputs``, the state keys a run starts with, declared by the pipeline itself;
only the root's are meaningful (``to_graph`` uses them when it is given no ``inputs=``). A node
may pin its ``id``, the graph node id it gets whatever else the pipeline holds.

>>> node = AgentNode("writer", instruction="Write from {findings}.", writes="report")
>>> node.reads
('findings',)
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from irgraph import checks
from irgraph.errors import PipelineError, Problem, closest_keys
from irgraph.templates import Template, parse_template

__all__ = [
    "AgentNode",
    "SequenceNode",
    "ParallelNode",
    "LoopNode",
    "TransformNode",
    "GateNode",
    "MapOverNode",
    "FunctionRef",
    "Node",
    "NODE_KINDS",
    "function_ref",
    "resolve_function",
    "set_display_hook",
    "transform_arguments",
    "transform_call_problem",
]

_optional_key = checks.optional(checks.key)
_optional_name = checks.optional(checks.name)
_optional_text = checks.optional(checks.text)
_optional_seconds = checks.optional(checks.seconds())


def _node_tuple(children: Iterable[Node]) -> tuple[Node, ...]:
    return tuple(children)


def _key_tuple(value: Any) -> Any:
    """Keys as a tuple; a lone string (``tuple("topic")`` would be five one-letter keys) or a
    non-iterable is left as it is, for the key rule to refuse."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        return value
    return tuple(value)


def _check_children(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    for child in value:
        if not isinstance(child, NODE_KINDS):
            name = getattr(instance, "name", "?")
            raise PipelineError(
                f"'{name}' contains {child!r} (a {type(child).__name__}), which is not an IR node.",
                node=name,
                hint="Compose Agent, Pipeline, FanOut, Loop, MapOver, Gate or Transform builders.",
            )


_display_hook: list[Callable[[Any, Any, Any], dict[str, Any]]] = []


def set_display_hook(hook: Callable[[Any, Any, Any], dict[str, Any]]) -> None:
    """Install the function that draws an IR node inline in Jupyter (``irgraph.display``
    installs its own on import), so the IR needs no import of the drawing code."""
    _display_hook[:] = [hook]


def _mimebundle(node: Any, include: Any = None, exclude: Any = None) -> dict[str, Any]:
    """Jupyter's inline picture of the pipeline under an IR node."""
    if not _display_hook:
        return {"text/plain": repr(node)}
    return _display_hook[0](node, include, exclude)


class _Drawn:
    """What every IR node shares: its inline picture in Jupyter."""

    __slots__ = ()
    _repr_mimebundle_ = _mimebundle


class _Templated(_Drawn):
    """A node whose reads come from its template (an agent's instruction, a gate's message)."""

    __slots__ = ()
    template: Template

    @property
    def reads(self) -> tuple[str, ...]:
        """Keys the template requires (``{key}``), in order of first use."""
        return self.template.reads

    @property
    def optional_reads(self) -> tuple[str, ...]:
        """Keys the template uses if set (``{key?}``)."""
        return self.template.optional_reads


@attrs.frozen
class FunctionRef:
    """A function named by import path (``"package.module:qualname"``).

    ``fn`` is the live callable when the IR was built in Python, ``None`` after ``from_json``
    (call :func:`resolve_function` to import it). Equality uses the path only.
    """

    ref: str
    fn: Callable[..., Any] | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def importable(self) -> bool:
        """Whether the path can name the function (lambdas, local functions and callables of
        no known module cannot)."""
        return "<" not in self.ref and ":" in self.ref and not self.ref.startswith("?:")


def function_ref(fn: Callable[..., Any] | str | FunctionRef, *, node: str) -> FunctionRef:
    """Make a :class:`FunctionRef` from a callable, an import path, or another ref."""
    if isinstance(fn, FunctionRef):
        return fn
    if isinstance(fn, str):
        if ":" not in fn:
            raise PipelineError(
                f"'{node}' names its function as {fn!r}, but an import path looks like "
                "'package.module:function'.",
                node=node,
            )
        return FunctionRef(fn)
    if not callable(fn):
        raise PipelineError(
            f"'{node}' needs a callable (got {fn!r} that is a {type(fn).__name__}).",
            node=node,
            hint="Pass a function, e.g. Transform('clean', str.strip).",
        )
    # A method of a built-in type (str.strip) has no module of its own; its class has.
    owner = getattr(fn, "__objclass__", None)
    module = getattr(fn, "__module__", None) or getattr(owner, "__module__", None) or "?"
    qualname = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    if qualname is None:  # a callable object (functools.partial, itemgetter): no path names it
        module, qualname = "?", repr(fn)
    ref = f"{module}:{qualname}"
    code = getattr(fn, "__code__", None)
    if "<" in qualname and code is not None:
        # No import path names a lambda or a local function, so its code tells two apart.
        ref += "#" + hashlib.sha256(_code_identity(code).encode()).hexdigest()[:12]
    return FunctionRef(ref, fn)


def _code_identity(code: Any) -> str:
    """What a function's code does: its bytecode, names and constants (nested code too)."""
    consts = [_code_identity(c) if hasattr(c, "co_code") else repr(c) for c in code.co_consts]
    return f"{code.co_code.hex()}|{code.co_names}|{code.co_varnames}|{consts}"


def resolve_function(ref: FunctionRef) -> Callable[..., Any]:
    """Return the callable behind ``ref``, importing it by path if needed.

    This is the only place irgraph imports code named in an IR, and it runs only when a
    caller asks (a backend about to run a transform), never while reading JSON.
    """
    if ref.fn is not None:
        return ref.fn
    module_name, _, qualname = ref.ref.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise PipelineError(
            f"Cannot import the function {ref.ref!r} ({exc}).",
            hint="Check that the module is importable and defines the function at its top level.",
        ) from exc
    if not callable(target):
        raise PipelineError(f"{ref.ref!r} names {target!r}, which is not callable.")
    return target  # type: ignore[no-any-return]


# How a transform's function is called. Every backend and the check in to_graph use these two
# functions, so what validate accepts is exactly what runs.

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def transform_arguments(
    fn: Callable[..., Any], reads: tuple[str, ...], values: Mapping[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The ``(args, kwargs)`` a transform calls ``fn`` with, taking the read keys from ``values``.

    The read keys are keyword arguments, with one exception: a transform that reads exactly one
    key, of a function with exactly one required positional parameter, passes the value
    positionally, unless the key names another parameter of the function. So ``str.strip``
    (``(self, chars=None, /)``), ``len`` (``(obj, /)``) and ``lambda text: ...`` each take the
    one key they read, whatever it is called. A function whose signature cannot be read (some
    builtins, like ``int`` or ``max``) gets its one key positionally too.

    >>> transform_arguments(str.strip, ("findings",), {"findings": " x "})
    ((' x ',), {})
    >>> transform_arguments(lambda a, b: a + b, ("a", "b"), {"a": 1, "b": 2})
    ((), {'a': 1, 'b': 2})
    """
    if len(reads) == 1 and _one_positional(fn, reads[0]):
        return (values[reads[0]],), {}
    return (), {key: values[key] for key in reads}


def _one_positional(fn: Callable[..., Any], key: str) -> bool:
    try:
        return _one_positional_cached(fn, key)
    except TypeError:  # an unhashable callable: decide without the cache
        return _one_positional_uncached(fn, key)


def _one_positional_uncached(fn: Callable[..., Any], key: str) -> bool:
    try:
        parameters = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return True
    required = [
        name for name, p in parameters.items() if p.kind in _POSITIONAL and p.default is p.empty
    ]
    return len(required) == 1 and (key == required[0] or key not in parameters)


# Reading a builtin's signature costs up to ~0.2 ms; a transform in a loop would pay it each time.
_one_positional_cached = functools.lru_cache(maxsize=1024)(_one_positional_uncached)


def transform_call_problem(
    node_id: str, fn: Callable[..., Any], reads: tuple[str, ...]
) -> Problem | None:
    """Why :func:`transform_arguments` cannot call ``fn`` with ``reads``, or ``None`` if it can
    (or if ``fn`` hides its signature, as some builtins do: then only running it tells).

    >>> problem = transform_call_problem("clean", lambda text, lang: text, ("text",))
    >>> problem.node, problem.message.endswith("missing a required argument: 'lang'.")
    ('clean', True)
    >>> transform_call_problem("clean", str.strip, ("findings",)) is None
    True
    """
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    failure = _call_failure(signature, fn, reads)
    if failure is None:
        return None
    shown = ", ".join(f"'{key}'" for key in reads)
    positional = len(reads) == 1 and _one_positional(fn, reads[0])
    if not reads:
        call = "no arguments, as it reads no keys"
    elif positional:
        call = f"the key it reads, {shown}, as its one positional argument"
    elif len(reads) == 1:
        call = f"the key it reads, {shown}, as a keyword argument"
    else:
        call = f"the keys it reads, {shown}, as keyword arguments"
    parameters = signature.parameters
    takes_any = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    unknown = [] if positional or takes_any else [k for k in reads if k not in parameters]
    wanted = tuple(
        name
        for name, p in parameters.items()
        if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    )
    if wanted and _call_failure(signature, fn, wanted) is None:
        hint = (
            f"Read the keys the function takes with .reads({', '.join(map(repr, wanted))}), "
            "or change the function's parameters to the keys it reads."
        )
    else:
        hint = (
            "Change the function's parameters to the keys it reads (a function of one "
            "required positional parameter gets a single read key positionally)."
        )
    name = getattr(fn, "__qualname__", None) or repr(fn)
    return Problem(
        f"Transform '{node_id}' calls {name}{signature} with {call}, which fails: {failure}.",
        node=node_id,
        key=unknown[0] if unknown else None,
        suggestion=tuple(closest_keys(unknown[0], parameters)) if unknown else (),
        hint=hint,
    )


def _call_failure(
    signature: inspect.Signature, fn: Callable[..., Any], reads: tuple[str, ...]
) -> str | None:
    args, kwargs = transform_arguments(fn, reads, dict.fromkeys(reads))
    try:
        signature.bind(*args, **kwargs)
    except TypeError as exc:
        return str(exc)
    return None


@attrs.frozen
class AgentNode(_Templated):
    """An LLM call: render ``instruction`` from state, ask the model, store the answer."""

    name: str = attrs.field(validator=checks.name)
    instruction: str = attrs.field(default="", validator=checks.text)
    writes: str | None = attrs.field(default=None, validator=_optional_key)
    model: str | None = attrs.field(default=None, validator=_optional_text)
    description: str = attrs.field(default="", validator=checks.text)
    timeout: float | None = attrs.field(default=None, validator=_optional_seconds)
    inputs: tuple[str, ...] = attrs.field(default=(), converter=_key_tuple, validator=checks.keys)
    id: str | None = attrs.field(default=None, validator=_optional_name)
    template: Template = attrs.field(init=False, eq=False, repr=False)

    @template.default
    def _parse(self) -> Template:
        return parse_template(self.instruction, node=self.name)


@attrs.frozen
class TransformNode(_Drawn):
    """A pure Python function of named state keys; its return value is written to ``writes``."""

    name: str = attrs.field(validator=checks.name)
    fn: FunctionRef = attrs.field(
        validator=checks.Check(
            "a FunctionRef",
            lambda v: isinstance(v, FunctionRef),
            hint="Build it with irgraph.ir.function_ref(fn, node=name).",
        )
    )
    reads: tuple[str, ...] = attrs.field(default=(), converter=tuple, validator=checks.keys)
    writes: str | None = attrs.field(default=None, validator=_optional_key)
    timeout: float | None = attrs.field(default=None, validator=_optional_seconds)
    inputs: tuple[str, ...] = attrs.field(default=(), converter=_key_tuple, validator=checks.keys)
    id: str | None = attrs.field(default=None, validator=_optional_name)

    @property
    def optional_reads(self) -> tuple[str, ...]:
        return ()


@attrs.frozen
class GateNode(_Templated):
    """A pause for a human: show ``message`` (a template), store the answer in ``writes``."""

    name: str = attrs.field(validator=checks.name)
    message: str = attrs.field(default="", validator=checks.text)
    writes: str | None = attrs.field(default=None, validator=_optional_key)
    timeout: float | None = attrs.field(default=None, validator=_optional_seconds)
    inputs: tuple[str, ...] = attrs.field(default=(), converter=_key_tuple, validator=checks.keys)
    id: str | None = attrs.field(default=None, validator=_optional_name)
    template: Template = attrs.field(init=False, eq=False, repr=False)

    @template.default
    def _parse(self) -> Template:
        return parse_template(self.message, node=self.name, field="message")


@attrs.frozen
class SequenceNode(_Drawn):
    """Children run one after another."""

    name: str = attrs.field(validator=checks.name)
    children: tuple[Node, ...] = attrs.field(
        default=(), converter=_node_tuple, validator=_check_children
    )
    inputs: tuple[str, ...] = attrs.field(default=(), converter=_key_tuple, validator=checks.keys)
    id: str | None = attrs.field(default=None, validator=_optional_name)


@attrs.frozen
class ParallelNode(_Drawn):
    """Children run at the same time; none may read or write what a sibling writes."""

    name: str = attrs.field(validator=checks.name)
    children: tuple[Node, ...] = attrs.field(
        default=(), converter=_node_tuple, validator=_check_children
    )
    inputs: tuple[str, ...] = attrs.field(default=(), converter=_key_tuple, validator=checks.keys)
    id: str | None = attrs.field(default=None, validator=_optional_name)


@attrs.frozen
class LoopNode(_Drawn):
    """The body runs up to ``max_iterations`` times, stopping early once ``until`` holds.

    ``until`` is either a state key (stop when its value is truthy) or a :class:`FunctionRef`
    to a predicate of the state.
    """

    name: str = attrs.field(validator=checks.name)
    children: tuple[Node, ...] = attrs.field(
        default=(), converter=_node_tuple, validator=_check_children
    )
    max_iterations: int | None = attrs.field(
        default=None, validator=checks.optional(checks.integer)
    )
    until: str | FunctionRef | None = attrs.field(
        default=None,
        validator=checks.Check(
            "a state key or a function",
            lambda v: v is None or checks.is_key(v) or isinstance(v, FunctionRef),
            hint="Stop on a key (.until('done')) or a predicate of the state (.until(fn)).",
        ),
    )
    inputs: tuple[str, ...] = attrs.field(default=(), converter=_key_tuple, validator=checks.keys)
    id: str | None = attrs.field(default=None, validator=_optional_name)


@attrs.frozen
class MapOverNode(_Drawn):
    """The body runs once per item of the list in state key ``over`` (concurrently).

    Inside the body the item is the key ``item``; the value of ``collect`` after each item's
    run is gathered, in input order, into a list written to ``writes``.
    """

    name: str = attrs.field(validator=checks.name)
    children: tuple[Node, ...] = attrs.field(
        default=(), converter=_node_tuple, validator=_check_children
    )
    over: str | None = attrs.field(default=None, validator=_optional_key)
    item: str = attrs.field(default="item", validator=checks.key)
    collect: str | None = attrs.field(default=None, validator=_optional_key)
    writes: str | None = attrs.field(default=None, validator=_optional_key)
    max_concurrency: int | None = attrs.field(
        default=None, validator=checks.optional(checks.count())
    )
    inputs: tuple[str, ...] = attrs.field(default=(), converter=_key_tuple, validator=checks.keys)
    id: str | None = attrs.field(default=None, validator=_optional_name)


Node = AgentNode | SequenceNode | ParallelNode | LoopNode | TransformNode | GateNode | MapOverNode
NODE_KINDS: tuple[
    type[AgentNode],
    type[SequenceNode],
    type[ParallelNode],
    type[LoopNode],
    type[TransformNode],
    type[GateNode],
    type[MapOverNode],
] = (AgentNode, SequenceNode, ParallelNode, LoopNode, TransformNode, GateNode, MapOverNode)
