"""What ``RunError.completed`` holds: one entry per node execution that finished, in the order
they finished, as its docstring says (a map-over's body node once per item)."""

from __future__ import annotations

import json

import pytest

from irgraph import Agent, Loop, MapOver, RunError, run
from irgraph.testing import FakeProvider

LIST = {"type": "array", "items": {"type": "string"}}


def test_completed_names_a_map_over_body_node_once_per_item_then_the_map_over() -> None:
    body = Agent("s").instruct("{x}").writes("y")
    pipeline = (
        Agent("a").instruct("List.").output(LIST).writes("xs")
        >> MapOver("m").over("xs", item="x").step(body).writes("ys")
        >> Agent("z").instruct("{ys}")
    )
    fake = FakeProvider(responses={"a": json.dumps(["1", "2", "3"])}, fail={"z": 1})
    with pytest.raises(RunError) as raised:
        run(pipeline, provider=fake)
    assert raised.value.completed == ["a", "s", "s", "s", "m"]
    assert "once per item" in (RunError.__doc__ or "")


def test_completed_names_a_loop_body_node_once_per_iteration() -> None:
    body = Agent("s").instruct("Go.").writes("y")
    pipeline = Loop("l").step(body).max_iterations(2) >> Agent("z").instruct("{y}")
    with pytest.raises(RunError) as raised:
        run(pipeline, provider=FakeProvider(fail={"z": 1}))
    assert raised.value.completed == ["s", "s", "l"]
    assert "once per" in (RunError.__doc__ or "") and "iteration" in (RunError.__doc__ or "")
