"""What every builder is underneath: a name and settings, checked where they are given, and
copied on every change, never changed in place, so a builder reused in two places never
aliases. A base of :class:`irgraph.builder.Builder`, kept apart from the methods that compose
builders (the operators, the chains of steps and branches).

>>> from irgraph import Agent
>>> a = Agent("a")
>>> b = a.inputs("topic")
>>> a._config, b._config
({}, {'inputs': ('topic',)})
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from irgraph import checks
from irgraph.builder_keywords import KeywordsChecked, constructor_keywords

__all__ = ["Configured"]

B = TypeVar("B", bound="Configured")
T = TypeVar("T")


class Configured(KeywordsChecked):
    """A builder's name and ``_config``, its settings: each method that sets one returns a
    copy (:meth:`_with`, :meth:`_set`), so the settings are never mutated."""

    # Slots, not an instance dict: one object less per builder, and a 10 000-agent pipeline
    # keeps 10 000 agents alive, each a little more work for every pass of the cyclic gc.
    __slots__ = ("__weakref__", "_config", "_name")
    _kind = "Builder"

    def __init__(
        self, name: str, *, inputs: Sequence[str] = (), id: str | None = None, **more: Any
    ) -> None:
        if not checks.name.test(name):  # the message is built only when it is shown
            raise checks.name.error(name, f"the name given to {self._kind}()")
        if more:  # Agent("a", instruction=...): a setting is a method's
            raise constructor_keywords(self, name, more)
        self._name = name if type(name) is str else checks.builtin(name)  # a StrEnum member
        self._config: dict[str, Any] = {}
        if inputs != ():
            where = f"the inputs given to {self._kind}({name!r})"
            self._config["inputs"] = tuple(checks.keys.check(inputs, where, node=name))
        if id is not None:  # the node's graph id, pinned whatever else the pipeline holds
            where = f"the id given to {self._kind}({name!r})"
            self._config["id"] = checks.name.check(id, where, node=name)

    @property
    def name(self) -> str:
        """The builder's name (for composites made by operators, derived from the children)."""
        return self._name

    def _arg(self, rule: checks.Check, method: str, value: T) -> T:
        """``value`` if it passes ``rule``, else the error naming this builder's method."""
        if rule.test(value):  # the message is built only when it is shown
            return value if type(value) is str else checks.builtin(value)
        where = f"the argument of '{self.name}'.{method}()"
        raise rule.error(value, where, node=self.name, method=method)

    def _with(self: B, **changes: Any) -> B:
        """A copy with ``changes`` made to its settings."""
        return self._copy({**self._config, **changes})

    def _set(self: B, key: str, value: Any) -> B:
        """``self._with(key=value)`` for one setting, with no keyword dict to build first."""
        config = self._config.copy()
        config[key] = value
        return self._copy(config)

    def _copy(self: B, config: dict[str, Any]) -> B:
        """This builder with ``config`` as its settings, copied by hand: copy.copy goes through
        __reduce_ex__ and __getattr__, several times slower, and each step makes a few."""
        new = object.__new__(type(self))
        new._name = self._name
        new._config = config
        if type(self).__dictoffset__:  # a subclass without slots keeps its own attributes too
            new.__dict__.update(self.__dict__)
        return new

    def _fields(self) -> dict[str, Any]:
        """The settings that are IR fields of the same name: all but the chain of members and
        the ``_``-prefixed options of the builder itself."""
        skip = ("steps", "branches")
        return {k: v for k, v in self._config.items() if k[0] != "_" and k not in skip}

    def inputs(self: B, *keys: str) -> B:
        """Declare the keys a run starts with, for to_graph to use (only the root's count);
        ``.inputs('a', 'b')``, or one list of them, as ``Pipeline(name, inputs=[...])`` takes."""
        if len(keys) == 1 and isinstance(keys[0], (list, tuple, set, frozenset)):
            keys = tuple(sorted(keys[0]) if isinstance(keys[0], (set, frozenset)) else keys[0])
        return self._with(inputs=tuple(self._arg(checks.key, "inputs", key) for key in keys))

    def engine(self: B, name: str) -> B:
        """Choose the backend ``ask_async`` runs on (``"asyncio"``, ``"prefect"``, ...)."""
        return self._with(_engine=self._arg(checks.engine_name, "engine", name))
