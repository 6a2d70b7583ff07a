"""A template's field read (``{verdict.reason}``) of a key only the initial state gives is
checked against the value given before any node runs, as a route's field is: a value that is
no object, or lacks a required field, is a ``PipelineError`` naming the node, the template, the
key, the field and the keys the value had, on ``run``, ``arun``, ``run_many`` and the command
line; a value a step writes is still checked when the reader runs (a ``RunError``)."""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

import pytest

from irgraph import Agent, Loop, PipelineError, Route, RunError, Transform, arun, run, run_many
from irgraph.cli import main
from irgraph.testing import FakeProvider

FIXER = Agent("fixer").instruct("Fix {ticket}: {verdict.reason}.").writes("fixed")
PIPELINE = Agent("plan").instruct("Plan {ticket}.").writes("plan") >> FIXER


class Verdict:
    """Stands for a pydantic model: what a template refuses is anything with ``model_dump``."""

    def model_dump(self) -> dict[str, Any]:
        return {"reason": "r"}


@pytest.mark.parametrize(
    ("verdict", "said", "hint"),
    [
        ({"other": 1}, "the initial state's 'verdict' has no field 'reason' (its keys: 'other')",
         "Give 'verdict' a 'reason' field, or write {verdict.reason?} in 'fixer'"),
        ("plain text", "'verdict' holds str 'plain text', not an object with fields",
         "--state-json '{\"verdict\": {...}}'), or read 'verdict' whole as {verdict}"),
        ('{"reason": "r"}', "the JSON text of an object, not the object",
         "--state-json '{\"verdict\": {\"reason\": \"r\"}}', not --state"),
        ({"reason": None}, "the initial state's 'verdict.reason' holds None",
         "write {verdict.reason?} in 'fixer' to render it as empty text when it is missing or"),
        (["r"], "the initial state's 'verdict' holds list ['r'], not an object", "{verdict}"),
        (Verdict(), "'verdict' holds a Verdict model, not a JSON object", ".model_dump()"),
    ],
)  # fmt: skip
def test_an_initial_value_the_field_read_fails_is_refused_before_any_call(
    verdict: Any, said: str, hint: str
) -> None:
    """run(p, state={'verdict': 'plain text'}) paid for 'plan', then failed at 'fixer'."""
    provider = FakeProvider()
    with pytest.raises(PipelineError) as refused:
        run(PIPELINE, provider=provider, state={"ticket": "t", "verdict": verdict})
    error = refused.value
    assert (error.node, error.key) == ("fixer", "verdict") and provider.calls == []
    assert str(error).startswith(
        "The instruction of 'fixer' reads {verdict.reason}, the field 'reason' of 'verdict', "
        "but the initial state's "
    )
    assert said in str(error) and "so the run would fail there" in str(error)
    assert hint in error.problems[0].hint


def test_arun_refuses_it_too_and_a_fitting_value_runs() -> None:
    provider = FakeProvider()
    with pytest.raises(PipelineError, match="has no field 'reason'"):
        asyncio.run(arun(PIPELINE, provider=provider, state={"ticket": "t", "verdict": {}}))
    assert provider.calls == []
    done = run(PIPELINE, provider=provider, state={"ticket": "t", "verdict": {"reason": "r"}})
    assert provider.calls[-1].prompt == "Fix t: r." and "fixed" in done.state


def test_an_optional_read_allows_a_missing_field_but_not_a_value_with_no_fields() -> None:
    optional = Agent("fixer").instruct("Fix [{verdict.meta.source?}].").writes("fixed")
    provider = FakeProvider()
    for verdict in ({}, {"meta": None}, {"meta": {}}, {"meta": {"source": None}}):
        run(optional, provider=provider, state={"verdict": verdict})
        assert provider.calls[-1].prompt == "Fix []."
    wrong = (("text", "'verdict' holds str"), ({"meta": 3}, "'verdict.meta' holds int"))
    for verdict, seen in wrong:
        with pytest.raises(PipelineError) as refused:
            run(optional, provider=provider, state={"verdict": verdict})
        assert "reads {verdict.meta.source?}, the field 'meta.source' of 'verdict'" in str(
            refused.value
        )
        assert seen in str(refused.value) and "not an object with fields" in str(refused.value)


def test_every_field_and_text_is_told_at_once_and_a_value_with_no_fields_once() -> None:
    both = Agent("w").instruct("{verdict.reason} {verdict.category}").system("As {verdict.role}.")
    with pytest.raises(PipelineError) as refused:
        run(both, provider=FakeProvider(), state={"verdict": {"category": "bug"}})
    said = [problem.message for problem in refused.value.problems]
    assert len(said) == 2 and "reads {verdict.reason}" in said[0]
    assert said[1].startswith("The system prompt of 'w' reads {verdict.role}")
    with pytest.raises(PipelineError) as refused:
        run(both, provider=FakeProvider(), state={"verdict": "bug"})
    assert len(refused.value.problems) == 1


def test_a_gate_message_reading_a_field_is_checked_too() -> None:
    from irgraph import Gate

    gate = Gate("approve", "Ship {verdict.reason}?").writes("ok")
    with pytest.raises(PipelineError, match="The message of 'approve' reads {verdict.reason}"):
        run(gate, provider=FakeProvider(), state={"verdict": {}}, on_gate=lambda r: "y")


def copied(raw: Any) -> Any:
    return raw


def test_a_value_a_step_writes_is_left_to_the_run() -> None:
    """The read never sees the initial value: the key a step writes is known only as it runs."""
    write = Transform("write", copied).reads("raw").writes("verdict")
    provider = FakeProvider()
    state = {"ticket": "t", "raw": {"other": 1}, "verdict": "ignored"}
    with pytest.raises(RunError) as failed:
        run(write >> PIPELINE, provider=provider, state=state)
    assert failed.value.node == "fixer" and "'verdict' has no field 'reason'" in str(failed.value)


def test_a_loop_whose_body_writes_the_key_later_still_reads_the_initial_value_first() -> None:
    body = FIXER >> Transform("again", copied).reads("fixed").writes("verdict")
    with pytest.raises(PipelineError, match="the initial state's 'verdict' holds str"):
        run(Loop("L").step(body).max_iterations(2), state={"ticket": "t", "verdict": "x"})


def test_a_reader_no_run_may_reach_is_left_to_the_run_as_a_route_is() -> None:
    """In a route's branch the reader may never run (another branch reads the text whole)."""
    whole = Agent("raw").instruct("{verdict}")
    route = Route("r").on("kind").when("object", FIXER).otherwise(whole)
    state = {"kind": "text", "verdict": "x", "ticket": "t"}
    assert run(route, provider=FakeProvider(), state=state).outputs["r"] == "otherwise"
    with pytest.raises(RunError, match="'verdict' holds str 'x'"):
        run(route, provider=FakeProvider(), state={**state, "kind": "object"})


def test_run_many_refuses_the_item_alone() -> None:
    states = [{"ticket": "a", "verdict": {"reason": "r"}}, {"ticket": "b", "verdict": "r"}]
    provider = FakeProvider()
    items = sorted(run_many(PIPELINE, states, provider=provider), key=lambda item: item.index)
    assert items[0].ok and isinstance(items[1].error, PipelineError)
    assert "'verdict' holds str 'r'" in str(items[1].error)
    assert [call.agent for call in provider.calls] == ["plan", "fixer"]


TARGET = "tests.test_template_initial_values:PIPELINE"


def test_irgraph_run_says_so_without_running(capsys: pytest.CaptureFixture[str]) -> None:
    out = io.StringIO()
    code = main(["run", TARGET, "--state", "ticket=t", "--state", 'verdict={"reason": "r"}'],
                out=out)  # fmt: skip
    err = capsys.readouterr().err  # the command line's mistake: exit 2, as for a route's value
    assert code == 2 and err.startswith("irgraph: error: The instruction of 'fixer' reads")
    assert '--state-json \'{"verdict": {"reason": "r"}}\'' in err
    assert "started" not in out.getvalue()
    state = '{"ticket": "t", "verdict": {"reason": "r"}}'
    assert main(["run", TARGET, "--state-json", state], out=io.StringIO()) == 0


def test_irgraph_check_refuses_the_values_run_would_refuse(capsys: pytest.CaptureFixture[str]):
    given = ["--input", "ticket", "--state-json"]
    code = main(["check", TARGET, *given, '{"verdict": {"other": 1}}'], out=io.StringIO())
    assert code == 1 and "'verdict' has no field 'reason' (its keys: 'other')" in (
        capsys.readouterr().err
    )
    out = io.StringIO()
    code = main(["check", TARGET, *given, '{"verdict": {"reason": "r"}}'], out=out)
    assert code == 0 and "OK: no problems found." in out.getvalue()


def test_irgraph_run_missing_a_key_read_by_field_is_told_the_object_to_give(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``irgraph run`` without 'verdict' said to add ``--state verdict=VALUE``, which gives
    text, which the same command then refuses for ``{verdict.reason}``; it now writes the
    ``--state-json`` object, its required field named, and pasted as written it runs."""
    code = main(["run", TARGET, "--state", "ticket=t"], out=io.StringIO())
    err = capsys.readouterr().err
    assert code == 2 and "--state verdict=" not in err
    given = err.split("add ", 1)[1].split(" (", 1)[0]
    assert given == '--state-json \'{"verdict": {"reason": "..."}}\''
    state = '{"ticket": "t", "verdict": {"reason": "..."}}'  # the object it names, filled in
    assert main(["run", TARGET, "--state-json", state], out=io.StringIO()) == 0


def test_irgraph_check_missing_a_key_read_by_field_is_told_the_object_to_give(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``irgraph check`` without 'verdict' said to give it with ``--state verdict=...``, text
    the check then refuses for ``{verdict.reason}``, as ``irgraph run`` did; it now writes the
    ``--state-json`` object, and pasted as written the check passes."""
    assert main(["check", TARGET, "--state", "ticket=t"], out=io.StringIO()) == 1
    err = capsys.readouterr().err
    assert "--state verdict=" not in err
    given = err.split("give it an object with ", 1)[1].split(" (", 1)[0]
    assert given == '--state-json \'{"verdict": {"reason": "..."}}\''
    pasted = ["--state-json", '{"verdict": {"reason": "..."}}']
    assert main(["check", TARGET, "--state", "ticket=t", *pasted], out=io.StringIO()) == 0


def test_irgraph_batch_tells_a_lines_value_to_write_the_object_in_the_line(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """An inputs line whose 'verdict' is text (or an object's JSON text) was told what to give
    ``run()`` and the command line's ``--state-json``, options a batch's line has not; it is
    now told the object to write in the line, and the line so written runs."""
    inputs = tmp_path / "in.jsonl"
    lines = [{"ticket": "t", "verdict": "r"}, {"ticket": "t", "verdict": '{"reason": "r"}'}]
    inputs.write_text("".join(json.dumps(line) + "\n" for line in lines))
    out = tmp_path / "out.jsonl"
    assert main(["batch", TARGET, str(inputs), "-o", str(out), "--provider", "fake"]) == 1
    said = [json.loads(line)["error"]["message"] for line in out.read_text().splitlines()]
    assert all("--state" not in text and "state=" not in text for text in said), said
    assert 'e.g. {"verdict": {...}} in the inputs line' in said[0]
    assert 'not its JSON text: {"verdict": {"reason": "r"}} in the inputs line.' in said[1]
    inputs.write_text(json.dumps({"ticket": "t", "verdict": {"reason": "r"}}) + "\n")
    fixed = tmp_path / "fixed.jsonl"
    assert main(["batch", TARGET, str(inputs), "-o", str(fixed), "--provider", "fake"]) == 0
    capsys.readouterr()


def test_a_field_missing_at_the_run_names_the_fix_wherever_the_value_came_from() -> None:
    """A reader in a route's branch, left to the run, failed on an initial value without the
    field saying to give 'the writer of verdict' an output schema: there was no writer (nor,
    for a transform's value, any schema to give). The hint now names the field to give."""
    route = (
        Route("r").on("kind").when("object", FIXER).otherwise(Agent("raw").instruct("{verdict}"))
    )
    state = {"kind": "object", "verdict": {"other": 1}, "ticket": "t"}
    with pytest.raises(RunError) as failed:
        run(route, provider=FakeProvider(), state=state)
    said = str(failed.value)
    assert "give 'verdict' a 'reason' field (in the initial state" in said
    assert "give the writer" not in said
