"""What the ``irgraph`` command says when a target names a class, not a pipeline.

``irgraph check m:Agent`` names the builder class itself; the command refuses it in one line
(exit 2), suggesting an instance made from the class's own arguments (``Agent('name')``,
``Transform('name', fn)``) and how to name it.
"""

from __future__ import annotations

import inspect

__all__ = ["class_named"]


def class_named(spec: str, source: str, cls: type) -> str:
    """What to say when a target names a class rather than a pipeline made from one."""
    from irgraph.ir import NODE_KINDS

    name = cls.__name__
    own = source.partition(".")[0] != "irgraph"  # else the pipeline goes in a module of yours
    where, target = (f"in {source}", f"{source}:p") if own else ("in your module", "module:p")
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
