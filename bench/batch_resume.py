"""Resume benchmark: ``irgraph batch`` run again over a big inputs file whose every item has a
result already, against a floor that reads each file once.

Two cases, each the whole command (``irgraph.cli.main``, the fake provider): the inputs as they
ran (every result resumes in place, no item runs), and the same inputs with one new line at the
top (every line moved one index down: each gets its kept result copied under its new index,
and the new line runs). Before each run the results file is put back as it was (not timed).

The floor is the least a resume can do: read the inputs once, hashing each line (the key a
result is kept by), read the results file once, parsing each line's JSON, and write it back
(the rewrite that drops what is not kept). Times are CPU seconds of this process
(``time.process_time``: the command waits for nothing), each the best of its rounds, the
variants interleaved; ratios are to the floor of the same run. Nothing asserts on time.

    .venv/bin/python bench/batch_resume.py [--lines N] [--repeats R] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

from irgraph.cli import main

from cli_args import positive
from timing import best_of

PIPELINE = """
from irgraph import Agent

pipeline = Agent("writer").instruct("Write about {topic}.").writes("text")
"""


def line_text(i: int) -> str:
    return json.dumps({"topic": f"topic number {i}", "notes": "x" * 40}) + "\n"


def prepare(folder: str, lines: int) -> tuple[str, str]:
    """Write the pipeline, the inputs and (by running one item, then writing the rest as that
    run wrote it) a results file holding every item's result; returns the two inputs files'
    names (as ran, one line more at the top) and the saved results file."""
    from irgraph.cli_batch_inputs import line_key

    with open(os.path.join(folder, "resume_pipeline.py"), "w") as file:
        file.write(PIPELINE)
    one = os.path.join(folder, "one.jsonl")
    with open(one, "w") as file:
        file.write(line_text(0))
    results = os.path.join(folder, "saved.jsonl")
    assert (
        main(["batch", "resume_pipeline.py:pipeline", one, "-o", results], out=io.StringIO()) == 0
    )
    with open(results) as file:
        first = json.loads(file.readline())
    inputs, moved = os.path.join(folder, "in.jsonl"), os.path.join(folder, "moved.jsonl")
    with open(inputs, "w") as ins, open(results, "w") as out:
        for i in range(lines):
            text = line_text(i)
            ins.write(text)
            state = {"topic": f"topic number {i}", "notes": "x" * 40, "text": f"<{i}>"}
            record = {**first, "index": i, "key": line_key(text), "state": state}
            out.write(json.dumps(record) + "\n")
    with open(moved, "w") as out, open(inputs) as ins:
        out.write(json.dumps({"topic": "a new first line"}) + "\n")
        shutil.copyfileobj(ins, out)
    return inputs, moved


def floor(inputs: str, output: str) -> None:
    """Each file read once: the inputs' lines hashed, the results' lines parsed and written."""
    with open(inputs, "rb") as file:
        for raw in file:
            hashlib.sha256(raw.strip()).hexdigest()
    with open(output, "rb") as file, open(output + ".tmp", "wb") as copy:
        for raw in file:
            json.loads(raw)
            copy.write(raw)
    os.replace(output + ".tmp", output)


def command(inputs: str, output: str) -> None:
    argv = ["batch", "resume_pipeline.py:pipeline", inputs, "-o", output]
    code = main(argv, out=io.StringIO())
    assert code == 0, f"irgraph batch exited {code}"


def restored(saved: str, output: str, work: Callable[[], None]) -> Callable[[], Awaitable[Any]]:
    """``work`` on a fresh copy of the saved results; the copy is made outside the clock."""

    async def run() -> None:
        shutil.copyfile(saved, output)
        started = time.process_time()
        work()
        taken.append(time.process_time() - started)

    taken: list[float] = []
    run.taken = taken  # type: ignore[attr-defined]
    return run


def main_bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=positive, default=200_000)
    parser.add_argument("--repeats", type=positive, default=5)
    parser.add_argument("--quick", action="store_true", help="20 000 lines, 3 rounds")
    args = parser.parse_args()
    lines, repeats = (20_000, 3) if args.quick else (args.lines, args.repeats)
    folder = tempfile.mkdtemp(prefix="irgraph-bench-resume-")
    here = os.getcwd()
    os.chdir(folder)
    sys.path.insert(0, folder)
    sys.stderr = io.StringIO()  # the progress lines and notes of every run
    try:
        inputs, moved = prepare(folder, lines)
        saved, output = os.path.join(folder, "saved.jsonl"), os.path.join(folder, "out.jsonl")
        variants = {
            "floor": restored(saved, output, lambda: floor(inputs, output)),
            "in place": restored(saved, output, lambda: command(inputs, output)),
            "one line at the top": restored(saved, output, lambda: command(moved, output)),
        }
        asyncio.run(best_of(variants, repeats, time.perf_counter))
        best = {name: min(run.taken) for name, run in variants.items()}  # type: ignore[attr-defined]
    finally:
        sys.stderr = sys.__stderr__
        os.chdir(here)
        shutil.rmtree(folder, ignore_errors=True)
    print(f"irgraph batch resuming {lines} lines, CPU seconds, best of {repeats}")
    print(f"{'case':<22}{'seconds':>10}{'x floor':>10}{'us/line':>10}")
    for name, seconds in best.items():
        ratio = seconds / best["floor"]
        print(f"{name:<22}{seconds:>10.3f}{ratio:>9.2f}x{seconds / lines * 1e6:>10.2f}")


if __name__ == "__main__":
    main_bench()
