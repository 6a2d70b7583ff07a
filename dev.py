#!/usr/bin/env python3
"""Set-up and task runner that needs nothing but python3.

    python3 dev.py demo    # create .venv, install irgraph[all] if needed, run the demo
    python3 dev.py test    # same set-up, then ruff, mypy and the test suite
    python3 dev.py docs    # same set-up, then regenerate docs/errors.md from the bad-input catalog

The virtual environment is reinstalled when setup.cfg or pyproject.toml changes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
STAMP = VENV / ".irgraph-installed"


def sh(*cmd: str | Path, env: dict[str, str] | None = None) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    code = subprocess.call([str(c) for c in cmd], cwd=ROOT, env=env)
    if code:
        raise SystemExit(code)


def ensure_venv() -> None:
    inputs = [ROOT / "setup.cfg", ROOT / "pyproject.toml"]
    fresh = STAMP.exists() and all(STAMP.stat().st_mtime >= p.stat().st_mtime for p in inputs)
    if fresh and PY.exists():
        return
    if not PY.exists():
        sh(sys.executable, "-m", "venv", VENV)
    sh(PY, "-m", "pip", "install", "-q", "--upgrade", "pip")
    sh(PY, "-m", "pip", "install", "-q", "-e", ".[all]")
    STAMP.touch()


def main(argv: list[str]) -> None:
    task = argv[0] if argv else "test"
    ensure_venv()
    if task == "demo":
        sh(BIN / "irgraph", "demo", *argv[1:])
    elif task == "test":
        paths = [
            p for p in ("irgraph", "backends", "tests", "bench", "dev.py") if (ROOT / p).exists()
        ]
        sh(BIN / "ruff", "check", *paths)
        sh(BIN / "mypy", "irgraph", "backends")
        sh(PY, "-m", "pytest", *argv[1:])
    elif task == "docs":
        sh(PY, "-m", "tests.support.errors_page")
    elif task == "setup":
        pass
    else:
        raise SystemExit(f"unknown task {task!r}; use: demo, test, docs, setup")


if __name__ == "__main__":
    main(sys.argv[1:])
