"""A ``dot`` that hangs costs one timeout per process, not one per picture: after a picture
drawn without a format (``render(x)``, Jupyter's inline display, ``show(x)``) was stopped at
its timeout, later such pictures are mermaid at once, warned about once; an SVG asked for by
name still runs that ``dot`` and raises its clear error."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest

from irgraph import Agent
from irgraph.backends.dot import GraphvizError
from irgraph.display import render
from tests.support.fake_dot import put_dot

PIPELINE = Agent("a").writes("x") >> Agent("b").instruct("{x}")


def test_after_dot_hangs_once_pictures_without_a_format_are_mermaid_without_waiting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # Hangs for 30 s on the first run; any later run fails at once (exit 1): a render that
    # ran it again would warn of that failure, which is what the test looks for.
    marker = tmp_path / "ran"
    program = put_dot(
        tmp_path / "bin",
        f"if [ -e {marker} ]; then exit 1; fi; touch {marker}; exec sleep 30",
        monkeypatch,
    )
    with pytest.warns(UserWarning, match="drawn as mermaid, because Graphviz failed") as told:
        first = render(PIPELINE, timeout=0.5)
    assert first.format == "mermaid"
    said = str(told[0].message)
    assert f"Graphviz's dot ({program}) did not finish within 0.5 s" in said
    assert f"without waiting for {program} again; render(x, 'svg') still runs it." in said
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no second warning, and no run of dot to warn about
        assert render(PIPELINE).format == "mermaid"
        bundle = PIPELINE._repr_mimebundle_()  # what Jupyter shows inline
    assert bundle["text/markdown"].startswith("```mermaid\n")
    # asked for by name, the picture still runs dot, and says why it failed
    with pytest.raises(GraphvizError, match=f"Graphviz's dot \\({program}\\) failed drawing SVG"):
        render(PIPELINE, "svg")


def test_another_dot_on_path_is_tried_and_a_dot_that_works_again_is_used_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    svg = "cat >/dev/null; printf '<svg xmlns=\"http://www.w3.org/2000/svg\"/>'"
    hung = tmp_path / "hung"
    program = put_dot(
        tmp_path / "bin", f"if [ -e {hung} ]; then exec sleep 30; fi; {svg}", monkeypatch
    )
    hung.touch()
    with pytest.warns(UserWarning, match="did not finish within 0.5 s"):
        assert render(PIPELINE, timeout=0.5).format == "mermaid"
    with pytest.warns(UserWarning, match="did not finish within 0.5 s"):
        other = put_dot(tmp_path / "other", f"exec {program}", monkeypatch)
        assert render(PIPELINE, timeout=0.5).format == "mermaid"  # not the path that hung
    hung.unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert render(PIPELINE).format == "mermaid"  # the other dot hung too: not run
        assert render(PIPELINE, "svg").format == "svg"  # by name: it runs, and works
        assert render(PIPELINE).format == "svg"  # so pictures without a format use it again
    assert shutil.which("dot") == other
