"""The notebooks, as committed with their outputs, rendered to HTML by nbconvert and opened in
headless Chromium, offline: every diagram and timeline shows, and every mermaid block is drawn
by the real (pinned) mermaid.

The pages are the stored notebooks (tests/test_notebooks.py executes each once and checks
that the stored outputs are what it shows today), so nothing is executed here. Chromium and
the pinned mermaid come as for tests/test_mermaid.py; without them this skips on a developer
machine, and fails in CI (``CI=true``, see conftest.py) or under ``IRGRAPH_REQUIRE_MERMAID``.
"""

from __future__ import annotations

import os
import re
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest

from tests.mermaid_check import harness
from tests.support import notebooks
from tests.support.diagram_parsers import parse_mermaid

pytest.importorskip("nbformat")
pytest.importorskip("nbconvert")

from tests.support import notebook_pages  # needs nbconvert


def _required() -> bool:
    return bool(os.environ.get("IRGRAPH_REQUIRE_MERMAID")) or os.environ.get("CI") == "true"


@pytest.fixture(scope="module")
def stored() -> dict[str, Any]:
    return {name: notebooks.stored(name) for name in notebooks.names()}


@pytest.fixture(scope="module")
def pages(stored: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """What Chromium shows of each notebook, cell by cell (code cells in order)."""
    try:
        return notebook_pages.browse(stored)
    except harness.HarnessUnavailable as exc:
        if _required():
            raise
        pytest.skip(str(exc))


def _markdowns(cell: Any) -> list[str]:
    return [
        o["data"]["text/markdown"] for o in cell.outputs if "text/markdown" in o.get("data", {})
    ]


def _code_cells(nb: Any) -> list[Any]:
    return [c for c in nb.cells if c.cell_type == "code"]


def test_every_notebook_is_reported_cell_by_cell(stored, pages):
    assert sorted(pages) == sorted(stored)
    for name, nb in stored.items():
        tags = [c.metadata["tags"][0] for c in _code_cells(nb)]
        assert [cell["tag"] for cell in pages[name]] == tags, name


def test_every_diagram_and_timeline_shows_every_node_and_bar(stored, pages):
    shown_somewhere = 0
    for name, nb in stored.items():
        for cell, seen in zip(_code_cells(nb), pages[name], strict=True):
            counts = notebooks.diagram_counts(nb.__class__(cells=[cell]))
            tag = cell.metadata["tags"][0]
            where = f"{name}, cell {tag}"
            assert seen["broken"] == 0, f"{where}: an SVG image did not decode"
            assert seen["nodes"] == counts[f"{tag}:node"], where
            assert seen["bars"] == counts[f"{tag}:bar"], where
            assert seen["dot"] == counts[f"{tag}:dot"], where
            shown_somewhere += seen["nodes"] + seen["bars"] + seen["dot"]
    assert shown_somewhere > 0


def test_every_mermaid_block_is_drawn_by_real_mermaid_with_all_its_nodes(stored, pages):
    drawn = 0
    for name, nb in stored.items():
        for cell, seen in zip(_code_cells(nb), pages[name], strict=True):
            texts = [
                block
                for markdown in _markdowns(cell)
                for block in re.findall(r"```mermaid\n(.*?)\n```", markdown, re.S)
            ]
            assert len(seen["mermaid"]) == len(texts), f"{name}: {cell.metadata['tags']}"
            for text, result in zip(texts, seen["mermaid"], strict=True):
                assert result["ok"], f"{name}: mermaid failed: {result['error']}"
                assert result["nodes"] == len(parse_mermaid(text).nodes), name
                drawn += 1
    assert drawn >= 2  # notebook 01's pipeline and notebook 06's coloured run


def test_the_run_views_draw_the_notebooks_own_pipeline(stored, pages):
    nb = stored["06_what_a_run_did"]
    seen = {cell["tag"]: cell for cell in pages["06_what_a_run_did"]}
    built = next(c for c in nb.cells if "build" in c.metadata.get("tags", ()))
    count = int(built.outputs[0]["text"].split()[0])  # "11 nodes: split, define_all, ..."
    names = built.outputs[0]["text"].split(": ", 1)[1].strip().split(", ")
    assert count == len(names) == 11
    bars = 1 + 1 + 3 + 1 + 1 + 1 + 2 + 1 + 1 + 1  # split, the map-over and its 3 items, ...
    assert (seen["result"]["nodes"], seen["result"]["bars"]) == (count, bars)
    assert seen["result"]["statuses"].count("done") == count - 1
    assert seen["result"]["statuses"].count("skipped") == 1  # the branch not taken
    assert seen["timeline-view"]["bars"] == bars  # the timeline on its own, as an SVG image
    assert seen["failed-view"]["nodes"] == count + 2  # explode and after
    assert {"failed", "not_reached"} <= set(seen["failed-view"]["statuses"])
    assert seen["resumed"]["nodes"] == count
    assert seen["resumed"]["statuses"].count("reused") == 6


def _png_pixels(data: bytes) -> tuple[int, int, bytes]:
    """Width, height and the decompressed scanlines of a PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    chunks, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        if data[at + 4 : at + 8] == b"IDAT":
            chunks.append(data[at + 8 : at + 8 + length])
        at += 12 + length
    return width, height, zlib.decompress(b"".join(chunks))


def test_the_run_view_screenshots_show_something(tmp_path: Path):
    for name in notebook_pages.SHOTS:
        committed = notebooks.IMAGES / f"{name}.png"
        assert committed.exists(), "run .venv/bin/python -m tests.support.notebooks --screenshots"
        width, height, _ = _png_pixels(committed.read_bytes())
        assert width >= 800 and height >= 400
    nb = notebooks.stored("06_what_a_run_did")
    try:
        shot = notebook_pages.screenshot(
            notebook_pages.stored_view(nb, "result"), tmp_path / "view.png", height=500
        )
    except harness.HarnessUnavailable as exc:
        if _required():
            raise
        pytest.skip(str(exc))
    width, height, pixels = _png_pixels(shot.read_bytes())
    assert (width, height) == (1920, 500)
    assert len(set(pixels)) > 50  # colours, not a blank page
