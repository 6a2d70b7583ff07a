"""Findings of the fifth outside trial of ``irgraph batch``: the fake provider's made-up
answers were reused by a later run with a real provider (as "done", under --batch-key and
from the results file); a one-line file given as ``-o`` was overwritten; two runs on one
``-o`` lost the first run's lines; items kept under --batch-key were counted as done."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from irgraph.cli import main
from irgraph.cli_batch_lines import line_key
from tests.support.batch_dir import batch_dir, batch_in
from tests.support.modules import importable

MODULE = "irgraph_cli_batch_trial5_pipelines"
PIPELINES = """
import time
from irgraph import Agent

pipeline = Agent("r").instruct("Research {topic}.").writes("findings")
asked = []


class Real:
    async def complete(self, request):
        asked.append(request.agent)
        return "REAL ANSWER"


def real():
    return Real()


class Held:  # answers once the file "go" exists: the test holds the batch while it runs

    async def complete(self, request):
        import asyncio, os

        while not os.path.exists("go"):
            await asyncio.sleep(0.01)
        return "held"


def held():
    return Held()
"""
TOPICS = ["owls", "bats", "cats"]


@pytest.fixture
def here(tmp_path, monkeypatch):
    return batch_dir(tmp_path, monkeypatch, MODULE, PIPELINES, TOPICS)


def call(*argv: str) -> tuple[int, str]:
    return batch_in(f"{MODULE}:pipeline", *argv)


def states(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("keyed", [False, True])
def test_a_real_provider_does_not_take_the_fake_providers_answers(here, keyed):
    key = ["--batch-key", "trial5"] if keyed else []
    code, text = call("-o", "fake.jsonl", *key)
    assert code == 0 and "3 done" in text
    assert all(r["made_up"] is True for r in states(here / "fake.jsonl"))
    # The same results file, or (keyed) a new one: every item asks the real provider.
    output = "real.jsonl" if keyed else "fake.jsonl"
    code, text = call("-o", output, "--provider", f"{MODULE}:real", *key)
    assert code == 0 and "3 done, 0 failed, 0 resumed" in text, text
    assert sys.modules[MODULE].asked == ["r"] * 3
    found = states(here / output)
    assert len(found) == 3 and all(r["state"]["findings"] == "REAL ANSWER" for r in found)
    assert all("made_up" not in r for r in found)
    # A fake run after a real one resumes the real answers (they serve a test run as well).
    code, text = call("-o", output, *key)
    assert code == 0 and "0 done, 0 failed, 3 resumed" in text, text


def test_items_kept_under_a_batch_key_count_as_resumed(here):
    call("-o", "one.jsonl", "--batch-key", "counted")
    code, text = call("-o", "two.jsonl", "--batch-key", "counted")
    assert code == 0 and "0 done, 0 failed, 3 resumed" in text, text
    assert len(states(here / "two.jsonl")) == 3


@pytest.mark.parametrize("text", ['{"topic": "precious"}\n', "hello world\n", "hello world"])
def test_a_file_with_one_line_that_is_no_result_is_refused_untouched(here, capsys, text):
    (here / "precious.jsonl").write_text(text)
    code, _ = call("-o", "precious.jsonl")
    assert code == 2
    assert "is not the results file of a batch: its line 1" in capsys.readouterr().err
    assert (here / "precious.jsonl").read_text() == text


def test_a_results_file_damaged_in_its_middle_is_told_as_damaged_not_as_no_results(here, capsys):
    """A results file with one line cut in its middle was refused as 'not the results file of
    a batch', though every other line was one of its results."""
    call("-o", "out.jsonl")
    whole = (here / "out.jsonl").read_text().splitlines()
    damaged = "\n".join([whole[0], whole[1][:25], whole[2]]) + "\n"
    (here / "out.jsonl").write_text(damaged)
    code, _ = call("-o", "out.jsonl")
    err = capsys.readouterr().err
    assert code == 2 and (here / "out.jsonl").read_text() == damaged
    assert "holds results of a batch, but its line 2 is not a result line" in err
    assert "Fix or delete line 2, or write the results to a new file." in err


def test_a_result_line_a_crash_cut_short_is_dropped_and_its_item_runs(here):
    call("-o", "out.jsonl")
    whole = (here / "out.jsonl").read_text().splitlines()
    (here / "out.jsonl").write_text(whole[0] + "\n" + whole[1][:25])
    code, text = call("-o", "out.jsonl")
    assert code == 0 and "2 done, 0 failed, 1 resumed" in text, text
    assert len(states(here / "out.jsonl")) == 3


CLI = "import sys; from irgraph.cli import main; sys.exit(main(sys.argv[1:]))"


def test_a_second_batch_on_the_same_results_file_is_refused_while_the_first_runs(here):
    command = [sys.executable, "-c", CLI, "batch", f"{MODULE}:pipeline", "in.jsonl"]
    first = subprocess.Popen(
        [*command, "-o", "out.jsonl", "--provider", f"{MODULE}:held"],
        cwd=here,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not (here / "out.jsonl").exists():  # opened once the file is held
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.01)
        second = subprocess.run(
            [*command, "-o", "out.jsonl"], cwd=here, capture_output=True, text=True, timeout=120
        )
        (here / "go").write_text("")
        out, err = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert second.returncode == 2, second.stdout + second.stderr
    assert "'out.jsonl' is being written by another irgraph batch" in second.stderr
    assert first.returncode == 0, err
    assert "3 done" in out
    found = states(here / "out.jsonl")
    assert sorted(r["index"] for r in found) == [0, 1, 2]
    assert all(r["state"]["findings"] == "held" for r in found)
    assert not (here / ".out.jsonl.lock").exists()
    # Once the first is done, the file is free: a second run resumes every item.
    code, text = call("-o", "out.jsonl")
    assert code == 0 and "3 resumed" in text


SHAPES = """
from irgraph import Transform

sets = Transform("t", lambda topic: {topic}).reads("topic").writes("tags")
infinite = Transform("t", lambda topic: float("inf")).reads("topic").writes("n")
pairs = Transform("t", lambda topic: (topic, 1)).reads("topic").writes("pair")
"""


@pytest.mark.parametrize(
    ("target", "problem"),
    [("sets", "state.tags is a set ({'owls'})"), ("infinite", "state.n is inf"), ("pairs", None)],
)
def test_the_results_file_is_json_a_state_that_is_not_fails_its_item(
    here, monkeypatch, target, problem
):
    importable(here, monkeypatch, "irgraph_trial5_shapes", SHAPES)
    (here / "one.jsonl").write_text('{"topic": "owls"}\n')
    out = io.StringIO()
    code = main(["batch", f"irgraph_trial5_shapes:{target}", "one.jsonl", "-o", "r.jsonl"], out=out)
    (line,) = (here / "r.jsonl").read_text().splitlines()
    record = json.loads(line, parse_constant=pytest.fail)  # strict JSON
    if problem is None:
        assert code == 0 and record["state"]["pair"] == ["owls", 1]
    else:
        assert code == 1 and record["error"]["type"] == "OutputError"
        assert f"cannot be written as JSON: {problem}" in record["error"]["message"]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('{"topic": NaN}', "one.jsonl:1 holds NaN, which is not JSON"),
        ('{"topic": -Infinity}', "one.jsonl:1 holds -Infinity, which is not JSON"),
        (
            '{"topic": "owls"',
            "one.jsonl:1 is not valid JSON (Expecting ',' delimiter at column 17)",
        ),
        ("null", "one.jsonl:1 holds a JSON null, not an object"),
        ('"owls"', "one.jsonl:1 holds a JSON string, not an object"),
    ],
)
def test_a_line_that_is_no_json_object_is_told_in_json_words(here, capsys, text, words):
    (here / "one.jsonl").write_text(text + "\n")
    out = io.StringIO()
    code = main(["batch", f"{MODULE}:pipeline", "one.jsonl", "-o", "r.jsonl"], out=out)
    assert code == 1 and words in capsys.readouterr().err
    assert json.loads((here / "r.jsonl").read_text())["error"]["type"] == "InputError"


def test_a_byte_order_mark_at_the_start_of_the_inputs_is_no_part_of_the_first_line(here):
    (here / "bom.jsonl").write_text('\ufeff{"topic": "owls"}\n', encoding="utf-8")
    out = io.StringIO()
    code = main(["batch", f"{MODULE}:pipeline", "bom.jsonl", "-o", "r.jsonl"], out=out)
    assert code == 0, out.getvalue()
    assert json.loads((here / "r.jsonl").read_text())["state"]["topic"] == "owls"


def test_saving_the_inputs_without_their_byte_order_mark_runs_no_item_again(here):
    """The first line's key kept the mark, so the same file saved without it (or with it, after
    a run without) ran item 0 again on resume."""
    for marked, done in (("\ufeff", 2), ("", 0), ("\ufeff", 0)):
        lines = f'{marked}{{"topic": "owls"}}\n{{"topic": "cats"}}\n'
        (here / "in.jsonl").write_text(lines, encoding="utf-8")
        out = io.StringIO()
        code = main(["batch", f"{MODULE}:pipeline", "in.jsonl", "-o", "r.jsonl"], out=out)
        assert code == 0, out.getvalue()
        assert f"{done} done, 0 failed, {2 - done} resumed" in out.getvalue(), out.getvalue()
    assert line_key(b'\xef\xbb\xbf{"topic": "owls"}') == line_key('{"topic": "owls"}')


def test_the_two_arguments_the_wrong_way_round_are_told_so(here, capsys):
    out = io.StringIO()
    assert main(["batch", "in.jsonl", f"{MODULE}:pipeline", "-o", "r.jsonl"], out=out) == 2
    err = capsys.readouterr().err
    assert (
        f"The pipeline comes first, then the inputs: irgraph batch {MODULE}:pipeline in.jsonl"
        in err
    )
    assert not (here / "r.jsonl").exists()


def test_a_local_file_named_like_a_standard_module_is_told_as_module_attr(tmp_path):
    # In a process of its own: the command puts the current directory after the standard
    # library, as a user's shell meets it (the test runner's path would put it first).
    (tmp_path / "pipes.py").write_text("from irgraph import Agent\ngated = Agent('a')\n")
    (tmp_path / "in.jsonl").write_text('{"topic": "owls"}\n')
    done = subprocess.run(
        # -P: no current directory first on the path, as the irgraph script has none
        [sys.executable, "-P", "-c", CLI, "batch", "pipes:gated", "in.jsonl", "-o", "r.jsonl"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "'pipes' (named in 'pipes:gated') is the standard-library module, not your file " in (
        done.stderr
    )
    assert not (tmp_path / "r.jsonl").exists()


def test_a_mistyped_provider_attribute_gets_the_closest_name(here, capsys):
    assert call("-o", "r.jsonl", "--provider", f"{MODULE}:rael")[0] == 2
    assert "has no 'rael'. Did you mean 'real'?" in capsys.readouterr().err


def test_a_changed_pipeline_under_a_batch_key_is_refused_in_the_commands_words(here, capsys):
    assert call("-o", "one.jsonl", "--batch-key", "v1")[0] == 0
    (here / f"{MODULE}.py").write_text(PIPELINES.replace("Research {topic}", "Study {topic}"))
    sys.modules.pop(MODULE)
    assert call("-o", "two.jsonl", "--batch-key", "v1")[0] == 2
    err = capsys.readouterr().err
    assert err.startswith("irgraph: error: Batch 'v1'") and "give it a new --batch-key" in err


def test_a_changed_pipeline_resumed_into_the_same_results_file_is_told_what_changed_and_to_do(
    here, capsys
):
    """Resumed into the same -o file, a new --batch-key alone would not do: the file holds the
    old pipeline's results (and is refused, tests/test_cli_batch_versions.py)."""
    assert call("-o", "one.jsonl", "--batch-key", "v1")[0] == 0
    (here / f"{MODULE}.py").write_text(PIPELINES.replace("Research {topic}", "Study {topic}"))
    sys.modules.pop(MODULE)
    assert call("-o", "one.jsonl", "--batch-key", "v1")[0] == 2
    err = capsys.readouterr().err
    assert "('Research {topic}.' -> 'Study {topic}.')" in err  # what changed, old and new
    assert (
        "give it a new --batch-key and a new -o file (the results one.jsonl holds are the old "
        "pipeline's); to start this batch over with it, delete the directory "
        ".irgraph-batches/v1 and the results file one.jsonl." in err
    )
    # what it says to do: a new key and a new file run the changed pipeline afresh
    code, text = call("-o", "two.jsonl", "--batch-key", "v2")
    assert code == 0 and "Finished: 3 done, 0 failed, 0 resumed" in text
    found = sorted(r["state"]["findings"] for r in states(here / "two.jsonl"))
    assert found == [f"<r: Study {topic}.>" for topic in sorted(TOPICS)]


def test_a_results_file_of_the_changed_pipeline_is_not_called_the_old_pipelines(here, capsys):
    """Refused under its old --batch-key, a changed pipeline whose -o file holds only its own
    results was told the file held the old pipeline's, and to delete it (its finished items)."""
    assert call("-o", "old.jsonl", "--batch-key", "v1")[0] == 0
    (here / f"{MODULE}.py").write_text(PIPELINES.replace("Research {topic}", "Study {topic}"))
    sys.modules.pop(MODULE)
    assert call("-o", "new.jsonl")[0] == 0  # the changed pipeline's results, unkeyed
    capsys.readouterr()
    assert call("-o", "new.jsonl", "--batch-key", "v1")[0] == 2  # the old key: refused
    err = capsys.readouterr().err
    assert "holds are the old pipeline's" not in err and "results file new.jsonl" not in err
    assert (
        "give it a new --batch-key (the results new.jsonl holds are this pipeline's, and "
        "resume under the new key); to start this batch over with it, delete the directory "
        ".irgraph-batches/v1." in err
    )
    # what it says: a new key on the same file resumes this pipeline's results
    code, text = call("-o", "new.jsonl", "--batch-key", "v2")
    assert code == 0 and "0 done, 0 failed, 3 resumed" in text, text
    found = sorted(r["state"]["findings"] for r in states(here / "new.jsonl"))
    assert found == [f"<r: Study {topic}.>" for topic in sorted(TOPICS)]


def test_a_work_pool_without_a_prefect_server_is_refused_up_front(here, capsys, monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", "")
    argv = ["-o", "r.jsonl", "--backend", "prefect", "--work-pool", "pool"]
    assert call(*argv)[0] == 2
    assert "--work-pool pool sends items to the Prefect server" in capsys.readouterr().err


def test_a_lines_misspelled_key_is_told_as_the_lines_not_the_pipelines(here, capsys):
    (here / "typo.jsonl").write_text('{"topik": "owls"}\n')
    out = io.StringIO()
    assert main(["batch", f"{MODULE}:pipeline", "typo.jsonl", "-o", "r.jsonl"], out=out) == 1
    err = capsys.readouterr().err
    assert "The line gives 'topik', which nothing reads: if it is 'topic' misspelled, write " in err
    assert "Did you mean" not in err
