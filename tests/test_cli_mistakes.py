"""Mistakes an outside tester made with the ``irgraph`` command, each now one line (exit 2) or
right output: a class named as the target, a route's key listed twice by ``check``, ``show -o``
with a suffix it cannot write (and ``Diagram.save`` with one that is not its format's), and node
names holding line breaks or other characters that do not print."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from irgraph import Agent, IrgraphError, to_graph, validate
from irgraph.cli import main
from irgraph.display import SUFFIXES, Diagram, dot_available

MODULE = "cli_mistakes_pipes"
PIPES = (
    "from pathlib import Path\n"
    "from irgraph import Agent, Gate, Loop, Pipeline, Route, Transform\n"
    "from irgraph.ir import AgentNode\n"
    "p = Agent('w').instruct('Write {topic}.').writes('text')\n"
    "r1 = Agent('c').instruct('{t}').writes('k') >> Route('r').on('k')"
    ".when('a', Agent('x').instruct('{k}')).otherwise(Agent('y'))\n"
    "odd = Agent('back\\\\slash\\nnewline').instruct('{t}').writes('o') >> "
    "Agent('z').instruct('{t}').writes('q')\n"
    "odd2 = Agent('z').instruct('{t}').writes('q') >> "
    "Agent('back\\\\slash\\nnewline').instruct('{t}').writes('o')\n"
    "tab = Agent('we\\tird').writes('o') >> Agent('u').instruct('{o}')\n"
    "tabr = Agent('c').instruct('{t}').writes('k') >> Route('r\\tt').on('k')"
    ".when('a', Agent('x').instruct('{k}')).otherwise(Agent('y'))\n"
    "gate = Agent('a\\x1b[31mred').instruct('{t}').writes('d') >> "
    "Gate('ok\\nnow', 'Publish?').writes('yes')\n"
    "import os\n"
    "def split(topic):\n"
    "    return topic.split()\n"
    "version = '1.0'\n"
)
ODD = "back\\slash\nnewline"  # the name in the module above
ODD_SHOWN = repr(ODD)  # 'back\\slash\nnewline', on one line


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary current directory holding the pipelines module, imported afresh."""
    (tmp_path / f"{MODULE}.py").write_text(PIPES)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, MODULE, raising=False)
    return tmp_path


def call(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def error_of(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """The one error line of a command that must exit 2."""
    code, _ = call(*argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("irgraph: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


# 3. a class named as the target -----------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["check", f"{MODULE}:Agent"],
        ["check", f"{MODULE}.py:Agent"],
        ["run", f"{MODULE}:Agent", "--state", "topic=owls"],
        ["show", f"{MODULE}:Agent"],
        ["diff", f"{MODULE}:Agent", f"{MODULE}:p"],
        ["diff", f"{MODULE}:p", f"{MODULE}:Agent"],
        ["batch", f"{MODULE}:Agent", "in.jsonl", "-o", "out.jsonl"],
    ],
)
def test_a_builder_class_as_the_target_is_one_line(here, capsys, argv):
    err = error_of(capsys, *argv)
    spec = next(a for a in argv if a.endswith(":Agent"))
    assert f"{spec!r} is the class Agent, not a pipeline" in err
    assert "did you mean Agent('name')?" in err
    assert f"{spec.rpartition(':')[0]}:p" in err  # how to name the pipeline made from it
    assert not (here / "out.jsonl").exists()


@pytest.mark.parametrize(
    ("attr", "pieces"),
    [
        ("Route", ["the class Route", "Route('name')"]),
        ("Loop", ["the class Loop", "Loop('name')"]),
        ("Pipeline", ["the class Pipeline", "Pipeline('name')"]),
        ("Transform", ["the class Transform", "Transform('name', fn)"]),
        ("AgentNode", ["is an IR node class, AgentNode, not a pipeline"]),
        ("Path", ["is a class, Path, not a pipeline", "Agent('a') >> Agent('b')"]),
    ],
)
def test_any_class_as_the_target_says_what_to_name_instead(here, capsys, attr, pieces):
    err = error_of(capsys, "check", f"{MODULE}:{attr}")
    for piece in pieces:
        assert piece in err


def test_a_class_as_the_target_in_a_fresh_process(here):
    proc = subprocess.run(
        [sys.executable, "-m", "irgraph.cli", "check", f"{MODULE}:Agent"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=here,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    assert "is the class Agent, not a pipeline" in proc.stderr


# a function, a string, a module... named as the target ----------------------------------


@pytest.mark.parametrize(
    ("argv", "pieces"),
    [
        (
            ["check", f"{MODULE}:split"],
            [
                f"'{MODULE}:split' is the function split, not a pipeline",
                f"module-level variable in {MODULE} (p = split(...))",
                f"name that: {MODULE}:p",
                f"Pipelines in {MODULE}: {MODULE}:gate, {MODULE}:odd",
            ],
        ),
        (
            ["show", f"{MODULE}.py:split"],
            [f"'{MODULE}.py:split' is the function split", f"name that: {MODULE}.py:p"],
        ),
        (
            ["run", f"{MODULE}:version", "--state", "topic=owls"],
            [f"'{MODULE}:version' is a str ('1.0'), not a pipeline", f"name it: {MODULE}:p"],
        ),
        (["check", "irgraph:__version__"], ["'irgraph:__version__' is a str ('"]),
        (
            ["show", "irgraph:run"],
            ["'irgraph:run' is the function run, not a pipeline", "module:p"],
        ),
        (
            ["check", f"{MODULE}:os"],
            [f"'{MODULE}:os' is the module os, not a pipeline", "name a pipeline in it: os:ATTR"],
        ),
        (
            ["check", "irgraph.demo:research_pipeline.name"],
            ["is a str ('researcher", "irgraph.demo:research_pipeline is a pipeline: name it"],
        ),
        (["diff", f"{MODULE}:p", f"{MODULE}:split"], ["is the function split"]),
        (["batch", f"{MODULE}:split", "in.jsonl", "-o", "out.jsonl"], ["is the function split"]),
    ],
)
def test_a_target_that_is_no_pipeline_says_what_it_is_in_one_line(here, capsys, argv, pieces):
    err = error_of(capsys, *argv)
    for piece in pieces:
        assert piece in err
    assert ".to_ir()" not in err  # the Python API's advice
    assert not (here / "out.jsonl").exists()


def test_a_function_as_the_target_in_a_fresh_process(here):
    proc = subprocess.run(
        [sys.executable, "-m", "irgraph.cli", "check", f"{MODULE}.py:split"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=here,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(f"irgraph: error: '{MODULE}.py:split' is the function split")
    assert proc.stderr.count("\n") == 1, proc.stderr


# 7. a route's key once ------------------------------------------------------------------


def test_check_lists_a_routes_key_once(here):
    code, text = call("check", f"{MODULE}:r1", "--input", "t")
    assert code == 0, text
    assert "  [route] r: reads k; writes -\n" in text


# 8. show -o with a suffix it cannot write, Diagram.save with another format's ---------------


@pytest.mark.parametrize("name", ["x.pdf", "x.jpg", "x.html", "x.json", "x.PDF"])
def test_show_refuses_a_suffix_it_cannot_write(here, capsys, name):
    err = error_of(capsys, "show", f"{MODULE}:p", "-o", name)
    suffix = name.rpartition(".")[2].lower()
    assert f"Cannot write a picture to {name!r}: irgraph show writes no .{suffix} files" in err
    for known in (".mmd", ".dot", ".gv", ".svg", ".png"):
        assert known in err
    assert not (here / name).exists()


@pytest.mark.parametrize(
    ("argv", "pieces"),
    [
        (["--format", "svg", "-o", "x.pdf"], ["writes no .pdf files", "e.g. x.svg"]),
        (["--format", "png", "-o", "x.txt"], ["--format png does not match", "x.png"]),
        (["--format", "mermaid", "-o", "x.png"], ["asks for png", "x.mmd"]),
    ],
)
def test_show_refuses_a_format_its_file_name_contradicts(here, capsys, argv, pieces):
    err = error_of(capsys, "show", f"{MODULE}:p", *argv)
    for piece in pieces:
        assert piece in err
    assert not (here / argv[-1]).exists()


@pytest.mark.parametrize(
    ("argv", "fmt"),
    [
        (["-o", "x.txt"], "mermaid"),
        (["-o", "x.mermaid"], "mermaid"),
        (["-o", "x.MMD"], "mermaid"),
        (["-o", "x"], "mermaid"),
        (["--format", "mermaid", "-o", "x"], "mermaid"),
    ],
)
def test_show_still_writes_the_suffixes_it_can(here, capsys, argv, fmt):
    code, text = call("show", f"{MODULE}:p", *argv)
    assert (code, text) == (0, f"Wrote {argv[-1]} ({fmt}).\n"), capsys.readouterr().err
    assert "graph TD" in (here / argv[-1]).read_text()


def test_show_writes_dot_text_to_a_txt_file(here, capsys):
    pytest.importorskip("pydot")
    assert call("show", f"{MODULE}:p", "--format", "dot", "-o", "x.txt")[0] == 0
    assert (here / "x.txt").read_text().startswith("digraph")


@pytest.mark.parametrize(
    ("fmt", "data", "name", "pieces"),
    [
        ("png", b"\x89PNG", "p.mmd", ["png diagram as", "a .mmd file holds mermaid", "p.png"]),
        ("png", b"\x89PNG", "p.txt", ["a .txt file holds mermaid or dot", "p.png"]),
        ("mermaid", "graph TD", "p.pdf", ["irgraph writes no .pdf files", "p.mmd"]),
        ("mermaid", "graph TD", "p.svg", ["a .svg file holds svg", "p.mmd", "render(x, 'svg')"]),
        ("svg", "<svg/>", "p.png", ["a .png file holds png", "p.svg"]),
        ("dot", "digraph {}", "p.html", ["no .html files", "p.dot"]),
    ],
)
def test_diagram_save_refuses_another_formats_suffix(tmp_path, fmt, data, name, pieces):
    with pytest.raises(IrgraphError) as refused:
        Diagram(fmt, data).save(str(tmp_path / name))
    for piece in pieces:
        assert piece in str(refused.value)
    assert not (tmp_path / name).exists()


@pytest.mark.parametrize("fmt", sorted(SUFFIXES))
def test_diagram_save_takes_each_of_its_formats_suffixes(tmp_path, fmt):
    data: str | bytes = b"\x89PNG" if fmt == "png" else "text"
    for suffix in [*SUFFIXES[fmt], SUFFIXES[fmt][0].upper(), ""]:
        path = tmp_path / f"p{suffix}"
        Diagram(fmt, data).save(path)  # a Path too
        assert (path.read_bytes() if fmt == "png" else path.read_text()) == data


def test_render_png_cannot_be_saved_as_mermaid(tmp_path):
    if not dot_available():
        pytest.skip("PNG needs Graphviz and pydot")
    from irgraph.display import render

    diagram = render(Agent("a").writes("x") >> Agent("b").instruct("{x}"), "png")
    with pytest.raises(IrgraphError, match="save it as .*p.png"):
        diagram.save(str(tmp_path / "p.mmd"))
    diagram.save(str(tmp_path / "p.png"))
    assert (tmp_path / "p.png").read_bytes().startswith(b"\x89PNG")


# 9. names with characters that do not print ---------------------------------------------


def test_check_shows_a_name_with_a_line_break_on_one_line(here):
    code, text = call("check", f"{MODULE}:odd", "--input", "t")
    assert code == 0, text
    lines = text.splitlines()
    assert f"  [agent] {ODD_SHOWN}: reads t; writes o" in lines
    assert f"  {ODD_SHOWN} --> z" in lines
    hint = next(line for line in lines if line.startswith("hint: 'z'"))
    assert f"'z' needs nothing from {ODD_SHOWN} but waits" in hint
    assert "newline" not in text.replace(ODD_SHOWN, "").replace(repr(ODD + "_then_z"), "")


def test_check_shows_a_tab_and_a_parent_escaped(here):
    code, text = call("check", f"{MODULE}:tab")
    assert code == 0, text
    assert "\t" not in text
    assert "  [agent] 'we\\tird': reads -; writes o" in text
    assert "  'we\\tird' -. o .-> u" in text.splitlines()
    code, text = call("check", f"{MODULE}:tabr", "--input", "t")
    assert code == 0, text
    assert "\t" not in text
    assert "  [route] 'r\\tt': reads k; writes -" in text.splitlines()
    assert "  [agent] x: reads k; writes -  (in 'r\\tt')" in text.splitlines()


def test_run_shows_a_name_with_a_line_break_on_one_line(here):
    code, text = call("run", f"{MODULE}:odd", "--state", "t=x", "--no-progress")
    assert code == 0, text
    lines = text.splitlines()
    assert f"  > {ODD_SHOWN} started" in lines
    assert any(line.startswith(f"  ok {ODD_SHOWN} (") for line in lines)
    assert "  > z started" in lines  # a name that prints is shown as it is


def test_run_shows_a_gate_and_an_escape_code_escaped(here):
    argv = ["run", f"{MODULE}:gate", "--state", "t=x", "--no-progress", "--answer", "ok\nnow=y"]
    code, text = call(*argv)
    assert code == 0, text
    assert "\x1b" not in text  # a name, and a value naming it, are printed escaped
    assert "  > 'a\\x1b[31mred' started" in text.splitlines()
    assert "  d = <a\\x1b[31mred: x>" in text.splitlines()
    assert "  ? 'ok\\nnow': Publish? -> y" in text.splitlines()


def test_run_prints_a_values_control_characters_escaped_but_line_breaks_and_tabs(here):
    # the fake model answers with its prompt: an answer holding a terminal's escape codes
    (here / "cli_answer.py").write_text(
        "from irgraph import Agent, Gate\n"
        "p = Agent('a').instruct('Say \\x1b]0;owned\\x07{t}\\r\\n\\tdone\\u202e').writes('d')"
        " >> Gate('g', 'OK? {d}').writes('ok')\n"
    )
    argv = ["run", "cli_answer.py:p", "--state", "t=\x1b[2J", "--no-progress", "--answer", "g=y"]
    try:
        code, text = call(*argv)
    finally:
        sys.modules.pop("cli_answer", None)
    assert code == 0, text
    answer = "<a: Say \\x1b]0;owned\\x07\\x1b[2J\\r\n\tdone\\u202e>"  # \n and \t as they are
    state = text.partition("Final state:\n")[2]
    indented = answer.replace("\n", "\n    ")  # a further line is indented under its key
    assert state == f"  t = \\x1b[2J\n  d = {indented}\n  ok = y\n"
    gate = f"  ? g: OK? {answer} -> y".replace("\n", "\\n").replace("\t", "\\t")  # one line
    assert gate in text.splitlines()


def test_diff_shows_a_name_with_a_line_break_on_one_line(here):
    code, text = call("diff", f"{MODULE}:odd", f"{MODULE}:odd2")
    assert code == 1
    lines = text.splitlines()
    assert f"+ edge z -> {ODD_SHOWN}" in lines and f"- edge {ODD_SHOWN} -> z" in lines


def test_the_live_table_shows_a_name_on_one_line(here):
    pytest.importorskip("rich")
    from rich.console import Console

    from irgraph.cli_live import RunDisplay
    from irgraph.graph import to_graph

    sys.path.insert(0, str(here))
    __import__(MODULE)
    G = to_graph(sys.modules[MODULE].odd, inputs={"t"})
    display = RunDisplay(G, io.StringIO(), live=True, err=io.StringIO())
    console = Console(file=io.StringIO(), width=120, color_system=None)
    console.print(display.table())
    drawn = console.file.getvalue()  # type: ignore[attr-defined]
    assert ODD_SHOWN in drawn and "back\\\\slash\\nnewline" in drawn


def test_a_key_nothing_gives_is_advised_in_the_commands_own_words(here, capsys):
    """`check` and `batch` of a pipeline reading {topic} told the user to call
    to_graph(..., inputs=...) or run(..., state=...), which the command line has no way to."""
    assert main(["check", f"{MODULE}:p"], out=io.StringIO()) == 1
    said = capsys.readouterr().err
    assert "give it a value with --state topic=... (or declare it with --input topic)" in said
    assert "to_graph(" not in said and "run(..." not in said
    (here / "items.jsonl").write_text('{"subject": "owls"}\n')
    code = main(["batch", f"{MODULE}:p", "items.jsonl", "-o", "out.jsonl"], out=io.StringIO())
    assert code == 1
    said = capsys.readouterr().err
    assert 'give it in each line of the inputs (e.g. {"topic": ...})' in said
    assert "to_graph(" not in said
    record = json.loads((here / "out.jsonl").read_text())
    assert 'give it in each line of the inputs (e.g. {"topic": ...})' in record["error"]["message"]
    # the Python API keeps its own words
    with pytest.raises(IrgraphError, match=r"to_graph\(\.\.\., inputs=\{'topic'\}\)"):
        validate(to_graph(Agent("w").instruct("Write {topic}.")))


def test_run_prints_any_final_value_and_no_line_passes_for_another_key(here):
    (here / "cli_values.py").write_text(
        "from irgraph import Transform\n"
        "def odd(t):\n"
        "    cycle = []\n"
        "    cycle.append(cycle)\n"
        "    return {'tuple': {(1, 2): 'x'}, 'cycle': cycle, 'big': 10**5000,\n"
        "            'dict': {'name': 'caf\\u00e9 \\x1b[31m'},\n"
        "            'forged': 'ok\\n  approved = yes'}\n"
        "def pick(name):\n"
        "    return lambda v: v[name]\n"
        "p = Transform('odd', odd).reads('t').writes('v')"
        " >> Transform('a', pick('tuple')).reads('v').writes('tuple')\n"
        "for name in ('cycle', 'big', 'dict', 'forged'):\n"
        "    p = p >> Transform(name, pick(name)).reads('v').writes(name)\n"
    )
    try:
        code, text = call("run", "cli_values.py:p", "--state", "t=x", "--no-progress")
    finally:
        sys.modules.pop("cli_values", None)
    assert code == 0, text
    assert "Traceback" not in text
    lines = text.partition("Final state:\n")[2].splitlines()
    assert "  tuple = {(1, 2): 'x'}" in lines  # no JSON: its repr
    assert "  cycle = [[...]]" in lines
    assert "  big = <an int that cannot be shown>" in lines  # too long even for repr
    assert '  dict = {"name": "café \\u001b[31m"}' in lines  # non-ASCII as it is
    assert lines[lines.index("  forged = ok") + 1] == "      approved = yes"
    assert "  approved = yes" not in lines


def test_run_tells_a_gate_without_a_message_in_words(here):
    (here / "cli_quiet_gate.py").write_text(
        "from irgraph import Agent, Gate\n"
        "p = Agent('w').instruct('{t}').writes('d') >> Gate('approve').writes('ok')\n"
    )
    try:
        code, text = call(
            "run", "cli_quiet_gate.py:p", "--state", "t=x", "--no-progress", "--answer", "approve=y"
        )
    finally:
        sys.modules.pop("cli_quiet_gate", None)
    assert code == 0, text
    assert "  ? approve: (no message) -> y" in text.splitlines()


def test_run_cuts_a_value_of_many_line_breaks_after_ten_lines(here):
    """A value cut at 300 characters could still be 300 lines: one key filled the terminal."""
    (here / "cli_lines.py").write_text(
        "from irgraph import Transform\n"
        "p = Transform('many', lambda t: '\\n' * 250 + 'end').reads('t').writes('many')"
        " >> Transform('few', lambda many: 'a\\nb').reads('many').writes('few')\n"
    )
    try:
        code, text = call("run", "cli_lines.py:p", "--state", "t=x", "--no-progress")
    finally:
        sys.modules.pop("cli_lines", None)
    assert code == 0, text
    lines = text.partition("Final state:\n")[2].splitlines()
    start = lines.index("  many = ")
    # 251 lines (under 300 characters): the first ten shown, the key's line the first
    assert lines[start + 1 : start + 10] == ["    "] * 9
    assert lines[start + 10] == "    ... (241 more lines)"
    assert lines[start + 11 :] == ["  few = a", "    b"]


@pytest.mark.parametrize(
    ("argv", "meant"),
    [
        (["run", "--bakend", "prefect"], "did you mean --backend (for --bakend)?"),
        (["batch", "p.py", "in.jsonl", "-o", "o.jsonl", "--wrok-pool", "gpu"], "--work-pool"),
        (["show", "x:p", "--formt", "svg"], "did you mean --format (for --formt)?"),
        # another command's option is not offered: check takes no --backend
        (["check", "x:p", "--bakend", "prefect"], None),
        # the dashes every option has are no likeness: --input was offered for --timeout
        (["run", "x:p", "--timeout", "5"], None),
        (["run", "x:p", "--provder", "fake"], "did you mean --provider (for --provder)?"),
    ],
)
def test_a_misspelt_option_is_told_the_option_meant(capsys, argv, meant):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    said = capsys.readouterr().err.strip().splitlines()[-1]
    assert said.startswith("irgraph: error: unrecognized arguments: "), said
    if meant is None:
        assert "did you mean" not in said, said
    else:
        assert meant in said, said
