"""``--allow-module``: a pipeline read from a ``.json`` file runs functions only from the
modules the command line allows; the refusal names the option, ``check`` warns about it."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

from irgraph import Agent, Transform, to_graph
from irgraph.cli import main
from irgraph.ir import to_json

MODULE = "cli_allow_transforms"


@pytest.fixture
def saved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A module in the working directory whose transform leaves a canary file when called,
    and a pipeline using it saved as IR JSON (ir.json) and as a node-link graph (graph.json)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", ["", *sys.path])
    monkeypatch.delitem(sys.modules, MODULE, raising=False)
    (tmp_path / f"{MODULE}.py").write_text(
        "from pathlib import Path\n"
        "def split(topic):\n"
        "    Path('canary').write_text('called')\n"
        "    return topic.split()\n"
    )
    import importlib

    split = importlib.import_module(MODULE).split
    pipeline = Transform("split", split).reads("topic").writes("words") >> Agent("w").instruct(
        "Use {words}."
    )
    (tmp_path / "ir.json").write_text(to_json(pipeline.to_ir()))
    (tmp_path / "graph.json").write_text(json.dumps(nx.node_link_data(to_graph(pipeline))))
    del sys.modules[MODULE]
    return tmp_path


FILES = pytest.mark.parametrize("name", ["ir.json", "graph.json"])


def call(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


@FILES
def test_a_saved_pipeline_does_not_import_a_module_nobody_allowed(saved, capsys, name):
    assert call("run", name, "--state", "topic=a b")[0] == 1
    err = capsys.readouterr().err
    assert f"'split' calls '{MODULE}:split'" in err
    assert f"--allow-module {MODULE} on the command line" in err
    assert not (saved / "canary").exists()
    assert MODULE not in sys.modules


@FILES
def test_allow_module_lets_a_saved_pipeline_run_its_functions(saved, name):
    code, text = call("run", name, "--state", "topic=a b", "--allow-module", MODULE)
    assert code == 0, text
    assert 'words = ["a", "b"]' in text
    assert (saved / "canary").read_text() == "called"


def test_allowing_another_module_does_not_allow_this_one(saved, capsys):
    argv = ["run", "ir.json", "--state", "topic=a b", "--allow-module", "json"]
    assert call(*argv, "--allow-module", "cli_allow")[0] == 1
    assert f"the module '{MODULE}' is not allowed" in capsys.readouterr().err
    assert not (saved / "canary").exists()


def test_check_warns_about_functions_a_run_would_refuse(saved):
    code, text = call("check", "ir.json", "--input", "topic")
    assert code == 0
    assert f"warning: 'split' calls '{MODULE}:split'" in text
    assert "OK: no problems found." in text
    code, text = call("check", "ir.json", "--input", "topic", "--allow-module", MODULE)
    assert code == 0 and "warning" not in text
    assert not (saved / "canary").exists()


def test_check_warns_of_an_allowed_module_the_pipeline_never_calls(saved):
    misspelt = MODULE.replace("allow", "alow")
    argv = ["check", "ir.json", "--input", "topic", "--allow-module", MODULE]
    code, text = call(*argv, "--allow-module", misspelt, "--allow-module", "json")
    assert code == 0, text
    warnings = [line for line in text.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 2, text
    assert warnings[0].startswith(f"warning: --allow-module {misspelt} allows a module the ")
    assert f"functions of '{MODULE}' only. Did you mean '{MODULE}'?" in warnings[0]
    assert warnings[1].startswith("warning: --allow-module json allows a module the pipeline ")
    assert "Did you mean" not in warnings[1]
    assert not (saved / "canary").exists()


def test_a_module_nobody_allowed_is_told_once_however_many_steps_call_it(tmp_path, monkeypatch):
    """Two steps of one name calling one function, and a third calling another of the same
    module, used to give three warnings (two of them the same text) for one module."""
    monkeypatch.chdir(tmp_path)

    def step(name: str, function: str) -> dict[str, object]:
        return {"kind": "TransformNode", "name": name, "fn": {"function": function}}

    children = [
        step("split", f"{MODULE}:split"),
        step("split", f"{MODULE}:split"),
        step("join", f"{MODULE}:join"),
        step("pick", "random:choice"),
    ]
    root = {"kind": "SequenceNode", "name": "p", "children": children}
    (tmp_path / "p.json").write_text(
        json.dumps({"format": "irgraph-ir", "version": 1, "root": root})
    )
    code, text = call("check", "p.json")
    assert code == 0, text
    warnings = [line for line in text.splitlines() if line.startswith("warning: ")]
    assert warnings == [
        f"warning: 'split' calls '{MODULE}:split' and 'join' calls '{MODULE}:join', but the "
        f"pipeline was read from data (a JSON file or a saved graph) and the module '{MODULE}' "
        "is not allowed, so irgraph will not import it: a pipeline file could otherwise run any "
        f"code on this machine. If you trust the file, allow the module: run(..., allow="
        f"['{MODULE}']), from_json(text, allow=['{MODULE}']) or from_graph(G, allow="
        f"['{MODULE}']) in Python, --allow-module {MODULE} on the command line.",
        "warning: 'pick' calls 'random:choice', but the pipeline was read from data (a JSON "
        "file or a saved graph) and the module 'random' is not allowed, so irgraph will not "
        "import it: a pipeline file could otherwise run any code on this machine. If you trust "
        "the file, allow the module: run(..., allow=['random']), from_json(text, allow="
        "['random']) or from_graph(G, allow=['random']) in Python, --allow-module random on "
        "the command line.",
    ]


def test_a_pipeline_built_in_python_needs_no_allow_module(capsys):
    code, text = call("run", "irgraph.demo:research_pipeline", "--state", "topic=owls")
    assert code == 0 and "warning" not in text


@pytest.mark.parametrize(
    ("given", "example"),
    [
        (f"{MODULE}:split", MODULE),
        ("pkg/transforms.py", "pkg.transforms"),
        ("1st", "mypkg.transforms"),
        ("", "mypkg.transforms"),
    ],
)
@pytest.mark.parametrize("command", ["run", "check"])
def test_allow_module_must_name_a_module(saved, capsys, given, example, command):
    assert call(command, "ir.json", "--state", "topic=x", "--allow-module", given)[0] == 2
    err = capsys.readouterr().err
    assert err == (
        f"irgraph: error: --allow-module {given!r} is not a module name; name the module that "
        f"defines the functions, e.g. --allow-module {example}.\n"
    )


def test_allow_module_through_the_console_script(saved):
    script = Path(sys.executable).with_name("irgraph")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "irgraph.cli"]
    argv = ["run", "graph.json", "--state", "topic=a b"]
    refused = subprocess.run([*command, *argv], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1 and "--allow-module" in refused.stderr
    assert not (saved / "canary").exists()
    allowed = subprocess.run(
        [*command, *argv, "--allow-module", MODULE], capture_output=True, text=True, timeout=60
    )
    assert allowed.returncode == 0, allowed.stderr
    assert (saved / "canary").exists()


def test_a_function_file_named_like_a_standard_module_is_told_apart_from_that_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    """A user's ``colorsys.py`` saved its transform as ``colorsys:split``; reading the file
    back imports the standard library's colorsys, and the error only said "module 'colorsys'
    has no attribute 'split'", though the user's file plainly defines it."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "colorsys.py").write_text("def split(topic):\n    return topic.split()\n")
    node = {"kind": "TransformNode", "name": "split", "fn": {"function": "colorsys:split"}}
    node |= {"reads": ["topic"], "writes": "words"}
    (tmp_path / "p.json").write_text(
        json.dumps({"format": "irgraph-ir", "version": 1, "root": node})
    )
    code, _ = call("run", "p.json", "--allow-module", "colorsys", "--state", "topic=a b")
    err = capsys.readouterr().err
    assert code == 1
    import colorsys

    assert f"imported from {colorsys.__file__}" in err
    assert "'colorsys' is a standard-library module" in err
    assert "rename your module" in err


def test_a_function_saved_from_a_script_run_as_main_says_why_it_cannot_be_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    """A function defined in ``python saver.py`` is saved as ``__main__:count``; run by
    ``irgraph``, '__main__' is irgraph's own program, and the error only said it "has no
    attribute 'count'"."""
    monkeypatch.chdir(tmp_path)
    node = {"kind": "TransformNode", "name": "count", "fn": {"function": "__main__:count"}}
    node |= {"reads": ["topic"], "writes": "n"}
    (tmp_path / "p.json").write_text(
        json.dumps({"format": "irgraph-ir", "version": 1, "root": node})
    )
    code, _ = call("run", "p.json", "--allow-module", "__main__", "--state", "topic=a")
    err = capsys.readouterr().err
    assert code == 1
    assert "'__main__' is the program running now, not the script that saved" in err
    assert "move the function into a module" in err


def test_a_standard_module_function_misspelt_is_told_with_the_one_meant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """'textwrap:wrapp' was told that 'textwrap' is a standard-library module imported before
    a file of yours of the same name (there was none) and to rename that module."""
    from irgraph import PipelineError, Transform, run

    monkeypatch.chdir(tmp_path)
    for written, meant in [("textwrap:wrapp", "textwrap:wrap"), ("os.path:joinn", "os.path:join")]:
        with pytest.raises(PipelineError) as refused:
            run(Transform("t", written).reads("x").writes("y"), state={"x": "a b"})
        told = str(refused.value)
        assert f"Did you mean '{meant}'?" in told
        assert "standard-library" not in told and "rename your module" not in told


def test_an_allowed_module_misspelt_is_told_once_by_the_refusal_of_the_one_meant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """--allow-module os.pth for a step calling os.path:basename was told twice: the refusal
    of 'os.path' (asking whether 'os.pth' is it misspelt), then that --allow-module os.pth
    allows a module the pipeline never calls (did you mean 'os.path'?)."""
    monkeypatch.chdir(tmp_path)
    node = {"kind": "TransformNode", "name": "base", "fn": {"function": "os.path:basename"}}
    node |= {"reads": ["p"], "writes": "b"}
    (tmp_path / "p.json").write_text(
        json.dumps({"format": "irgraph-ir", "version": 1, "root": node})
    )
    argv = ["check", "p.json", "--input", "p", "--allow-module", "os.pth"]
    code, text = call(*argv, "--allow-module", "json")
    assert code == 0, text
    warnings = [line for line in text.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 2, text
    assert warnings[0].startswith("warning: 'base' calls 'os.path:basename', but ")
    assert "(the module 'os.pth' is allowed: is it 'os.path' misspelt?)" in warnings[0]
    assert "--allow-module os.path on the command line." in warnings[0]
    # the module allowed for nothing and misspelt like none is still told
    assert warnings[1].startswith("warning: --allow-module json allows a module the pipeline ")
