"""One temporary Prefect home and lean settings for the whole test process.

Imported by conftest before any test runs, so the first ``import prefect`` (inside a test)
sees them; the temporary local server then starts once per process and is shared.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

from irgraph.backends.prefect_backend import lean_prefect_settings


def ensure_prefect_test_env() -> str:
    """Point PREFECT_HOME at a temporary directory (once) and apply lean settings."""
    home = os.environ.get("IRGRAPH_TEST_PREFECT_HOME")
    if home is None:
        home = tempfile.mkdtemp(prefix="irgraph-prefect-")
        atexit.register(shutil.rmtree, home, ignore_errors=True)
        os.environ["IRGRAPH_TEST_PREFECT_HOME"] = home
        os.environ["PREFECT_HOME"] = home
        os.environ.pop("PREFECT_API_URL", None)
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
        lean_prefect_settings()
    return home


def subprocess_env(home: str) -> dict[str, str]:
    """Environment for a child process that runs Prefect flows with its own home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_HOME"] = home
    env["PREFECT_LOGGING_LEVEL"] = "WARNING"
    lean_prefect_settings(env)
    return env
