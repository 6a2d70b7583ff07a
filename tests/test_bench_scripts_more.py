"""The Prefect benchmark script runs to its table with tiny sizes, as every other script
under ``bench/`` does in tests/test_bench_scripts.py: a file of its own, so that two xdist
workers share the benchmark scripts' longest runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_bench_scripts import runs_to_its_table


@pytest.mark.prefect
@pytest.mark.slow
def test_the_prefect_benchmark_script_runs_to_its_table(tmp_path: Path) -> None:
    runs_to_its_table(
        ["prefect_chain.py", "--agents", "2", "--width", "2", "--repeats", "1"], tmp_path
    )
