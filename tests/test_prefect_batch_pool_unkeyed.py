"""``irgraph batch --work-pool`` without ``--batch-key`` says at its start what a ``kill -9``
would cost: the chunks it sent go on running on the workers, and the same command run again
can neither find them (their tag names no batch) nor reuse their agents' answers (its run keys
are new in each process), so it sends their items again and every model call of theirs is
paid twice. A keyed batch cancels them and reuses the answers; the note names that fix. (The
behaviour after the kill itself needs a real pool and worker:
tests/test_prefect_batch_pool_orphans.py covers the keyed batch.)"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import pytest

from irgraph.cli_batch_options import unkeyed_pool_note


def args(**given: object) -> argparse.Namespace:
    return argparse.Namespace(**{"work_pool": None, "batch_key": None, **given})


def test_only_an_unkeyed_batch_on_a_work_pool_gets_the_note():
    assert unkeyed_pool_note(args()) is None  # here: killed, it leaves nothing running
    assert unkeyed_pool_note(args(batch_key="evals-v1")) is None
    assert unkeyed_pool_note(args(work_pool="gpu", batch_key="evals-v1")) is None
    said = unkeyed_pool_note(args(work_pool="gpu"))
    assert said is not None and "--work-pool gpu without --batch-key" in said
    assert "kill -9" in said and "--batch-key KEY" in said and "paid twice" in said


@pytest.mark.prefect
@pytest.mark.slow
def test_the_command_says_it_on_standard_error_before_it_sends_anything(tmp_path):
    from tests.support.prefect_env import subprocess_env

    (tmp_path / "in.jsonl").write_text(json.dumps({"topic": "owls"}) + "\n")
    env = subprocess_env(os.fspath(tmp_path / "home"))
    env["PREFECT_API_URL"] = "http://127.0.0.1:9/api"  # nothing listens: it stops at the check
    argv = ["batch", "irgraph.demo:research_pipeline", "in.jsonl", "-o", "out.jsonl"]
    done = subprocess.run(
        [sys.executable, "-m", "irgraph.cli", *argv, "--backend", "prefect", "--work-pool", "gpu"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = done.stderr.splitlines()
    assert lines[0] == f"irgraph: {unkeyed_pool_note(args(work_pool='gpu'))}", done.stderr
    assert "Cannot reach the Prefect API at http://127.0.0.1:9/api" in done.stderr
    assert not (tmp_path / "out.jsonl").exists() or not (tmp_path / "out.jsonl").read_text()
