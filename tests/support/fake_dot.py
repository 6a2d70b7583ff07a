"""A program named ``dot`` put first on PATH, standing in for Graphviz's: one that hangs, fails
or writes no picture, to test what irgraph does with such a ``dot``."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

__all__ = ["put_dot"]


def put_dot(folder: Path, body: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A program ``folder/dot`` running the shell ``body``, first on PATH (until the test
    ends); its path."""
    folder.mkdir(parents=True, exist_ok=True)
    program = folder / "dot"
    program.write_text(f"#!/bin/sh\n{body}\n")
    program.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")
    assert shutil.which("dot") == str(program)
    return str(program)
