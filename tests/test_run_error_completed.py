"""What ``RunError.completed`` holds: one entry per node execution that finished, in the order
they finished, as its docstring says (a map-over's body node once per item)."""

from __future__ import annotations

import json

import pytest

from irgraph import Agent, Loop, MapOver, RunError, run
from irgraph.backends.asyncio_backend import AsyncioBackend
from irgraph.builder import Builder
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


def failing_map_over() -> Builder:
    """A map-over whose every item completes, then a map-over over the same items whose step
    fails on each: ``completed`` holds 's' once per item, the failing one's step never."""
    each = Agent("s").instruct("{x}").writes("y")
    failing = Agent("f").instruct("{x}").writes("z")
    return (
        Agent("a").instruct("List.").output(LIST).writes("xs")
        >> MapOver("m").over("xs", item="x").step(each).writes("ys")
        >> MapOver("n").over("xs", item="x").step(failing).writes("zs")
    )


def failing_provider() -> FakeProvider:
    return FakeProvider(responses={"a": json.dumps(["1", "2", "3"])}, fail={"f": 9})


@pytest.mark.parametrize("schedule", ["topological", "dataflow"])
def test_completed_nodes_names_each_node_once_in_the_order_it_first_finished(
    schedule: str,
) -> None:
    with pytest.raises(RunError) as raised:
        backend = AsyncioBackend(schedule=schedule)
        run(failing_map_over(), backend=backend, provider=failing_provider())
    error = raised.value
    assert error.node == "f" and error.completed == ["a", "s", "s", "s", "m"]
    assert error.completed_nodes == ("a", "s", "m")


def test_completed_nodes_follows_completed_whoever_sets_it() -> None:
    error = RunError("boom", completed=["b", "a", "b"])
    assert error.completed_nodes == ("b", "a")
    error.completed = ["c", "c"]  # as a backend hands on its progress
    assert error.completed_nodes == ("c",)
    assert RunError("nothing ran").completed_nodes == ()
