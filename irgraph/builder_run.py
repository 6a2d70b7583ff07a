"""``ask`` and ``ask_async``: run a builder in one call, the quickest way to try a pipeline.

A mixin of :class:`irgraph.builder.Builder`, kept apart from the methods that describe a
pipeline: running needs :mod:`irgraph.run` (imported when first asked, so building a pipeline
never loads a backend).
"""

from __future__ import annotations

from typing import Any

from irgraph.builder_keywords import checked_keywords
from irgraph.errors import ArgumentError, PipelineError

__all__ = ["Asking"]


class Asking:
    """The run methods every builder has."""

    __slots__ = ()
    _config: dict[str, Any]  # the builder's settings (a slot of Builder)

    def _prompted(self) -> Asking:
        """This builder, made to read ``{prompt}`` when asked with a prompt (an agent that
        does not read it yet appends it to its instruction)."""
        return self

    @checked_keywords  # a state given by position is told as such, naming the builder
    async def ask_async(
        self,
        prompt: str | None = None,
        *,
        state: dict[str, Any] | None = None,
        provider: Any = None,
        **options: Any,
    ) -> Any:
        """Run this builder on its engine (``.engine(...)``, default asyncio) and return the
        output of its last step. ``prompt`` is put in state as ``prompt``; a lone agent whose
        instruction does not read ``{prompt}`` gets it appended to its instruction."""
        from irgraph.run import arun

        values = dict(state or {})
        target = self
        if prompt is not None:
            values["prompt"] = prompt
            target = self._prompted()
            _check_read(target, values)
        backend = self._config.get("_engine", "asyncio")
        try:
            result = await arun(target, backend=backend, provider=provider, state=values, **options)
        except ArgumentError as error:  # an option misspelt: told as ask's, where it was given
            said = str(error)
            if not said.startswith("arun() "):
                raise
            name = getattr(self, "name", type(self).__name__)
            raise ArgumentError(f"'{name}'.ask(){said[len('arun()') :]}") from None
        return result.output

    @checked_keywords
    def ask(
        self,
        prompt: str | None = None,
        *,
        state: dict[str, Any] | None = None,
        provider: Any = None,
        **options: Any,
    ) -> Any:
        """The sync twin of :meth:`ask_async`: run this builder and return the output of its
        last step (safe in a notebook, whose event loop is already running)."""
        from irgraph.run import run_coroutine

        return run_coroutine(self.ask_async(prompt, state=state, provider=provider, **options))


def _check_read(target: Asking, values: dict[str, Any]) -> None:
    """Refuse a prompt that no step reads: only a lone agent gets it appended, so a pipeline
    none of whose steps read ``{prompt}`` would run as if nothing had been asked. A route's
    or loop's own function is handed the whole state, so it may read the prompt: none is."""
    from irgraph.analysis_lineage import lineage
    from irgraph.graph import to_graph

    G = to_graph(target, inputs=set(values))
    if lineage(G, "prompt").readers or any(_sees_all(data) for _, data in G.nodes(data=True)):
        return
    name = getattr(target, "name", type(target).__name__)
    raise PipelineError(
        f"'{name}'.ask() puts its prompt in the state as 'prompt', but no step of it reads "
        "{prompt}, so no model would see it (only a lone agent gets the prompt added to its "
        "instruction). Read it in the step that should get it, e.g. .instruct('... {prompt}'), "
        "or give the keys the pipeline reads with state={...} instead of a prompt.",
        key="prompt",
    )


def _sees_all(data: dict[str, Any]) -> bool:
    """Whether a graph node hands the whole state to a function: a route's test, a loop's
    ``until`` function."""
    return bool(data.get("until_function")) or any("test" in c for c in data.get("cases", ()))
