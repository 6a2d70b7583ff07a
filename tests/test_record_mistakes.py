"""A run's records (Event, Call) read like a dict or made with arguments they do not take, and
an IR node's settings or output schema changed in place: each an ArgumentError that says what
to write, where Python's TypeError named no fix."""

from __future__ import annotations

import pickle

import pytest

from irgraph import Agent, run
from irgraph.errors import ArgumentError
from irgraph.events import Call, Event
from irgraph.ir.values import JsonObject
from irgraph.testing import FakeProvider


def test_an_event_read_like_a_dict_names_the_attribute_to_read():
    seen: list[Event] = []
    run(Agent("a").instruct("Hi.").writes("x"), provider=FakeProvider(), on_event=seen.append)
    event = seen[0]
    with pytest.raises(ArgumentError) as info:
        event["node"]
    assert str(info.value).startswith(
        "An Event is a named tuple, read by attribute: write event.node, not event['node'] "
        "(its fields: node, event, time, path, text; event._asdict() gives them as a dict)."
    )
    with pytest.raises(ArgumentError, match=r"'nod' is none of its fields; event\.node\?"):
        event["nod"]
    assert isinstance(info.value, TypeError)  # as Python's own was
    assert (event[0], event[1], event[-1], event[:2]) == ("a", "start", None, ("a", "start"))


def test_a_call_read_like_a_dict_names_the_attribute_to_read():
    result = run(Agent("a").instruct("Hi.").writes("x"), provider=FakeProvider())
    call = result.calls[0]
    with pytest.raises(ArgumentError, match=r"A Call is a named tuple.*write call\.prompt"):
        call["prompt"]
    assert call[2] == call.prompt == "Hi."


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (lambda: Event("a"), "Event() needs node, event and time, and got only node ('a')"),
        (lambda: Event("a", "start", 1.0, pth=()), "Did you mean 'path'?"),
        (lambda: Call("a"), "Call() needs node, path, prompt"),
    ],
)
def test_a_record_made_with_arguments_it_does_not_take_names_the_call(make, said):
    with pytest.raises(ArgumentError) as info:
        make()
    assert said in str(info.value)


def test_records_made_right_are_plain_named_tuples_still():
    event = Event("a", "end", 2.0, (("l", 1),))
    assert event == ("a", "end", 2.0, (("l", 1),), None)
    assert pickle.loads(pickle.dumps(event)) == event
    assert event._replace(node="b").node == "b"
    assert Event._make(("a", "end", 2.0, (), None)) == Event("a", "end", 2.0)


def test_an_ir_node_s_settings_changed_in_place_say_how_to_change_them():
    node = Agent("a").instruct("Hi.").settings(temperature=0.2).to_ir()
    with pytest.raises(ArgumentError) as info:
        node.settings["temperature"] = 0.5
    message = str(info.value)
    assert "('temperature' set to 0.5) is read-only" in message
    assert "attrs.evolve(node, settings={**node.settings, 'temperature': 0.5})" in message
    with pytest.raises(ArgumentError, match="'temperature' deleted"):
        del node.settings["temperature"]
    assert node.settings == {"temperature": 0.2}


def test_a_json_object_made_from_no_dict_says_what_it_takes():
    with pytest.raises(ArgumentError, match=r"made from a dict of JSON data \(got 3 of type int\)"):
        JsonObject(3)  # type: ignore[arg-type]
