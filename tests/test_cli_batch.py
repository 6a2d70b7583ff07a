"""irgraph batch: a pipeline over a JSON Lines file, results as they complete, resumable."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from irgraph import run
from irgraph.cli import _parser, main
from irgraph.cli_batch import line_key
from irgraph.cli_progress import progress_line
from irgraph.testing import FakeProvider
from tests.support.modules import importable
from tests.support.terminal import read_terminal

ROOT = Path(__file__).resolve().parents[1]
MODULE = "irgraph_cli_batch_pipelines"
PIPELINES = """
import time
from irgraph import Agent, Transform

calls = []


def check(topic):
    calls.append(topic)
    if topic == "boom":
        raise ValueError("planted failure for boom")
    return topic.upper()


def slow(topic):
    time.sleep(0.05)
    return topic


chain = (
    Agent("writer").instruct("Write about {topic}.").writes("text")
    >> Transform("check", check).reads("topic").writes("loud")
)
slow_chain = Transform("wait", slow).reads("topic").writes("waited") >> Agent("w").instruct(
    "Write about {waited}."
).writes("text")
"""
# Runs the command in a fresh process with Python's own Ctrl-C handler, in case the test
# runner's process ignores SIGINT (a child would inherit that and never be interrupted).
CHILD = (
    "import signal, sys\n"
    "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
    "from irgraph.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


@pytest.fixture
def here(tmp_path, monkeypatch):
    """A temporary current directory holding the pipelines module, imported afresh."""
    importable(tmp_path, monkeypatch, MODULE, PIPELINES)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_inputs(path: Path, topics: list[str]) -> list[str]:
    lines = [json.dumps({"topic": topic}) for topic in topics]
    path.write_text("\n".join(lines) + "\n")
    return lines


def call(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(["batch", *argv], out=out), out.getvalue()


def results(path: Path) -> dict[int, dict[str, Any]]:
    """The output file by index, checking every line is a result line and no index repeats."""
    found: dict[int, dict[str, Any]] = {}
    for line in path.read_text().splitlines():
        record = json.loads(line)
        assert record["index"] not in found, f"index {record['index']} twice"
        assert set(record) - {"made_up"} in (
            {"index", "key", "state", "pipeline"},
            {"index", "key", "error", "pipeline"},
        )
        assert re.fullmatch("[0-9a-f]{16}", record["pipeline"])  # the digest of the pipeline
        # The fake provider's answers made the state: it says so (only a state does)
        assert record.get("made_up", True) is True
        assert "made_up" not in record or "state" in record
        found[record["index"]] = record
    return found


def calls() -> list[str]:
    return sys.modules[MODULE].calls


def test_every_item_is_one_line_with_its_index_key_and_state(here, capsys):
    lines = [json.dumps({"topic": topic}) for topic in ("owls", "bats", "cats")]
    (here / "in.jsonl").write_text(f"{lines[0]}\n\n{lines[1]}\n  \n{lines[2]}\n\n")
    code, text = call(f"{MODULE}:chain", "in.jsonl", "-o", "out.jsonl", "--max-concurrency", "2")
    assert code == 0, capsys.readouterr().err
    found = results(here / "out.jsonl")
    assert sorted(found) == [0, 1, 2]  # blank lines are not items
    pipeline = sys.modules[MODULE].chain
    for index, topic in enumerate(["owls", "bats", "cats"]):
        alone = run(pipeline, provider=FakeProvider(), state={"topic": topic})
        assert found[index]["state"] == alone.state
        assert found[index]["key"] == line_key(lines[index])
    assert re.search(r"Finished: 3 done, 0 failed, 0 resumed in .* results in out\.jsonl\.", text)
    assert capsys.readouterr().err == ""  # not a terminal, and quick: no progress lines


def test_a_failing_item_is_an_error_line_and_the_rest_go_on(here, capsys):
    write_inputs(here / "in.jsonl", ["owls", "boom", "bats"])
    code, text = call(f"{MODULE}:chain", "in.jsonl", "-o", "out.jsonl")
    assert code == 1
    found = results(here / "out.jsonl")
    assert found[1]["error"]["type"] == "RunError"
    assert "planted failure for boom" in found[1]["error"]["message"]
    assert found[0]["state"]["loud"] == "OWLS" and found[2]["state"]["loud"] == "BATS"
    assert "2 done, 1 failed" in text
    err = capsys.readouterr().err
    assert "item 1 (in.jsonl:2) failed: RunError:" in err and "planted failure" in err


def test_lines_that_are_not_json_objects_fail_alone_naming_file_and_line(here, capsys):
    good = json.dumps({"topic": "owls"})
    (here / "in.jsonl").write_text(f'{good}\n[1, 2]\nnot json\n"text"\n\n{good}\n')
    code, text = call(f"{MODULE}:chain", "in.jsonl", "-o", "out.jsonl")
    assert code == 1
    found = results(here / "out.jsonl")
    assert [sorted(found), found[0]["state"]["loud"], found[4]["state"]["loud"]] == [
        [0, 1, 2, 3, 4],
        "OWLS",
        "OWLS",
    ]
    messages = {i: found[i]["error"]["message"] for i in (1, 2, 3)}
    assert messages[1].startswith("in.jsonl:2 holds a JSON array, not an object;")
    assert messages[2].startswith("in.jsonl:3 is not valid JSON (")
    assert messages[3].startswith("in.jsonl:4 holds a JSON string, not an object;")
    assert all('such as {"topic": "owls"}' in m for m in messages.values())
    assert {found[i]["error"]["type"] for i in (1, 2, 3)} == {"InputError"}
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"irgraph: {messages[1]}"
    assert "2 done, 3 failed" in text


def test_inputs_from_standard_input(here, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"topic": "owls"}\n{"topic": "bats"}\n'))
    code, _ = call(f"{MODULE}:chain", "-", "-o", "out.jsonl")
    assert code == 0
    assert {i: r["state"]["loud"] for i, r in results(here / "out.jsonl").items()} == {
        0: "OWLS",
        1: "BATS",
    }


def test_a_cut_short_output_resumes_and_equals_an_uninterrupted_run(here):
    topics = [f"topic {i}" for i in range(8)]
    write_inputs(here / "in.jsonl", topics)
    assert call(f"{MODULE}:chain", "in.jsonl", "-o", "full.jsonl")[0] == 0
    full = results(here / "full.jsonl")
    # A crash mid-write: four whole lines and half of a fifth.
    written = (here / "full.jsonl").read_text().splitlines(keepends=True)
    (here / "out.jsonl").write_text("".join(written[:4]) + written[4][: len(written[4]) // 2])
    kept = {json.loads(line)["index"] for line in written[:4]}
    calls().clear()
    code, text = call(f"{MODULE}:chain", "in.jsonl", "-o", "out.jsonl")
    assert code == 0
    assert "4 done, 0 failed, 4 resumed" in text
    assert sorted(calls()) == sorted(topics[i] for i in range(8) if i not in kept)
    assert results(here / "out.jsonl") == full
    # Once more: everything is kept, nothing runs.
    calls().clear()
    code, text = call(f"{MODULE}:chain", "in.jsonl", "-o", "out.jsonl")
    assert (code, calls()) == (0, []) and "0 done, 0 failed, 8 resumed" in text
    assert results(here / "out.jsonl") == full


def test_failed_and_changed_items_run_again_and_a_shrunk_input_keeps_lines(here):
    write_inputs(here / "in.jsonl", ["a", "boom", "c", "d"])
    assert call(f"{MODULE}:chain", "in.jsonl", "-o", "out.jsonl")[0] == 1
    lines = write_inputs(here / "in.jsonl", ["a", "fixed", "c", "d2"])
    calls().clear()
    code, text = call(f"{MODULE}:chain", "in.jsonl", "-o", "out.jsonl")
    assert code == 0 and "2 done, 0 failed, 2 resumed" in text
    assert sorted(calls()) == ["d2", "fixed"]
    found = results(here / "out.jsonl")
    assert {i: r["state"]["loud"] for i, r in found.items()} == {
        0: "A",
        1: "FIXED",
        2: "C",
        3: "D2",
        4: "D",  # d's, paid for: kept past the end for when the line is changed back
    }
    assert [found[i]["key"] for i in range(4)] == [line_key(line) for line in lines]
    write_inputs(here / "in.jsonl", ["a", "fixed"])
    code, text = call(f"{MODULE}:chain", "in.jsonl", "-o", "out.jsonl")
    assert code == 0 and "0 done, 0 failed, 2 resumed" in text
    assert results(here / "out.jsonl") == found  # those past the end kept, for later


def test_fail_fast_stops_at_the_first_failure(here):
    write_inputs(here / "in.jsonl", ["a", "boom", "c", "d", "e"])
    code, text = call(f"{MODULE}:chain", "in.jsonl", "-o", "out.jsonl", "--fail-fast")
    assert code == 1
    assert text.startswith("Stopped at the first failure (--fail-fast): ")
    found = results(here / "out.jsonl")
    assert found[1]["error"]["type"] == "RunError"
    code, text = call(f"{MODULE}:chain", "in.jsonl", "-o", "out.jsonl", "--max-items", "1")
    assert code == 1 and "1 failed" in text
    assert sorted(results(here / "out.jsonl")) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--backend", "asyncio", "--work-pool", "gpu"], "add --backend prefect"),
        (["--backend", "prefect", "--work-pool", "gpu", "--provider", "fake"], "--provider cannot"),
        (["--batch-key", " "], "--batch-key is empty"),
        (["--provider", "nope"], "--provider 'nope' is not a provider spec; a spec is"),
        (["--allow-module", "a/b.py"], "is not a module name"),
    ],
)
def test_bad_options_exit_2_with_one_line(here, capsys, argv, message):
    write_inputs(here / "in.jsonl", ["a"])
    assert call(f"{MODULE}:chain", "in.jsonl", "-o", "out.jsonl", *argv)[0] == 2
    err = capsys.readouterr().err
    assert err.startswith("irgraph: error: ") and message in err and err.count("\n") == 1
    assert not (here / "out.jsonl").exists()


@pytest.mark.parametrize(
    ("inputs", "output", "message"),
    [
        ("missing.jsonl", "out.jsonl", "Cannot read the inputs file 'missing.jsonl'"),
        (".", "out.jsonl", "are a directory"),
        ("in.jsonl", ".", "-o '.' is a directory"),
        ("in.jsonl", "no/such/out.jsonl", "there is no directory 'no/such'"),
        ("in.jsonl", "in.jsonl", "is the inputs file"),
        ("in.jsonl", "", "-o needs a file name"),
        ("in.jsonl", "-", "-o needs a file name"),
    ],
)
def test_bad_files_exit_2(here, capsys, inputs, output, message):
    write_inputs(here / "in.jsonl", ["a"])
    assert call(f"{MODULE}:chain", inputs, "-o", output)[0] == 2
    assert message in capsys.readouterr().err


def test_a_missing_inputs_file_is_one_line_when_the_results_file_exists(here, capsys):
    # the results of an earlier batch are there; the inputs file named is not
    (here / "out.jsonl").write_text("")
    assert call(f"{MODULE}:chain", "missing.jsonl", "-o", "out.jsonl")[0] == 2
    err = capsys.readouterr().err
    assert "Cannot read the inputs file 'missing.jsonl'" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [
        ["--max-concurrency", "0"],
        ["--max-items", "-1"],
        ["--backend", "nope"],
        ["--no-such-flag"],
    ],
)
def test_argument_errors_exit_2(here, capsys, argv):
    with pytest.raises(SystemExit) as stop:
        call(f"{MODULE}:chain", "in.jsonl", "-o", "out.jsonl", *argv)
    assert stop.value.code == 2
    assert "error: " in capsys.readouterr().err


@pytest.mark.parametrize(
    ("value", "said"),
    [("0", "'0' is too few; give 1 or more"), ("two", "'two' is not a whole number; give 1")],
)
def test_a_count_option_says_what_is_wrong_with_its_value(here, capsys, value, said):
    with pytest.raises(SystemExit):
        call(f"{MODULE}:chain", "in.jsonl", "-o", "out.jsonl", "--max-concurrency", value)
    assert said in capsys.readouterr().err


def test_the_output_option_is_required(capsys):
    with pytest.raises(SystemExit) as stop:
        call("irgraph.demo:research_pipeline", "in.jsonl")
    assert stop.value.code == 2
    assert "-o/--output" in capsys.readouterr().err


def test_prefect_options_are_parsed():
    argv = ["batch", "m:p", "in.jsonl", "-o", "out.jsonl", "--backend", "prefect"]
    args = _parser().parse_args([*argv, "--work-pool", "gpu", "--batch-key", "evals"])
    assert (args.backend, args.work_pool, args.batch_key) == ("prefect", "gpu", "evals")


@pytest.mark.parametrize(
    ("target", "code", "error"),
    [
        ("bad.json", 2, "irgraph: error: bad.json: Invalid IR JSON"),
        ("irgraph.demo:__name__", 2, "irgraph: error: 'irgraph.demo:__name__' is a str"),
    ],
)
def test_a_bad_pipeline_is_refused_before_the_output_is_touched(here, capsys, target, code, error):
    write_inputs(here / "in.jsonl", ["a"])
    (here / "out.jsonl").write_text("kept as it is\n")
    bad = {"format": "irgraph-ir", "version": 1, "root": {"kind": "Nope", "name": "a"}}
    (here / "bad.json").write_text(json.dumps(bad))
    assert call(target, "in.jsonl", "-o", "out.jsonl")[0] == code
    assert capsys.readouterr().err.startswith(error)
    assert (here / "out.jsonl").read_text() == "kept as it is\n"


def test_a_file_that_holds_other_lines_is_not_taken_for_results(here, capsys):
    write_inputs(here / "in.jsonl", ["a"])
    notes = (
        '{"index": 0, "key": "k", "state": {}}\nmy notes\n{"index": 1, "key": "k", "error": {}}\n'
    )
    (here / "notes.txt").write_text(notes)
    assert call(f"{MODULE}:chain", "in.jsonl", "-o", "notes.txt")[0] == 2
    assert "its line 2 is not a result line" in capsys.readouterr().err
    assert (here / "notes.txt").read_text() == notes


def test_progress_line():
    assert progress_line(30, 2, 8, 10, 100, 4.0) == (
        "42/100: 30 done, 2 failed, 8 in flight, 10 resumed, 8.0 items/s, ETA 0:07"
    )
    assert progress_line(3, 0, 1, 0, None, 2.0) == "3 done, 0 failed, 1 in flight, 1.5 items/s"
    assert progress_line(0, 0, 5, 0, 10, 1.0) == "0/10: 0 done, 0 failed, 5 in flight, 0.0 items/s"
    assert progress_line(100, 0, 0, 0, 10_000, 1.0).endswith("ETA 1:39")
    assert progress_line(1, 0, 0, 0, 10_000, 1.0).endswith("ETA 2:46:39")


def child(here: Path, *argv: str, **kwargs: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, "batch", f"{MODULE}:slow_chain", "in.jsonl", *argv],
        cwd=here,
        text=True,
        **kwargs,
    )


@pytest.mark.parametrize(
    ("sent", "code", "said"),
    [(signal.SIGINT, 130, "Interrupted: "), (signal.SIGTERM, 143, "Terminated (SIGTERM): ")],
    ids=["ctrl-c", "sigterm"],
)
def test_ctrl_c_keeps_the_results_so_far_and_the_same_command_resumes(here, sent, code, said):
    """Ctrl-C, and SIGTERM (``timeout``, a container stopped, ``kill``) alike: the items in
    flight are cancelled, the summary printed, the results kept for the same command."""
    write_inputs(here / "in.jsonl", [f"t{i}" for i in range(40)])
    proc = child(here, "-o", "out.jsonl", "--max-items", "2", stdout=subprocess.PIPE)
    output = here / "out.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if output.exists() and output.read_text().count("\n") >= 3:
            break
        time.sleep(0.01)
    proc.send_signal(sent)
    stdout, _ = proc.communicate(timeout=60)
    assert proc.returncode == code, stdout
    assert said in stdout and "Re-run the same command to resume." in stdout
    before = results(output)
    assert 3 <= len(before) < 40
    code, text = call(f"{MODULE}:slow_chain", "in.jsonl", "-o", "out.jsonl")
    assert code == 0 and f"{40 - len(before)} done, 0 failed, {len(before)} resumed" in text
    after = results(output)
    assert sorted(after) == list(range(40))
    assert all(after[i] == record for i, record in before.items())


@pytest.mark.skipif(sys.platform == "win32", reason="a pseudo-terminal")
def test_on_a_terminal_the_progress_line_is_redrawn_in_place(here):
    import pty

    write_inputs(here / "in.jsonl", [f"t{i}" for i in range(20)])
    leader, follower = pty.openpty()
    proc = child(
        here, "-o", "out.jsonl", "--max-items", "1", stdout=subprocess.PIPE, stderr=follower
    )
    os.close(follower)
    shown = read_terminal(leader)
    proc.communicate(timeout=60)
    assert proc.returncode == 0
    drawn = shown.decode()
    assert "\r\x1b[K" in drawn and "/20: " in drawn and " in flight" in drawn
    assert "\n" not in drawn  # one line, redrawn


def test_the_documented_example_runs(tmp_path):
    text = (ROOT / "docs" / "cli.md").read_text()
    section = text[text.index("## irgraph batch") :]
    script = re.search(r"^```bash\n(.*?)^```$", section, re.S | re.M)
    assert script is not None
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        ["bash", "-e", "-c", script.group(1)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "Finished: 3 done, 0 failed, 0 resumed" in done.stdout
    assert sorted(results(tmp_path / "results.jsonl")) == [0, 1, 2]


def test_a_batch_whose_items_all_resumed_gives_no_rate_of_zero(here, capsys):
    """Run again over a finished batch, the summary said "(0.0 items/s)": a rate of the items
    that ran, when none did."""
    write_inputs(here / "in.jsonl", ["a", "b"])
    assert call("irgraph.demo:research_pipeline", "in.jsonl", "-o", "out.jsonl")[0] == 0
    capsys.readouterr()
    code, out = call("irgraph.demo:research_pipeline", "in.jsonl", "-o", "out.jsonl")
    assert code == 0
    assert "0 done, 0 failed, 2 resumed in" in out and "items/s" not in out, out


@pytest.mark.parametrize("text", ["", "\n  \n\n"])
def test_inputs_with_no_items_say_so_and_exit_0(here, capsys, text):
    (here / "in.jsonl").write_text(text)
    code, out = call(f"{MODULE}:chain", "in.jsonl", "-o", "out.jsonl")
    assert code == 0 and "Finished: 0 done, 0 failed, 0 resumed" in out
    (note,) = capsys.readouterr().err.strip().splitlines()
    assert note == (
        "irgraph: note: The inputs file 'in.jsonl' holds no items (no line that is not blank), "
        "so no item ran; give one JSON object per line."
    )
    assert calls() == [] and (here / "out.jsonl").read_text() == ""


def test_empty_standard_input_says_so(here, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert call(f"{MODULE}:chain", "-", "-o", "out.jsonl")[0] == 0
    assert "irgraph: note: Standard input holds no items" in capsys.readouterr().err


def test_emptied_inputs_keep_the_results_already_written(here, capsys):
    """An emptied inputs file (more likely a mistake) keeps every result, and the note says
    so."""
    write_inputs(here / "in.jsonl", ["a", "b"])
    assert call(f"{MODULE}:chain", "in.jsonl", "-o", "out.jsonl")[0] == 0
    before = results(here / "out.jsonl")
    (here / "in.jsonl").write_text("")
    capsys.readouterr()
    assert call(f"{MODULE}:chain", "in.jsonl", "-o", "out.jsonl")[0] == 0
    assert "the 2 results already in out.jsonl are left as they were" in capsys.readouterr().err
    assert results(here / "out.jsonl") == before


def test_shortened_inputs_keep_the_results_past_their_end_for_when_the_lines_come_back(
    here, capsys
):
    """A shortened inputs file (a quick run over its first lines, say) deleted the results of
    the lines past its end, so the full file paid for them again."""
    write_inputs(here / "in.jsonl", ["a", "b", "c", "d", "e"])
    assert call(f"{MODULE}:chain", "in.jsonl", "-o", "out.jsonl")[0] == 0
    everything = results(here / "out.jsonl")
    write_inputs(here / "in.jsonl", ["a", "b", "c"])
    capsys.readouterr()
    code, text = call(f"{MODULE}:chain", "in.jsonl", "-o", "out.jsonl")
    assert code == 0 and "0 done, 0 failed, 3 resumed" in text
    (note,) = capsys.readouterr().err.strip().splitlines()
    assert note == (
        "irgraph: note: -o 'out.jsonl' keeps the results of items 3 to 4, past the end of the "
        "inputs file 'in.jsonl' (3 items): an earlier run's, of lines these inputs no longer "
        "hold (removed, changed, or past a shorter file's end). They are left in the file so "
        "that those lines, given again, resume instead of running again; for a file of these "
        "inputs' results only, write to a new -o file."
    )
    assert results(here / "out.jsonl") == everything
    write_inputs(here / "in.jsonl", ["a", "b", "c", "d", "e"])
    code, text = call(f"{MODULE}:chain", "in.jsonl", "-o", "out.jsonl")
    assert code == 0 and "0 done, 0 failed, 5 resumed" in text
    assert capsys.readouterr().err == "" and calls() == ["a", "b", "c", "d", "e"]
    assert results(here / "out.jsonl") == everything
