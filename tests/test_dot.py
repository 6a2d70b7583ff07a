"""to_dot / to_svg / to_png: the DOT parsed back is the graph, labels survive, clusters are
scopes, and a missing pydot or Graphviz gives an error that says what to install."""

from __future__ import annotations

import builtins
import html
import os
import re
import shutil
import sys
import types
import xml.etree.ElementTree as ET

import pytest
from hypothesis import HealthCheck, given, settings

from irgraph import Agent, MissingExtraError, to_graph
from irgraph.backends import dot as dot_backend
from irgraph.backends.dot import GraphvizError, dot_text, to_dot, to_png, to_svg
from irgraph.backends.labels import label_text, node_ids
from irgraph.cli import main
from irgraph.display import render, show
from irgraph.errors import IrgraphError
from irgraph.testing.strategies import pipelines
from tests.mermaid_check.samples import hostile_pipeline, labelled_pipelines, seed_pipelines
from tests.support.diagram_parsers import (
    expected_conditions,
    expected_edges,
    expected_frames,
    expected_scope_title,
    wrapped_as,
)
from tests.support.dot_reader import DotEdge, DotGraph, read_dot
from tests.support.fake_dot import put_dot
from tests.support.route_samples import route_showcase, triage

needs_graphviz = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz not installed")
SVG = "{http://www.w3.org/2000/svg}"


def unquote(value: str) -> str:
    """Read a DOT string attribute back as the text Graphviz draws."""
    assert value.startswith('"') and value.endswith('"'), value
    body = re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), value[1:-1])
    return html.unescape(body)


def parsed(G_or_pipeline) -> tuple[DotGraph, dict[str, dict[str, str]], list[DotEdge], dict]:
    """Parse the DOT text back; return the graph, its nodes' attributes by id, its edges and,
    for each node, the cluster name it sits in (None at the top)."""
    text = to_dot(G_or_pipeline).to_string()
    graph = read_dot(text)
    nodes: dict[str, dict[str, str]] = {}
    where: dict[str, str | None] = {}
    edges: list[DotEdge] = []

    def walk(g, cluster):
        for node in g.nodes:
            nodes[node.name] = node.attributes
            where[node.name] = cluster
        edges.extend(g.edges)
        for sub in g.subgraphs:
            walk(sub, sub.name)

    walk(graph, None)
    return graph, nodes, edges, where


def assert_same_graph(G) -> None:
    ids = node_ids(G)
    back = {v: k for k, v in ids.items()}
    _, nodes, edges, where = parsed(G)
    frame_of, blocks = expected_frames(G)
    assert set(nodes) == set(ids.values())
    # A scope is one box: the drawing holds each edge as its scope sees it.
    lifted = expected_edges(G)
    assert {(back[e.source], back[e.target]) for e in edges} == set(lifted)
    assert len(edges) == len(lifted)
    for name, node in nodes.items():
        data = G.nodes[back[name]]
        title = expected_scope_title(back[name], data) if data["kind"] == "route" else back[name]
        assert wrapped_as(unquote(node.get("label")), label_text(title))
        frame = frame_of[back[name]]
        if data["kind"] in ("loop", "map_over"):
            assert where[name] == f"cluster_{name}"
        else:
            drawn = frame if frame is None or frame in blocks else ids[frame]
            assert where[name] == (None if frame is None else f"cluster_{drawn}")
    conditions = expected_conditions(G)
    for edge in edges:
        u, v = back[edge.source], back[edge.target]
        control, keys = lifted[u, v]
        label = edge.attributes.get("label")
        words = [conditions[u, v]] if (u, v) in conditions else []
        words += [", ".join(keys)] if keys else []
        assert wrapped_as(unquote(label) if label else "", label_text("\n".join(words)))
        assert (edge.attributes.get("style") == "dashed") == (not control)


# test_exporter_properties holds the same round trip at the full example count; here fewer
# examples check the DOT-specific attributes (shapes, styles).
@settings(max_examples=30)
@given(pipelines(with_gates=True))
def test_dot_parsed_back_has_the_graphs_nodes_edges_and_scopes(p):
    assert_same_graph(to_graph(p))


@given(labelled_pipelines())
@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_any_name_survives_the_round_trip_through_dot_text(p):
    assert_same_graph(to_graph(p))


def test_hostile_names_and_seeds_round_trip():
    for p in [hostile_pipeline(), *seed_pipelines().values(), triage()]:
        assert_same_graph(to_graph(p))
    assert_same_graph(route_showcase())


def test_a_route_is_a_diamond_beside_its_branches_with_labelled_edges():
    G = to_graph(triage(), inputs={"ticket"})
    ids = node_ids(G)
    _, nodes, edges, where = parsed(G)
    route = nodes[ids["triage"]]
    assert (route.get("shape"), unquote(route.get("label"))) == (
        "diamond",
        "triage (route on category)",
    )
    assert where[ids["fix"]] is None  # no cluster for the route
    from_route = {
        e.target: unquote(e.attributes["label"]) for e in edges if e.source == ids["triage"]
    }
    assert from_route == {ids["fix"]: '"bug"', ids["spec"]: '"feature"', ids["reply"]: "otherwise"}
    answers = {
        (e.source, unquote(e.attributes["label"])) for e in edges if e.target == ids["review"]
    }
    assert answers == {(ids[n], "answer") for n in ("test", "spec", "reply")}
    conditions = [e.get("label") for e in to_dot(G, data_edges=False).get_edges()]
    assert sum(label is not None for label in conditions) == 3  # only the cases stay labelled


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ('say "hi"', '"say \\"hi\\""'),
        ("C:\\dir\\n", '"C:\\\\dir\\\\n"'),
        ("two\nlines", '"two\\nlines"'),
        ("R&D &lt;", '"R&amp;D &amp;lt;"'),
        ("é 😀", '"é 😀"'),
        ("nul\x00", '"nul\ufffd"'),
    ],
)
def test_labels_are_quoted_with_dot_escapes(text, written):
    assert dot_text(text) == written


def test_shapes_by_kind_and_the_root_title():
    graph, nodes, _, _ = parsed(seed_pipelines()["every_kind"])
    shapes = {unquote(n.get("label")): n.get("shape") for n in nodes.values()}
    assert shapes == {
        "split": "parallelogram",
        "summaries": "folder",
        "summarizer": "box",
        "planner": "box",
        "revise": "box3d",
        "writer": "box",
        "critic": "box",
        "approve": "hexagon",
    }
    assert unquote(graph.attributes["label"]).endswith(" (sequence)")
    clusters = {s.name: unquote(s.attributes["label"]) for s in graph.subgraphs}
    assert clusters == {  # broken into lines of at most 28 characters
        "cluster_n2": "summaries (map over papers\nas paper)",
        "cluster_n5": "revise (loop, max 3, until\nverdict)",
    }


def test_options_direction_and_no_data_edges():
    p = Agent("a").writes("x") >> Agent("b") >> Agent("c").instruct("{x}")
    assert to_dot(p, direction="LR").get("rankdir") == "LR"
    assert to_dot(p).get("rankdir") == "TB"
    edges = to_dot(p, data_edges=False).get_edges()
    assert [(e.get_source(), e.get_destination()) for e in edges] == [("n1", "n2"), ("n2", "n3")]
    assert all(e.get("label") is None for e in edges)
    with pytest.raises(IrgraphError, match="direction must be one of"):
        to_dot(p, direction="up")
    with pytest.raises(IrgraphError, match=r"\(got 'LeftRight'\)"):  # as given, not 'LEFTRIGHT'
        to_dot(p, direction="LeftRight")


def test_missing_pydot_names_the_extra(monkeypatch):
    real_import = builtins.__import__

    def no_pydot(name, *args, **kwargs):
        if name == "pydot":
            raise ImportError("No module named 'pydot'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pydot)
    with pytest.raises(MissingExtraError, match=r"pip install 'irgraph\[dot\]'") as info:
        to_dot(Agent("a"))
    assert (info.value.package, info.value.extra) == ("pydot", "dot")


def test_missing_graphviz_says_to_install_it(monkeypatch):
    monkeypatch.setattr(dot_backend.shutil, "which", lambda name: None)
    with pytest.raises(GraphvizError, match="apt-get install graphviz"):
        to_svg(Agent("a"))
    with pytest.raises(GraphvizError, match="Graphviz"):
        to_png(Agent("a"))


@needs_graphviz
def test_svg_draws_every_name_as_itself():
    p = hostile_pipeline()
    G = to_graph(p)
    root = ET.fromstring(to_svg(p))
    # a long label is drawn as lines (a text element each), broken at spaces
    drawn = "".join((t.text or "").replace(" ", "") for t in root.iter(f"{SVG}text"))
    for node in G.nodes:
        for line in label_text(node).split("\n"):
            assert line.replace(" ", "") in drawn, node


@needs_graphviz
def test_png_is_a_png():
    assert to_png(seed_pipelines()["seed75_loop"]).startswith(b"\x89PNG\r\n\x1a\n")


@needs_graphviz
def test_a_failing_dot_run_is_a_graphviz_error():
    with pytest.raises(GraphvizError, match="failed drawing NO-SUCH-FORMAT, with exit status 1"):
        dot_backend._graphviz(Agent("a"), "no-such-format", {})


# a dot on PATH that hangs or is not Graphviz's: a fake program first on PATH ---------------


@pytest.fixture
def fake_dot(tmp_path, monkeypatch):
    """Put a program named ``dot`` with the given shell body first on PATH; its path."""

    def make(body: str) -> str:
        return put_dot(tmp_path, body, monkeypatch)

    return make


def _gone(pid_file) -> bool:
    """Whether the process whose id the fake dot wrote is over and reaped (not left running)."""
    try:
        os.kill(int(pid_file.read_text()), 0)
    except ProcessLookupError:
        return True
    return False


def test_a_dot_that_does_not_finish_is_stopped_after_its_timeout(fake_dot, tmp_path):
    pid_file = tmp_path / "dot.pid"
    program = fake_dot(f"echo $$ > {pid_file}; exec sleep 30")
    with pytest.raises(GraphvizError) as info:
        to_svg(Agent("a"), timeout=0.5)
    assert _gone(pid_file)  # stopped, not waited for nor left behind
    assert f"Graphviz's dot ({program}) did not finish within 0.5 s" in str(info.value)
    assert "to_mermaid" in str(info.value)
    assert dot_backend.DOT_TIMEOUT == 60  # a generous limit by default


@pytest.mark.parametrize(
    ("body", "fmt", "pieces"),
    [
        ("echo 'not a picture'; echo 'odd warning' >&2", "svg", ["'not a picture", "odd warning"]),
        ("echo 'not a picture'", "png", ["'not a picture", "nothing on standard error"]),
        ("printf '\\377\\376'", "svg", ["wrote no SVG"]),
        ("true", "svg", ["its output begins ''"]),
    ],
)
def test_a_dot_that_writes_no_picture_is_a_graphviz_error(fake_dot, body, fmt, pieces):
    program = fake_dot(f"cat >/dev/null; {body}")
    draw = to_svg if fmt == "svg" else to_png
    with pytest.raises(GraphvizError) as info:
        draw(Agent("a"))
    said = str(info.value)
    assert f"The program {program}, run as Graphviz's dot, wrote no {fmt.upper()}" in said
    for piece in pieces:
        assert piece in said


def test_svg_after_leading_whitespace_is_svg(fake_dot):
    fake_dot("cat >/dev/null; printf '\\n  <svg xmlns=\"http://www.w3.org/2000/svg\"/>'")
    assert to_svg(Agent("a")).strip() == '<svg xmlns="http://www.w3.org/2000/svg"/>'


def test_svg_that_is_not_utf8_is_a_graphviz_error(fake_dot):
    fake_dot("cat >/dev/null; printf '<svg>\\377</svg>'")
    with pytest.raises(GraphvizError, match="SVG that is not UTF-8"):
        to_svg(Agent("a"))


def test_cli_show_names_a_dot_that_writes_no_svg(fake_dot, capsys):
    program = fake_dot("cat >/dev/null; echo garbage; echo 'bad things' >&2")
    assert main(["show", "irgraph.demo:research_pipeline", "--format", "svg"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"irgraph: error: The program {program}, run as Graphviz's dot, wrote ")
    assert "bad things" in err and "--format mermaid" in err and "Traceback" not in err


def test_cli_show_tells_a_dot_that_does_not_finish_in_its_own_words(
    fake_dot, monkeypatch, capsys, tmp_path
):
    pid_file = tmp_path / "dot.pid"
    fake_dot(f"echo $$ > {pid_file}; exec sleep 30")
    monkeypatch.setattr(dot_backend, "DOT_TIMEOUT", 0.5)  # the limit irgraph show runs dot with
    assert main(["show", "irgraph.demo:research_pipeline", "--format", "svg"]) == 2
    assert _gone(pid_file)
    err = capsys.readouterr().err
    assert err.startswith("irgraph: error: Graphviz's dot did not finish drawing SVG within 0.5 s")
    assert "--format mermaid" in err and "--format dot -o pipeline.dot" in err
    assert "dot -Tsvg" in err
    for python_words in ("collapse=", "to_mermaid", "timeout="):  # no such options here
        assert python_words not in err


def test_a_stopped_dot_tells_its_limit(fake_dot):
    fake_dot("exec sleep 30")
    with pytest.raises(GraphvizError) as info:
        to_png(Agent("a"), timeout=0.5)
    assert info.value.timeout == 0.5
    fake_dot("cat >/dev/null; echo garbage")
    with pytest.raises(GraphvizError) as info:
        to_png(Agent("a"))
    assert info.value.timeout is None  # not stopped: it wrote something else


def test_svg_without_a_time_limit(fake_dot):
    fake_dot("cat >/dev/null; printf '<svg/>'")
    assert to_svg(Agent("a"), timeout=None) == "<svg/>"


@pytest.mark.parametrize("fmt", ["mermaid", "dot"])
def test_render_takes_a_timeout_for_every_format(fmt):
    p = Agent("a").writes("x") >> Agent("b").instruct("{x}")
    assert str(render(p, fmt, timeout=5)) == str(render(p, fmt))  # nothing runs dot
    with pytest.raises(IrgraphError, match=rf"The timeout of render\(\.\.\., '{fmt}'\)"):
        render(p, fmt, timeout=-1)  # checked all the same: the call is wrong for any format


def test_render_passes_its_timeout_to_dot(fake_dot):
    fake_dot("exec sleep 30")
    with pytest.raises(GraphvizError) as info:
        render(Agent("a"), "svg", timeout=0.5)
    assert info.value.timeout == 0.5


def test_a_dot_killed_by_a_signal_says_so(fake_dot):
    program = fake_dot("cat >/dev/null; echo 'out of memory' >&2; kill -9 $$")
    with pytest.raises(GraphvizError) as info:
        to_svg(Agent("a"))
    said = str(info.value)
    assert said.startswith(f"Graphviz's dot ({program}) was killed by signal 9 drawing SVG")
    assert "it said: out of memory" in said


def test_a_dot_that_cannot_be_run_is_a_graphviz_error(fake_dot, capsys):
    program = fake_dot("")
    with open(program, "wb") as binary:  # executable, but no program: no #! line, no ELF
        binary.write(b"\x00\x01garbage")
    with pytest.raises(GraphvizError, match=f"The program {program}, found as Graphviz's dot, "):
        to_png(Agent("a"))
    assert main(["show", "irgraph.demo:research_pipeline", "--format", "svg"]) == 2
    err = capsys.readouterr().err
    assert "could not be run" in err and "--format mermaid" in err and "Traceback" not in err


def test_cli_show_tells_what_a_failing_dot_wrote_on_one_line(fake_dot, capsys):
    program = fake_dot("cat >/dev/null; printf 'Error: one\\n\\033[31mtwo\\n' >&2; exit 3")
    assert main(["show", "irgraph.demo:research_pipeline", "--format", "svg"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"irgraph: error: Graphviz's dot ({program}) failed drawing SVG, with exit status 3: "
        "Error: one\\n\\x1b[31mtwo. If the dot on PATH is broken, reinstall Graphviz "
    )
    assert err.endswith("or show it as --format mermaid.\n") and err.count("\n") == 1


# a broken Graphviz install: raised when SVG or PNG is asked for, mermaid and a warning when
# the format is left to irgraph (render(), show(), Jupyter's inline display) ------------------

BROKEN = {
    "exits 1": "cat >/dev/null; echo 'dot: error while loading shared libraries: libgvc.so.6' >&2"
    "; exit 1",
    "crashes": "cat >/dev/null; kill -SEGV $$",
}


@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_a_broken_dot_asked_for_by_format_raises_naming_it_and_what_it_said(fake_dot, fmt):
    program = fake_dot(BROKEN["exits 1"])
    with pytest.raises(GraphvizError) as info:
        render(Agent("a"), fmt)
    said = str(info.value)
    assert said.startswith(
        f"Graphviz's dot ({program}) failed drawing {fmt.upper()}, with exit status 1: "
        "dot: error while loading shared libraries: libgvc.so.6. If the dot on PATH is broken, "
        "reinstall Graphviz (e.g. apt-get install --reinstall graphviz, brew reinstall graphviz "
    )
    assert said.endswith(
        f"check that {program} -V prints its version, or draw with to_mermaid instead."
    )


def test_a_broken_dot_that_says_nothing_or_crashes_is_told_so(fake_dot):
    program = fake_dot("cat >/dev/null; exit 2")
    with pytest.raises(GraphvizError, match="with exit status 2, and wrote nothing on standard "):
        to_svg(Agent("a"))
    fake_dot(BROKEN["crashes"])
    with pytest.raises(GraphvizError) as info:
        to_svg(Agent("a"))
    said = str(info.value)
    assert said.startswith(f"Graphviz's dot ({program}) was killed by signal 11 drawing SVG")
    assert "if it keeps failing, reinstall Graphviz" in said and "to_mermaid" in said


@pytest.mark.parametrize("broken", sorted(BROKEN))
def test_a_broken_dot_left_to_choose_draws_mermaid_with_a_warning(fake_dot, broken, monkeypatch):
    program = fake_dot(BROKEN[broken])
    pipeline = Agent("a").writes("x") >> Agent("b").instruct("{x}")
    with pytest.warns(UserWarning, match="drawn as mermaid, because Graphviz failed") as told:
        diagram = render(pipeline)
    assert diagram.format == "mermaid" and diagram.data == render(pipeline, "mermaid").data
    assert f"Graphviz's dot ({program})" in str(told[0].message)
    with pytest.warns(UserWarning, match="drawn as mermaid"):
        bundle = pipeline._repr_mimebundle_()  # what Jupyter shows inline
    assert bundle["text/markdown"].startswith("```mermaid\n")
    shown: list[object] = []
    ipython, ipython_display = types.ModuleType("IPython"), types.ModuleType("IPython.display")
    ipython.get_ipython = lambda: object()  # type: ignore[attr-defined]
    ipython_display.display = shown.append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", ipython_display)
    with pytest.warns(UserWarning, match="drawn as mermaid"):
        show(pipeline)
    assert [d.format for d in shown] == ["mermaid"]  # type: ignore[attr-defined]
    with pytest.raises(GraphvizError):
        show(pipeline, "svg")


# irgraph show --dot-timeout ------------------------------------------------------------------

#: A pipeline Graphviz's dot takes minutes to draw (one a fifth its size takes a second).
LARGE = """
from irgraph import Agent

pipeline = Agent("a0").instruct("Go.").writes("k0")
for i in range(1, 100):
    pipeline = pipeline >> (
        Agent(f"a{i}").instruct("{k%d}" % (i - 1)).writes(f"k{i}")
        | Agent(f"b{i}").instruct("{k0}").writes(f"j{i}")
    )
"""


@pytest.fixture
def slow_drawing(tmp_path, fake_dot):
    """The target of a drawing that dot does not finish in a second: Graphviz's own dot on
    a large pipeline, or, where Graphviz is not installed, a dot that never finishes."""
    if shutil.which("dot") is None:
        fake_dot("exec sleep 30")
    source = tmp_path / f"large_{tmp_path.name}.py"  # a module name of its own in each test
    source.write_text(LARGE)
    return f"{source}:pipeline"


@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_cli_show_stops_dot_after_the_dot_timeout_given(slow_drawing, tmp_path, fmt, capsys):
    output = tmp_path / f"large.{fmt}"
    code = main(["show", slow_drawing, "-o", str(output), "--dot-timeout", "0.05"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith(
        f"irgraph: error: Graphviz's dot did not finish drawing {fmt.upper()} within 0.05 s"
    )
    assert "Allow it more time with --dot-timeout SECONDS (e.g. --dot-timeout 120)" in err
    assert "fold its parts with --collapse 0" in err
    assert not output.exists()


def test_cli_show_draws_within_the_dot_timeout_given(fake_dot, tmp_path, capsys):
    fake_dot("cat >/dev/null; printf '<svg/>'")
    output = tmp_path / "p.svg"
    assert (
        main(["show", "irgraph.demo:research_pipeline", "-o", str(output), "--dot-timeout", "5"])
        == 0
    )
    assert output.read_text() == "<svg/>"


@pytest.mark.parametrize("given", ["0", "-1", "soon", "nan", "inf", ""])
def test_cli_show_refuses_a_dot_timeout_that_is_not_a_positive_number(given, capsys):
    with pytest.raises(SystemExit) as info:
        main(["show", "irgraph.demo:research_pipeline", "--format", "svg", "--dot-timeout", given])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --dot-timeout: {given!r} is not a number of seconds above 0" in err
    assert "e.g. --dot-timeout 120" in err
