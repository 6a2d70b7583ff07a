"""``irgraph batch -o`` that is not a regular file is refused before any item runs.

``-o /dev/stdout | jq ...`` (to see the results as they come) hung for good: the command
reads its results file back to resume, and on a pipe that read waits for its own output. A
FIFO hung the same way and ``/dev/null`` took a lock file in ``/dev``. Such an ``-o`` is now
a mistake on the command line (exit 2) saying why, and how to follow the results instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from irgraph.cli_batch_results import check_output
from irgraph.cli_inputs import CliError


def test_results_piped_through_dev_stdout_are_refused_not_waited_for(tmp_path):
    (tmp_path / "in.jsonl").write_text(json.dumps({"topic": "owls"}) + "\n")
    argv = ["batch", "irgraph.demo:research_pipeline", "in.jsonl", "-o", "/dev/stdout"]
    proc = subprocess.run(  # its standard output a pipe, as under | jq
        [sys.executable, "-m", "irgraph.cli", *argv],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert "-o '/dev/stdout' is not a regular file (a pipe" in proc.stderr
    assert "follow them as they come with tail -f results.jsonl" in proc.stderr
    assert proc.stdout == ""


def test_a_fifo_or_a_device_is_refused_as_results_file(tmp_path):
    fifo = tmp_path / "results.jsonl"
    os.mkfifo(fifo)
    for path in (str(fifo), os.devnull):
        with pytest.raises(CliError, match="is not a regular file"):
            check_output(path, str(tmp_path / "in.jsonl"))
