"""An option a backend takes when it is made, given to run() instead, is told to go to the
backend (the README's schedule="dataflow"), not called an option the backend does not take."""

from __future__ import annotations

import pytest

from irgraph import Agent, arun, run
from irgraph.backends.asyncio_backend import AsyncioBackend
from irgraph.errors import IrgraphError
from irgraph.run import run_coroutine
from irgraph.testing import FakeProvider

pipeline = Agent("researcher").instruct("Research {topic}.").writes("findings")
owls = {"topic": "owls"}


def test_schedule_given_to_run_is_told_to_go_to_the_backend():
    with pytest.raises(IrgraphError) as info:
        run(pipeline, provider=FakeProvider(), state=owls, schedule="dataflow")
    said = str(info.value)
    assert said.startswith(
        "run() got the option 'schedule', which the 'asyncio' backend takes when it is made, "
        "not for each run: pass backend=AsyncioBackend(schedule=...) (from "
        "irgraph.backends.asyncio_backend import AsyncioBackend). Its run options: on_event, "
    ), said
    backend = AsyncioBackend(provider=FakeProvider(), schedule="dataflow")
    assert run(pipeline, backend=backend, state=owls).state["findings"]


def test_arun_says_the_same_and_an_option_of_neither_is_still_unknown():
    with pytest.raises(
        IrgraphError,
        match=r"^arun\(\) got the option 'schedule', which the 'asyncio' backend takes when it "
        r"is made",
    ):
        run_coroutine(arun(pipeline, provider=FakeProvider(), state=owls, schedule="dataflow"))
    with pytest.raises(IrgraphError, match=r"'colour', which the 'asyncio' backend does not take"):
        run(pipeline, provider=FakeProvider(), state=owls, colour="red")
