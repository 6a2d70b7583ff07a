"""``irgraph batch --work-pool`` without ``--batch-key`` is named by its results file: its
chunks' tag and its items' run keys come from the file's real path and the *generation* its
lock file keeps (:func:`irgraph.cli_batch_lock.output_lock`). A command that ends in any
way but killed outright removes the lock file, so the next one is a new batch (its items run
afresh); one killed by ``kill -9`` leaves it, and the same command run again finds the chunks
the killed one left (tests/test_prefect_batch_pool_orphans.py runs that on a real pool)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from irgraph.cli_batch_lock import output_lock
from irgraph.cli_batch_options import named_by_output


def args(**given: object) -> argparse.Namespace:
    return argparse.Namespace(
        **{"work_pool": None, "batch_key": None, "output": "out.jsonl", **given}
    )


def named(given: argparse.Namespace, generation: str = "0" * 32) -> object:
    from irgraph.backends.prefect_orphans import SENDING_FOR

    with named_by_output(given, generation):
        return SENDING_FOR.get()


def test_only_an_unkeyed_batch_on_a_work_pool_is_named_by_its_results_file(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    assert named(args()) is None  # here: killed, it leaves nothing running
    assert named(args(work_pool="gpu", batch_key="evals-v1")) is None  # named by its store
    mine = named(args(work_pool="gpu"))
    assert mine is not None
    assert named(args(work_pool="gpu", output=str(tmp_path / "sub/../out.jsonl"))) == mine
    assert named(args(work_pool="other", output="./out.jsonl")) == mine  # the file names it
    assert named(args(work_pool="gpu", output="sub/out.jsonl")) != mine
    assert named(args(work_pool="gpu"), "1" * 32) != mine  # another generation
    from irgraph.backends.prefect_orphans import SENDING_FOR

    assert SENDING_FOR.get() is None  # only while the batch runs


def test_the_results_files_generation_outlives_only_a_command_killed_outright(
    tmp_path: Path,
) -> None:
    out = str(tmp_path / "out.jsonl")
    with output_lock(out) as first:
        pass
    with output_lock(out) as second:
        pass
    first, second = first.generation, second.generation
    assert first != second  # each ended: a new batch each time
    killed = subprocess.run(  # holds the lock and ends without letting go of it, as kill -9
        [
            sys.executable,
            "-c",
            "import os; from irgraph.cli_batch_lock import output_lock; "
            f"held = output_lock({out!r}); print(held.__enter__().generation, flush=True); "
            "os._exit(9)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert killed.returncode == 9, killed.stderr
    with output_lock(out) as again:
        assert again.generation == killed.stdout.strip()
    with output_lock(out) as after:
        assert after.generation != again.generation
