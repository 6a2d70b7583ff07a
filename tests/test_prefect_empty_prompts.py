"""An instruction that renders empty at run time is warned of on the Prefect backends too, once
per agent per run: in process, and in a generated flow (each flow run warns again).

Runs are real Prefect runs on this process's temporary server.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from irgraph import run
from irgraph.backends.prefect_backend import PrefectBackend
from irgraph.backends.prefect_worker import PrefectWorkerConfig, generate_flow_code
from irgraph.run import run_coroutine
from tests.support.prefect_env import ensure_prefect_test_env
from tests.support.resume_worker import load_flow_module, with_provider
from tests.test_empty_prompts import each_item_unnoted, fake, told

pytestmark = pytest.mark.prefect
ensure_prefect_test_env()

FIRST = (
    "Agent 'b' was sent an empty prompt: its instruction '{note?}' reads 'note' only if set, "
    "and this run's state holds no value for it."
)


def test_the_in_process_prefect_backend_warns_of_an_empty_prompt_once_per_agent() -> None:
    said = told(lambda: run(each_item_unnoted(), backend=PrefectBackend(), provider=fake()))
    assert len(said) == 2 and said[0].startswith(FIRST), said
    assert said[1].startswith("Agent 'c' was sent an empty prompt")


def test_a_generated_flow_warns_of_an_empty_prompt_once_per_agent_per_flow_run(
    tmp_path: Path,
) -> None:
    compiled = PrefectBackend().compile(each_item_unnoted().to_ir())
    path = tmp_path / "unnoted.py"
    path.write_text(generate_flow_code(compiled, PrefectWorkerConfig("unnoted", "local")), "utf-8")
    module = load_flow_module(path, f"unnoted_{uuid.uuid4().hex[:8]}")
    flow = with_provider(module, fake()).unnoted_flow
    said = told(lambda: run_coroutine(flow({})))
    assert len(said) == 2 and said[0].startswith(FIRST), said
    assert told(lambda: run_coroutine(flow({}))) == said
    assert told(lambda: run_coroutine(flow({"note": "Be brief."}))) == []
