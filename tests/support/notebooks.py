"""Executing the notebooks, and what of their outputs does not depend on timing.

The notebooks in ``notebooks/`` are committed with their outputs (so they read on any
viewer). tests/test_notebooks.py executes each once and compares :func:`summary` of the fresh
outputs with the stored ones; tests/test_notebook_browser.py renders the stored notebooks to
HTML and opens them in headless Chromium.

Refresh the stored outputs after changing a notebook (or what it shows), and the docs'
screenshots of the run view, with::

    .venv/bin/python -m tests.support.notebooks [NAME ...]      # execute and save
    .venv/bin/python -m tests.support.notebooks --screenshots   # docs/images/*.png
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
IMAGES = ROOT / "docs" / "images"

#: Cells tagged so show timings in their text (bars, durations, run names): only their output
#: kinds and drawn nodes are compared, not their text.
VARIES = "varies"

_NUMBER_WITH_UNIT = re.compile(r"\d+(?:\.\d+)?(?:\s?(?:ms|µs|s|%|items/(?:s|min|h)))\b")
_ADDRESS = re.compile(r"0x[0-9a-f]{6,}")
_TEMP = re.compile(r"/tmp/[^\s'\"]+")


def write_kernel_spec(root: Path) -> str:
    """Write a ``python3`` kernel running this interpreter under ``root``; return ``root`` to
    use as ``JUPYTER_PATH`` (so a system-wide ``python3`` kernel is never picked up)."""
    spec = root / "kernels" / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "Python 3", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel), encoding="utf-8")
    return str(root)


def execute(name: str, timeout: int = 180) -> Any:
    """Execute ``notebooks/NAME.ipynb`` in a fresh kernel (``JUPYTER_PATH`` set by the caller)
    and return the notebook with its new outputs."""
    import nbclient
    import nbformat

    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    client.execute()
    return nb


def stored(name: str) -> Any:
    import nbformat

    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)


def names() -> list[str]:
    return sorted(path.stem for path in NOTEBOOKS.glob("*.ipynb"))


def plain(text: str) -> str:
    """Text without what changes from run to run: durations, addresses, temporary paths."""
    text = _NUMBER_WITH_UNIT.sub("<n>", text)
    return _TEMP.sub("<tmp>", _ADDRESS.sub("<address>", text))


def svg_nodes(svg: str) -> list[str]:
    """What an SVG draws, as sorted ``node=status`` (irgraph's diagrams), ``bar:node=status``
    (irgraph's timelines) and ``dot:title`` (Graphviz's nodes)."""
    found = []
    for g in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}g"):
        classes = (g.get("class") or "").split()
        if g.get("data-status") and "node" in classes:
            found.append(f"{g.get('data-node')}={g.get('data-status')}")
        elif "bar" in classes:
            found.append(f"bar:{g.get('data-node')}={classes[1].removeprefix('status-')}")
        elif classes == ["node"]:
            title = g.find("{http://www.w3.org/2000/svg}title")
            found.append(f"dot:{title.text if title is not None else ''}")
    return sorted(found)


class _HtmlSvgs(HTMLParser):
    """The ``<svg>`` elements of an HTML text, each as its own text."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=False)
        self.text, self.svgs, self._start, self._depth = text, [], 0, 0
        self._lines = [0]
        for line in text.splitlines(keepends=True):
            self._lines.append(self._lines[-1] + len(line))
        self.feed(text)

    def _offset(self) -> int:
        line, column = self.getpos()
        return self._lines[line - 1] + column

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "svg":
            if self._depth == 0:
                self._start = self._offset()
            self._depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._depth -= 1
            if self._depth == 0:
                end = self.text.index(">", self._offset()) + 1
                self.svgs.append(self.text[self._start : end])


def html_svgs(text: str) -> list[str]:
    return _HtmlSvgs(text).svgs


def output_summary(output: Any, varies: bool) -> list[Any]:
    """One output as what must not change between runs."""
    kind = output["output_type"]
    if kind == "stream":
        return [kind, output["name"], None if varies else plain(output["text"])]
    if kind == "error":
        return [kind, output["ename"], None if varies else plain(output["evalue"])]
    data = output.get("data", {})
    shown: list[Any] = [kind, sorted(data)]
    for mime in sorted(data):
        value = data[mime]
        if mime == "image/svg+xml":
            shown.append(svg_nodes(value))
        elif mime == "text/html":
            shown.append([svg_nodes(svg) for svg in html_svgs(value)])
            rows = re.findall(r"<tr class='status-(\w+)' data-node='([^']*)'", value)
            shown.append(sorted(f"{node}={status}" for status, node in rows))
        elif mime.startswith("text/") and not varies:
            shown.append(plain(value))
    return shown


def summary(nb: Any) -> list[Any]:
    """A notebook's cells with what of their outputs does not depend on timing."""
    cells = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tags = cell.get("metadata", {}).get("tags", [])
        varies = VARIES in tags
        outputs: list[Any] = []
        for output in cell.outputs:  # how a stream is cut into outputs depends on timing
            last = outputs[-1] if outputs else None
            if output["output_type"] == "stream" and last and last.get("name") == output["name"]:
                outputs[-1] = {**last, "text": last["text"] + output["text"]}
            else:
                outputs.append(output)
        cells.append([tags[:1], [output_summary(o, varies) for o in outputs]])
    return cells


def diagram_counts(nb: Any) -> Counter[str]:
    """How many diagram nodes (``TAG:node``), timeline bars (``TAG:bar``) and Graphviz nodes
    (``TAG:dot``) the outputs of a notebook's cells draw."""
    counts: Counter[str] = Counter()
    for cell in nb.cells:
        tag = (cell.get("metadata", {}).get("tags") or ["untagged"])[0]
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            svgs = html_svgs(data.get("text/html", "")) or [data.get("image/svg+xml", "")]
            for svg in filter(None, svgs):
                for drawn in svg_nodes(svg):
                    kind = drawn.partition(":")[0] if drawn[:4] in ("bar:", "dot:") else "node"
                    counts[f"{tag}:{kind}"] += 1
    return counts


def save(name: str) -> None:
    """Execute a notebook and store it with its outputs."""
    import nbformat

    nb = execute(name)
    for cell in nb.cells:  # the execution's timing metadata would change on every save
        cell.get("metadata", {}).pop("execution", None)
    nbformat.write(nb, NOTEBOOKS / f"{name}.ipynb")


def main(argv: list[str]) -> None:
    os.environ["JUPYTER_PATH"] = write_kernel_spec(Path(tempfile.mkdtemp(prefix="irgraph-k-")))
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    if argv == ["--screenshots"]:
        from tests.support.notebook_pages import screenshots

        for path in screenshots(IMAGES):
            print("wrote", path.relative_to(ROOT))
        return
    sys.path.insert(0, str(ROOT))
    from tests.support.prefect_children import shared_api_url

    os.environ["IRGRAPH_NOTEBOOK_PREFECT_API_URL"] = shared_api_url()
    for name in argv or names():
        save(name)
        print("saved", name)


if __name__ == "__main__":
    main(sys.argv[1:])
