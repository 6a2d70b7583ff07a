"""What ``irgraph check`` says of the modules a pipeline read from a file may import: each
module it calls that ``run`` would refuse (or could not import), and each ``--allow-module``
that allows a module it never calls (unless the refusal already names it as the refused
module misspelt: one warning per mistake)."""

from __future__ import annotations

from irgraph.errors import did_you_mean
from irgraph.ir.nodes import Node
from irgraph.ir.trust import (
    functions_of,
    misspelt_modules,
    unrunnable_functions,
    unused_modules,
    with_allowed,
)

__all__ = ["allow_warnings"]


def allow_warnings(root: Node, allow: list[str]) -> list[str]:
    """The warnings of ``irgraph check`` about the pipeline ``root``'s functions and the
    modules ``allow`` (``--allow-module``) names."""
    allowed = with_allowed(root, allow)
    refused = [str(p) for p in unrunnable_functions(allowed)]
    told = misspelt_modules(allowed)  # "is it 'os.path' misspelt?" in a refusal above
    return refused + _unused(root, [name for name in allow if name not in told])


def _unused(root: Node, allow: list[str]) -> list[str]:
    """A warning for each allowed module no function of ``root`` is in (a misspelt name,
    most likely), with the modules it does call and the closest of them."""
    called = list(dict.fromkeys(ref.module for _, ref in functions_of(root)))
    calls = (
        f"the pipeline calls functions of {', '.join(repr(m) for m in called)} only"
        if called
        else "the pipeline calls no function of any module"
    )
    return [
        f"--allow-module {name} allows a module the pipeline never calls, so it changes "
        f"nothing: {calls}.{did_you_mean(name, called)}"
        for name in unused_modules(root, allow)
    ]
