"""A Prefect database migrated once per test run and copied into each new ``PREFECT_HOME``.

Prefect's temporary server first migrates the SQLite database of a home it has not seen: about
6 s of CPU on a two-core machine, a third of what a one-agent flow run in a child process
costs. The suite starts such a server in a new home in a score of tests, which test what a run,
a Ctrl-C or a kill does, not Prefect's migrations; the migrations ran once, here, by Prefect's
own ``prefect server database upgrade``, and each new home gets a copy (a home that has a
database is left alone). The server still starts for real and checks the database is at its
newest revision, as it does on a user's second run.

The test run's first process (the xdist controller, or the lone pytest process) names a
directory in ``IRGRAPH_TEST_PREFECT_DB_DIR``, which its workers inherit; the first process to
need the database makes it there under a lock, and the directory goes when the run ends.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["ENV", "end_run", "seed_home", "start_run"]

ENV = "IRGRAPH_TEST_PREFECT_DB_DIR"
_NAME = "prefect.db"


def start_run() -> str | None:
    """Name this run's directory (in the run's first process only); the path, or ``None``
    when an outer process named it already."""
    if ENV in os.environ:
        return None
    path = tempfile.mkdtemp(prefix="irgraph-prefect-db-")
    os.environ[ENV] = path
    return path


def end_run(path: str | None) -> None:
    """Remove the directory :func:`start_run` named (``None``: not this process's)."""
    if path is not None:
        shutil.rmtree(path, ignore_errors=True)
        os.environ.pop(ENV, None)


def _migrated(folder: Path) -> Path:
    """The migrated database in ``folder``, made by Prefect once (other processes wait)."""
    database = folder / _NAME
    with open(folder / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not database.exists():
            home = folder / "home"
            env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
            env["PREFECT_HOME"] = str(home)
            done = subprocess.run(
                [sys.executable, "-m", "prefect", "server", "database", "upgrade", "-y"],
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            if done.returncode != 0:
                raise RuntimeError(f"Prefect could not migrate a test database:\n{done.stdout}")
            with sqlite3.connect(home / _NAME) as db:  # all of it in the one file we copy
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            (home / _NAME).replace(database)
    return database


def seed_home(home: str | os.PathLike[str]) -> None:
    """Put a copy of the run's migrated database in ``home`` unless it has one (nothing
    outside a pytest run, which names no directory: ``tests.support.notebooks`` storing a
    notebook's outputs, say)."""
    folder = os.environ.get(ENV)
    target = Path(home) / _NAME
    if folder is None or target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_migrated(Path(folder)), target)
