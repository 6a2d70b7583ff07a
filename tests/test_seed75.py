"""Seed page 75 (Prefect backend) runs unchanged and passes its own assertions."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "tests" / "seeds" / "seed75_prefect_backend.py"


def test_seed_75_script_runs_and_passes_its_assertions():
    code = f"import runpy; runpy.run_path({str(SEED)!r}, run_name='__main__')"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "All assertions passed!" in out.stdout
    assert "@task researcher: model=None" in out.stdout
    assert "Parallel plan: 3 nodes" in out.stdout
    assert "Loop plan: 3 nodes" in out.stdout
