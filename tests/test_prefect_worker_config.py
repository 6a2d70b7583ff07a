"""PrefectWorkerConfig's mistakes are IrgraphErrors that name the fix: a misspelt option gets
the nearest one, a missing argument an example, a near miss of a provider spec the spec meant."""

from __future__ import annotations

import attrs
import pytest

from irgraph import IrgraphError, PipelineError
from irgraph.backends.prefect_worker import PrefectWorkerConfig
from irgraph.errors import ArgumentError


def test_a_misspelt_option_is_an_irgraph_error_with_the_nearest_option():
    with pytest.raises(IrgraphError) as caught:
        PrefectWorkerConfig("notes", work_pool="pool", provder="fake")
    assert isinstance(caught.value, ArgumentError)  # irgraph's, and a TypeError as Python's
    said = str(caught.value)
    assert "PrefectWorkerConfig() got the option 'provder'" in said
    assert "Did you mean 'provider'?" in said


def test_a_missing_work_pool_is_an_irgraph_error_with_an_example():
    with pytest.raises(IrgraphError, match="missing a required argument: 'work_pool'; e.g. "):
        PrefectWorkerConfig("notes")


def test_positional_and_keyword_options_and_evolve_still_work():
    config = PrefectWorkerConfig("notes", "pool", 2, provider="openai:gpt-4o-mini")
    assert (config.work_pool, config.task_retries, config.deployment_name) == ("pool", 2, "notes")
    assert attrs.evolve(config, flow_retries=1).flow_retries == 1


@pytest.mark.parametrize(
    ("spec", "meant"),
    [("fak", "fake"), ("opnai:gpt-4o", "openai:gpt-4o"), ("opena:gpt-4o", "openai:gpt-4o")],
)
def test_a_near_miss_of_a_provider_spec_suggests_the_spec_meant(spec, meant):
    with pytest.raises(PipelineError, match=f"Did you mean '{meant}'"):
        PrefectWorkerConfig("notes", work_pool="pool", provider=spec)


def test_an_api_key_gets_no_suggestion_that_repeats_it():
    with pytest.raises(PipelineError) as caught:
        PrefectWorkerConfig("notes", work_pool="pool", provider="sk-opena1234")
    assert "sk-" not in str(caught.value) and "Did you mean" not in str(caught.value)
