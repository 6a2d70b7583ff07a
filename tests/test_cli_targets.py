"""irgraph's targets: a file path works like a module, and a module or file that cannot be
loaded (it exits, raises, is missing, is a directory, is not UTF-8) is one line, exit 2."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from irgraph import Agent
from irgraph.cli import CliError, load_saved, load_target, main
from irgraph.ir import to_json

PIPELINE = (
    "from irgraph import Agent, Pipeline\n"
    "w = Agent('w').instruct('Write {topic}.').writes('text')\n"
    "p = Pipeline('p').step(w)\n"
)


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A working directory whose modules are forgotten again after the test (loading a file
    puts its folder on sys.path and the module in sys.modules)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        if str(tmp_path) in str(getattr(sys.modules[name], "__file__", None) or ""):
            del sys.modules[name]


def call(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def error_of(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """The one error line of a command that must exit 2."""
    assert call(*argv)[0] == 2
    err = capsys.readouterr().err
    assert err.startswith("irgraph: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


# a file path as the target ------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "name"),
    [("{name}.py:p", "cli_rel"), ("./{name}.py:p", "cli_dot"), ("{folder}/{name}.py:p", "cli_abs")],
)
def test_a_python_file_path_names_a_target_like_a_module(folder, form, name):
    (folder / f"{name}.py").write_text(PIPELINE)
    code, text = call("run", form.format(name=name, folder=folder), "--state", "topic=owls")
    assert code == 0, text
    assert "text = <w: Write owls.>" in text


def test_a_file_in_another_folder_imports_its_siblings(folder):
    (folder / "pipes").mkdir()
    (folder / "pipes" / "cli_sibling_prompts.py").write_text("TEXT = 'Write {topic}.'\n")
    (folder / "pipes" / "cli_sibling_main.py").write_text(
        "from irgraph import Agent\n"
        "from cli_sibling_prompts import TEXT\n"
        "p = Agent('w').instruct(TEXT).writes('text')\n"
    )
    code, text = call("run", "pipes/cli_sibling_main.py:p", "--state", "topic=owls")
    assert code == 0, text
    assert "text = <w: Write owls.>" in text


def test_a_file_target_runs_in_a_fresh_process(tmp_path):
    (tmp_path / "cli_fresh_pipes.py").write_text(PIPELINE)
    proc = subprocess.run(
        [sys.executable, "-m", "irgraph.cli", "check", "cli_fresh_pipes.py:p", "--input", "topic"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "OK: no problems found." in proc.stdout


@pytest.mark.parametrize(
    ("spec", "pieces"),
    [
        (
            "missing/cli_nothing.py:p",
            ["There is no file 'missing/cli_nothing.py'", "check the path"],
        ),
        ("adir.py:p", ["'adir.py'", "is a directory, not a Python file", "name a .py file"]),
        ("sub/pipes:p", ["not a Python file", "sub/pipes.py:ATTR", "sub.pipes:ATTR"]),
        ("cli_ok_file.py:nope", ["'cli_ok_file.py' has no attribute 'nope'"]),
    ],
)
def test_a_bad_file_target_is_one_line(folder, capsys, spec, pieces):
    (folder / "adir.py").mkdir()
    (folder / "sub").mkdir()
    (folder / "cli_ok_file.py").write_text(PIPELINE)
    err = error_of(capsys, "check", spec)
    for piece in pieces:
        assert piece in err


@pytest.mark.parametrize(
    ("spec", "pieces"),
    [
        ("notes.txt:p", ["'notes.txt' (named in 'notes.txt:p') is a file, but", "file.py:p"]),
        ("gone.txt:p", ["There is no file 'gone.txt'", "a .txt file holds no pipeline"]),
        ("cli_ok_file.pyc:p", ["There is no file 'cli_ok_file.pyc'", ".pyc file"]),
        ("sub/notes.txt:p", ["'sub/notes.txt' (named in", "is a file, but not a Python file"]),
        ("sub/:p", ["'sub/' (named in 'sub/:p') is a directory", "e.g. sub/inner.py:p"]),
        ("sub:p", ["'sub' (named in 'sub:p') is a directory", "e.g. sub/inner.py:p"]),
        ("LOUD.PY:p", ["ends in '.PY', not '.py'", "rename it to LOUD.py"]),
        ("saved.json:p", ["is a saved pipeline's file", "without ':p', as saved.json"]),
        ("cli_ok_file.py:", ["names no pipeline after the colon", "cli_ok_file.py alone"]),
        (
            "cli_ok_file.py::",
            ["names no pipeline after the colon", "e.g. cli_ok_file.py:pipeline,"],
        ),
        ("::", ["names no file or module before the colon", "pipelines.py:pipeline"]),
        (".sub.inner:p", ["the relative module '.sub.inner'", "(mypackage.sub.inner:p)"]),
        (".sub.inner:p", ["or its file (sub/inner.py:p)."]),
        (".:p", ["'.' (named in '.:p') is a directory", "e.g. ./"]),
        ("cli_ok_file.py:p.", ["an empty name in its attribute 'p.'", "as cli_ok_file.py:p ("]),
        ("cli_ok_file.py:.p", ["an empty name in its attribute '.p'", "as cli_ok_file.py:p ("]),
        ("irgraph.demo:a..b", ["an empty name in its attribute 'a..b'", "as irgraph.demo:a.b ("]),
        ("gone/:p", ["There is no directory 'gone/' (named in", "e.g. gone/pipelines.py:p."]),
        (":p", ["names no file or module before the colon", "pipelines.py:p"]),
        ("cli_ok_file.py:p:q", ["has more than one colon", "cli_ok_file.py:pipeline"]),
    ],
)
def test_a_target_that_is_no_python_file_says_so_in_the_commands_words(
    folder, capsys, spec, pieces
):
    (folder / "sub").mkdir()
    (folder / "sub" / "inner.py").write_text(PIPELINE)
    (folder / "sub" / "notes.txt").write_text("p\n")
    (folder / "notes.txt").write_text("p\n")
    (folder / "LOUD.PY").write_text(PIPELINE)
    (folder / "saved.json").write_text("{}")
    (folder / "cli_ok_file.py").write_text(PIPELINE)
    err = error_of(capsys, "check", spec)
    for piece in pieces:
        assert piece in err
    assert "No module named" not in err and "Cannot import module" not in err


def test_a_file_named_like_an_imported_module_says_to_rename_it(folder, capsys):
    (folder / "json.py").write_text(PIPELINE)
    err = error_of(capsys, "check", "json.py:p")
    assert "has the name of the module 'json'" in err
    assert "rename the file, e.g. to json_pipeline.py" in err


def test_a_file_that_is_not_utf8_is_one_line(folder, capsys):
    (folder / "cli_latin1.py").write_bytes(b"x = '\xff'\n")
    err = error_of(capsys, "check", "cli_latin1.py:x")
    assert "raised SyntaxError" in err and "python cli_latin1.py shows the traceback" in err


# a module that exits or raises while importing ----------------------------------------


@pytest.mark.parametrize(
    ("body", "piece"),
    [
        ("import sys\nsys.exit(3)\n", "called sys.exit(3)"),
        ("import sys\nsys.exit('bye')\n", "called sys.exit('bye')"),
        ("raise SystemExit\n", "called sys.exit()"),
        ("class Stop(BaseException):\n    pass\nraise Stop('no')\n", "raised Stop: no"),
        ("import cli_no_such_dependency\n", "raised ModuleNotFoundError"),
    ],
    ids=["exit-code", "exit-text", "system-exit", "base-exception", "missing-dependency"],
)
@pytest.mark.parametrize("as_file", [False, True], ids=["module", "file"])
def test_a_target_that_exits_or_raises_while_importing_is_one_line(
    folder, capsys, request, body, piece, as_file
):
    name = "cli_exiting_" + request.node.callspec.id.replace("-", "_")
    (folder / f"{name}.py").write_text(body)
    err = error_of(capsys, "check", f"{name}.py:p" if as_file else f"{name}:p")
    assert piece in err
    if "exit" in piece:
        assert "if __name__ == '__main__':" in err
    else:
        assert "shows the traceback" in err
    assert name not in sys.modules


def test_a_target_module_that_exits_gives_no_traceback_in_a_fresh_process(tmp_path):
    (tmp_path / "cli_exits_fresh.py").write_text("import sys\nsys.exit(5)\n")
    proc = subprocess.run(
        [sys.executable, "-m", "irgraph.cli", "run", "cli_exits_fresh:p"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("irgraph: error: Importing module 'cli_exits_fresh'")
    assert "called sys.exit(5)" in proc.stderr and "Traceback" not in proc.stderr


def test_load_target_raises_cli_error_for_sys_exit(folder):
    (folder / "cli_exit_direct.py").write_text("raise SystemExit(7)\n")
    with pytest.raises(CliError, match=r"called sys\.exit\(7\)"):
        load_target("cli_exit_direct:p")


def test_an_attribute_that_raises_when_read_is_one_line(folder, capsys):
    (folder / "cli_lazy.py").write_text("def __getattr__(name):\n    raise RuntimeError('lazy')\n")
    err = error_of(capsys, "check", "cli_lazy:p")
    assert "Reading 'p' of 'cli_lazy'" in err and "raised RuntimeError: lazy" in err


@pytest.mark.parametrize(
    ("spec", "close"),
    [
        ("irgraph.Demo:research_pipeline", "Did you mean irgraph.demo:research_pipeline?"),
        ("cli_ok_fil:p", "Did you mean cli_ok_file:p?"),  # a module in the current directory
        ("cli_zzqqxx_nothing_like_it:p", None),
        ("cli_ok_fil:q", None),  # the close module has no 'q': no module to offer
    ],
)
def test_a_module_that_is_not_there_is_told_with_the_closest_module(folder, capsys, spec, close):
    (folder / "cli_ok_file.py").write_text(PIPELINE)
    err = error_of(capsys, "check", spec)
    assert err.startswith(f"irgraph: error: Cannot import module {spec.partition(':')[0]!r}")
    if close is None:
        assert "Did you mean" not in err
    else:
        assert close in err


def test_only_a_close_module_that_defines_the_pipeline_asked_for_is_offered(folder, capsys):
    """The closest module on sys.path to a misspelt one was offered whatever it held: ``irgraph
    diff x:p nope:x`` said "Did you mean openai:x?"."""
    (folder / "cli_near_one.py").write_text(PIPELINE)  # the closest, but without 'report'
    (folder / "cli_near_ones.py").write_text(PIPELINE + "report = p\n")
    (folder / "cli_x.py").write_text(PIPELINE)
    argv = ["diff", "cli_x:p", "cli_near_on:report"]
    assert "Did you mean cli_near_ones:report?" in error_of(capsys, *argv)
    (folder / "cli_near_ones.py").write_text(PIPELINE)
    assert "Did you mean" not in error_of(capsys, *argv)
    for source in ("if True:\n    report = 1\n", "def report():\n    pass\n",
                   "from irgraph.demo import research_pipeline as report\n"):  # fmt: skip
        (folder / "cli_near_ones.py").write_text(source)
        assert "Did you mean cli_near_ones:report?" in error_of(capsys, *argv), source


@pytest.mark.parametrize(
    ("argv", "close"),
    [
        (["check", "cli_pipe.py:p"], "Did you mean 'cli_pipes.py:p'?"),
        (["check", "cli_pipe.py"], "Did you mean 'cli_pipes.py'?"),
        (["check", "cli_pipes.PY:p"], "Did you mean 'cli_pipes.py:p'?"),
        (["check", "sub/cli_pipe.py:p"], "Did you mean 'sub/cli_pipes.py:p'?"),
        (["run", "saved_pipline.json"], "Did you mean 'saved_pipeline.json'?"),
        (["run", "saved_pipeline.jsn"], "Did you mean 'saved_pipeline.json'?"),
        (["batch", "cli_pipes.py:p", "topcs.jsonl", "-o", "out.jsonl"], "'topics.jsonl'?"),
        (["check", "cli_zzqqxx.py:p"], None),  # nothing close: nothing offered
        (["run", "other.json"], None),  # a .json file of another name is not close
        (["check", "nowhere/cli_pipes.py:p"], None),  # no such folder to look in
    ],
)
def test_a_misspelt_file_name_is_told_with_the_closest_file_beside_it(folder, capsys, argv, close):
    """A misspelt module name was told the closest module (Did you mean cli_pipes:p?), but a
    misspelt file name, of a target, a saved pipeline or the inputs, only that it was not
    there: the file beside it with the name meant was not offered."""
    (folder / "sub").mkdir()
    for place in (folder, folder / "sub"):
        (place / "cli_pipes.py").write_text(PIPELINE)
        (place / "cli_mixer.py").write_text(PIPELINE)
    (folder / "saved_pipeline.json").write_text(to_json(Agent("w").instruct("{topic}").to_ir()))
    (folder / "topics.jsonl").write_text('{"topic": "owls"}\n')
    (folder / "types.jsonl").write_text('{"topic": "owls"}\n')  # shares letters, not close
    err = error_of(capsys, *argv)
    if close is None:
        assert "Did you mean" not in err
    else:
        assert err.rstrip().endswith(close), err
        assert err.count("Did you mean") == 1 and " or " not in err.partition("Did you")[2]


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["diff", "v1.py", "v3.py"], "There is no file 'v3.py'; check the path"),
        (["check", "v3.py:p"], "There is no file 'v3.py' (named in 'v3.py:p'); check the path"),
        (["show", "gone.py"], "There is no file 'gone.py'; check the path"),
    ],
)
def test_a_missing_file_named_alone_is_named_once(folder, capsys, argv, said):
    """irgraph diff v1.py v3.py said "There is no file 'v3.py' (named in 'v3.py')": the target
    is the path, so saying where it was named said it twice."""
    (folder / "v1.py").write_text(PIPELINE)
    err = error_of(capsys, *argv)
    assert said in err, err


@pytest.mark.parametrize("spec", ["cli_ns_folder", "cli_ns_folder/"])
def test_a_folder_named_as_the_target_says_to_name_a_file_in_it(folder, capsys, spec):
    """irgraph check v1 (a folder of pipeline.py, no __init__.py) said "It names a module: give
    v1:ATTR", and v1:ATTR was then refused as a directory: name its files instead."""
    (folder / "cli_ns_folder").mkdir()
    (folder / "cli_ns_folder" / "pipeline.py").write_text(PIPELINE)
    try:
        err = error_of(capsys, "check", spec)
    finally:
        sys.modules.pop("cli_ns_folder", None)  # a namespace package has no __file__
    assert f"'{spec}' is a folder: name a .py file in it (its files: " in err, err
    assert "cli_ns_folder/pipeline.py)." in err and "ATTR" not in err


def test_the_closest_module_is_looked_for_in_the_directory_current_now(folder, capsys, monkeypatch):
    """The modules offered were those of the directory current when a module first went
    missing in the process (pkgutil keeps a finder for sys.path's "" and its directory), so
    after a chdir, or after another test, the module next to the user was not offered."""
    (folder / "before").mkdir()
    (folder / "after").mkdir()
    (folder / "after" / "cli_moved_file.py").write_text(PIPELINE)
    monkeypatch.chdir(folder / "before")
    assert "Did you mean" not in error_of(capsys, "check", "cli_moved_fil:p")
    monkeypatch.chdir(folder / "after")
    assert "Did you mean cli_moved_file:p?" in error_of(capsys, "check", "cli_moved_fil:p")


def test_a_module_written_after_the_last_import_loads_even_in_the_same_mtime_tick(folder):
    """Python's finders keep each folder's listing until its mtime changes, and two files
    written within one tick of the file system's clock leave it unchanged: the second was
    'No module named ...' (did you mean itself?). Setting the mtime back makes that tick."""
    (folder / "cli_tick_first.py").write_text(PIPELINE)
    assert call("check", "cli_tick_first:p", "--input", "topic")[0] == 0
    then = os.stat(folder)
    (folder / "cli_tick_second.py").write_text(PIPELINE)
    os.utime(folder, ns=(then.st_atime_ns, then.st_mtime_ns))
    code, text = call("check", "cli_tick_second:p", "--input", "topic")
    assert code == 0 and "OK: no problems found." in text


def test_an_error_that_ends_a_sentence_is_told_with_one_full_stop(folder, capsys):
    # a pipeline built wrongly at import raises a PipelineError, whose message ends in "."
    (folder / "cli_stops.py").write_text("raise ValueError('the pipeline is wrong.')\n")
    err = error_of(capsys, "check", "cli_stops.py:p")
    assert "raised ValueError: the pipeline is wrong. Fix it so that it imports" in err
    (folder / "cli_lazy_stop.py").write_text(
        "def __getattr__(name):\n    raise RuntimeError('not yet.')\n"
    )
    err = error_of(capsys, "check", "cli_lazy_stop:p")
    assert "raised RuntimeError: not yet. Fix that code" in err and ".." not in err


# saved .json files --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "pieces"),
    [
        (b"[" * 100_000, ["nests its JSON too deeply", "save it again"]),
        (b'\xff{"format": "irgraph-ir"}', ["is not UTF-8 text", "save it again as UTF-8"]),
        (b'{"nodes": [], "graph": {}}', ["looks like a saved graph", "node_link_data"]),
        (b'{"nodes": [{"id": 1}], "graph": {}, "links": [{}]}', ["networkx cannot read it"]),
    ],
)
def test_a_damaged_pipeline_file_is_one_line(folder, capsys, content, pieces):
    (folder / "p.json").write_bytes(content)
    err = error_of(capsys, "run", "p.json")
    for piece in pieces:
        assert piece in err


def test_a_directory_or_missing_pipeline_file_says_what_to_do(folder, capsys):
    (folder / "d.json").mkdir()
    assert "Is a directory; give the path of a .json file" in error_of(capsys, "run", "d.json")
    err = error_of(capsys, "run", "gone.json")
    assert "No such file or directory; check the path (a relative one starts at" in err


def test_a_pipeline_file_with_a_byte_order_mark_reads(folder):
    from irgraph.demo import research_pipeline
    from irgraph.ir import to_json

    (folder / "bom.json").write_text("\ufeff" + to_json(research_pipeline.to_ir()))
    assert load_saved("bom.json") == research_pipeline.to_ir()


# a file named alone: the one pipeline it holds --------------------------------------------

PARTS = (
    "from irgraph import Agent, Route, compile\n"
    "score = Agent('score').instruct('Rate {topic}.').output({'enum': ['hi', 'lo']})"
    ".writes('rate')\n"
    "triage = Route('triage').on('rate').when('hi', Agent('page').instruct('Page.')"
    ".writes('out')).otherwise(Agent('queue').instruct('Queue.').writes('out'))\n"
    "pipeline = score >> triage\n"
    "same = pipeline\n"
    "helper = len\n"
)


def test_a_file_named_alone_runs_the_pipeline_no_other_in_it_contains(folder):
    # its parts (score, triage) are pipelines too, and one pipeline has two names
    (folder / "cli_parts.py").write_text(PARTS)
    code, text = call("check", "cli_parts.py", "--input", "topic")
    assert code == 0, text
    assert "[route] triage" in text and "[agent] score" in text
    code, text = call("run", "cli_parts.py", "--state", "topic=owls")
    assert code == 0, text
    assert "rate = " in text and "out = " in text


def test_a_compiled_pipeline_alone_in_a_file_is_its_ir(folder):
    (folder / "cli_compiled.py").write_text(PARTS + "runnable = compile(pipeline).runnable\n")
    code, text = call("check", "cli_compiled.py", "--input", "topic")
    assert code == 0, text
    assert "[route] triage" in text


@pytest.mark.parametrize("target", ["cli_inputs.py:result", "cli_inputs.py:ran", "cli_inputs.py"])
def test_a_compiled_pipeline_declares_the_inputs_it_was_compiled_with(folder, capsys, target):
    (folder / "cli_inputs.py").write_text(
        PARTS + "result = compile(pipeline, inputs=['topic'])\nran = result.runnable\n"
    )
    code, text = call("check", target)  # no --input topic: compile() declared it
    assert code == 0, capsys.readouterr().err
    assert "Inputs: topic" in text and "OK: no problems found." in text
    code, text = call("run", target)  # declared is not given: the run still asks for it
    assert code == 2 and "--state topic=VALUE" in capsys.readouterr().err
    code, text = call("run", target, "--state", "topic=owls")
    assert code == 0 and "rate = " in text


def test_a_file_with_several_pipelines_or_none_says_which_to_name(folder, capsys):
    (folder / "cli_two.py").write_text(PARTS + "other = Agent('other').instruct('{topic}')\n")
    err = error_of(capsys, "check", "cli_two.py")
    assert err == (
        "irgraph: error: 'cli_two.py' holds 2 pipelines; name the one to use: "
        "cli_two.py:other, cli_two.py:pipeline.\n"
    )
    many = "".join(f"p{i} = Agent('a{i}').instruct('{{topic}}')\n" for i in range(7))
    (folder / "cli_seven.py").write_text("from irgraph import Agent\n" + many)
    err = error_of(capsys, "check", "cli_seven.py")
    assert "holds 7 pipelines" in err and "cli_seven.py:p4 (and 2 more)." in err
    (folder / "cli_none.py").write_text("from irgraph import Agent\nx = 1\n")
    err = error_of(capsys, "check", "cli_none.py")
    assert "'cli_none.py' holds no pipeline at its top level" in err
    assert "name one as cli_none.py:ATTR" in err
    err = error_of(capsys, "check", "cli_missing.py")
    assert "There is no file 'cli_missing.py'" in err


def test_two_versions_of_one_file_and_its_siblings_diff(folder):
    """`irgraph diff v1/pipe.py v2/pipe.py` refused the second file: its module name was
    taken by the first. Each version's sibling modules are its own too."""
    for version, words in (("v1", "Write {topic}."), ("v2", "Write about {topic}.")):
        (folder / version).mkdir()
        (folder / version / "cli_words.py").write_text(f"WORDS = {words!r}\n")
        (folder / version / "cli_pipe.py").write_text(
            "from cli_words import WORDS\n"
            "from irgraph import Agent\n"
            "pipeline = Agent('w').instruct(WORDS).writes('text')\n"
        )
    for old, new in (
        ("v1/cli_pipe.py", "v2/cli_pipe.py"),
        ("v1/cli_pipe.py:pipeline", "v2/cli_pipe.py"),
    ):
        code, text = call("diff", old, new)
        assert code == 1, text
        assert "~ node w: instruction" in text
    code, text = call("diff", "v1/cli_pipe.py", "v1/cli_pipe.py:pipeline")
    assert code == 0, text


def test_a_part_that_the_whole_flattened_is_still_a_part(folder, capsys):
    """`front = a >> b; pipeline = front >> c` flattens front into pipeline's steps, and the
    file was said to hold two pipelines; a parallel block's `|` flattens the same way."""
    (folder / "cli_flat.py").write_text(
        "from irgraph import Agent\n"
        "a = Agent('a').instruct('A {topic}').writes('x')\n"
        "b = Agent('b').instruct('B {x}').writes('y')\n"
        "front = a >> b\n"
        "pipeline = front >> Agent('c').instruct('C {y}').writes('z')\n"
    )
    code, text = call("check", "cli_flat.py", "--input", "topic")
    assert code == 0, text
    assert "[agent] c" in text
    (folder / "cli_wide.py").write_text(
        "from irgraph import Agent\n"
        "a = Agent('a').instruct('A {topic}').writes('x')\n"
        "b = Agent('b').instruct('B {topic}').writes('y')\n"
        "both = a | b\n"
        "wide = both | Agent('d').instruct('D {topic}').writes('w')\n"
        "ends = Agent('b').instruct('B {topic}').writes('y') >> a\n"
    )
    err = error_of(capsys, "check", "cli_wide.py")
    assert "name the one to use: cli_wide.py:ends, cli_wide.py:wide." in err


def test_a_file_named_like_a_standard_module_does_not_stand_in_for_it(tmp_path):
    """With queue.py in the current directory every command failed with a traceback from
    networkx's `from queue import PriorityQueue`: the directory came before the standard
    library on sys.path. The `irgraph` command of this environment, in a fresh process."""
    command = Path(sys.executable).parent / "irgraph"
    (tmp_path / "queue.py").write_text(PIPELINE)
    (tmp_path / "cli_std_pipes.py").write_text(PIPELINE)

    def check(target: str) -> subprocess.CompletedProcess[str]:
        argv = [str(command), "check", target, "--input", "topic"]
        return subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=tmp_path)

    for target in ("cli_std_pipes.py", "cli_std_pipes:p", "irgraph.demo:research_pipeline"):
        proc = check(target)
        assert proc.returncode == 0, proc.stderr
        assert "OK: no problems found." in proc.stdout
    proc = check("queue.py")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "has the name of the standard-library module 'queue'" in proc.stderr


def test_an_edited_saved_graph_is_refused_for_its_edit_not_for_a_key_the_state_gives(
    folder, capsys
):
    import networkx as nx

    from irgraph import Agent, to_graph

    G = to_graph(Agent("a").instruct("Hi {t}").writes("x") >> Agent("b").instruct("{x}"))
    data = nx.node_link_data(G)
    data["nodes"].append({"id": "zz", "kind": "agent", "label": "zz", "parent": None})
    (folder / "extra.json").write_text(json.dumps(data, default=str))
    assert call("check", "extra.json", "--state", "t=1")[0] == 1
    err = capsys.readouterr().err
    assert "extra.json: Node 'zz' is not part of the pipeline" in err
    assert "reads {t}" not in err


def _edits(base):
    import copy

    edges = "edges" if "edges" in base else "links"
    changes = {
        "a node removed": lambda d: d.__setitem__("nodes", d["nodes"][1:]),
        "a parent that is no node": lambda d: d["nodes"][1].__setitem__("parent", "zz"),
        "reads null": lambda d: d["nodes"][1].__setitem__("reads", None),
        "inputs a number": lambda d: d["graph"].__setitem__("inputs", 7),
        "graph null": lambda d: d.__setitem__("graph", None),
        "no directed": lambda d: d.pop("directed"),
        "no multigraph": lambda d: d.pop("multigraph"),
        "keys null": lambda d: d[edges][0].__setitem__("keys", None),
        "an unknown kind": lambda d: d["nodes"][0].__setitem__("kind", "blah"),
        "writes a string": lambda d: d["nodes"][0].__setitem__("writes", "x"),
        "no control": lambda d: d[edges][0].pop("control"),
        "a tree that is a number": lambda d: d["graph"].__setitem__("tree", 5),
    }
    for name, change in changes.items():
        data = copy.deepcopy(base)
        change(data)
        yield name, data


def test_a_hand_edited_node_link_file_is_refused_in_one_line_whatever_the_edit(folder, capsys):
    """A fuzz of edits to a saved graph gave tracebacks on the command line, where validate
    and from_graph refused the same graphs cleanly."""
    import networkx as nx

    from irgraph import to_graph
    from irgraph.demo import research_pipeline

    for name, data in _edits(nx.node_link_data(to_graph(research_pipeline))):
        (folder / "edited.json").write_text(json.dumps(data, default=str))
        code, _ = call("check", "edited.json", "--input", "topic")
        err = capsys.readouterr().err
        assert code in (1, 2), name
        assert err.startswith("irgraph: ") and "Traceback" not in err, (name, err)
        assert "edited.json" in err, (name, err)


def test_diff_shows_old_and_new_values_for_a_name_that_does_not_print(folder):
    (folder / "cli_tabbed.py").write_text(
        "from irgraph import Agent\n"
        "c = Agent('tab\\tx').instruct('Do {topic}.').writes('x')\n"
        "d = Agent('tab\\tx').instruct('Do {topic} now.').writes('x')\n"
    )
    code, text = call("diff", "cli_tabbed.py:c", "cli_tabbed.py:d")
    assert code == 1
    assert text.splitlines() == [
        '~ node \'tab\\tx\': instruction ("Do {topic}." -> "Do {topic} now.")'
    ]


def test_a_module_alone_is_answered_with_its_pipelines(folder, capsys):
    err = error_of(capsys, "check", "irgraph.demo")
    assert "It names a module: give irgraph.demo:ATTR. Pipelines in irgraph.demo: " in err
    assert "irgraph.demo:research_pipeline" in err
    err = error_of(capsys, "check", "no_such_module_here")
    assert "is not of the form module:attr" in err


HOLDERS = (
    "from irgraph import Agent, compile\n"
    "from irgraph.testing import FakeProvider\n"
    "listed = [Agent('a').instruct('Go.')]\n"
    "class Holder:\n"
    "    pipeline = Agent('h').instruct('Go.')\n"
    "    count = 3\n"
    "holder = Holder()\n"
    "compiled = compile(Agent('c').instruct('Go.'))\n"
    "r = compiled.runnable.run(provider=FakeProvider())\n"
)


@pytest.mark.parametrize(
    ("attr", "what"),
    [
        ("listed[0]", "an index after the colon ('listed[0]')"),
        ("holder.items[0]", "an index after the colon ('holder.items[0]')"),
        ("make()", "a call after the colon ('make()')"),
    ],
)
def test_an_expression_after_the_colon_is_told_only_names_are_taken(folder, capsys, attr, what):
    (folder / "holders.py").write_text(HOLDERS)
    err = error_of(capsys, "check", f"holders.py:{attr}")
    assert f"'holders.py:{attr}' has {what}" in err and "has no attribute" not in err
    assert "a target names a pipeline by its name or a dotted attribute only (file.py:name" in err
    assert f"assign it to a module-level name (pipeline = {attr}) in holders.py" in err
    assert err.endswith("and name that: holders.py:pipeline.\n")


def test_a_name_that_is_no_python_name_is_told_so(folder, capsys):
    (folder / "holders.py").write_text(HOLDERS)
    err = error_of(capsys, "check", "holders.py:my-pipeline")
    assert "'holders.py:my-pipeline' has 'my-pipeline' after the colon, which is not a " in err
    assert "Python name" in err and "has no attribute" not in err


def test_a_module_target_with_an_index_is_told_in_the_modules_words(folder, capsys):
    err = error_of(capsys, "check", "irgraph.demo:pipelines[0]")
    assert "only (module:name or module:name.attr)" in err
    assert "in irgraph.demo, or in a module of yours that imports it," in err


@pytest.mark.parametrize(
    ("attr", "found", "near"),
    [
        (
            "holder.count",
            "an int (3)",
            "holders.py:holder holds pipelines: holders.py:holder.pipeline.",
        ),
        (
            "Holder.count",
            "an int (3)",
            "holders.py:Holder holds pipelines: holders.py:Holder.pipeline.",
        ),
        ("compiled.warnings", "a list ([])", "holders.py:compiled is a pipeline: name it alone."),
        ("r.state", "a dict ({})", "Pipelines in holders.py: holders.py:compiled."),
        ("r.graph.graph", "a dict (", "Pipelines in holders.py: holders.py:compiled."),
    ],
)
def test_an_attribute_path_reaching_no_pipeline_names_what_it_reached(
    folder, capsys, attr, found, near
):
    (folder / "holders.py").write_text(HOLDERS)
    err = error_of(capsys, "check", f"holders.py:{attr}")
    assert f"'holders.py:{attr}' is {found}" in err
    assert f"a target's attribute path ({attr}) must reach a pipeline, that is a builder " in err
    assert "an IR node, or what irgraph.compile returns." in err
    assert near in err
    assert "make one in" not in err.lower()  # the module may hold pipelines: no new one


def test_a_method_of_a_pipeline_is_not_advised_to_be_called_in_a_variable(folder, capsys):
    (folder / "holders.py").write_text(HOLDERS)
    err = error_of(capsys, "check", "holders.py:Holder.pipeline.to_ir")
    assert "'holders.py:Holder.pipeline.to_ir' is the method to_ir, not a pipeline" in err
    assert "holders.py:Holder.pipeline is a pipeline: name it alone." in err
    assert "module-level variable" not in err


def test_a_damaged_ir_json_file_is_named_in_front_of_each_of_its_problems(folder, capsys):
    """A saved graph's problems were led by the file's name, but IR JSON's were not: with
    several files on the command line (``irgraph diff old.json new.json``) the reader could
    not tell which one was damaged."""
    from irgraph import Agent
    from irgraph.ir import to_json

    good = to_json((Agent("a").instruct("Hi {t}.").writes("x") >> Agent("b")).to_ir())
    (folder / "good.json").write_text(good)
    (folder / "bad.json").write_text(good.replace('"AgentNode"', '"AgentNod"', 1))
    assert call("diff", "good.json", "bad.json")[0] == 2
    err = capsys.readouterr().err
    assert "bad.json: Invalid IR JSON at root.children[0]: unknown node kind 'AgentNod'" in err
    assert call("check", "bad.json")[0] == 1
    assert "bad.json: Invalid IR JSON" in capsys.readouterr().err


def test_an_empty_pipeline_file_is_told_as_empty_with_how_to_save_one(folder, capsys):
    """An empty .json file (a save that failed after opening the file) was "not valid JSON
    (Expecting value: line 1 column 1 (char 0))"; a cut one says how to write it again."""
    (folder / "empty.json").write_text("\n")
    assert call("check", "empty.json")[0] == 2
    err = capsys.readouterr().err
    assert "The pipeline file 'empty.json' is empty" in err
    assert "irgraph.ir.to_json" in err
    (folder / "cut.json").write_text('{"format": "irgraph-ir", "ver')
    assert call("check", "cut.json")[0] == 2
    err = capsys.readouterr().err
    assert "The pipeline file 'cut.json' is not valid JSON" in err and "save it again" in err


def test_the_closest_module_is_found_in_a_folder_made_after_an_earlier_lookup(
    tmp_path, monkeypatch, capsys
):
    """A folder on sys.path looked in before it existed stays cached as empty; the closest
    module was then not offered ("Did you mean ...?" missing) when this test ran after
    tests/test_cli.py in one process."""
    later = tmp_path / "later"
    monkeypatch.setattr(sys, "path", [str(later), *sys.path])
    monkeypatch.chdir(tmp_path)
    assert call("check", "no_such_module_anywhere:p")[0] == 2  # looks in 'later', not there
    later.mkdir()
    (later / "cli_late_file.py").write_text(PIPELINE)
    capsys.readouterr()
    assert call("check", "cli_late_fil:p")[0] == 2
    assert "Did you mean cli_late_file:p?" in capsys.readouterr().err
