"""Items that completed together, stopped by a Ctrl-C as the first of them is handed over: the
others were lost (not handed over, not in the interrupt's ``partial.results``, and not written
to ``irgraph batch``'s results file, so running again paid for them twice).

The Ctrl-C is ``_thread.interrupt_main()`` from the model's second call, once the main thread
waits for the next item: it is noticed when that wait ends, i.e. as the first item is handed
over, with the second completed beside it (both answers come at once)."""

from __future__ import annotations

import importlib
import json

import pytest

from irgraph import run_many, thread_done
from tests.support.batch_dir import batch_dir, batch_in

MODULE = "irgraph_batch_stop_late_pipelines"
SOURCE = """
import _thread, asyncio, sys, threading
from irgraph import thread_done
from irgraph import Agent

pipeline = Agent("w").instruct("Write {topic}.").writes("text")


class BothAtOnce:
    \"\"\"Answers the two items' calls together, after a Ctrl-C that the main thread notices
    as it gets the first item.\"\"\"

    def __init__(self):
        self.asked = []
        self.both = None

    async def complete(self, request):
        self.asked.append(request.prompt)
        if self.both is None:
            self.both = asyncio.Event()
        if len(self.asked) == 2:
            main = threading.main_thread()
            while sys._current_frames()[main.ident].f_code.co_filename != thread_done.__file__:
                await asyncio.sleep(0.001)
            _thread.interrupt_main()
            self.both.set()
        await self.both.wait()
        return "text"


made = []


def both_at_once():
    made.append(BothAtOnce())
    return made[-1]
"""
TOPICS = ["owls", "bats"]


@pytest.fixture
def here(tmp_path, monkeypatch):
    # The main thread's wait looks for a Ctrl-C every LOOK seconds; were a look to fall
    # between the model's interrupt_main() and its answers microseconds later, the Ctrl-C
    # would be noticed before the items end, which this test is not about. A look is taken
    # only after LOOK seconds of waiting, far longer than the model takes here.
    monkeypatch.setattr(thread_done, "LOOK", 30.0)
    return batch_dir(tmp_path, monkeypatch, MODULE, SOURCE, TOPICS)


def test_items_completed_beside_the_one_handed_over_are_in_the_interrupts_record(here):
    module = importlib.import_module(MODULE)
    items = [{"topic": topic} for topic in TOPICS]
    handed = []
    with pytest.raises(KeyboardInterrupt) as stop:
        for item in run_many(module.pipeline, items, provider=module.both_at_once()):
            handed.append(item.index)
    late = stop.value.partial.results  # type: ignore[attr-defined]
    assert all(item.ok for item in late)
    assert sorted(handed + [item.index for item in late]) == [0, 1]


def test_irgraph_batch_writes_them_so_running_again_pays_for_none(here, capsys):
    provider = ["--provider", f"{MODULE}:both_at_once"]
    assert batch_in(f"{MODULE}:pipeline", "-o", "out.jsonl", *provider)[0] == 130
    lines = [json.loads(line) for line in (here / "out.jsonl").read_text().splitlines()]
    assert sorted(line["index"] for line in lines if "state" in line) == [0, 1]
    made = importlib.import_module(MODULE).made
    code, text = batch_in(f"{MODULE}:pipeline", "-o", "out.jsonl", *provider)
    assert code == 0 and "0 done, 0 failed, 2 resumed" in text, text
    assert len(made) == 2 and made[1].asked == []  # nothing asked again
