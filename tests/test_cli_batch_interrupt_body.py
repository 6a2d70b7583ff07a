"""A Ctrl-C that lands in the batch loop's own body, as a result is written, not while it
waits for the next item: the items that completed beside it (and the one in hand) were lost
without a ``--batch-key``, so running again paid for them twice.

The items' model calls answer together, so every item completes before the first is handed
over; the Ctrl-C is raised where ``irgraph batch`` builds the first result line (before it is
written) or right after it wrote it."""

from __future__ import annotations

import contextlib
import importlib
import json

import pytest

import irgraph.cli_batch as cli_batch
from irgraph import run_many
from tests.support.batch_dir import batch_dir, batch_in

MODULE = "irgraph_cli_batch_interrupt_body"
SOURCE = """
import asyncio
from irgraph import Agent

pipeline = Agent("w").instruct("Write {topic}.").writes("text")


class AllAtOnce:
    \"\"\"Answers the calls of ``together`` items at once.\"\"\"

    def __init__(self, together):
        self.together = together
        self.asked = []
        self.all = None

    async def complete(self, request):
        self.asked.append(request.prompt)
        if self.all is None:
            self.all = asyncio.Event()
        if len(self.asked) == self.together:
            self.all.set()
        await self.all.wait()
        return "text"


made = []


def all_at_once():
    made.append(AllAtOnce(6))
    return made[-1]
"""
TOPICS = [f"t{i}" for i in range(6)]


@pytest.fixture
def here(tmp_path, monkeypatch):
    return batch_dir(tmp_path, monkeypatch, MODULE, SOURCE, TOPICS)


def interrupt_once(monkeypatch: pytest.MonkeyPatch, name: str, owner: object) -> None:
    """Make the first call of ``owner.name`` raise KeyboardInterrupt (after it ran, for
    ``stop_early``: the line is written by then), as a Ctrl-C landing there would."""
    real = getattr(owner, name)
    calls = []

    def landing(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 1 and name != "stop_early":
            raise KeyboardInterrupt
        done = real(*args, **kwargs)
        if len(calls) == 1:
            raise KeyboardInterrupt
        return done

    monkeypatch.setattr(owner, name, landing)


@pytest.mark.parametrize(
    ("name", "owner"),
    [("result_record", cli_batch), ("stop_early", cli_batch._Batch)],
    ids=["before-the-line-is-written", "after-it-is-written"],
)
def test_a_ctrl_c_in_the_loop_keeps_every_completed_item(here, monkeypatch, name, owner):
    provider = ["--provider", f"{MODULE}:all_at_once", "--max-items", "6"]
    with monkeypatch.context() as patched:
        interrupt_once(patched, name, owner)
        code, text = batch_in(f"{MODULE}:pipeline", "-o", "out.jsonl", *provider)
    assert code == 130 and "Interrupted: 6 done" in text, text
    lines = [json.loads(line) for line in (here / "out.jsonl").read_text().splitlines()]
    assert sorted(line["index"] for line in lines) == list(range(6))  # each once, whole
    assert all("state" in line for line in lines)
    code, text = batch_in(f"{MODULE}:pipeline", "-o", "out.jsonl", *provider)
    assert code == 0 and "0 done, 0 failed, 6 resumed" in text, text
    made = importlib.import_module(MODULE).made
    assert len(made) == 2 and made[1].asked == []  # nothing paid twice


def test_closing_run_many_in_a_ctrl_c_gives_it_the_items_completed_beside(here):
    module = importlib.import_module(MODULE)
    items = [{"topic": topic} for topic in TOPICS]
    handed = []
    with pytest.raises(KeyboardInterrupt) as stop:
        with contextlib.closing(
            run_many(module.pipeline, items, provider=module.all_at_once())
        ) as results:
            for item in results:
                handed.append(item.index)
                raise KeyboardInterrupt
    record = stop.value.partial  # type: ignore[attr-defined]
    assert record.handed == 1 and handed == [handed[0]]
    assert all(item.ok for item in record.results)
    assert sorted(handed + [item.index for item in record.results]) == list(range(6))
    assert "5 more completed as it stopped" in str(record)
