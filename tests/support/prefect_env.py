"""One temporary Prefect home and lean settings for the whole test process.

Called by the Prefect test modules before their first ``import prefect``, so Prefect reads
these settings; the temporary local server then starts once per process (once per pytest-xdist
worker) and is shared by that process's tests.

Prefect picks the temporary server's port at random from 8000-8999 and takes the first
answer to ``/health`` on it as its own server. Two processes starting servers at once (xdist
workers, other test runs on the machine) can pick the same port: the loser's server exits,
but its health check may already have been answered by the winner's, and the loser then uses
a server that another process owns and stops. So this process's server takes a port the
operating system hands out as free (from the ephemeral range, outside 8000-8999), as
``prefect.testing.utilities.prefect_test_harness`` does.
"""

from __future__ import annotations

import atexit
import importlib.abc
import importlib.machinery
import importlib.util
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from irgraph.backends.prefect_backend import lean_prefect_settings
from irgraph.backends.prefect_server import reread_prefect_settings
from tests.support.prefect_db import seed_home

SERVER_MODULE = "prefect.server.api.server"
#: How long the tests' temporary servers may take to start: irgraph's 90 s was not enough
#: under a load average of 14 (several suites and servers at once on two cores).
STARTUP_SECONDS = "300"


def ensure_prefect_test_env() -> str:
    """Point PREFECT_HOME at a temporary directory (once) and apply lean settings."""
    home = os.environ.get("IRGRAPH_TEST_PREFECT_HOME")
    if home is None:
        home = tempfile.mkdtemp(prefix="irgraph-prefect-")
        seed_home(home)
        atexit.register(shutil.rmtree, home, ignore_errors=True)
        os.environ["IRGRAPH_TEST_PREFECT_HOME"] = home
        os.environ["PREFECT_HOME"] = home
        os.environ.pop("PREFECT_API_URL", None)
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
        os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", STARTUP_SECONDS)
        lean_prefect_settings()
        if "prefect" in sys.modules:  # imported already: make it read the settings above
            reread_prefect_settings()
    _pin_server_port()
    return home


def free_port() -> int:
    """A port on 127.0.0.1 that the operating system reports free."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pin(server_module: Any) -> None:
    """Make this process's temporary server (the one ``SubprocessASGIServer()`` returns, as
    Prefect's clients call it) take its port from :func:`free_port`, chosen as it starts."""
    server = server_module.SubprocessASGIServer()
    server.find_available_port = free_port


class _PinOnImport(importlib.abc.MetaPathFinder):
    """Pins the server's port right after Prefect's server module is first imported, so a
    process that never starts a server does not pay for importing it."""

    def find_spec(
        self, name: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if name != SERVER_MODULE:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        load = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            load(module)
            _pin(module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def _pin_server_port() -> None:
    """Pin the port now if Prefect's server module is loaded, else once it is (once)."""
    if SERVER_MODULE in sys.modules:
        _pin(sys.modules[SERVER_MODULE])
    elif not any(isinstance(finder, _PinOnImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _PinOnImport())


def subprocess_env(home: str) -> dict[str, str]:
    """Environment for a child process that runs Prefect flows with its own home (given a
    copy of the test run's migrated database, :mod:`tests.support.prefect_db`)."""
    seed_home(home)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_HOME"] = home
    env["PREFECT_LOGGING_LEVEL"] = "WARNING"
    env["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = STARTUP_SECONDS
    lean_prefect_settings(env)
    return env
