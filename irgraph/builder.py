"""The fluent builder: ``Agent``, ``Pipeline``, ``FanOut``, ``Loop``, ``MapOver``, ``Gate``,
``Transform`` and the operators ``>>`` (sequence), ``|`` (parallel) and ``* n`` (loop).

Every method returns a new builder, so a builder reused in two places never aliases
(:mod:`irgraph.builder_config`). Steps and branches live in a persistent chain
(:mod:`irgraph.builder_chain`), so building a 10 000-step pipeline one ``.step()`` or ``>>``
at a time is linear, not quadratic. ``.to_ir()`` turns a builder into the frozen IR tree.

>>> p = Agent("researcher").instruct("Research.").writes("findings") >> Agent("writer").instruct(
...     "Write from {findings}.")
>>> p.to_ir().name
'researcher_then_writer'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeGuard, TypeVar

from irgraph import checks
from irgraph.builder_chain import Chain, chain_items
from irgraph.builder_collect import default_collect
from irgraph.builder_config import Configured
from irgraph.builder_keywords import unknown_method
from irgraph.builder_run import Asking
from irgraph.code import composite_name, to_code
from irgraph.errors import IrgraphError, PipelineError, a_or_an
from irgraph.gc_pause import gc_paused
from irgraph.ir import (
    NODE_KINDS,
    AgentNode,
    GateNode,
    LoopNode,
    MapOverNode,
    Node,
    ParallelNode,
    SequenceNode,
    TransformNode,
    function_ref,
)
from irgraph.ir.functions import FunctionLike, predicate_problem
from irgraph.ir.key_paths import KEY_PATH
from irgraph.ir.nodes import AGENT_FIELDS, checked_agent_node
from irgraph.ir.outputs import SET_ELSEWHERE, checked_settings
from irgraph.ir.over_paths import OVER_PATH
from irgraph.ir.schema_words import output_schema
from irgraph.ir.setting_names import warn_misspelt
from irgraph.ir.values import enum_value, is_json
from irgraph.templates import parse_template, system_template

__all__ = [
    "Builder",
    "Agent",
    "Pipeline",
    "FanOut",
    "Loop",
    "MapOver",
    "Gate",
    "Transform",
    "UnknownMethodError",
]

B = TypeVar("B", bound="Builder")
_UNSET: Any = object()  # an argument not given (None is a value one can compare with)


class UnknownMethodError(IrgraphError, AttributeError):
    """A builder method that does not exist was called; the message names the closest one.

    Also an ``AttributeError``, so ``hasattr`` and ``getattr(..., default)`` keep working.
    """


_items = chain_items


def _as_node(owner: Builder, method: str, item: Any) -> Builder | Node:
    if isinstance(item, Builder) or isinstance(item, NODE_KINDS):
        return item
    hint = "Compose Agent, Pipeline, FanOut, Loop, MapOver, Gate or Transform builders."
    if callable(item):
        hint = "Wrap a function as Transform('name', fn).reads(...).writes(...)."
    raise PipelineError(
        f"'{owner.name}'.{method}() expects a builder or IR node (got {item!r} that is "
        f"{a_or_an(type(item).__name__)} {type(item).__name__}).",
        node=owner.name,
        hint=hint,
    )


def _depth(item: Any) -> int:
    """Levels of scopes in ``item`` (0 for a leaf), as IR nodes count them."""
    if type(item) is Agent:  # the commonest member, and a leaf: no method call
        return 0
    return item._nesting() if isinstance(item, Builder) else getattr(item, "depth", 0)


def _checked_depth(builder: B) -> B:
    """``builder``, or the error of nesting deeper than :data:`irgraph.checks.MAX_DEPTH`, where
    the nesting is written (``to_ir`` of a deeper one would hit Python's recursion limit)."""
    if builder._nesting() > checks.MAX_DEPTH:  # the message is built only when it is shown
        raise checks.too_deep(f"{builder._kind} {builder.name!r}", node=builder.name)
    return builder


def _ir(item: Builder | Node) -> Node:
    return item.to_ir() if isinstance(item, Builder) else item


class Builder(Asking, Configured):
    """Common base: a name and settings (:class:`~irgraph.builder_config.Configured`, each
    change a copy), the operators that compose builders, and ``to_ir``."""

    __slots__ = ()

    def to_ir(self) -> Node:
        """Return the frozen IR tree this builder describes."""
        raise NotImplementedError

    def _nesting(self) -> int:
        """Levels of scopes this builder makes (0 for a leaf, 1 + its deepest member's for a
        scope, whose members are a chain of ``steps`` or ``branches``)."""
        if not isinstance(self, (_Composite, Loop, MapOver)):
            return 0
        chain = self._config.get("steps") or self._config.get("branches")
        return 1 + (chain.depth if chain is not None else 0)

    def _add(self: B, key: str, method: str, item: Any) -> B:
        """A copy with ``item`` appended to the chain ``key`` (steps or branches)."""
        item = _as_node(self, method, item)
        link = Chain(self._config.get(key), item, _depth(item))
        made = self._set(key, link)  # 1 + link.depth levels deep: checked near the limit only
        return made if link.depth < checks.MAX_DEPTH else _checked_depth(made)

    def _children(self, key: str) -> tuple[Node, ...]:
        return tuple([_ir(item) for item in _items(self._config.get(key))])

    def __rshift__(self, other: Any) -> Pipeline:
        return _composed(Pipeline, self, _as_node(self, ">>", other))

    def __or__(self, other: Any) -> FanOut:
        return _composed(FanOut, self, _as_node(self, "|", other))

    def __mul__(self, times: Any) -> Loop:
        if not checks.count().test(times):
            hint = "Repeat with e.g. * 3, or use Loop(name).step(...).max_iterations(n)."
            rule = checks.Check("a whole number of at least 1", checks.count().test, hint=hint)
            where = f"the number of iterations in '{self.name}' * {times!r}"
            raise rule.error(times, where, node=self.name)
        body = _items(self._config["steps"]) if _flattens(self, Pipeline) else [self]
        chain: Chain | None = None
        for item in body:
            chain = Chain(chain, item, _depth(item))
        loop = Loop(f"{self.name}_x{times}")._with(steps=chain, max_iterations=times)
        return _checked_depth(loop)

    __rmul__ = __mul__

    def __rrshift__(self, other: Any) -> Pipeline:
        # Reached when the left operand is not a builder: an IR node, or a mistake (``3 >> a``).
        return _composed(Pipeline, _as_node(self, ">>", other), self)

    def __ror__(self, other: Any) -> FanOut:
        return _composed(FanOut, _as_node(self, "|", other), self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        """Jupyter's inline picture: SVG with Graphviz, else a mermaid block."""
        from irgraph.display import mimebundle

        return mimebundle(self, include, exclude)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # IPython and hypothesis print with this hook: show the whole pipeline as the builder
        # code that makes it, so a failing example can be pasted and run.
        printer.text(to_code(self))

    def __getattr__(self, item: str) -> Any:
        # Only reached for unknown attributes: point at the closest real method.
        if item.startswith("_"):
            raise AttributeError(item)
        raise UnknownMethodError(unknown_method(self, item))


class Agent(Builder):
    """An LLM call. ``.instruct(text)`` and ``.system(text)`` may read state with ``{key}``;
    ``.writes(key)`` stores the answer."""

    __slots__ = ()
    _kind = "Agent"

    def instruct(self, text: str) -> Agent:
        """Set the instruction template (``{key}`` required, ``{key?}`` optional)."""
        parse_template(self._arg(checks.text, "instruct", text), node=self._name)
        return self._set("instruction", text)

    def writes(self, key: str) -> Agent:
        """Store the model's answer in state under ``key``."""
        return self._set("writes", self._arg(checks.key, "writes", key))

    def model(self, name: str) -> Agent:
        """Choose the model (passed to the provider)."""
        return self._set("model", self._arg(checks.model_name, "model", name))

    def describe(self, text: str) -> Agent:
        """A human description, shown in diagrams and plans."""
        return self._set("description", self._arg(checks.text, "describe", text))

    def timeout(self, seconds: float) -> Agent:
        """Fail this node with a RunError if one call takes longer than ``seconds``."""
        return self._with(timeout=float(self._arg(checks.seconds(), "timeout", seconds)))

    def system(self, text: str) -> Agent:
        """The system prompt sent with every request, a template like the instruction
        (``{key}`` required, ``{key?}`` optional, ``{{``/``}}`` literal braces)."""
        system_template(self._arg(checks.text, "system", text), node=self._name)
        return self._set("system", text)

    def settings(self, **values: Any) -> Agent:
        """Model settings for each request, e.g. ``.settings(temperature=0.2,
        max_tokens=400)``; they are part of the Prefect cache key. Later calls add to them,
        and a setting given ``None`` is removed (``.settings(seed=None)`` drops the seed an
        earlier call set). A name irgraph does not know is sent as it is, with a warning if it
        looks misspelt."""
        warn_misspelt(values, node=self._name, stacklevel=4)  # past checked_keywords
        merged = {**self._config.get("settings", {}), **values}
        for name, value in values.items():
            if value is None and name not in SET_ELSEWHERE:  # those are refused by name
                del merged[name]
        return self._with(settings=checked_settings(merged, node=self._name))

    def output(self, schema: Any, *, retries: int = 0) -> Agent:
        """Answer with a value matching ``schema`` (a JSON Schema dict, or a pydantic model
        class): the parsed value is written to state; a reply that does not match is asked
        again up to ``retries`` times before the run fails."""
        checked = output_schema(schema, self._name, stacklevel=3)  # past checked_keywords
        where = f"the retries argument of '{self._name}'.output()"
        count = checks.output_retries.check(retries, where, node=self._name)
        return self._with(output=checked, output_retries=count)

    def _prompted(self) -> Agent:
        if "prompt" in self.to_ir().template.reads:  # the instruction's own
            return self
        text = self._config.get("instruction", "")
        return self._set("instruction", f"{text}\n\n{{prompt}}" if text else "{prompt}")

    def to_ir(self) -> AgentNode:
        fields = self._config  # all IR fields, unless it holds an option of its own (_engine)
        return checked_agent_node(
            self._name, fields if AGENT_FIELDS.issuperset(fields) else self._fields()
        )


class _Composite(Builder):
    """What ``>>`` and ``|`` make: members in a chain, named after them when made by the
    operator, so ``a >> b`` is named ``a_then_b``."""

    __slots__ = ()
    _members = "steps"
    _word = "then"

    @classmethod
    def _auto(cls: type[C], members: Chain | None) -> C:
        new = object.__new__(cls)  # not cls(name): nothing to check, and >> makes one per use
        new._name = cls._kind.lower()
        new._config = {cls._members: members, "_auto": True}
        return new

    @property
    def name(self) -> str:
        chain = self._config.get(self._members)
        if self._config.get("_auto") and chain is not None:
            return composite_name([s.name for s in chain.outline()], self._word)
        return self._name


C = TypeVar("C", bound=_Composite)


def _flattens(item: Any, cls: type[C]) -> TypeGuard[C]:
    """Whether ``cls``'s operator splices ``item``'s members: it made ``item``, with no inputs."""
    return isinstance(item, cls) and "_auto" in item._config and not item._config.get("inputs")


def _composed(cls: type[C], left: Builder | Node, right: Builder | Node) -> C:
    """``left >> right`` (``cls`` Pipeline) or ``left | right`` (FanOut): an operand the same
    operator made is flattened into the new chain, so ``a >> b >> c`` is one sequence."""
    key = cls._members
    # Reuse the left chain as it is (appending never copies it), so building a long pipeline
    # one >> at a time stays linear.
    if _flattens(left, cls):
        chain = left._config[key]
    else:
        chain = Chain(None, left, _depth(left))
    if _flattens(right, cls):
        for item in _items(right._config[key]):
            chain = Chain(chain, item, _depth(item))
    else:
        chain = Chain(chain, right, _depth(right))
    made = cls._auto(chain)  # 1 + chain.depth levels deep:
    return made if chain.depth < checks.MAX_DEPTH else _checked_depth(made)


class Pipeline(_Composite):
    """Steps that run in order: ``Pipeline("p").step(a).step(b)`` or ``a >> b``."""

    __slots__ = ()
    _kind = "Pipeline"

    def step(self, item: Builder | Node) -> Pipeline:
        """Append a step."""
        return self._add("steps", "step", item)

    @gc_paused
    def to_ir(self) -> SequenceNode:
        return SequenceNode(self.name, self._children("steps"), **self._fields())


class FanOut(_Composite):
    """Branches that run at the same time: ``FanOut("f").branch(a).branch(b)`` or ``a | b``."""

    __slots__ = ()
    _kind = "FanOut"
    _members = "branches"
    _word = "and"

    def branch(self, item: Builder | Node) -> FanOut:
        """Add a parallel branch."""
        return self._add("branches", "branch", item)

    @gc_paused
    def to_ir(self) -> ParallelNode:
        return ParallelNode(self.name, self._children("branches"), **self._fields())


class Loop(Builder):
    """A body that repeats: ``Loop("refine").step(w).step(c).max_iterations(3).until("done")``.

    ``until`` takes a state key (stop once it is truthy) or a predicate ``fn(state) -> bool``.
    """

    __slots__ = ()
    _kind = "Loop"

    def step(self, item: Builder | Node) -> Loop:
        """Append a step to the body."""
        return self._add("steps", "step", item)

    def max_iterations(self, n: int) -> Loop:
        """Run the body at most ``n`` times."""
        return self._with(max_iterations=self._arg(checks.count(), "max_iterations", n))

    def until(
        self, condition: str | Callable[[dict[str, Any]], bool], *, equals: Any = _UNSET
    ) -> Loop:
        """Stop after an iteration once ``condition`` holds: a predicate of the state, or a
        state key, which stops the loop once it equals ``equals`` (given) or is truthy (not
        given: a model's free text is truthy whatever it says, so validate warns)."""
        if isinstance(condition, str):
            key = self._arg(KEY_PATH, "until", condition)
            if equals is _UNSET:
                return self._with(until=key, until_equals=())
            equals = enum_value(equals)  # Verdict.APPROVED stops as "approved" does
            if not is_json(equals):
                raise PipelineError(
                    f"The equals= of '{self._name}'.until() must be a JSON value (got "
                    f"{equals!r} of type {type(equals).__name__}).",
                    node=self._name,
                    hint="Compare with a string, number, boolean, None, or a list or dict of "
                    "them; or stop on a predicate: .until(lambda state: ...).",
                )
            return self._with(until=key, until_equals=(equals,))
        if equals is not _UNSET:
            raise PipelineError(
                f"'{self._name}'.until() takes equals= only with a state key, not with a "
                "predicate.",
                node=self._name,
                hint="Compare inside the predicate, or write .until('verdict', equals='approved').",
            )
        test = function_ref(condition, node=self._name, role="until")
        problem = predicate_problem(test, kind="Loop", node=self._name)
        if problem is not None:
            raise problem
        return self._with(until=test, until_equals=())

    @gc_paused
    def to_ir(self) -> LoopNode:
        return LoopNode(self._name, self._children("steps"), **self._fields())


class MapOver(Builder):
    """Run a body once per item of a list:
    ``MapOver("summaries").over("papers", item="paper").step(agent).writes("summaries")``.

    Each run sees the item as ``{paper}``; the value of ``collect`` (default: the body's last
    written key) from each run is gathered, in order, into the list ``writes``.
    """

    __slots__ = ()
    _kind = "MapOver"

    def over(self, key: str, *, item: str = "item") -> MapOver:
        """Iterate the list in key ``key`` (or a field: ``"plan.topics"``) as ``{item}``."""
        return self._with(
            over=self._arg(OVER_PATH, "over", key),
            item=checks.key.check(
                item, f"the item argument of '{self._name}'.over()", node=self._name
            ),
        )

    def step(self, node: Builder | Node) -> MapOver:
        """Append a step to the per-item body."""
        return self._add("steps", "step", node)

    def collect(self, key: str) -> MapOver:
        """Gather this body key from each run (default: the last key the body writes; a body
        ending in parallel branches that write different keys must name one)."""
        return self._with(collect=self._arg(checks.key, "collect", key))

    def writes(self, key: str) -> MapOver:
        """Write the list of collected values to ``key``."""
        return self._set("writes", self._arg(checks.key, "writes", key))

    def max_concurrency(self, n: int) -> MapOver:
        """Run at most ``n`` items at once."""
        return self._with(max_concurrency=self._arg(checks.count(), "max_concurrency", n))

    @gc_paused
    def to_ir(self) -> MapOverNode:
        fields = self._fields()
        children = self._children("steps")
        if fields.get("collect") is None and children:
            fields["collect"] = default_collect(self._name, children)
        return MapOverNode(self._name, children, **fields)


class Gate(Builder):
    """A human checkpoint: show ``message`` (may read ``{key}``), store the answer in
    ``writes``. Backends pause here (Prefect) or call an ``on_gate`` handler (asyncio)."""

    __slots__ = ()
    _kind = "Gate"

    def __init__(self, name: str, message: str = "", *, id: str | None = None, **more: Any) -> None:
        super().__init__(name, id=id, **more)  # Gate("g", writes=...): refused, naming .writes
        if message:
            self._config["message"] = self._checked_message(message)

    def _checked_message(self, text: str) -> str:
        parse_template(self._arg(checks.text, "message", text), node=self._name, field="message")
        return text

    def message(self, text: str) -> Gate:
        """The question shown to the human (a template)."""
        return self._with(message=self._checked_message(text))

    def writes(self, key: str) -> Gate:
        """Store the human's answer under ``key``."""
        return self._set("writes", self._arg(checks.key, "writes", key))

    def timeout(self, seconds: float) -> Gate:
        """Give up waiting after ``seconds``."""
        return self._with(timeout=float(self._arg(checks.seconds(), "timeout", seconds)))

    def to_ir(self) -> GateNode:
        return GateNode(self._name, **self._fields())


class Transform(Builder):
    """A pure function of state: ``Transform("clean", fn).reads("a", "b").writes("c")`` calls
    ``fn(a=..., b=...)`` and stores the result in ``c``."""

    __slots__ = ()
    _kind = "Transform"

    def __init__(self, name: str, fn: FunctionLike, *, id: str | None = None, **more: Any) -> None:
        super().__init__(name, id=id, **more)  # Transform(..., reads=[...]): names .reads
        self._config["fn"] = function_ref(fn, node=name)

    def reads(self, *keys: str) -> Transform:
        """The state keys passed to the function as keyword arguments."""
        for key in keys:
            self._arg(checks.key, "reads", key)
        return self._with(reads=checks.builtin(keys))

    def writes(self, key: str) -> Transform:
        """Store the function's return value under ``key``."""
        return self._set("writes", self._arg(checks.key, "writes", key))

    def timeout(self, seconds: float) -> Transform:
        """Fail if the function takes longer than ``seconds``."""
        return self._with(timeout=float(self._arg(checks.seconds(), "timeout", seconds)))

    def to_ir(self) -> TransformNode:
        return TransformNode(self._name, **self._fields())
