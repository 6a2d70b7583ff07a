"""A state key given as a keyword of run(), arun(), run_many() or a builder's ask()
(``ask(topic="owls")``) is refused saying to give it in the state, where ask() said the
pipeline reads a key nobody writes and run() called it an option its backend does not take."""

from __future__ import annotations

import asyncio

import pytest

from irgraph import Agent, arun, run, run_many
from irgraph.errors import ArgumentError
from irgraph.testing import FakeProvider

POET = Agent("poet").instruct("Write about {topic}.")


@pytest.mark.parametrize(
    ("call", "caller", "given"),
    [
        (lambda: POET.ask(topic="owls", provider=FakeProvider()), "'poet'.ask()", "state="),
        (lambda: run(POET, provider=FakeProvider(), topic="owls"), "run()", "state="),
        (
            lambda: run(POET, state={}, provider=FakeProvider(), topic="owls"),
            "run()",
            "state=",
        ),
        (
            lambda: asyncio.run(arun(POET, provider=FakeProvider(), topic="owls")),
            "arun()",
            "state=",
        ),
        (
            lambda: list(run_many(POET, [{}], provider=FakeProvider(), topic="owls")),
            "run_many()",
            "each state of states=[",
        ),
    ],
)
def test_a_state_key_given_as_a_keyword_is_told_to_go_in_the_state(call, caller, given):
    with pytest.raises(ArgumentError) as info:
        call()
    assert str(info.value) == (
        f"{caller} got topic=..., which is no option of it: 'topic' is a key the pipeline "
        f"reads from its state, given in {given}{{'topic': ...}}"
        + (", ...]." if caller == "run_many()" else ".")
    )


def test_an_optional_read_given_as_a_keyword_is_told_so_too():
    agent = Agent("poet").instruct("Write about owls. {notes?}")
    with pytest.raises(ArgumentError, match="'notes' is a key the pipeline reads"):
        agent.ask(notes="short", provider=FakeProvider())


def test_an_option_no_step_reads_is_still_an_option_the_backend_does_not_take():
    with pytest.raises(ArgumentError, match="the 'asyncio' backend does not take"):
        run(POET, state={"topic": "owls"}, provider=FakeProvider(), colour="red")
