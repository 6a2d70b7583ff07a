"""irgraph batch writing its results through a symlink (helper K's trial): the file is held
by its real path, so a second command writing it under another name is refused, and the
tidying rewrite of a resume replaces the file the link names, not the link."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from irgraph.cli import main
from irgraph.cli_batch_lock import output_lock
from tests.support.modules import importable
from tests.test_trial_batch_files import PIPELINES

MODULE = "irgraph_trial_batch_symlinks"  # the pipeline of test_trial_batch_files, as its own module


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    importable(tmp_path, monkeypatch, MODULE, PIPELINES)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.jsonl").write_text('{"topic": "owls"}\n{"topic": "bats"}\n')
    return tmp_path


def batch(output: str) -> int:
    return main(["batch", f"{MODULE}:chain", "in.jsonl", "-o", output], out=io.StringIO())


def test_a_resume_through_a_symlink_keeps_the_link(here, capsys):
    (here / "results").mkdir()
    os.symlink("results/out.jsonl", here / "link.jsonl")
    assert batch("link.jsonl") == 0
    whole = (here / "results" / "out.jsonl").read_bytes()
    first = whole.split(b"\n")[0]
    # Killed mid-write: the first line whole, the second cut short, so the resume rewrites
    (here / "results" / "out.jsonl").write_bytes(first + b"\n" + b'{"index": 1, "ke')
    assert batch("link.jsonl") == 0, capsys.readouterr().err
    assert os.path.islink(here / "link.jsonl")  # it was replaced by a file of its own
    target = (here / "results" / "out.jsonl").read_bytes()
    assert target.startswith(first + b"\n") and target.count(b"\n") == 2


def test_the_file_is_held_under_its_real_name(here, capsys):
    (here / "out.jsonl").write_text("")
    os.symlink("out.jsonl", here / "other-name.jsonl")
    with output_lock("out.jsonl"):  # a command writing out.jsonl runs
        assert batch("other-name.jsonl") == 2
    assert "is being written by another irgraph batch right now" in capsys.readouterr().err
    assert (here / "out.jsonl").read_text() == ""  # nothing written beside the first
