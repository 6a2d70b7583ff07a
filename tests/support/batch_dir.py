"""A current directory for an ``irgraph batch`` test: its pipelines module and its inputs."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from irgraph.cli import main
from tests.support.modules import importable


def batch_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, module: str, source: str, topics: list[str]
) -> Path:
    """``tmp_path`` as the current directory, with ``source`` importable as ``module`` and
    ``in.jsonl`` holding one ``{"topic": ...}`` line per topic; returns ``tmp_path``."""
    importable(tmp_path, monkeypatch, module, source)
    monkeypatch.chdir(tmp_path)
    write_inputs(tmp_path, topics)
    return tmp_path


def write_inputs(folder: Path, topics: list[str]) -> None:
    """``in.jsonl`` in ``folder``: one ``{"topic": ...}`` line per topic, in order."""
    (folder / "in.jsonl").write_text("".join(json.dumps({"topic": t}) + "\n" for t in topics))


def ran_since(module: str) -> list[str]:
    """The topics whose items ran since the last call: the ``calls`` list the pipelines
    module ``module`` keeps, taken and emptied."""
    calls: list[str] = sys.modules[module].calls
    done, calls[:] = list(calls), []
    return done


def batch_in(target: str, *argv: str) -> tuple[int, str]:
    """``irgraph batch TARGET in.jsonl ARGV...``: its exit code and standard output."""
    out = io.StringIO()
    return main(["batch", target, "in.jsonl", *argv], out=out), out.getvalue()
