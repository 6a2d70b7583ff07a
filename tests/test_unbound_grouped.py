"""A key no step writes and the state does not give, read by two nodes, was two problems ("2
problems found in the pipeline", one per reader): one mistake counted twice, on ``validate``,
``run()``, a batch line and the command line. It is one problem naming every reader, carrying
what it is about as data (``readers``, the ``fields`` of the key they read, the path a map-over
iterates), which the command line's advice reads instead of the message's text."""

from __future__ import annotations

import io
import json

import pytest

from irgraph import (
    Agent,
    MapOver,
    Pipeline,
    Route,
    Transform,
    run,
    run_many,
    to_graph,
    validate,
)
from irgraph.cli import main
from irgraph.cli_batch_results import input_words
from irgraph.errors import PipelineError, Problem
from irgraph.testing import FakeProvider
from tests.support.modules import importable

writer = Agent("writer").instruct("Write on {topic}.").writes("draft")
editor = Agent("editor").instruct("Edit {draft} on {topic}.").writes("final")
two_readers = Pipeline("p").step(writer).step(editor)

MODULE = "irgraph_unbound_grouped_pipelines"
SOURCE = """
from irgraph import Agent, MapOver, Pipeline
p = Pipeline("p").step(Agent("writer").instruct("Write on {topic}.").writes("draft")).step(
    Agent("editor").instruct("Edit {draft} on {topic}.").writes("final"))
fields = Pipeline("q").step(Agent("judge").instruct("Judge {verdict.reason}.").writes("a")).step(
    Agent("fixer").system("Fix {verdict.score}.").instruct("Fix {a}.").writes("b"))
each = MapOver("drafts").over("plan.topics", item="t").step(
    Agent("w").instruct("Write {t}.").writes("d")).writes("ds")
planned = each >> Agent("sum").instruct("Sum {ds} as {plan.title}.").writes("s")
"""


@pytest.fixture
def here(tmp_path, monkeypatch):
    importable(tmp_path, monkeypatch, MODULE, SOURCE)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_key_two_nodes_read_that_no_step_writes_is_one_problem_naming_both():
    with pytest.raises(PipelineError) as caught:
        validate(to_graph(two_readers))
    (problem,) = caught.value.problems
    assert (problem.key, problem.node, problem.readers) == ("topic", "writer", ("writer", "editor"))
    text = str(caught.value)
    assert "problems found" not in text
    assert text.startswith("Key 'topic' is read by 'writer' and 'editor', but no step before them")
    assert "or read it as {topic?} in 'writer' and 'editor' if it may be unset." in text


def test_a_run_whose_state_lacks_a_key_two_nodes_read_says_one_problem():
    with pytest.raises(PipelineError) as caught:
        run(two_readers, state={"topix": "owls"}, provider=FakeProvider())
    assert len(caught.value.problems) == 1
    assert "Did you mean 'topix'?" in str(caught.value)


def test_a_batch_line_lacking_a_key_two_nodes_read_says_one_problem():
    items = run_many(two_readers, [{"topic": "owls"}, {"other": 1}], provider=FakeProvider())
    failed = [item for item in items if item.error is not None]
    assert len(failed) == 1 and len(failed[0].error.problems) == 1
    assert "problems found" not in str(failed[0].error)
    assert "'writer' and 'editor'" in str(failed[0].error)


def test_reads_a_late_step_could_serve_are_one_problem_naming_it():
    late = Agent("w").instruct("Write.").writes("topic")
    with pytest.raises(PipelineError) as caught:
        validate(to_graph(writer >> editor >> late))
    (problem,) = caught.value.problems
    assert problem.readers == ("writer", "editor")
    assert "'w' writes 'topic' but does not run before 'writer' and 'editor'" in problem.hint


def test_a_missing_key_read_by_a_template_and_a_map_over_names_how_each_reads_it():
    each = MapOver("drafts").over("plan.topics", item="t")
    each = each.step(Agent("a").instruct("On {t}.").writes("d")).writes("ds")
    title = Agent("sum").system("Sum {plan.title}.").instruct("Sum {ds}.").writes("s")
    with pytest.raises(PipelineError) as caught:
        validate(to_graph(each >> title))
    (problem,) = caught.value.problems
    assert problem.message.startswith(
        "Key 'plan' is read by 'drafts' (iterates over 'plan.topics') and 'sum' "
        "(as {plan.title} in its system prompt), "
    )
    assert (problem.over, problem.fields) == ("plan.topics", ("title",))
    assert "read it as" not in problem.hint  # a map-over's list cannot be optional


def test_the_fields_every_reader_reads_are_the_problems_data():
    with pytest.raises(PipelineError) as caught:
        validate(
            to_graph(
                Agent("a").instruct("{v.reason} {v.note?}") >> Agent("b").instruct("{v.score}")
            )
        )
    assert caught.value.problems[0].fields == ("reason", "score")


def test_the_command_line_advice_reads_the_problem_not_its_text():
    said = "Write it, declare it as an input (to_graph(..., inputs={'plan'}) or "
    said += "run(..., state={'plan': ...}))."
    problem = Problem("Something is wrong.", key="plan", hint=said, over="plan.topics")
    text = input_words(str(problem), PipelineError([problem]), "check")
    assert """--state-json '{"plan": {"topics": ["...", "..."]}}'""" in text
    problem = Problem("Something is wrong.", key="v", hint=said.replace("plan", "v"), fields=["a"])
    text = input_words(str(problem), PipelineError([problem]), "run")
    assert """--state-json '{"v": {"a": "..."}}'""" in text


def test_irgraph_check_gives_an_object_with_every_field_the_readers_read(here, capsys):
    assert main(["check", f"{MODULE}:fields"], out=io.StringIO()) == 1
    err = capsys.readouterr().err
    assert "problems found" not in err
    assert """--state-json '{"verdict": {"reason": "...", "score": "..."}}'""" in err


def test_irgraph_run_names_every_reader_of_a_key_given_misspelt(here, capsys):
    argv = ["run", f"{MODULE}:p", "--state", "topix=owls", "--provider", "fake"]
    assert main(argv, out=io.StringIO()) == 2
    assert "which 'writer' and 'editor' need and nothing gives" in capsys.readouterr().err


def test_a_batch_results_file_says_one_problem_for_a_line_lacking_a_key(here, capsys):
    (here / "in.jsonl").write_text('{"topix": "owls"}\n')
    argv = ["batch", f"{MODULE}:p", "in.jsonl", "-o", "out.jsonl", "--provider", "fake"]
    assert main(argv, out=io.StringIO()) == 1
    (record,) = [json.loads(line) for line in (here / "out.jsonl").read_text().splitlines()]
    message = record["error"]["message"]
    assert message.startswith("Item 0 (in.jsonl:1): Key 'topic' is read by 'writer' and 'editor'")
    assert "The line gives 'topix', which nothing reads" in message
    assert 'give it in each line of the inputs (e.g. {"topic": ...})' in message


def test_a_problem_made_as_before_still_works():
    problem = Problem("m", "a", "k", ("x",), "Fix it.")
    assert (problem.readers, problem.fields, problem.over) == ((), (), None)
    assert str(problem) == "m Did you mean 'x'? Fix it."


def test_readers_reading_the_key_differently_are_each_told_their_optional_form():
    a = Agent("a").instruct("A {level}.").writes("x")
    b = Agent("b").system("Sys {level}.").instruct("B.").writes("y")
    c = Agent("c").instruct("{level.name} {level.id}").writes("z")
    with pytest.raises(PipelineError) as caught:
        validate(to_graph(a >> b >> c))
    (problem,) = caught.value.problems
    assert problem.message.startswith(
        "Key 'level' is read by 'a', 'b' (in its system prompt) and 'c' (as {level.name}), "
    )
    assert "read it as {level?} in 'a' and 'b', and {level.name?} in 'c' if" in problem.hint
    assert problem.fields == ("name", "id")


def test_a_key_a_route_writes_on_some_branches_read_by_two_nodes_is_one_problem():
    route = Route("r").on("level").when("1", Agent("u").instruct("U.").writes("o"))
    route = route.otherwise(Agent("n").instruct("N.").writes("p"))
    after = Agent("a").instruct("A {o}.").writes("x") >> Agent("b").instruct("B {o}.").writes("y")
    with pytest.raises(PipelineError) as caught:
        validate(to_graph(route >> after, inputs={"level"}))
    (problem,) = caught.value.problems
    assert problem.readers == ("a", "b")
    assert problem.message.startswith(
        "Key 'o' is read by 'a' and 'b', but route 'r' writes 'o' only on some branches: its "
        "branch otherwise does not"
    )
    assert problem.hint.endswith("or read it as {o?} in 'a' and 'b' if it may be unset.")


def test_the_state_json_advice_gives_the_fields_read_beside_a_map_overs_list(here, capsys):
    assert main(["check", f"{MODULE}:planned"], out=io.StringIO()) == 1
    advice = """--state-json '{"plan": {"topics": ["...", "..."], "title": "..."}}'"""
    assert advice in capsys.readouterr().err
    assert main(["run", f"{MODULE}:planned", "--provider", "fake"], out=io.StringIO()) == 2
    assert advice in capsys.readouterr().err


def test_a_transform_reading_a_missing_key_is_not_told_to_read_it_as_a_template():
    check = Transform("check", len).reads("topic").writes("n")
    with pytest.raises(PipelineError) as caught:
        validate(to_graph(writer >> check))
    (problem,) = caught.value.problems
    assert problem.message.startswith("Key 'topic' is read by 'writer' and 'check', but")
    assert "?}" not in problem.hint  # a transform's argument cannot be optional
    with pytest.raises(PipelineError) as caught:
        validate(to_graph(check))
    assert str(caught.value).startswith("'check' reads 'topic', but no step before it")
    assert "?}" not in str(caught.value)
