"""A work-pool item's failure travels from the worker with the record of its run
(:mod:`irgraph.backends.prefect_chunk_errors`): the sender's ``RunError`` shows the run as
the worker's did; a record that is not whole gives the plain error, not a wrong view.
(tests/test_prefect_batch_pool_orphans.py sends one through a real pool.)"""

from __future__ import annotations

import pickle

import pytest

from irgraph import Agent, RunError, run
from irgraph.backends.prefect_chunk_errors import failed_on_pool
from irgraph.backends.prefect_chunks import item_outcome
from irgraph.graph import to_graph
from irgraph.testing import FakeProvider

CHAIN = Agent("draft").instruct("Draft about {topic}.").writes("draft") >> Agent("check").instruct(
    "Check {draft}."
).writes("checked")


def failed() -> RunError:
    with pytest.raises(RunError) as raised:
        run(CHAIN, provider=FakeProvider(fail={"check": 1}), state={"topic": "owls"})
    return raised.value


def test_the_senders_error_shows_the_run_the_worker_recorded() -> None:
    error = failed()
    sent = pickle.loads(pickle.dumps(item_outcome(3, error=error)))["error"]  # as stored
    back = failed_on_pool(3, sent, to_graph(CHAIN))
    assert str(back).startswith("Item 3 failed on the work pool: Node 'check' failed")
    assert (back.node, back.completed, back.state) == (error.node, error.completed, error.state)
    assert (back.trace, back.calls, back.outputs) == (list(error.trace), error.calls, error.outputs)
    assert back.ended == error.ended and back.graph is not None
    # the same view, but for the first line of the message
    assert str(back.view()).splitlines()[2:] == str(error.view()).splitlines()[2:]


@pytest.mark.parametrize(
    "broken",
    [
        {"trace": "no events"},
        {"calls": [["draft"]]},
        {"node": 3},
        {"outputs": ["draft"]},
        {"path": [["loop"]]},
    ],
)
def test_a_record_that_is_not_whole_gives_the_plain_error(broken: dict[str, object]) -> None:
    sent = item_outcome(3, error=failed())["error"]
    sent["record"] = {**sent["record"], **broken}
    back = failed_on_pool(3, sent, to_graph(CHAIN))
    assert str(back) == f"Item 3 failed on the work pool: {sent['message']}"
    assert (back.trace, back.calls, back.node, back.completed) == (None, [], None, [])
