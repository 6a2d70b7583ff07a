"""Findings of the fifth outside trial of ``run_many``: a gate with no handler paid for every
item's agents before failing each; a mistyped option was "run()'s"; an empty store spread
itself over the current directory; a refused item's BatchError had an empty state; a keyed
batch gave a real provider the answers FakeProvider had made up."""

from __future__ import annotations

import pytest

from irgraph import Agent, Gate, IrgraphError, PipelineError, run_many
from irgraph.batch import BatchError
from irgraph.testing import FakeProvider

WRITER = Agent("writer").instruct("Draft {topic}.").writes("draft")
GATED = WRITER >> Gate("approve", "Publish {draft}?").writes("verdict")
STATES = [{"topic": "owls"}, {"topic": "bats"}]


class Real:
    """A provider that does not make its answers up (as a real model's would be)."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def complete(self, request):
        self.asked.append(request.prompt)
        return f"real: {request.prompt}"


def test_a_gate_without_a_handler_is_refused_before_any_item_runs():
    fake = FakeProvider()
    with pytest.raises(PipelineError) as caught:
        run_many(GATED, STATES, provider=fake)
    assert "gate 'approve'" in str(caught.value) and "on_gate=handler to run_many()" in str(
        caught.value
    )
    assert fake.calls == []
    items = list(run_many(GATED, STATES, provider=fake, on_gate=lambda request: "yes"))
    assert [item.state["verdict"] for item in items] == ["yes", "yes"]


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"max_concurency": 3}, "run_many() got the option 'max_concurency'"),
        ({"max_concurrency": 0}, "The run_many() argument max_concurrency must be"),
        ({"batch_key": " "}, "Name the batch, e.g. batch_key='evals-v1'"),
        ({"batch_key": "s", "store": ""}, "run_many()'s store is an empty path"),
    ],
)
def test_a_bad_option_is_refused_in_run_manys_words(tmp_path, monkeypatch, options, words):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(IrgraphError) as caught:
        list(run_many(WRITER, STATES, provider=FakeProvider(), **options))
    assert words in str(caught.value)
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_an_item_refused_before_it_ran_stops_the_batch_at_its_initial_state():
    with pytest.raises(BatchError) as caught:
        list(run_many(WRITER, [{"topc": "owls"}], provider=FakeProvider(), fail_fast=True))
    assert caught.value.state == {"topc": "owls"}


def test_a_keyed_batch_gives_a_real_provider_none_of_the_made_up_answers(tmp_path):
    store = tmp_path / "store"
    made_up = list(run_many(WRITER, STATES, provider=FakeProvider(), batch_key="k", store=store))
    assert all(item.ok and not item.resumed for item in made_up)
    real = Real()
    items = sorted(
        run_many(WRITER, STATES, provider=real, batch_key="k", store=store), key=lambda i: i.index
    )
    assert [item.resumed for item in items] == [False, False]
    assert [item.state["draft"] for item in items] == ["real: Draft owls.", "real: Draft bats."]
    assert len(real.asked) == 2
    # The real answers serve a later run with FakeProvider, and a real one.
    for provider in (FakeProvider(), Real()):
        again = list(run_many(WRITER, STATES, provider=provider, batch_key="k", store=store))
        assert all(item.resumed for item in again)
        assert {item.state["draft"] for item in again} == {"real: Draft owls.", "real: Draft bats."}
