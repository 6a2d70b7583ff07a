"""A failing test whose message holds a lone surrogate, run under pytest-xdist as the suite
is: the run used to stop with an INTERNALERROR that hid the failure (and every other result)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_failure_with_a_lone_surrogate_is_reported_as_a_failure(tmp_path: Path) -> None:
    (tmp_path / "test_lone.py").write_text(
        'def test_lone():\n    assert "a\\ud800" == "b"\n\n\ndef test_fine():\n    pass\n'
    )
    plugins = ["-p", "no:cacheprovider", "-p", "tests.support.report_text"]
    where = ["--rootdir", str(tmp_path), str(tmp_path)]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "1", *plugins, *where],
        cwd=ROOT,
        capture_output=True,
        text=True,
        errors="backslashreplace",
        timeout=120,
    )
    out = done.stdout + done.stderr
    assert "INTERNALERROR" not in out and done.returncode == 1, out
    assert "1 failed, 1 passed" in out and "\\ud800" in out
