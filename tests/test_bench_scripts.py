"""Every benchmark script under ``bench/`` runs to its table with tiny sizes: bench/README's
commands are how #20's numbers are checked, and a script broken by an API change would
otherwise be found only by whoever next measures. Nothing here is timed: a script's exit
status 1 is a MISS against its goal, which a tiny or loaded run may well print."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.prefect_db import seed_home
from tests.support.prefect_env import STARTUP_SECONDS

BENCH = Path(__file__).resolve().parent.parent / "bench"

#: Each script with arguments small enough for the suite (the ones that take no sizes run
#: their own quick mode).
RUNS = [
    ["chain_limit.py", "--agents", "20", "--repeats", "1"],
    ["fan_limit.py", "--width", "20", "--repeats", "1"],
    ["graph_build.py", "--runs", "1"],
    ["import_time.py", "--runs", "1"],
    ["memory.py", "--sizes", "100,200"],
    ["batch.py", "--quick", "--skip-prefect", "--items", "20"],
    # its quick mode still runs the 10 000-agent fan-out: slow enough to be handed out first
    pytest.param(["scheduler.py", "--quick"], marks=pytest.mark.slow),
    ["route_cases.py", "--sizes", "5,10", "--repeats", "1"],
]
# prefect_chain.py runs in tests/test_bench_scripts_more.py, so that another xdist worker
# shares this file's two longest scripts.


@pytest.mark.parametrize("command", RUNS, ids=lambda command: command[0])
def test_a_benchmark_script_runs_to_its_table(command: list[str], tmp_path: Path) -> None:
    runs_to_its_table(command, tmp_path)


def runs_to_its_table(command: list[str], tmp_path: Path) -> None:
    """Run ``bench/<command>`` and check it ends in its verdict or table, without a traceback."""
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect")}
    seed_home(env["PREFECT_HOME"])
    env["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = STARTUP_SECONDS  # a busy machine
    env.pop("PREFECT_API_URL", None)
    done = subprocess.run(
        [sys.executable, str(BENCH / command[0]), *command[1:]],
        cwd=BENCH.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,  # bounds a hang only
    )
    said = done.stdout + done.stderr
    assert done.returncode in (0, 1), said[-3000:]
    assert "Traceback" not in said, said[-3000:]
    # Each prints its goal's verdict, or (memory.py, which has no goal line) a table.
    verdicts = [
        line
        for line in done.stdout.splitlines()
        if "PASS" in line or "MISS" in line or line.count("|") >= 4
    ]
    assert verdicts, done.stdout[-3000:]


@pytest.mark.parametrize(
    ("workload", "variant"),
    [("chain", "task floor"), ("chain", "irgraph (arun)"), ("fan", "task + agent, per branch")],
)
def test_the_instruction_counts_child_runs_each_variant(workload: str, variant: str) -> None:
    """``instructions.py`` needs valgrind (slow, and not on every machine): what valgrind
    runs, one child's runs of a variant, is checked here without it."""
    done = subprocess.run(
        [sys.executable, str(BENCH / "instructions.py"), "--child", workload, variant, "5", "1"],
        cwd=BENCH.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0 and not done.stdout, done.stdout + done.stderr[-3000:]


def test_the_build_instruction_counts_child_runs_every_shape() -> None:
    """``build_instructions.py`` needs valgrind too: its child, each shape of
    ``graph_build.py`` built, made a graph of and validated, is checked here without it."""
    done = subprocess.run(
        [sys.executable, str(BENCH / "build_instructions.py"), "--child", "5", "1"],
        cwd=BENCH.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0 and not done.stdout, done.stdout + done.stderr[-3000:]
