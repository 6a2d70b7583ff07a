"""Gates answered on the command line: ``irgraph run --answer GATE=VALUE``. A gate with no
answer, an answer for no gate, or a malformed answer is one line and exit 2, before anything
runs."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from irgraph.cli import CliError, main, parse_answers
from tests.support.modules import importable


@pytest.fixture
def gated(tmp_path, monkeypatch):
    """A writer, a gate 'approve' asking about the draft, and a second gate 'approve' (id
    approve#2) inside a review pipeline."""
    module = importable(
        tmp_path,
        monkeypatch,
        "cli_gated_pipeline",
        "from irgraph import Agent, Gate, Pipeline\n"
        "w = Agent('w').instruct('Write {topic}.').writes('draft')\n"
        "g = Gate('approve', 'Publish {draft}?').writes('ok')\n"
        "p = Pipeline('p').step(w).step(g)\n"
        "two = Pipeline('two').step(w).step(g).step(Gate('approve', 'Sure?').writes('sure'))\n",
    )
    return module


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(["run", *argv], out=out), out.getvalue()


def test_an_answer_on_the_command_line_answers_the_gate(gated):
    code, text = run(f"{gated}:p", "--state", "topic=owls", "--answer", "approve=yes")
    assert code == 0, text
    assert "  ? approve: Publish <w: Write owls.>? -> yes" in text
    assert "  ok = yes" in text


def test_answers_go_by_node_id_before_name(gated):
    code, text = run(
        f"{gated}:two",
        "--state",
        "topic=owls",
        "--answer",
        "approve=yes",
        "--answer",
        "approve#2=no",
    )
    assert code == 0, text
    assert "  ok = yes" in text and "  sure = no" in text


def test_one_answer_by_name_answers_every_gate_of_that_name(gated):
    code, text = run(f"{gated}:two", "--state", "topic=owls", "--answer", "approve=fine")
    assert code == 0, text
    assert "  ok = fine" in text and "  sure = fine" in text


def test_a_gate_without_an_answer_explains_the_answer_option(gated, capsys):
    code, text = run(f"{gated}:p", "--state", "topic=owls")
    assert (code, text) == (2, "")  # refused before anything ran
    assert capsys.readouterr().err == (
        "irgraph: error: The pipeline stops at the gate 'approve' to ask a person, and no "
        "--answer answers it; give the answer on the command line: --answer approve=VALUE.\n"
    )


def test_every_unanswered_gate_is_named(gated, capsys):
    assert run(f"{gated}:two", "--state", "topic=owls")[0] == 2
    assert (
        "stops at the gates 'approve', 'approve#2' to ask a person, and no --answer answers "
        "them; give the answers on the command line: --answer approve=VALUE --answer "
        "approve#2=VALUE." in capsys.readouterr().err
    )
    assert run(f"{gated}:two", "--state", "topic=owls", "--answer", "approve#2=no")[0] == 2
    assert "at the gate 'approve' to ask" in capsys.readouterr().err


def test_an_answer_for_no_gate_suggests_the_nearest(gated, capsys):
    assert run(f"{gated}:p", "--state", "topic=owls", "--answer", "aprove=yes")[0] == 2
    err = capsys.readouterr().err
    assert "--answer aprove=... names no gate of the pipeline. Did you mean 'approve'?" in err
    assert "Its gates: 'approve'." in err


def test_an_answer_for_a_pipeline_without_gates_says_it_has_none(capsys):
    argv = ["irgraph.demo:research_pipeline", "--state", "topic=owls", "--answer", "ok=yes"]
    assert run(*argv)[0] == 2
    assert capsys.readouterr().err == (
        "irgraph: error: --answer ok=... names a gate, but the pipeline has none; drop it.\n"
    )


@pytest.mark.parametrize("pair", ["approve", "=yes", " =yes"])
def test_a_malformed_answer_is_a_cli_error(pair):
    with pytest.raises(CliError, match=r"not of the form GATE=VALUE .*--answer approve=yes"):
        parse_answers([pair])


def test_answer_values_are_strings_and_may_hold_equals_signs():
    assert parse_answers(["approve=a=b", "other="]) == {"approve": "a=b", "other": ""}


def test_a_gate_answered_in_a_fresh_process(gated, tmp_path):
    argv = ["run", f"{gated}:p", "--state", "topic=owls", "--answer", "approve=yes"]
    proc = subprocess.run(
        [sys.executable, "-m", "irgraph.cli", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "  ok = yes" in proc.stdout


def test_a_gate_without_an_answer_in_a_fresh_process(gated, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "irgraph.cli", "run", f"{gated}:p", "--state", "topic=owls"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert "--answer approve=VALUE" in proc.stderr and "on_gate" not in proc.stderr
