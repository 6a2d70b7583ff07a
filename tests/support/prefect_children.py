"""Child processes that run Prefect flows against this test process's temporary server.

A child without ``PREFECT_API_URL`` starts a temporary server of its own: 10 s or more with a
new ``PREFECT_HOME``, far longer on a loaded machine. Pointing it at the server this process
already shares (:func:`shared_api_url`) makes a child cost what its imports cost, and a
SIGKILLed child leaves no server behind. Each child still gets a ``PREFECT_HOME`` of its own,
so nothing it stores lands where this process would find it by accident (Prefect's default
result storage lives under ``PREFECT_HOME``).
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.prefect_env import ensure_prefect_test_env, subprocess_env

ROOT = Path(__file__).resolve().parents[2]


def shared_api_url() -> str:
    """The API URL of the temporary Prefect server this process shares, started if need be
    (the same server Prefect's client would start for the first flow)."""
    ensure_prefect_test_env()
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    server.start()
    if server.server_process is None or server.server_process.poll() is not None:
        raise RuntimeError(
            f"The temporary Prefect server on {server.api_url} is not this process's own "
            "(its process has exited), so another process owns what answers there; "
            "see tests/support/prefect_env.py on how ports are chosen."
        )
    return server.api_url


def child_env(home: Path, *, log_level: str = "WARNING") -> dict[str, str]:
    """Environment for a child that runs flows on the shared server, with ``home`` as its own
    ``PREFECT_HOME`` and the repository importable (for ``tests.support``)."""
    home.mkdir(parents=True, exist_ok=True)
    env = subprocess_env(str(home))
    env["PREFECT_API_URL"] = shared_api_url()
    env["PREFECT_LOGGING_TO_API_ENABLED"] = "false"
    env["PREFECT_LOGGING_LEVEL"] = log_level
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env
