"""A Python module written for one test, importable by name (``module:attr`` targets)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest


def importable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, module: str, source: str) -> str:
    """Write ``source`` as ``module`` under ``tmp_path`` and make it importable for this test
    only (a copy imported by an earlier test is forgotten); returns ``module``."""
    (tmp_path / f"{module}.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, module, raising=False)
    return module
