"""The catalog section of docs/errors.md, rendered from :mod:`tests.support.bad_inputs`.

``python3 dev.py docs`` writes the page (it runs ``python -m tests.support.errors_page`` from
the repository root); ``tests/test_bad_inputs.py`` only checks that the page is up to date.
The section lies between two markers, so the prose around it is edited by hand.
"""

from __future__ import annotations

import re
import shlex
from functools import cache
from pathlib import Path

from tests.support.bad_inputs import CATALOG, FIXTURES, IMPORTS, BadInput, trigger

__all__ = [
    "AREAS",
    "BEGIN",
    "END",
    "ERRORS_PAGE",
    "REGENERATE",
    "raised",
    "render_catalog",
    "render_page",
    "write_page",
]

ERRORS_PAGE = Path(__file__).resolve().parents[2] / "docs" / "errors.md"
BEGIN = "<!-- bad-inputs:begin -->"
END = "<!-- bad-inputs:end -->"
REGENERATE = "python3 dev.py docs"
#: The areas of the catalog, in the order the page shows them.
AREAS = (
    "builder",
    "template",
    "graph",
    "routes and outputs",
    "IR JSON",
    "command line",
    "provider",
    "run-time state",
    "running",
    "batches",
    "missing extra",
    "untrusted pipeline",
)


@cache
def raised(row: BadInput) -> BaseException | None:
    """What ``row.code`` raises, computed once per process."""
    return trigger(row)


def _code(text: str) -> str:
    """A markdown code span holding ``text`` (Python-Markdown keeps ``|`` inside one)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _input(row: BadInput) -> str:
    if row.command:
        return _code(shlex.join(["irgraph", *row.command]))
    return _code(row.code)


def _message(row: BadInput) -> str:
    return "<br>".join(_code(line.strip()) for line in str(raised(row)).splitlines())


def render_catalog() -> str:
    """The generated part of docs/errors.md: the fixtures, then one table per area."""
    lines = [
        BEGIN,
        "<!-- Generated from tests/support/bad_inputs.py by tests/support/errors_page.py;",
        f"     do not edit by hand. After changing the catalog or a message, run: {REGENERATE} -->",
        "",
        "The inputs below use these names (the block runs as it is, from the repository root):",
        "",
        "```python",
        IMPORTS.rstrip(),
        "",
        *(f"{name} = {code}" for name, code in FIXTURES),
        "```",
    ]
    for area in AREAS:
        lines += ["", f"### {area[0].upper()}{area[1:]}", ""]
        lines += ["| input | error | message |", "| --- | --- | --- |"]
        for row in CATALOG:
            if row.area == area:
                error = type(raised(row)).__name__
                lines.append(f"| {_input(row)} | `{error}` | {_message(row)} |")
    lines.append(END)
    return "\n".join(lines)


def render_page(page: str) -> str:
    """``page`` (the text of docs/errors.md) with its catalog section rendered afresh."""
    if BEGIN not in page or END not in page:
        raise ValueError(f"docs/errors.md lost its {BEGIN} ... {END} markers")
    start, end = page.index(BEGIN), page.index(END) + len(END)
    return page[:start] + render_catalog() + page[end:]


def write_page(path: Path = ERRORS_PAGE) -> bool:
    """Regenerate the catalog section of ``path``; return whether the file changed."""
    page = path.read_text(encoding="utf-8")
    wanted = render_page(page)
    if wanted == page:
        return False
    path.write_text(wanted, encoding="utf-8")
    return True


if __name__ == "__main__":
    changed = write_page()
    print(f"{ERRORS_PAGE.name}: {'regenerated' if changed else 'already up to date'}")
