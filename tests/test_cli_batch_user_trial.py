"""A new user's trial of ``irgraph batch``, following docs/cli.md's example on a data set of
20 lines with the fake model: a run interrupted with Ctrl-C, then the inputs edited (lines
reordered, one removed from the middle, one given twice, a bad line added and then fixed, the
removed line given back), resumed after each edit. Nothing paid for is paid again, and the
results file holds each line's result once, under its index."""

from __future__ import annotations

import collections
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from irgraph.cli_batch_inputs import line_key
from tests.support.modules import importable

ROOT = Path(__file__).resolve().parents[1]
MODULE = "irgraph_cli_batch_user_trial_provider"
PROVIDER = """
import asyncio
import os

from irgraph.testing import FakeProvider


class Logged(FakeProvider):
    async def complete(self, request):
        if request.agent == "researcher":
            topic = request.prompt.removeprefix("Research ").removesuffix(".")
            if topic == "hold" and "HOLD_FD" in os.environ:  # the test presses Ctrl-C now
                os.write(int(os.environ["HOLD_FD"]), b"held")
                await asyncio.Event().wait()
            with open("paid.log", "a") as log:
                log.write(topic + "\\n")
        return await super().complete(request)


def provider():
    return Logged()
"""
TOPICS = [f"topic {i}" for i in range(20)]
TOPICS[9] = "hold"
CHILD = (
    "import signal, sys\n"
    "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
    "from irgraph.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def documented_command() -> list[str]:
    """docs/cli.md's ``irgraph batch`` example, as written, with the logging fake model."""
    text = (ROOT / "docs" / "cli.md").read_text()
    section = text[text.index("## irgraph batch") :]
    command = re.search(r"^(irgraph batch .*)$", section, re.M)
    assert command is not None
    return [*command.group(1).split()[1:], "--provider", f"{MODULE}:provider"]


def write(here: Path, lines: list[str]) -> None:
    (here / "topics.jsonl").write_text("".join(f"{line}\n" for line in lines))


def line(topic: str) -> str:
    return json.dumps({"topic": topic})


def paid(here: Path) -> collections.Counter[str]:
    log = here / "paid.log"
    return collections.Counter(log.read_text().splitlines() if log.exists() else [])


def results(here: Path) -> dict[int, dict[str, object]]:
    """The results by index, checking no index is given twice."""
    records = [json.loads(text) for text in (here / "results.jsonl").read_text().splitlines()]
    found = {record["index"]: record for record in records}
    assert len(found) == len(records), sorted(record["index"] for record in records)
    return found


def run(here: Path, argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CHILD, *argv], cwd=here, capture_output=True, text=True, timeout=120
    )


def check_in_place(here: Path, lines: list[str]) -> dict[int, dict[str, object]]:
    """Each line of the inputs has its completed result under its index; returns them all."""
    found = results(here)
    for index, text in enumerate(lines):
        assert found[index]["key"] == line_key(text) and "state" in found[index], index
    return found


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process")
def test_a_new_users_interrupted_and_edited_batch_pays_for_nothing_twice(tmp_path, monkeypatch):
    importable(tmp_path, monkeypatch, MODULE, PROVIDER)
    here = tmp_path
    argv = documented_command()
    lines = [line(topic) for topic in TOPICS]
    write(here, lines)
    held, holding = os.pipe()
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, *argv],
        cwd=here,
        env={**os.environ, "HOLD_FD": str(holding)},
        pass_fds=(holding,),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.close(holding)
    assert os.read(held, 4) == b"held"  # the item 'hold' waits: Ctrl-C
    os.close(held)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert stdout.startswith("Interrupted: ") and "Re-run the same command to resume." in stdout
    first = results(here)
    done = {json.loads(lines[i])["topic"] for i, r in first.items() if "state" in r}
    assert "hold" not in done and len(done) >= 2  # the items before it had time to complete
    once = {topic: 1 for topic in done}  # paid once; an item cut short starts over
    assert {topic: paid(here)[topic] for topic in done} == once

    # Reordered, a line with a result removed from the middle, one given twice, a bad line.
    removed, doubled = [i for i in range(1, 19) if TOPICS[i] in done][:2]
    edited = [lines[19], *lines[1:removed], *lines[removed + 1 : 19], lines[0], lines[doubled]]
    edited.insert(5, '{"topic": "bad",}')
    write(here, edited)
    again = run(here, argv)
    assert again.returncode == 1 and "1 failed" in again.stdout, again.stderr
    assert "is not valid JSON" in again.stderr
    # the line given twice runs its second copy (a sample more); the others resume
    assert {topic: paid(here)[topic] for topic in done} == {**once, TOPICS[doubled]: 2}

    edited[5] = line("fixed")
    write(here, edited)
    before = paid(here)
    again = run(here, argv)
    assert again.returncode == 0 and "1 done, 0 failed" in again.stdout, again.stderr
    assert paid(here) - before == collections.Counter(["fixed"])
    check_in_place(here, edited)

    write(here, lines)  # as it was: the removed line given back, the edits undone
    before = paid(here)
    again = run(here, argv)
    assert again.returncode == 0 and "0 done, 0 failed, 20 resumed" in again.stdout, again.stderr
    assert paid(here) == before
    found = check_in_place(here, lines)
    kept = sorted(json.dumps(r["state"], sort_keys=True) for r in found.values())
    assert len(kept) == len(set(kept))  # each result once
    assert "keeps the result" in again.stderr  # "fixed" and the second copy, past the end
