"""A whole number too large for a float (``10**400``, which JSON holds and Python builds) is
refused as any out-of-range number is, with a ``PipelineError`` naming where it was given,
wherever a number enters: ``math.isfinite`` raised ``OverflowError`` from inside irgraph for
it. In an output schema, where it is a bound like any other, it is taken."""

from __future__ import annotations

import json

import pytest

from irgraph import Agent, Gate, PipelineError, Transform, run
from irgraph.ir import from_json
from irgraph.testing import FakeProvider

HUGE = 10**400


def _file(root: dict[str, object]) -> str:
    return json.dumps({"format": "irgraph-ir", "version": 1, "root": root})


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Agent("a").timeout(HUGE), r"'a'\.timeout\(\) must be a positive, finite number"),
        (lambda: Gate("g", "Go?").timeout(-HUGE), r"'g'\.timeout\(\) must be a positive"),
        (lambda: Transform("t", len).timeout(HUGE), r"'t'\.timeout\(\) must be a positive"),
        (lambda: FakeProvider(latency=HUGE), "FakeProvider's latency must be a finite number"),
        (
            lambda: run(Agent("a").instruct("Hi."), provider=FakeProvider(), timeout=HUGE),
            "The run option timeout must be a positive, finite number",
        ),
        (
            lambda: Agent("a").settings(temperature=HUGE),
            "The setting temperature of 'a' must be a number from 0 to 2",
        ),
        (
            lambda: from_json(_file({"kind": "AgentNode", "name": "a", "timeout": HUGE})),
            "The timeout of AgentNode 'a' must be a positive, finite number",
        ),
    ],
)
def test_a_number_too_large_for_a_float_is_refused_naming_where(make, message):
    with pytest.raises(PipelineError, match=message) as caught:
        make()
    assert "digits" in str(caught.value)  # said by its size, not its 400 digits
    assert "0000000000" not in str(caught.value)


def test_a_number_past_pythons_digit_limit_is_said_by_its_size():
    with pytest.raises(PipelineError, match=r"\(got a number of 5000\+ digits of type int\)"):
        Agent("a").timeout(10**5000)  # repr() of it raises ValueError in Python 3.11+


def test_a_huge_whole_number_is_a_schema_bound_like_any_other():
    bounded = Agent("a").instruct("Count.").output({"type": "number", "maximum": HUGE})
    assert run(bounded.writes("n"), provider=FakeProvider()).state["n"] <= HUGE
    with pytest.raises(PipelineError, match="asks for an integer above"):
        Agent("a").output(
            {"type": "integer", "exclusiveMinimum": HUGE, "exclusiveMaximum": HUGE + 1}
        )


def test_an_openai_provider_temperature_too_large_for_a_float_is_refused():
    from irgraph.openai_provider import OpenAIProvider
    from irgraph.providers import ProviderError

    with pytest.raises(ProviderError, match=r"temperature must be a finite number.*400\+ digits"):
        OpenAIProvider("llama3", base_url="http://127.0.0.1:9/v1", api_key="k", temperature=HUGE)


def test_a_kept_batch_item_whose_call_times_are_too_large_keeps_no_calls():
    from irgraph.batch_calls import kept_calls

    call = ["a", [], "Hi.", "Hello.", None, 1, 0.0, HUGE, None, None, 0.0]
    assert kept_calls({"calls": [call], "gates": []}) == ([], [])
    call[7] = 1.0  # the same record with a time a float holds is kept
    assert len(kept_calls({"calls": [call], "gates": []})[0]) == 1
