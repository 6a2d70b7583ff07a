"""Findings of the second outside trial on the ``irgraph`` command: a gate answered twice, a
target holding what ``compile()`` returns (or no pipeline at all), and ``--provider`` specs the
fake provider does not take. Each is a real command-line run."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from irgraph.cli import main

MODULE = "irgraph_cli_trial2_pipelines"
PIPELINES = """
from irgraph import Agent, Gate, compile

gated = Agent("w").instruct("Write {topic}").writes("draft") >> Gate(
    "approve", "OK? {draft}"
).writes("verdict")
p = Agent("a").instruct("A {t}").writes("x")
C = compile(p)
"""


@pytest.fixture
def here(tmp_path, monkeypatch):
    """A temporary current directory holding the pipelines module, imported afresh."""
    (tmp_path / f"{MODULE}.py").write_text(PIPELINES)
    (tmp_path / "t.jsonl").write_text('{"topic": "owls"}\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, MODULE, raising=False)
    return tmp_path


def cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.startswith("irgraph: error: ") and err.count("\n") == 1, err
    return err


# 5. A gate answered twice ------------------------------------------------------------------


@pytest.mark.parametrize("command", ["run", "batch"])
def test_a_gate_answered_twice_is_refused(here, capsys, command):
    where = ["--state", "topic=owls"] if command == "run" else ["t.jsonl", "-o", "r.jsonl"]
    answers = ["--answer", "approve=yes", "--answer", "approve=no"]
    code, text = cli(command, f"{MODULE}:gated", *where, *answers)
    assert (code, text) == (2, "")
    assert "--answer approve=... is given twice (approve=yes and approve=no)" in error(capsys)
    assert not (here / "r.jsonl").exists()


def test_a_gate_answered_twice_in_a_fresh_process(here):
    argv = ["run", f"{MODULE}:gated", "--state", "topic=owls"]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "irgraph.cli",
            *argv,
            "--answer",
            "approve=a",
            "--answer",
            "approve=a",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=here,
    )
    assert proc.returncode == 2, proc.stdout
    assert "given twice" in proc.stderr and "Traceback" not in proc.stderr
