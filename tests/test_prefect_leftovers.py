"""A Prefect server lost mid-run is said in one line of ours, without Prefect's noise.

Before, ``python flow.py run`` and ``irgraph run --backend prefect`` whose server stopped
answering printed Prefect's flow-run traceback, its events worker's failed item (an event of
1 500 characters), the flow run's end state and, from its API log worker, ``--- Error logging
to API ---`` around the one line that says it; and that line did not say what completed.
Now standard error holds that line alone, naming the server and what completed.

The server is this process's temporary one, reached through a proxy the test closes while
the 'writer' agent waits: the child's server is lost, and no other test's is.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from irgraph import Agent
from irgraph.backends.prefect_backend import PrefectBackend
from irgraph.backends.prefect_worker import PrefectWorkerConfig, generate_flow_code
from tests.support.prefect_children import child_env, shared_api_url
from tests.support.prefect_env import ensure_prefect_test_env

pytestmark = pytest.mark.prefect
ensure_prefect_test_env()

PIPELINE = Agent("plan").instruct("Plan {topic}.").writes("plan") >> Agent("writer").instruct(
    "Write {plan}."
).writes("text")

#: A provider that answers as the fake model does, logs each agent it is asked for, and holds
#: 'writer' until the file $LOST says the server is gone.
PROVIDER = """
import asyncio, os
from irgraph.testing import FakeProvider

class WaitsForTheLoss:
    def __init__(self):
        self.fake = FakeProvider()

    async def complete(self, request):
        with open(os.environ["CALLS"], "a", encoding="utf-8") as log:
            log.write(request.agent + "\\n")
        while request.agent == "writer" and not os.path.exists(os.environ["LOST"]):
            await asyncio.sleep(0.02)
        return await self.fake.complete(request)

def make():
    return WaitsForTheLoss()
"""


class Proxy:
    """A TCP proxy on 127.0.0.1 to ``port``; :meth:`lose` cuts every connection and takes
    no new one, as a server that went away."""

    def __init__(self, port: int) -> None:
        self.port_to = port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.lost = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                near, _ = self.listener.accept()
                far = socket.create_connection(("127.0.0.1", self.port_to))
            except OSError:
                return
            with self.lock:
                if self.lost:
                    near.close()
                    far.close()
                    return
                self.sockets += [near, far]
            for one, other in ((near, far), (far, near)):
                threading.Thread(target=self._pump, args=(one, other), daemon=True).start()

    def _pump(self, one: socket.socket, other: socket.socket) -> None:
        try:
            while data := one.recv(65536):
                other.sendall(data)
        except OSError:
            pass
        for end in (one, other):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def lose(self) -> None:
        with self.lock:
            self.lost = True
            self.listener.close()
            for end in self.sockets:
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                end.close()


def provider_module(folder: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The spec of :data:`PROVIDER`, written to a module of its own in ``folder`` (on the
    path here too, where a flow module naming it is generated)."""
    name = f"waits_{uuid.uuid4().hex[:8]}"
    (folder / f"{name}.py").write_text(PROVIDER, "utf-8")
    monkeypatch.syspath_prepend(str(folder))
    return f"{name}:make"


def lost_mid_run(folder: Path, command: list[str]) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in a child whose Prefect API (logging to it on, as a real server's
    default) is lost while 'writer' waits; its end."""
    proxy = Proxy(int(shared_api_url().rsplit(":", 1)[1].split("/")[0]))
    environment = child_env(folder / "home")
    calls, lost = folder / "calls.log", folder / "lost"
    environment.update(
        PREFECT_API_URL=f"http://127.0.0.1:{proxy.port}/api",
        PREFECT_LOGGING_TO_API_ENABLED="true",
        PREFECT_CLIENT_MAX_RETRIES="0",  # the loss told at once, not after retries
        CALLS=str(calls),
        LOST=str(lost),
        PYTHONPATH=os.pathsep.join([str(folder), environment["PYTHONPATH"]]),
    )
    child = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=folder,
        env=environment,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while "writer" not in (calls.read_text("utf-8") if calls.exists() else ""):
            assert child.poll() is None and time.monotonic() < deadline, child.communicate()
            time.sleep(0.02)
        proxy.lose()
        lost.write_text("lost", "utf-8")
        out, err = child.communicate(timeout=120)
    finally:
        proxy.lose()
        if child.poll() is None:
            child.kill()
            child.communicate()
    return subprocess.CompletedProcess(command, child.returncode, out, err)


def said_in_one_line(done: subprocess.CompletedProcess[str], prog: str, port: str) -> None:
    assert done.returncode == 1, done.stderr[-3000:]
    assert done.stderr.count("\n") == 1, done.stderr[-3000:]  # no traceback, no Prefect noise
    assert done.stderr.startswith(
        f"{prog}: PrefectUnavailableError: The Prefect API at http://127.0.0.1:{port}/api "
        "stopped answering during the run ("
    )
    assert "; completed before it: plan, writer. Check that it is up" in done.stderr


@pytest.mark.slow
def test_a_generated_flow_whose_server_is_lost_says_it_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled = PrefectBackend().compile(PIPELINE.to_ir())
    config = PrefectWorkerConfig("lost", "local", provider=provider_module(tmp_path, monkeypatch))
    (tmp_path / "flow.py").write_text(generate_flow_code(compiled, config), "utf-8")
    command = [sys.executable, "flow.py", "run", "--state", '{"topic": "owls"}']
    done = lost_mid_run(tmp_path, command)
    port = done.stderr.partition("127.0.0.1:")[2].partition("/")[0]
    said_in_one_line(done, "flow.py", port)


@pytest.mark.slow
def test_irgraph_run_whose_prefect_server_is_lost_says_it_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = provider_module(tmp_path, monkeypatch)
    (tmp_path / "pipe.py").write_text(
        "from tests.test_prefect_leftovers import PIPELINE as pipeline\n", "utf-8"
    )
    command = [
        *(sys.executable, "-m", "irgraph.cli", "run", "pipe.py:pipeline", "--backend", "prefect"),
        *("--provider", spec, "--state", "topic=owls", "--run-key", uuid.uuid4().hex),
    ]
    done = lost_mid_run(tmp_path, command)
    port = done.stderr.partition("127.0.0.1:")[2].partition("/")[0]
    said_in_one_line(done, "irgraph", port)
