"""``bench/import_time.py`` removes the bytecode cache it makes (``irgraph-pycache-*`` in the
temporary directory) however it ends: a command that failed, or a Ctrl-C, as its table printed
(tests/test_bench_scripts.py runs it to its table; the one ``finally`` removes it in all three).

Each run gets a temporary directory of its own (``TMPDIR``, which ``tempfile`` reads), so what
it leaves there is its own. Nothing is timed; each run is a few interpreters' start-ups.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.test_bench_scripts import BENCH


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    return {**os.environ, "TMPDIR": str(temporary), **extra}


def left(tmp_path: Path) -> list[str]:
    return sorted(path.name for path in (tmp_path / "tmp").glob("irgraph-pycache-*"))


def import_time(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(BENCH / "import_time.py"), *args],
        cwd=BENCH.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_run_whose_command_fails_leaves_no_bytecode_cache(tmp_path: Path) -> None:
    # an attrs that cannot be imported, first on the path of the commands the script runs:
    # its second command fails
    broken = tmp_path / "broken" / "attrs"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("raise ImportError('broken on purpose')\n")
    run = import_time(environment(tmp_path, PYTHONPATH=str(broken.parent)), "--runs", "1")
    out, err = run.communicate(timeout=300)
    assert "broken on purpose" in err and "CalledProcessError" in err, out + err
    assert left(tmp_path) == []


def test_a_run_stopped_by_ctrl_c_leaves_no_bytecode_cache(tmp_path: Path) -> None:
    run = import_time(environment(tmp_path), "--runs", "100000")
    try:
        # the cache holds bytecode once its first command has run: the script is measuring
        while not any((tmp_path / "tmp" / name).iterdir() for name in left(tmp_path)):
            assert run.poll() is None, run.communicate()
            time.sleep(0.02)
        run.send_signal(signal.SIGINT)
        out, err = run.communicate(timeout=300)
    finally:
        run.kill()
        run.wait()
    assert run.returncode == 130 and "Stopped by Ctrl-C" in err, out + err
    assert left(tmp_path) == []
