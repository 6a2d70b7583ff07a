"""``new_request``, the scheduler's quick way to make a ``ModelRequest`` (issue 20), makes the
very request the class's own ``__init__`` makes: every field, equality, repr, evolve,
and the frozen class's refusal to change."""

from __future__ import annotations

from types import MappingProxyType

import attrs
import pytest

from irgraph.providers import ModelRequest, new_request

CASES = [
    ("a", "a", "Hi.", None, {}, "", {}, None),
    ("w", "writer", "Write {x}", "gpt", {"x": 1}, "Be brief.", {"temperature": 0.2}, None),
    ("c", "critic", "", None, {"k": [1]}, "", {}, {"type": "object"}),
]


@pytest.mark.parametrize("args", CASES)
def test_new_request_is_the_request_init_makes(args):
    node, agent, prompt, model, state, system, settings, schema = args
    quick = new_request(
        node, agent, prompt, model, MappingProxyType(state), system, settings, schema
    )
    made = ModelRequest(
        node,
        agent,
        prompt,
        model,
        MappingProxyType(state),
        system=system,
        settings=settings,
        output_schema=schema,
    )
    assert attrs.asdict(quick) == attrs.asdict(made)
    assert [f.name for f in attrs.fields(ModelRequest)] == list(attrs.asdict(quick))
    assert quick == made and repr(quick) == repr(made)
    assert (quick.attempt, quick.feedback) == (1, None)
    again = attrs.evolve(quick, attempt=2, feedback="not JSON")
    assert (again.prompt, again.attempt, again.feedback) == (prompt, 2, "not JSON")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        quick.prompt = "changed"  # type: ignore[misc]


@pytest.mark.parametrize("args", CASES)
def test_a_request_can_be_pickled_deep_copied_and_hashed(args):
    """A provider that caches answers or hands a request to another process needs these;
    the read-only state view (a mappingproxy) and the settings dict refused all three."""
    import copy
    import pickle

    node, agent, prompt, model, state, system, settings, schema = args
    request = new_request(
        node, agent, prompt, model, MappingProxyType(state), system, settings, schema
    )
    for again in (pickle.loads(pickle.dumps(request)), copy.deepcopy(request)):
        assert again == request and hash(again) == hash(request)
        assert dict(again.state) == state and isinstance(again.state, MappingProxyType)
        assert again.settings == settings and again.output_schema == schema
    deep = copy.deepcopy(request)
    if state:  # nested values are copies, not shared
        (key,) = state
        assert deep.state[key] == state[key]
        assert not isinstance(state[key], list) or deep.state[key] is not state[key]
    assert {request: "answer"}[attrs.evolve(request)] == "answer"
    assert attrs.evolve(request, attempt=2) not in {request}
