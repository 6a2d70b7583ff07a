"""A read-only bytecode cache for the test run's processes when Python writes none.

With ``PYTHONDONTWRITEBYTECODE=1`` (set where these tests were timed) no ``.pyc`` is written
for irgraph's own modules, which an editable install imports from the checkout: each worker
and each of the suite's many child processes (commands, generated flow modules, Prefect
children, notebook kernels) compiled irgraph from source, about 0.3 s of CPU for one that
imports the command line and the Prefect backend, twice what importing them costs.

The first process of a run over xdist workers (tests/conftest.py) compiles ``irgraph/``,
``backends/`` and ``tests/support/`` once into a temporary ``PYTHONPYCACHEPREFIX``, which its
workers and their children inherit. ``PYTHONDONTWRITEBYTECODE`` stays set, so nothing else
is written: a module a test writes (and maybe rewrites within the same second) is compiled
from its source every time, as before, and the checkout stays clean. Under a prefix Python
looks for every ``.pyc`` there and nowhere else, so the prefix also mirrors each ``.pyc`` the
interpreter's library and site-packages were installed with, as a link. Nothing happens when
Python writes bytecode (its caches are then in place) or a prefix is set already.
"""

from __future__ import annotations

import compileall
import os
import shutil
import sys
import sysconfig
import tempfile
from pathlib import Path

__all__ = ["end_run", "start_run"]

ROOT = Path(__file__).resolve().parents[2]
#: The checkout's folders of modules imported by the run's processes.
OWN = ("irgraph", "backends", "tests/support")


def start_run() -> str | None:
    """Make the cache and point ``PYTHONPYCACHEPREFIX`` at it (in the run's first process, when
    bytecode is not written); its path, or ``None`` when nothing was done."""
    if not sys.flags.dont_write_bytecode or "PYTHONPYCACHEPREFIX" in os.environ:
        return None
    prefix = Path(tempfile.mkdtemp(prefix="irgraph-pycache-"))
    tag = sys.implementation.cache_tag
    library = {  # one path for each folder (platlib may be purelib through a link)
        os.path.realpath(path): path
        for name in ("platlib", "purelib", "platstdlib", "stdlib")
        if os.path.isdir(path := sysconfig.get_path(name))
    }
    for top in sorted(library.values()):
        for folder, dirs, files in os.walk(top):
            if os.path.basename(folder) != "__pycache__":
                continue
            dirs.clear()
            mirror = prefix / Path(os.path.dirname(folder)).relative_to("/")
            mirror.mkdir(parents=True, exist_ok=True)
            for name in files:
                if name.endswith(f".{tag}.pyc") and not (mirror / name).exists():
                    os.symlink(os.path.join(folder, name), mirror / name)
    before = sys.pycache_prefix
    sys.pycache_prefix = str(prefix)
    try:
        for own in OWN:
            compileall.compile_dir(ROOT / own, quiet=2, workers=1)
    finally:
        sys.pycache_prefix = before
    os.environ["PYTHONPYCACHEPREFIX"] = str(prefix)
    return str(prefix)


def end_run(path: str | None) -> None:
    """Remove the cache :func:`start_run` made (``None``: none was made)."""
    if path is not None:
        os.environ.pop("PYTHONPYCACHEPREFIX", None)
        shutil.rmtree(path, ignore_errors=True)
