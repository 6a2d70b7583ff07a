"""A timed-out node's message, tried from outside: raising the run's timeout does not help a
node that has a timeout of its own, and the advice says so."""

from __future__ import annotations

import pytest

from irgraph import Agent, RunError, run
from irgraph.testing import hanging


def test_a_node_timeout_under_a_longer_run_timeout_does_not_advise_only_the_run_timeout():
    writer = Agent("writer").instruct("Write about {topic}.").writes("text").timeout(0.05)
    with pytest.raises(RunError) as caught:
        run(writer, provider=hanging(), state={"topic": "owls"}, timeout=600)
    assert caught.value.node == "writer"
    message = str(caught.value)
    assert "timeout of 0.05 s" in message
    assert "if the node has no .timeout() of its own" in message
    assert "a node's own timeout wins over the run's" in message
