"""An outside trial of model settings: a setting an earlier ``.settings(...)`` call gave can be
removed with ``None`` (a copy of an agent drops its original's seed), where ``None`` was
refused with the hint "leave it out", which a setting already given cannot follow; and a
misspelt setting in a saved pipeline is a ``validate`` warning, where only the builder warned;
and a provider answering a parsed value (a dict, a pydantic model) is told to return its JSON
text."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from irgraph import Agent, PipelineError, RunError, run, to_graph, validate
from irgraph.cli import main
from irgraph.ir import from_json, to_json
from irgraph.testing import FakeProvider

BASE = Agent("writer").instruct("Write {topic}.").settings(temperature=0.7, seed=3, top_k=40)


def test_a_setting_given_none_is_removed_from_the_earlier_ones() -> None:
    assert BASE.settings(seed=None).to_ir().settings == {"temperature": 0.7, "top_k": 40}
    assert BASE.settings(top_k=None, temperature=None).to_ir().settings == {"seed": 3}
    assert BASE.to_ir().settings == {"temperature": 0.7, "seed": 3, "top_k": 40}  # no aliasing


def test_removing_every_setting_gives_the_agent_without_settings() -> None:
    bare = Agent("writer").instruct("Write {topic}.")
    cleared = BASE.settings(temperature=None, seed=None, top_k=None)
    assert cleared.to_ir() == bare.to_ir()
    assert to_graph(cleared).nodes["writer"]["settings"] == {}


def test_the_request_carries_the_settings_left() -> None:
    fake = FakeProvider()
    run(BASE.settings(seed=None), provider=fake, state={"topic": "owls"})
    assert fake.calls[0].settings == {"temperature": 0.7, "top_k": 40}


def test_a_setting_irgraph_sets_itself_is_still_refused_when_given_none() -> None:
    with pytest.raises(PipelineError, match="cannot take the setting 'model'"):
        BASE.settings(model=None)


def test_a_misspelt_setting_in_a_saved_pipeline_is_a_validate_warning(tmp_path: Path) -> None:
    """A file (or a graph edited by hand) is never built through ``.settings()``, which warns
    where the name is written: ``validate`` and ``irgraph check`` say it instead."""
    saved = to_json(Agent("writer").instruct("Write {topic}.").to_ir())
    document = json.loads(saved)
    document["root"]["settings"] = {"temprature": 0.2, "top_k": 40}
    path = tmp_path / "pipeline.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    warned = validate(to_graph(from_json(path.read_text(encoding="utf-8")), inputs={"topic"}))
    assert len(warned) == 1
    assert "'writer' has the setting 'temprature'" in warned[0]
    assert "did you mean 'temperature'?" in warned[0]
    out = io.StringIO()
    assert main(["check", str(path), "--input", "topic"], out=out) == 0
    assert "did you mean 'temperature'?" in out.getvalue()


class ParsedAnswers:
    """A provider wrapping an SDK that parses a structured reply itself."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer

    async def complete(self, request: Any) -> Any:
        return self.answer


class Triage(BaseModel):
    category: str


@pytest.mark.parametrize("answer", [{"category": "bug"}, [1], Triage(category="bug")])
def test_a_parsed_answer_is_refused_with_the_json_text_to_return(answer: Any) -> None:
    agent = Agent("triage").instruct("Triage {ticket}.").output(Triage).writes("verdict")
    with pytest.raises(RunError) as caught:
        run(agent, provider=ParsedAnswers(answer), state={"ticket": "It crashes."})
    assert "ParsedAnswers.complete() must return a str: for a structured answer" in str(
        caught.value
    )
    assert "json.dumps(value)" in str(caught.value) and ".model_dump_json()" in str(caught.value)
