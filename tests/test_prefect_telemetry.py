"""No connection leaves this machine during a Prefect run unless the user opts in to Prefect's
telemetry: in process (PrefectBackend) and running a generated flow script.

Each run is a child process with a user's plain environment (no Prefect settings, no CI
variables, which also switch off Prefect's client analytics) and a ``sitecustomize`` that
installs an audit hook: every ``socket.getaddrinfo``, ``socket.connect`` and ``socket.sendto``
towards anything but the loopback address is written to a file the test reads. Prefect's
temporary server is a child of that child and inherits the hook through ``PYTHONPATH``.
The control shows the recorder catches what the other tests rule out: in the same environment,
opted in, a child's lookup of an outside name is recorded, and its own child's too. Each test
starts from a new home holding the suite's migrated database (tests/support/prefect_db.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.support.pipelines import research
from tests.support.prefect_db import seed_home
from tests.test_prefect_worker import ROOT, asyncio_state, generated

pytestmark = [pytest.mark.prefect, pytest.mark.slow]

SITECUSTOMIZE = textwrap.dedent(
    '''
    """Record every network destination beyond the loopback address (a test's audit hook)."""
    import ipaddress
    import os
    import sys

    LOG = os.environ["IRGRAPH_NETWORK_LOG"]


    def beyond_this_machine(host):
        if isinstance(host, bytes):
            host = host.decode("ascii", "replace")
        if host in (None, "", "localhost"):
            return False
        try:
            return not ipaddress.ip_address(str(host).split("%")[0]).is_loopback
        except ValueError:
            return True  # a name to look up, not this machine's


    def record(event, args):
        if event == "socket.getaddrinfo":
            host, port = args[0], args[1]
        elif event in ("socket.connect", "socket.sendto") and isinstance(args[1], tuple):
            host, port = args[1][0], args[1][1]
        elif event in ("socket.gethostbyname", "socket.gethostbyaddr"):
            host, port = args[0], None
        else:
            return
        if beyond_this_machine(host):
            with open(LOG, "a", encoding="utf-8") as log:
                log.write(f"{os.getpid()} {event} {host!r} {port!r}\\n")


    sys.addaudithook(record)
    '''
)

IN_PROCESS = textwrap.dedent(
    """
    import json
    from irgraph import run
    from irgraph.backends.prefect_backend import PrefectBackend
    from irgraph.testing import FakeProvider
    from tests.support.pipelines import research

    result = run(research, backend=PrefectBackend(provider=FakeProvider()), state={"topic": "owls"})
    print(json.dumps(result.state))
    """
)

# What switches Prefect's telemetry or analytics on or off, or marks a CI machine (where
# Prefect's client sends nothing by itself): none of it comes from the test's environment.
CI_VARIABLES = {
    "CI",
    "GITHUB_ACTIONS",
    "GITLAB_CI",
    "JENKINS_URL",
    "TRAVIS",
    "CIRCLECI",
    "BUILDKITE",
    "TF_BUILD",
    "CODEBUILD_BUILD_ID",
    "BITBUCKET_COMMIT",
    "TEAMCITY_VERSION",
    "DRONE",
    "SEMAPHORE",
    "APPVEYOR",
    "BUDDY",
    "CI_NAME",
}


def plain_environment(home: Path, log: Path, **extra: str) -> dict[str, str]:
    """A user's environment: no Prefect settings, with the recording sitecustomize."""
    hook = log.parent / "hook"
    hook.mkdir(exist_ok=True)
    (hook / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PREFECT_") and k != "DO_NOT_TRACK" and k not in CI_VARIABLES
    }
    seed_home(home)  # Prefect's migrations are no part of what is sent
    env.update(
        PREFECT_HOME=str(home),
        # a loaded machine starts a new temporary server slowly; unrelated to telemetry
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120",
        IRGRAPH_NETWORK_LOG=str(log),
        PYTHONPATH=os.pathsep.join([str(hook), str(ROOT)]),
        **extra,
    )
    return env


def run_recorded(args: list[str], home: Path, **extra: str) -> tuple[Any, list[str]]:
    """Run a child with Prefect home ``home``; return its final state (its last line, JSON)
    and what it sent beyond this machine."""
    log = home.parent / "network.log"
    log.unlink(missing_ok=True)
    out = subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        cwd=home.parent,
        env=plain_environment(home, log, **extra),
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    sent = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return json.loads(out.stdout.strip().splitlines()[-1]), sent


STATE = {"topic": "owls"}
OPT_IN = {"DO_NOT_TRACK": "0", "PREFECT_SERVER_ANALYTICS_ENABLED": "true"}


def flow_script(folder: Path) -> list[str]:
    """Write the research pipeline's generated flow script; the arguments that run it."""
    path = folder / "research_flow.py"
    path.write_text(generated(research, flow_name="research"), encoding="utf-8")
    return [str(path), "run", "--state", json.dumps(STATE)]


LOOK_UP = (
    "import socket, sys\n"
    "try:\n    socket.getaddrinfo(sys.argv[1], 443)\n"
    "except OSError:\n    pass\n"
)
#: A lookup, then its own child's (a child of the child, as Prefect's temporary server is).
LOOKUPS = (
    LOOK_UP
    + f"import subprocess\nsubprocess.run([sys.executable, '-c', {LOOK_UP!r}, sys.argv[2]])\n"
    + "print('{}')"
)


def test_the_recorder_hears_a_lookup_beyond_this_machine(tmp_path):
    """The control, deterministic: in the same recorded environment a child's lookup of an
    outside name is seen, and so is a lookup by that child's own child (which is what Prefect's
    temporary server is). (Whether Prefect's own telemetry lookup happens before an opted-in
    process exits depends on its timing, so it is not what the control rests on.)"""
    names = ["telemetry.example.invalid", "server.example.invalid"]
    _, sent = run_recorded(["-c", LOOKUPS, *names], tmp_path / "home", **OPT_IN)
    for name in names:
        assert any(name in line for line in sent), (name, sent)


def test_an_in_process_run_sends_nothing_beyond_this_machine(tmp_path):
    final, sent = run_recorded(["-c", IN_PROCESS], tmp_path / "home")
    assert final == asyncio_state(research, STATE)
    assert sent == []


def test_a_generated_flow_script_sends_nothing_beyond_this_machine(tmp_path):
    final, sent = run_recorded(flow_script(tmp_path), tmp_path / "home")
    assert final == asyncio_state(research, STATE)
    assert sent == []
