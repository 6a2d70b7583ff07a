#!/usr/bin/env python3
"""Set-up and task runner that needs nothing but python3.

    python3 dev.py demo    # create .venv, install irgraph[all] if needed, run the demo
    python3 dev.py test    # same set-up, then ruff, mypy and the test suite (in parallel)
    python3 dev.py test tests/test_x.py -k name  # pytest arguments: run just those, serially
    python3 dev.py docs    # same set-up, then regenerate docs/errors.md from the bad-input catalog
    python3 dev.py mutants [AREA ...]  # plant the curated mutants one by one; print the score

The virtual environment is reinstalled when setup.cfg or pyproject.toml changes.
"""

from __future__ import annotations

import os
import shutil
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


def installed_layout() -> Path:
    """A tree of links laid out as pip installs the package (``backends/`` as
    ``irgraph/backends``): mypy cannot follow setuptools' package-dir mapping, so it checks
    this tree and sees ``irgraph.backends`` exactly as users import it."""
    tree = VENV / "installed-layout"
    shutil.rmtree(tree, ignore_errors=True)
    package = tree / "irgraph"
    package.mkdir(parents=True)
    for entry in (ROOT / "irgraph").iterdir():
        if entry.name != "__pycache__":
            (package / entry.name).symlink_to(entry)
    (package / "backends").symlink_to(ROOT / "backends")
    return tree


def type_check() -> None:
    """mypy --strict over irgraph and irgraph.backends, reporting paths of this checkout."""
    tree = installed_layout()
    cmd = [BIN / "mypy", "--config-file", ROOT / "pyproject.toml"]
    cmd += ["--cache-dir", VENV / "installed-layout-mypy-cache", "-p", "irgraph"]
    print("+", " ".join(str(c) for c in cmd), flush=True)
    done = subprocess.run([str(c) for c in cmd], cwd=tree, capture_output=True, text=True)
    report = (done.stdout + done.stderr).replace("irgraph/backends/", "backends/")
    print(report, end="", flush=True)
    if done.returncode:
        raise SystemExit(done.returncode)


def pytest_args(args: list[str]) -> list[str]:
    """The whole suite runs on pytest-xdist workers, one more than there are cores (much of
    its time is spent waiting on the servers, workers, browsers and kernels it starts), a file
    per worker at a time so module fixtures are built once; given arguments go to pytest as
    they are (add ``-n 3`` to spread them too)."""
    if args:
        return args
    workers = min((os.cpu_count() or 1) + 1, 8)
    # --no-loadscope-reorder: hand files out in collection order, which tests/conftest.py
    # starts with the slow ones (xdist would otherwise start with the files of most tests)
    return ["-n", str(workers), "--dist", "loadfile", "--no-loadscope-reorder"]


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
        sh(BIN / "ruff", "format", "--check", *paths)
        type_check()
        sh(PY, "-m", "pytest", *pytest_args(argv[1:]))
    elif task == "docs":
        sh(PY, "-m", "tests.support.errors_page")
    elif task == "mutants":
        sh(PY, "-m", "tests.mutation.run", *argv[1:])
    elif task == "setup":
        pass
    else:
        raise SystemExit(f"unknown task {task!r}; use: demo, test, docs, mutants, setup")


if __name__ == "__main__":
    main(sys.argv[1:])
