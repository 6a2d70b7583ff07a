"""What IPython shows for an error a run raised: the view of the run first, then the traceback.

A failed run's ``RunError`` and an interrupted run's ``KeyboardInterrupt`` (its ``partial``)
are shown so in a notebook, with no ``try`` around the run.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ipython_traceback"]


def ipython_traceback(shown: Any, raised: BaseException) -> list[str]:
    """What IPython shows for ``raised`` uncaught in a cell (its ``_render_traceback_``): the
    view of the run ``shown`` records (a ``RunError``: a failed run, or the ``partial`` of an
    interrupted one; not imported here, as it imports this), displayed once, then ``raised``'s
    usual traceback; outside IPython, the standard library's traceback."""
    from IPython import get_ipython  # only IPython calls this
    from IPython.display import display

    shell = get_ipython()
    if shell is None:  # called outside IPython: the standard library's traceback
        import traceback

        return traceback.format_exception(raised)
    seen = getattr(shown, "_view_shown", False)  # IPython also formats it for its history
    if not seen and (shown.trace is not None or shown.graph is not None):
        shown._view_shown = True
        try:
            display(shown.view())  # type: ignore[no-untyped-call]
        except Exception:  # a broken picture must not hide the error
            pass
    lines: list[str] = shell.InteractiveTB.structured_traceback(
        type(raised), raised, raised.__traceback__
    )
    return lines
