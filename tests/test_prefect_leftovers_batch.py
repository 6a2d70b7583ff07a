"""``python flow.py run-batch`` (a generated module's batch command, what a work pool's
worker runs) ends a mistake or a lost server in one line, as ``python flow.py run`` and
``irgraph run`` do.

Before, items that were no list of items reached Prefect, which refused them in a traceback
(exit code 1), and a ``PREFECT_API_URL`` that does not answer ended in Prefect's traceback too.
Now the items are refused as the command line is read (one line, exit code 2, the item and
what an item holds), and an unreachable server is the line ``run`` says (exit code 2).
"""

from __future__ import annotations

import json
import socket
import uuid
from pathlib import Path

import pytest

from irgraph.backends.prefect_flow_command import read_command
from tests.support.prefect_env import ensure_prefect_test_env
from tests.support.resume_worker import load_flow_module
from tests.test_prefect_logs import flow_module

ITEM = '{"index": 0, "state": {"topic": "owls"}, "run_key": "k0"}'


@pytest.mark.parametrize(
    ("items", "said"),
    [
        (
            '{"a": 1}',
            f"--items must be a JSON list of items, not an object; e.g. --items '[{ITEM}]'",
        ),
        (
            "[1]",
            f"--items' item 0 is a number (1), not an item; give each as an object, e.g. {ITEM}",
        ),
        (
            '[{"index": 0, "stat": {}}]',
            "--items' item 0 has the key 'stat', which an item does not take; an item takes "
            f"'index', 'state', 'run_key', e.g. {ITEM}",
        ),
        (
            '[{"index": 0, "state": {}}, {"index": 1, "state": [1]}]',
            "--items' item 1's state is a list, not an object of state keys to values; e.g. "
            f"{ITEM}",
        ),
        ('[{"run_key": ""}]', "--items' item 0's run_key is \"\"; give a non-empty string"),
    ],
)
def test_run_batch_refuses_what_is_no_list_of_items_in_one_line(
    items: str, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as ended:
        read_command(["run-batch", "--items", items], ("topic",), {}, None)
    assert ended.value.code == 2
    err = capsys.readouterr().err
    assert f": error: {said}" in err and err.count("\n") == 1, err


@pytest.mark.prefect
def test_run_batch_says_a_server_that_does_not_answer_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ensure_prefect_test_env()
    from prefect.settings import PREFECT_API_URL, temporary_settings

    module = load_flow_module(flow_module(tmp_path, "fake"), f"batch_{uuid.uuid4().hex[:8]}")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/api"
    items = json.dumps([{"index": 0, "state": {"ticket": "owls"}}])
    with temporary_settings({PREFECT_API_URL: url}):
        with pytest.raises(SystemExit) as ended:
            module.main(["run-batch", "--items", items])
    assert ended.value.code == 2  # as run refuses it, and deploying to it
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert f": error: cannot reach the Prefect API at {url} (from PREFECT_API_URL): " in err
    assert "nothing ran. Start the server (prefect server start)" in err
