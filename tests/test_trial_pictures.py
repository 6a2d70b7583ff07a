"""An outside trial of the pictures: `irgraph show` without what Graphviz drawing needs.

pydot is made missing by ``sys.modules['pydot'] = None`` (its import then fails, as an
uninstalled package's does) and Graphviz's ``dot`` by an empty PATH, so the tests pass the
same with and without Graphviz installed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from irgraph.cli import main

DEMO = "irgraph.demo:research_pipeline"


@pytest.mark.parametrize("fmt", ["dot", "svg"])
def test_show_without_pydot_is_a_set_up_error_with_exit_code_2(
    fmt: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without pydot, `irgraph show --format dot` exited 1 with a class name, where a
    missing `dot` program exits 2 (docs/cli.md: both are refused, exit 2)."""
    monkeypatch.setitem(sys.modules, "pydot", None)
    assert main(["show", DEMO, "--format", fmt]) == 2
    err = capsys.readouterr().err
    assert err.startswith("irgraph: error: Drawing ")
    assert "pip install 'irgraph[dot]'" in err
    assert "--format mermaid" in err and "MissingExtraError" not in err


def test_show_without_the_dot_program_exits_2_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on PATH: no Graphviz
    assert main(["show", DEMO, "--format", "svg"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("irgraph: error: Drawing SVG needs ") and "--format mermaid" in err


def test_mermaid_needs_neither(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "pydot", None)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["show", DEMO, "--format", "mermaid"]) == 0
    assert "writer" in capsys.readouterr().out
