"""The ``irgraph`` command's one error: input it was given that it cannot take.

Every mistake on the command line (a target, a state, a file, an option's value) is a
:class:`CliError` whose one-line message names the offending thing and says what to do; the
command prints it and exits with 2, never with a traceback.
"""

from __future__ import annotations

from irgraph.errors import IrgraphError

__all__ = ["CliError"]


class CliError(IrgraphError):
    """Bad command-line input (exit code 2)."""
