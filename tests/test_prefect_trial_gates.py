"""``resume_gate`` with a flow run id that names no run on the server, found by an outside
trial: it raised Prefect's ``ObjectNotFound`` whose message is "None"; now an IrgraphError
names the id and the server it asked, and where the right id comes from.

On this process's temporary server.
"""

from __future__ import annotations

import uuid

import pytest

from irgraph.backends.prefect_backend import resume_gate
from irgraph.errors import IrgraphError
from tests.support.prefect_env import ensure_prefect_test_env

pytestmark = pytest.mark.prefect
ensure_prefect_test_env()


def test_resuming_a_flow_run_the_server_does_not_have_names_the_run_and_the_server() -> None:
    missing = str(uuid.uuid4())
    with pytest.raises(IrgraphError) as raised:
        resume_gate(missing, "yes", timeout=30)
    said = str(raised.value)
    assert said.startswith(f"There is no flow run {missing} on "), said
    assert "so the answer was not given" in said and "Use the id on_paused is given" in said
