"""Pictures in Jupyter and the terminal: builders and IR nodes display themselves, ``show``
draws any pipeline, ``irgraph show`` writes pictures, and nothing touches the network."""

from __future__ import annotations

import socket
import sys
import types

import pytest

import irgraph
from irgraph import Agent, IrgraphError, Loop, to_graph
from irgraph import display as display_module
from irgraph.backends.labels import label_text
from irgraph.cli import main
from irgraph.display import Diagram, dot_available, mimebundle, render, show
from tests.mermaid_check.samples import seed_pipelines
from tests.support.route_samples import triage

needs_graphviz = pytest.mark.skipif(not dot_available(), reason="Graphviz or pydot missing")
PIPELINE = seed_pipelines()["every_kind"]


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any attempt to open a network connection fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("drawing must never touch the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def without_graphviz(monkeypatch):
    monkeypatch.setattr(display_module, "dot_available", lambda: False)


@pytest.fixture
def notebook(monkeypatch):
    """Pretend to run inside IPython: collect what ``display`` is given."""
    shown: list[object] = []
    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: object()  # type: ignore[attr-defined]
    ipython_display = types.ModuleType("IPython.display")
    ipython_display.display = shown.append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", ipython_display)
    return shown


@needs_graphviz
@pytest.mark.parametrize("subject", ["builder", "ir", "child ir"])
def test_builders_and_ir_nodes_display_as_svg_when_graphviz_is_there(subject):
    item = {
        "builder": PIPELINE,
        "ir": PIPELINE.to_ir(),
        "child ir": PIPELINE.to_ir().children[0],
    }[subject]
    bundle = item._repr_mimebundle_()
    assert bundle["image/svg+xml"].lstrip().startswith("<?xml")
    assert bundle["text/plain"] == repr(item)


@pytest.mark.parametrize("subject", ["builder", "ir"])
def test_without_graphviz_they_display_as_a_mermaid_block(without_graphviz, subject):
    item = PIPELINE if subject == "builder" else PIPELINE.to_ir()
    bundle = item._repr_mimebundle_()
    assert "image/svg+xml" not in bundle
    markdown = bundle["text/markdown"]
    assert markdown.startswith("```mermaid\n---\ntitle: ") and markdown.endswith("\n```")
    assert "\n---\ngraph TD\n" in markdown  # the root's name is the title
    assert "subgraph" in markdown


def test_a_pipeline_too_broken_to_draw_still_displays_its_repr(monkeypatch):
    def broken(_):
        raise IrgraphError("cannot draw")

    monkeypatch.setattr(display_module, "as_graph", broken)
    assert mimebundle(Agent("a")) == {"text/plain": "Agent('a') (no picture: cannot draw)"}


def test_an_invalid_pipeline_is_still_drawn():
    bundle = Loop("no_bound").step(Agent("a").instruct("{missing}"))._repr_mimebundle_()
    assert "no_bound" in str(bundle)


@pytest.mark.parametrize(
    ("fmt", "start"),
    [
        ("mermaid", "---\ntitle: "),
        ("dot", "digraph pipeline {"),
        ("svg", "<?xml"),
        ("png", b"\x89PNG"),
    ],
)
def test_render_every_format_from_a_graph_builder_or_ir(fmt, start):
    if fmt in ("svg", "png") and not dot_available():
        pytest.skip("Graphviz or pydot missing")
    for item in (PIPELINE, PIPELINE.to_ir(), to_graph(PIPELINE)):
        diagram = render(item, fmt)
        assert diagram.format == fmt
        assert diagram.data.startswith(start)


@pytest.mark.parametrize("fmt", ["mermaid", "dot", "svg"])
def test_a_routed_pipeline_renders_in_every_format_with_its_cases(fmt):
    if fmt == "svg" and not dot_available():
        pytest.skip("Graphviz or pydot missing")
    data = render(triage(), fmt).data
    assert isinstance(data, str)
    assert "triage (route on category)" in data
    assert "otherwise" in data


def test_render_rejects_an_unknown_format():
    with pytest.raises(IrgraphError, match="'gif'.*'mermaid', 'dot', 'svg', 'png'"):
        render(PIPELINE, "gif")


def test_render_picks_svg_or_mermaid(monkeypatch):
    expected = "svg" if dot_available() else "mermaid"
    assert render(PIPELINE).format == expected
    monkeypatch.setattr(display_module, "dot_available", lambda: False)
    assert render(PIPELINE).format == "mermaid"


def test_diagram_bundles_and_save(tmp_path):
    text = Diagram("mermaid", "graph TD")
    assert text._repr_mimebundle_()["text/markdown"] == "```mermaid\ngraph TD\n```"
    assert Diagram("dot", "digraph {}")._repr_mimebundle_()["text/markdown"].startswith("```dot")
    assert Diagram("svg", "<svg/>")._repr_mimebundle_()["image/svg+xml"] == "<svg/>"
    assert Diagram("png", b"\x89PNG")._repr_mimebundle_()["image/png"] == b"\x89PNG"
    text.save(str(tmp_path / "a.mmd"))
    Diagram("png", b"\x89PNG").save(str(tmp_path / "a.png"))
    assert (tmp_path / "a.mmd").read_text() == "graph TD"
    assert (tmp_path / "a.png").read_bytes() == b"\x89PNG"
    assert str(text) == "graph TD" and "4 bytes" in str(Diagram("png", b"\x89PNG"))


def test_show_is_exported_and_prints_outside_a_notebook(capsys):
    assert irgraph.show is show and "show" in irgraph.__all__
    show(to_graph(PIPELINE), format="mermaid")
    assert "\n---\ngraph TD\n" in capsys.readouterr().out
    show(PIPELINE, format="dot", direction="LR")
    assert "rankdir=LR" in capsys.readouterr().out


def test_show_without_a_format_prints_text_outside_a_notebook(capsys):
    show(PIPELINE)  # as irgraph show prints it, where an SVG's XML would be printed
    assert capsys.readouterr().out == render(PIPELINE, "mermaid").data + "\n"
    show(PIPELINE, node_attrs={"split": {"color": "red"}})  # an option only dot takes: dot
    assert capsys.readouterr().out.startswith("digraph ")


def test_show_in_the_terminal_ipython_prints_text_not_a_placeholder(monkeypatch, capsys):
    class TerminalInteractiveShell:  # what `ipython` in a terminal runs: no picture shown
        pass

    shown: list[object] = []
    ipython, ipython_display = types.ModuleType("IPython"), types.ModuleType("IPython.display")
    ipython.get_ipython = TerminalInteractiveShell  # type: ignore[attr-defined]
    ipython_display.display = shown.append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", ipython_display)
    show(PIPELINE)  # displayed, it showed only "<irgraph diagram (svg)>"
    assert shown == [] and capsys.readouterr().out == render(PIPELINE, "mermaid").data + "\n"


def test_show_refuses_to_print_a_png_to_a_terminal():
    if not dot_available():
        pytest.skip("Graphviz or pydot missing")
    with pytest.raises(IrgraphError, match="save it"):
        show(PIPELINE, format="png")


def test_show_in_a_notebook_displays_a_diagram(notebook, capsys):
    show(PIPELINE, format="mermaid")
    (diagram,) = notebook
    assert isinstance(diagram, Diagram) and diagram.format == "mermaid"
    assert capsys.readouterr().out == ""


def test_show_default_format_in_a_notebook(notebook, without_graphviz):
    show(PIPELINE)
    assert notebook[0].format == "mermaid"


def test_label_text_keeps_text_and_replaces_control_characters():
    assert label_text("a\r\nb\rc") == "a\nb\nc"
    assert label_text("tab\tnul\x00esc\x1b") == "tab\tnul\ufffdesc\ufffd"
    assert label_text("é 😀 \u2028") == "é 😀 \u2028"


def test_importing_irgraph_does_not_load_the_exporters():
    import subprocess

    code = (
        "import sys, irgraph; "
        "print(any(m in sys.modules for m in "
        "('pydot', 'irgraph.backends.mermaid', 'irgraph.backends.dot', 'IPython')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr


# -- irgraph show -------------------------------------------------------------------------


def test_cli_show_prints_mermaid_by_default(capsys):
    assert main(["show", "irgraph.demo:research_pipeline"]) == 0
    out = capsys.readouterr().out
    assert out.startswith('---\ntitle: "') and "\n---\ngraph TD\nn1[" in out
    assert 'n1 -->|"findings"| n2' in out


def test_cli_show_dot(capsys):
    pytest.importorskip("pydot")
    assert main(["show", "irgraph.demo:research_pipeline", "--format", "dot"]) == 0
    assert capsys.readouterr().out.startswith("digraph pipeline {")


@needs_graphviz
@pytest.mark.parametrize(("fmt", "start"), [("svg", b"<?xml"), ("png", b"\x89PNG")])
def test_cli_show_writes_pictures_to_a_file(tmp_path, capsys, fmt, start):
    target = tmp_path / f"pipeline.{fmt}"
    assert main(["show", "irgraph.demo:research_pipeline", "--format", fmt, "-o", str(target)]) == 0
    assert target.read_bytes().startswith(start)
    assert f"Wrote {target} ({fmt})." in capsys.readouterr().out


def test_cli_show_png_needs_a_file(capsys):
    if not dot_available():
        pytest.skip("Graphviz or pydot missing")
    assert main(["show", "irgraph.demo:research_pipeline", "--format", "png"]) == 2
    assert "write it to a file, e.g. -o pipeline.png" in capsys.readouterr().err


def test_cli_show_without_graphviz_says_to_install_it(monkeypatch, capsys):
    pytest.importorskip("pydot")
    from irgraph.backends import dot

    monkeypatch.setattr(dot.shutil, "which", lambda name: None)
    assert main(["show", "irgraph.demo:research_pipeline", "--format", "svg"]) == 2
    err = capsys.readouterr().err  # a set-up matter (exit 2), with the way around it
    assert "apt-get install graphviz" in err and "--format mermaid" in err


def test_cli_show_rejects_unknown_formats_and_targets(capsys):
    with pytest.raises(SystemExit) as info:
        main(["show", "irgraph.demo:research_pipeline", "--format", "gif"])
    assert info.value.code == 2
    assert main(["show", "irgraph.demo:nothing_here"]) == 2
    assert "has no attribute 'nothing_here'" in capsys.readouterr().err
