"""The deliberate mistakes of :func:`irgraph.testing.strategies.invalid_pipelines`: one
small broken piece per kind, and the text ``validate``'s error must hold for it."""

from __future__ import annotations

from hypothesis import strategies as st

from irgraph.builder import Agent, Builder, FanOut, Loop, MapOver, Pipeline

__all__ = ["INVALID_KINDS", "broken"]

INVALID_KINDS = frozenset({"unbound_read", "write_race", "sibling_read", "empty_composite"})


def broken(draw: st.DrawFn, kind: str) -> tuple[Builder, str]:
    name = draw(st.sampled_from(("broken", "oops")))
    if kind == "unbound_read":
        key = draw(st.sampled_from(("missing", "missing_notes")))
        return Agent(name).instruct(f"Use {{{key}}}."), f"reads {{{key}}}, but no step before it"
    if kind == "write_race":
        branch = Agent(f"{name}_a").writes("raced") | Agent(f"{name}_b").writes("raced")
        return branch, "both write 'raced'"
    if kind == "sibling_read":
        block: Builder = Agent(f"{name}_w").writes("shared") | Agent(f"{name}_r").instruct(
            "Use {shared}."
        )
        if draw(st.booleans()):
            block = Agent(f"{name}_first").writes("shared") >> block
        return block, "which its parallel sibling"
    empty = draw(st.sampled_from(("Pipeline", "FanOut", "Loop", "MapOver")))
    what = "branches" if empty == "FanOut" else "steps"
    builder = {"Pipeline": Pipeline, "FanOut": FanOut, "Loop": Loop, "MapOver": MapOver}[empty]
    composite = builder(name)
    if isinstance(composite, Loop):
        composite = composite.max_iterations(2)
    return composite, f"{empty} '{name}' has no {what}"
