"""Where irgraph writes: ``show -o`` refuses a path it cannot write before drawing, picks the
format from the file name, and a reader that closes the pipe early (``| head -1``) ends the
command quietly with 141, as ``cat`` would."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from irgraph.cli import check_output, main

DEMO = "irgraph.demo:research_pipeline"


def error_of(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv), out=io.StringIO()) == 2
    err = capsys.readouterr().err
    assert err.startswith("irgraph: error: ") and err.count("\n") == 1, err
    return err


@pytest.mark.parametrize(
    ("output", "pieces"),
    [
        ("nodir/x.svg", ["Cannot write 'nodir/x.svg'", "no directory 'nodir'", "mkdir -p nodir"]),
        ("a/b/c.mmd", ["no directory 'a/b'", "mkdir -p a/b"]),
        (".", ["-o '.' is a directory", "e.g. -o ./pipeline.mmd"]),
        ("", ["-o needs a file name", "e.g. -o pipeline.mmd"]),
        ("afile/x.mmd", ["'afile' is a file, not a directory", "write the picture elsewhere"]),
    ],
)
def test_an_output_path_that_cannot_be_written_is_one_line(
    tmp_path, monkeypatch, capsys, output, pieces
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("")
    err = error_of(capsys, "show", DEMO, "--output", output)
    for piece in pieces:
        assert piece in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_a_missing_output_directory_is_refused_before_graphviz_is_needed(
    tmp_path, monkeypatch, capsys
):
    from irgraph import display

    def no_drawing(*args, **kwargs):
        raise AssertionError("drew a picture it could not write")

    monkeypatch.setattr(display, "render", no_drawing)
    err = error_of(capsys, "show", DEMO, "--format", "png", "-o", str(tmp_path / "no" / "p.png"))
    assert "there is no directory" in err


def test_an_unwritable_output_file_is_one_line(tmp_path, monkeypatch, capsys):
    from irgraph import display

    def refuse(self, path):
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(display.Diagram, "save", refuse)
    err = error_of(capsys, "show", DEMO, "-o", str(tmp_path / "p.mmd"))
    assert "Permission denied; choose a file you may write" in err


def test_the_output_file_name_picks_the_format(tmp_path, capsys):
    pytest.importorskip("pydot")
    target = tmp_path / "p.dot"
    assert main(["show", DEMO, "-o", str(target)]) == 0
    assert target.read_text().startswith("digraph pipeline {")
    assert f"Wrote {target} (dot)." in capsys.readouterr().out
    assert main(["show", DEMO, "-o", str(tmp_path / "p.txt")]) == 0
    assert "\ngraph TD\n" in (tmp_path / "p.txt").read_text()  # after the title block


@pytest.mark.parametrize(
    ("output", "chosen", "fmt"),
    [
        (None, None, "mermaid"),
        (None, "dot", "dot"),
        ("p.svg", None, "svg"),
        ("p.GV", None, "dot"),
        ("p.mmd", None, "mermaid"),
        ("p.txt", None, "mermaid"),
        ("p.txt", "dot", "dot"),
        ("p.png", "png", "png"),
    ],
)
def test_check_output_picks_the_format(output, chosen, fmt):
    assert check_output(output, chosen) == fmt


@pytest.mark.parametrize(
    ("argv", "pieces"),
    [
        (["-o", ".svg"], ["-o '.svg' is only a suffix", "e.g. -o pipeline.svg", "(--format svg)"]),
        (["-o", "out/.MMD"], ["hidden file named '.MMD'", "e.g. -o out/pipeline.MMD"]),
        (["-o", ".png"], ["-o '.png' is only a suffix", "e.g. -o pipeline.png."]),
        (["-o", ".pdf"], ["-o '.pdf' is only a suffix", "e.g. -o pipeline.svg."]),
        (["--format", "dot", "-o", ".svg"], ["e.g. -o pipeline.dot", "(--format dot)"]),
    ],
)
def test_a_file_name_that_is_only_a_suffix_is_refused(tmp_path, monkeypatch, capsys, argv, pieces):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").mkdir()
    err = error_of(capsys, "show", DEMO, *argv)
    for piece in pieces:
        assert piece in err
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == []  # nothing written


def test_a_hidden_file_name_with_a_stem_takes_any_format(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["show", DEMO, "-o", ".pipeline"], out=io.StringIO()) == 0
    assert (tmp_path / ".pipeline").read_text().startswith("---")


def test_a_format_that_contradicts_the_file_name_is_one_line(tmp_path, capsys):
    err = error_of(capsys, "show", DEMO, "--format", "mermaid", "-o", str(tmp_path / "p.svg"))
    assert "--format mermaid does not match the file name" in err
    assert "which asks for svg" in err and "p.mmd" in err


def test_png_to_standard_output_is_refused_without_drawing(monkeypatch, capsys):
    from irgraph import display

    monkeypatch.setattr(display, "render", None)
    assert "write it to a file, e.g. -o pipeline.png" in error_of(
        capsys, "show", DEMO, "--format", "png"
    )


# a closed pipe ------------------------------------------------------------------------


class _ClosedPipe(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


@pytest.mark.parametrize(
    "argv",
    [
        ["show", DEMO],
        ["check", DEMO, "--input", "topic"],
        ["run", DEMO, "--state", "topic=owls"],
        ["diff", DEMO, "tests.support.pipelines:research"],
        ["demo", "--latency", "0"],
    ],
)
def test_a_closed_output_ends_the_command_quietly(argv, capsys):
    assert main(argv, out=_ClosedPipe()) == 141
    assert capsys.readouterr().err == ""


@pytest.fixture
def big_pipeline(tmp_path: Path) -> Path:
    """A module whose drawing is far bigger than a pipe's buffer."""
    (tmp_path / "cli_big_pipeline.py").write_text(
        "from irgraph import Agent, Pipeline\n"
        "p = Pipeline('big')\n"
        "for i in range(6000):\n"
        "    p = p.step(Agent(f'agent_number_{i}').instruct('Go {topic}.').writes(f'k{i}'))\n"
    )
    return tmp_path


def _irgraph() -> list[str]:
    script = Path(sys.executable).with_name("irgraph")
    return [str(script)] if script.exists() else [sys.executable, "-m", "irgraph.cli"]


@pytest.mark.parametrize("command", [_irgraph(), [sys.executable, "-m", "irgraph.cli"]])
def test_show_piped_into_head_exits_quietly(big_pipeline, command):
    proc = subprocess.Popen(
        [*command, "show", "cli_big_pipeline:p"],
        cwd=big_pipeline,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline() == b"---\n"  # the title block's first line
    proc.stdout.close()
    assert proc.wait(timeout=120) == 141
    assert proc.stderr.read() == b""


def test_show_piped_into_head_in_a_shell(big_pipeline):
    shown = subprocess.run(
        [
            "bash",
            "-o",
            "pipefail",
            "-c",
            f"{' '.join(_irgraph())} show cli_big_pipeline:p | head -1",
        ],
        cwd=big_pipeline,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (shown.returncode, shown.stdout, shown.stderr) == (141, "---\n", "")


def test_output_dash_is_standard_output(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    assert main(["show", DEMO, "-o", "-", "--format", "dot"], out=out) == 0
    assert out.getvalue().startswith("digraph pipeline {")  # printed, as irgraph batch reads -
    assert list(tmp_path.iterdir()) == []  # no file named '-'
    err = error_of(capsys, "show", DEMO, "-o", "-", "--format", "png")
    assert "PNG is binary, so it is not printed to standard output (no -o, or -o -)" in err
    assert "-o pipeline.png" in err  # a file name to give, not the -o just given


@pytest.mark.parametrize("direction", ["LR", "lr", "Lr"])
def test_show_draws_in_the_direction_asked_in_any_case(direction):
    out = io.StringIO()
    assert main(["show", DEMO, "--direction", direction], out=out) == 0
    assert "\ngraph LR\n" in out.getvalue()
    out = io.StringIO()
    assert main(["show", DEMO], out=out) == 0
    assert "\ngraph TD\n" in out.getvalue()  # the exporters' default


def test_show_draws_dot_in_the_direction_asked():
    pytest.importorskip("pydot")
    out = io.StringIO()
    assert main(["show", DEMO, "--format", "DOT", "--direction", "bt"], out=out) == 0
    assert "rankdir=BT;" in out.getvalue()


def test_the_exporters_take_every_direction_show_offers():
    from irgraph.backends.dot import RANKDIRS
    from irgraph.backends.mermaid import DIRECTIONS as MERMAID_DIRECTIONS
    from irgraph.cli_pictures import DIRECTIONS

    assert set(DIRECTIONS) == set(MERMAID_DIRECTIONS) == set(RANKDIRS)


def test_show_takes_a_format_in_any_case(tmp_path, capsys):
    out = io.StringIO()
    assert main(["show", DEMO, "--format", "MERMAID"], out=out) == 0
    assert out.getvalue().startswith("---")
    assert main(["show", DEMO, "--format", "Mermaid", "-o", str(tmp_path / "p.mmd")]) == 0
    assert "(mermaid)." in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "choices", "meant"),
    [
        (["show", DEMO, "--format", "mermad"], "('mermaid', 'dot', 'svg', 'png')", "mermaid"),
        (["show", DEMO, "--direction", "up"], "('TD', 'TB', 'BT', 'LR', 'RL')", None),
        (["diff", DEMO, DEMO, "--direction", "RL2"], "('TD', 'TB', 'BT', 'LR', 'RL')", "RL"),
        (["batch", DEMO, "in.jsonl", "--backend", "prefct"], "('asyncio', 'prefect')", "prefect"),
        (["shwo", DEMO], "('demo', 'run', 'check', 'batch', 'show', 'diff')", "show"),
    ],
)
def test_an_invalid_choice_is_one_line_listing_the_choices_and_the_one_meant(
    capsys, argv, choices, meant
):
    """irgraph show ... --format mermad printed argparse's usage, several lines, and no "did
    you mean", where every other mistake is one line saying what to do."""
    with pytest.raises(SystemExit) as stop:
        main(argv, out=io.StringIO())
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("irgraph: error: argument ") and err.count("\n") == 1, err
    assert "invalid choice:" in err and f"(choose from {choices.strip('()')})" in err, err
    assert (f"; did you mean {meant!r}?" in err) if meant else ("did you mean" not in err), err


def test_show_folds_the_parts_collapse_names_or_every_part_at_a_depth(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "looped.py").write_text(
        "from irgraph import Agent, Loop\n"
        "p = Agent('a').writes('x') >> Loop('polish').step(Agent('b').instruct('{x}'))"
        ".max_iterations(2) >> Loop('check').step(Agent('c').instruct('{x}')).max_iterations(2)\n"
    )
    for argv, folded in [(["--collapse", "0"], 2), (["--collapse", "polish"], 1)]:
        out = io.StringIO()
        assert main(["show", "looped:p", *argv], out=out) == 0
        assert out.getvalue().count('(loop, max 2) · 1 node"]]') == folded, out.getvalue()
    out = io.StringIO()
    assert main(["show", "looped:p", "--collapse", "polish", "--collapse", "check"], out=out) == 0
    assert "subgraph" not in out.getvalue()


def test_show_refuses_a_misspelt_part_or_a_depth_among_names_as_a_usage_error(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "looped.py").write_text(
        "from irgraph import Agent, Loop\n"
        "p = Agent('a').writes('x') >> Loop('polish').step(Agent('b').instruct('{x}'))"
        ".max_iterations(2)\n"
    )
    err = error_of(capsys, "show", "looped:p", "--collapse", "polsh")
    assert "--collapse names 'polsh', which is no loop" in err and "'polish'" in err, err
    err = error_of(capsys, "show", "looped:p", "--collapse", "0", "--collapse", "polish")
    assert "--collapse 0 is a depth" in err and "give one depth, or names" in err, err
    err = error_of(capsys, "show", "looped:p", "--collapse", "-1")
    assert "--collapse -1 is no depth: depths start at 0" in err and "which is no loop" not in err


def test_show_draws_the_control_flow_only_with_no_data_edges(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "two.py").write_text(
        "from irgraph import Agent\np = Agent('a').writes('x') >> Agent('b').instruct('{x}')\n"
    )
    for fmt in ("mermaid", "dot"):
        drawn = io.StringIO()
        assert main(["show", "two:p", "--format", fmt], out=drawn) == 0
        assert '"x"' in drawn.getvalue()  # the key the arrow carries
        out = io.StringIO()
        assert main(["show", "two:p", "--format", fmt, "--no-data-edges"], out=out) == 0
        assert '"x"' not in out.getvalue() and out.getvalue().count("->") == 1, out.getvalue()


def test_show_style_seed_draws_mermaid_the_seed_pages_way_and_refuses_other_formats(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "two.py").write_text(
        "from irgraph import Agent\np = Agent('a').writes('x') >> Agent('b').instruct('{x}')\n"
    )
    out = io.StringIO()
    assert main(["show", "two:p", "--style", "SEED"], out=out) == 0
    assert out.getvalue().startswith("graph TD\nn1[[") and "title:" not in out.getvalue()
    err = error_of(capsys, "show", "two:p", "--style", "seed", "--format", "dot")
    assert "--style seed draws mermaid, and this picture is dot" in err, err


@pytest.mark.parametrize(
    ("argv", "said", "shown"),
    [
        (["run", "--bakend", "x"], "did you mean --backend", "irgraph run --help"),
        (["show"], "the following arguments are required: target", "irgraph show --help"),
        ([], "give a command: demo, run, check", "irgraph --help"),
        (
            ["batch", "p:q", "in.jsonl", "-o", "o.jsonl", "--max-items"],
            "expected one argument",
            "irgraph batch --help",
        ),
    ],
)
def test_every_command_line_mistake_is_one_line_naming_the_help_to_read(capsys, argv, said, shown):
    """An unknown option or a missing argument printed argparse's usage line before the
    error, where docs/cli.md says a mistake is one line."""
    with pytest.raises(SystemExit) as stop:
        main(argv, out=io.StringIO())
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("irgraph: error: ") and err.count("\n") == 1, err
    assert said in err and err.rstrip().endswith(f"(see {shown})"), err


def test_check_counts_one_node_in_the_singular(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "one.py").write_text("from irgraph import Agent\nw = Agent('w').instruct('hi')\n")
    out = io.StringIO()
    assert main(["check", "one:w"], out=out) == 0
    assert out.getvalue().startswith("Pipeline 'w': 1 node\n"), out.getvalue()
