"""A current directory for an ``irgraph batch`` test: its pipelines module and its inputs."""

from __future__ import annotations

import io
import json
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
    (tmp_path / "in.jsonl").write_text("".join(json.dumps({"topic": t}) + "\n" for t in topics))
    return tmp_path


def batch_in(target: str, *argv: str) -> tuple[int, str]:
    """``irgraph batch TARGET in.jsonl ARGV...``: its exit code and standard output."""
    out = io.StringIO()
    return main(["batch", target, "in.jsonl", *argv], out=out), out.getvalue()
