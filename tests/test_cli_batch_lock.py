"""The lock file of ``irgraph batch -o`` keeps the record of a work-pool batch killed outright
until a command takes its chunks over (:mod:`irgraph.cli_batch_lock`).

A command on a work pool killed by ``kill -9`` leaves its chunks running on the workers; the
same command run again finds them by the generation its lock file keeps. A command run in
between that does not take them over (without ``--work-pool``, or under another batch key), or
one on the pool that ends before it looked for them (refused), used to remove that file, and
with it the only way to find them: the next command on the pool sent every item again and paid
twice. Such a command now keeps the file as it found it and says on standard error what may
still run and how to take it over. The killed commands here are processes that take the lock
as ``irgraph batch`` does and end with ``os._exit``, which lets go of it as ``kill -9`` does.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from irgraph.cli import main
from irgraph.cli_batch_lock import output_lock
from tests.support.prefect_env import free_port

PIPELINE = "irgraph.demo:research_pipeline"


def killed_on_pool(out: Path, pool: str, key: str | None) -> str:
    """The generation of a command on work pool ``pool`` (batch key ``key``) that held the
    results file ``out`` and was killed outright."""
    killed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os; from irgraph.cli_batch_lock import output_lock; "
            f"held = output_lock({str(out)!r}, {pool!r}, {key!r}); "
            "print(held.__enter__().generation, flush=True); os._exit(9)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert killed.returncode == 9, killed.stderr
    return killed.stdout.strip()


def batch(*argv: str) -> int:
    return main(["batch", PIPELINE, "in.jsonl", "-o", "out.jsonl", *argv], out=io.StringIO())


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    lines = [json.dumps({"topic": topic}) for topic in ("owls", "bats")]
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n")
    return tmp_path


@pytest.mark.parametrize("key", [None, "evals-v1"], ids=["unkeyed", "keyed"])
def test_a_command_not_on_the_pool_keeps_the_record_of_a_killed_pool_batch_and_says_so(
    here: Path, capsys: pytest.CaptureFixture[str], key: str | None
) -> None:
    left = killed_on_pool(here / "out.jsonl", "gpu", key)
    assert batch(*(() if key is None else ("--batch-key", key))) == 0  # run here, no pool
    said = capsys.readouterr().err
    assert said.startswith(
        f"irgraph: -o out.jsonl was last written by irgraph batch --work-pool gpu"
        f"{'' if key is None else ' --batch-key evals-v1'}, killed outright: chunks it sent "
        "may still be running on the pool's workers"
    ), said
    flags = "--work-pool gpu and no --batch-key" if key is None else "--work-pool gpu --batch-key"
    assert f"stop it (Ctrl-C) and run it with {flags}" in said, said
    assert "Their record stays in .out.jsonl.lock until a command does" in said, said
    assert len((here / "out.jsonl").read_text().splitlines()) == 2  # it ran its items
    # the command that takes the chunks over is named by the killed one's generation
    with output_lock(str(here / "out.jsonl"), "gpu", key) as taking:
        assert (taking.generation, taking.left, taking.note) == (left, None, None)
    assert not (here / ".out.jsonl.lock").exists()  # taken over: the next is a new batch


def test_a_command_under_another_batch_key_leaves_the_killed_ones_record_too(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    left = killed_on_pool(here / "out.jsonl", "gpu", None)
    with output_lock(str(here / "out.jsonl"), "gpu", "evals-v1") as other:
        assert (other.generation, other.left) == (left, ("gpu", None))
        assert other.note is not None and "--work-pool gpu and no --batch-key" in other.note
    with output_lock(str(here / "out.jsonl")) as here_only:
        assert (here_only.generation, here_only.left) == (left, ("gpu", None))


def test_a_command_on_the_pool_refused_before_it_looked_for_the_chunks_keeps_the_record(
    here: Path,
) -> None:
    left = killed_on_pool(here / "out.jsonl", "gpu", None)
    env = {**os.environ, "PREFECT_API_URL": f"http://127.0.0.1:{free_port()}/api"}  # no one
    refused = subprocess.run(  # the same command, its server down: refused as it starts
        [
            *(sys.executable, "-c", "import sys; from irgraph.cli import main; sys.exit(main())"),
            *("batch", PIPELINE, "in.jsonl", "-o", "out.jsonl", "--backend", "prefect"),
            *("--work-pool", "gpu", "--deployment", "chain/chain"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert refused.returncode == 2, refused.stderr  # refused before any item ran (docs/cli.md)
    assert refused.stderr.startswith("irgraph: error: Cannot reach the Prefect API at "), (
        refused.stderr
    )
    assert "killed outright" not in refused.stderr  # the same command: it would take them over
    with output_lock(str(here / "out.jsonl"), "gpu") as again:
        assert again.generation == left  # the next one still finds the chunks


def test_a_command_that_ends_removes_the_lock_file_and_records_the_pool_it_sends_to(
    tmp_path: Path,
) -> None:
    out = str(tmp_path / "out.jsonl")
    with output_lock(out, "gpu", "evals-v1") as held:
        recorded = (tmp_path / ".out.jsonl.lock").read_text().splitlines()
        assert recorded == [held.generation, '["gpu", "evals-v1"]']
    assert not (tmp_path / ".out.jsonl.lock").exists()
    with output_lock(out) as here_only:
        assert (tmp_path / ".out.jsonl.lock").read_text() == f"{here_only.generation}\n"
    assert not (tmp_path / ".out.jsonl.lock").exists()
