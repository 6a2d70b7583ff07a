"""An agent with ``.output(schema)`` and no ``.writes(key)`` that a step follows pays for a
structured answer nothing keeps: ``validate`` and ``irgraph check`` warn, naming the agent and
the ``.writes(...)`` that keeps it; the last step, whose answer is the run's output, does not."""

from __future__ import annotations

import io
from pathlib import Path

from irgraph import Agent, Route, run, to_graph, validate
from irgraph.cli import main
from irgraph.testing import FakeProvider

SCHEMA = {"type": "object", "properties": {"score": {"type": "integer"}}}


def unkept(pipeline: object) -> list[str]:
    return [w for w in validate(to_graph(pipeline)) if "writes to no state key" in w]


def test_a_structured_answer_nothing_keeps_mid_pipeline_is_a_warning_naming_the_agent():
    p = Agent("score").instruct("Score it.").output(SCHEMA) >> Agent("w").instruct("Write.")
    assert validate(to_graph(p)) == [
        "Agent 'score' answers with a structured value (.output(...)) that it writes to no "
        "state key, so no later step (such as 'w') can read it; add .writes('score') to keep "
        "it, or drop .output(...) if nothing needs the answer."
    ]


def test_the_last_agents_structured_answer_is_the_run_output_so_no_warning():
    p = Agent("w").instruct("Write.") >> Agent("score").instruct("Score it.").output(SCHEMA)
    assert validate(to_graph(p)) == []
    result = run(p, provider=FakeProvider(responses={"score": ['{"score": 3}']}))
    assert result.output == {"score": 3}


def test_an_agent_without_an_output_schema_is_not_warned_about():
    assert validate(to_graph(Agent("a").instruct("Go.") >> Agent("b").instruct("Go."))) == []


def test_a_written_structured_answer_is_not_warned_about():
    score = Agent("score").instruct("Score it.").output(SCHEMA).writes("score")
    p = score >> Agent("w").instruct("Use {score}.")
    assert validate(to_graph(p)) == []


def test_the_last_step_of_a_scope_or_branch_warns_when_something_follows_the_scope():
    body = Agent("draft").instruct("Draft.") >> Agent("grade").output(SCHEMA)
    assert len(unkept(body * 2 >> Agent("w"))) == 1
    assert unkept(body * 2) == []
    fan = Agent("a") | Agent("judge").output(SCHEMA)
    assert "Agent 'judge'" in unkept(fan >> Agent("w"))[0]
    assert unkept(fan) == []
    route = Route("r").on("k").when("x", Agent("pick").output(SCHEMA)).otherwise(Agent("o"))
    assert "(such as 'w')" in unkept(Agent("k").writes("k") >> route >> Agent("w"))[0]
    assert unkept(Agent("k").writes("k") >> route) == []


def test_irgraph_check_prints_the_warning(tmp_path: Path):
    module = tmp_path / "unkept_pipeline.py"
    module.write_text(
        "from irgraph import Agent\n"
        f"SCHEMA = {SCHEMA!r}\n"
        "p = Agent('score my text').output(SCHEMA) >> Agent('w').instruct('Write.')\n"
    )
    out = io.StringIO()
    assert main(["check", f"{module}:p"], out=out) == 0
    text = out.getvalue()
    assert "warning: Agent 'score my text' answers with a structured value" in text
    assert "add .writes('score_my_text') to keep it" in text
