"""``RunError.completed_nodes`` on the Prefect backends: each node that finished once, in the
order it first finished, where ``completed`` holds a map-over's step once per item; on the
in-process backend, from a generated flow, and from a work-pool item's record.

Runs are real Prefect runs on this process's temporary server.
"""

from __future__ import annotations

import pickle
import uuid
from pathlib import Path

import pytest

from irgraph import RunError, run
from irgraph.backends.prefect_backend import PrefectBackend
from irgraph.backends.prefect_chunk_errors import failed_on_pool
from irgraph.backends.prefect_chunks import item_outcome
from irgraph.backends.prefect_worker import PrefectWorkerConfig, generate_flow_code
from irgraph.graph import to_graph
from irgraph.run import run_coroutine
from tests.support.prefect_env import ensure_prefect_test_env
from tests.support.resume_worker import load_flow_module, with_provider
from tests.test_run_error_completed import failing_map_over, failing_provider

pytestmark = pytest.mark.prefect
ensure_prefect_test_env()

EXECUTIONS = ["a", "s", "s", "s", "m"]
NODES = ("a", "s", "m")


def failure_of(call: object) -> RunError:
    with pytest.raises(RunError) as raised:
        call()  # type: ignore[operator]
    return raised.value


def test_the_in_process_prefect_backend_names_each_completed_node_once() -> None:
    backend = PrefectBackend(provider=failing_provider())
    error = failure_of(lambda: run(failing_map_over(), backend=backend))
    assert error.node == "f" and error.completed == EXECUTIONS
    assert error.completed_nodes == NODES
    # A work-pool item's failure, carried to the sender as plain data, says the same.
    sent = pickle.loads(pickle.dumps(item_outcome(0, error=error)))["error"]
    back = failed_on_pool(0, sent, to_graph(failing_map_over()))
    assert back.completed == EXECUTIONS and back.completed_nodes == NODES


def test_a_generated_flow_names_each_completed_node_once(tmp_path: Path) -> None:
    compiled = PrefectBackend().compile(failing_map_over().to_ir())
    path = tmp_path / "nodes.py"
    path.write_text(generate_flow_code(compiled, PrefectWorkerConfig("nodes", "local")), "utf-8")
    module = load_flow_module(path, f"nodes_{uuid.uuid4().hex[:8]}")
    flow = with_provider(module, failing_provider()).nodes_flow
    error = failure_of(lambda: run_coroutine(flow({})))
    assert error.node == "f" and error.completed == EXECUTIONS
    assert error.completed_nodes == NODES
