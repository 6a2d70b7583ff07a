"""The warnings Python gives while an ``irgraph`` command runs, said as the command says its
own messages: one line on standard error, ``irgraph: warning: ...``."""

from __future__ import annotations

import importlib.util
import os
import sys
import warnings
from typing import TextIO

from irgraph.cli_live import one_line

__all__ = ["told"]


def told(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """Say a warning that irgraph raised while a command runs (a state key misspelt, say) on
    one line of standard error, as the command's own messages are, not with the path and
    source line of irgraph's module; one that points elsewhere (a pipeline module's line, a
    library's) is shown as Python shows it."""
    if os.path.abspath(filename).startswith(_OWN_DIRECTORIES):
        print(f"irgraph: warning: {one_line(str(message))}", file=sys.stderr)
    else:
        _SHOW_WARNING(message, category, filename, lineno, file, line)


_SHOW_WARNING = warnings.showwarning
#: The directories of irgraph's modules, and of its backends (a package of their own).
_OWN_DIRECTORIES = tuple(
    os.path.dirname(os.path.abspath(spec.origin)) + os.sep
    for spec in map(importlib.util.find_spec, ("irgraph", "irgraph.backends"))
    if spec is not None and spec.origin is not None
)
