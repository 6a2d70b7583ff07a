"""The cells of a run view's node table (:mod:`irgraph.run_view`): a name cut to one line,
a preview that expands to the whole text, a node's runs and time, and a value as text."""

from __future__ import annotations

import html
import json
import reprlib
from typing import Any

from irgraph.run_status import seconds_text, shorten

__all__ = ["preview", "runs_cell", "time_cell", "name_cell", "text_cell", "PREVIEW", "FULL"]

PREVIEW, FULL = 70, 4000
#: The widest a node or model name shows in the node table (in em), cut with an ellipsis.
NAME_EM = 20


def preview(value: Any) -> str:
    """A value's text: a string as it is, a structured answer (a dict or list of JSON values,
    as ``.output(schema)`` gives, or a number or boolean) as one line of JSON, anything else as
    its (shortened) repr. The cells cut it with an ellipsis."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list, bool, int, float)):
        try:
            return json.dumps(value, ensure_ascii=False, default=_not_json)
        except (TypeError, ValueError):  # a key or value JSON has no word for: its repr
            pass
    shortener = reprlib.Repr()
    shortener.maxstring = shortener.maxother = FULL
    shortener.maxlist = shortener.maxdict = 20
    return shortener.repr(value)


def _not_json(value: Any) -> Any:
    """Refuse what JSON cannot say, so the value shows as its repr instead."""
    raise TypeError(f"{type(value).__name__} is not JSON")


def runs_cell(row: dict[str, Any]) -> str:
    """A row's runs cell: how many times the node ran, and how many of its items never
    started."""
    if not row["not_started"]:
        return str(row["runs"])
    return f"{row['runs']} <span style='color:#8a6a4a'>+{row['not_started']} not started</span>"


def time_cell(row: dict[str, Any]) -> str:
    """A row's time cell: how long the node worked, in all when it ran more than once
    (``73 ms in all``: its items may have run side by side, in a run that took 11 ms),
    the mean of a run on hover."""
    seconds, runs = row["seconds"], row["runs"]
    if seconds is None or runs < 2:
        return f"<td>{html.escape(seconds_text(seconds))}</td>"
    mean = html.escape(f"{runs} runs, {seconds_text(seconds / runs)} each on average")
    total = html.escape(seconds_text(seconds))
    return f"<td title='{mean}' style='white-space:nowrap'>{total} in all</td>"  # one line


def name_cell(name: str, *, bold: bool = False, depth: int = 0) -> str:
    """A table cell holding ``name`` on one line, cut with an ellipsis past :data:`NAME_EM`
    (a long node or model name would widen its column and push the prompts off the page);
    the whole name shows on hover (``title``). ``depth`` indents it a step per scope it is
    in, as the diagram's text does: a map-over's step stands under the map-over."""
    if not name:
        return "<td></td>"
    tag = "b" if bold else "span"
    indent = f" style='padding-left:{3 + 14 * depth}px'" if depth else ""
    return (
        f"<td title='{html.escape(name, quote=True)}'{indent}><{tag} style='display:inline-block;"
        f"max-width:{NAME_EM}em;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;"
        f"vertical-align:bottom'>{html.escape(name)}</{tag}></td>"
    )


def text_cell(text: str, full: str = "", most: int = FULL) -> str:
    """A table cell with a one-line preview of ``text`` that expands to ``full`` (or to the
    whole ``text``), cut past ``most`` characters."""
    if not text and not full:
        return "<td></td>"
    short = shorten(text, PREVIEW)
    full = full or text
    if short == full.strip():  # nothing more to see (a trailing space or line break)
        return f"<td><code>{html.escape(text)}</code></td>"
    full = full if len(full) <= most else full[:most] + "\u2026"
    return (
        f"<td><details><summary><code>{html.escape(short)}</code></summary><pre style="
        f"'white-space:pre-wrap;max-width:60em;margin:0'>{html.escape(full)}</pre>"
        "</details></td>"
    )
