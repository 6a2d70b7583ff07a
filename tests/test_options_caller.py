"""A misspelt option names the function the user called: arun() for arun, run() for run."""

from __future__ import annotations

import asyncio

import pytest

from irgraph import Agent, IrgraphError, arun, run
from irgraph.testing import FakeProvider

PIPELINE = Agent("a").instruct("Hi.")


def test_arun_names_itself():
    with pytest.raises(IrgraphError, match=r"^arun\(\) got the option 'timout'.*'timeout'"):
        asyncio.run(arun(PIPELINE, provider=FakeProvider(), timout=3))


def test_run_names_itself():
    with pytest.raises(IrgraphError, match=r"^run\(\) got the option 'timout'.*'timeout'"):
        run(PIPELINE, provider=FakeProvider(), timout=3)
