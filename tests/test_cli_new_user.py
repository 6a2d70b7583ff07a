"""What a new user met trying the ``irgraph`` command: ``irgraph`` alone, ``--state KEY``
without a value, ``irgraph run --input`` taken and dropped without a word, an empty file
named with an attribute, and ``run`` and ``check`` without a description in their help."""

from __future__ import annotations

import io
import sys

import pytest

from irgraph.cli import main

DEMO = "irgraph.demo:research_pipeline"


def error_of(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv), out=io.StringIO()) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err


def test_irgraph_alone_names_the_commands(capsys):
    """It said "the following arguments are required: command", the word argparse has for
    the subcommands."""
    with pytest.raises(SystemExit) as stop:
        main([])
    assert stop.value.code == 2
    assert capsys.readouterr().err == (
        "irgraph: error: give a command: demo, run, check, batch, show, diff (irgraph demo runs "
        "the demo pipeline offline) (see irgraph --help)\n"
    )


def test_a_state_key_without_a_value_says_to_give_one(capsys):
    """--state topic was "not of the form key=value with an identifier key", though topic is
    one: the value was what it lacked."""
    err = error_of(capsys, "run", DEMO, "--state", "topic")
    assert err == (
        "irgraph: error: --state topic gives 'topic' no value; write --state topic=VALUE (the "
        "value a text; --state-json for a number, a boolean or null).\n"
    )
    assert "not of the form key=value" in error_of(capsys, "run", DEMO, "--state", "1x")


def test_run_refuses_an_input_it_has_no_value_for(capsys):
    """irgraph run took --input KEY and did nothing with it (check's option, in run's help):
    --input nope ran as if it were not there."""
    err = error_of(capsys, "run", DEMO, "--state", "topic=owls", "--input", "nope")
    assert err.startswith("irgraph: error: --input nope declares 'nope' as an input without a ")
    assert "give it with --state nope=VALUE (or --state-json), or drop --input." in err
    out = io.StringIO()  # a key given a value too is declared twice: no harm
    argv = ["run", DEMO, "--state", "topic=owls", "--input", "topic", "--no-progress"]
    assert main(argv, out=out) == 0 and "topic = owls" in out.getvalue()


def test_an_empty_file_named_with_an_attribute_says_it_defines_nothing(
    capsys, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "empty_pipes", raising=False)
    (tmp_path / "empty_pipes.py").write_text("")
    err = error_of(capsys, "check", "empty_pipes.py:pipeline")
    assert err == (
        "irgraph: error: 'empty_pipes.py' has no attribute 'pipeline'. 'empty_pipes.py' defines "
        "no name at its top level; is it saved?\n"
    )


def test_a_file_without_a_pipeline_named_with_an_attribute_says_it_holds_none(
    capsys, tmp_path, monkeypatch
):
    """A file of other names (x = 1) said only "has no attribute 'p'."."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "other_names", raising=False)
    (tmp_path / "other_names.py").write_text("x = 1\nlimit = 3\n")
    err = error_of(capsys, "check", "other_names.py:p")
    assert err == (
        "irgraph: error: 'other_names.py' has no attribute 'p'. 'other_names.py' holds no "
        "pipeline at its top level (a builder such as Agent('a') >> Agent('b'), or an IR node): "
        "is it the file you meant?\n"
    )


@pytest.mark.parametrize(
    ("command", "said"),
    [
        ("run", "e.g. irgraph run irgraph.demo:research_pipeline"),
        ("check", "e.g. irgraph check irgraph.demo:research_pipeline"),
        ("diff", "e.g. irgraph diff v1/pipe.py:pipeline"),
        ("demo", "run it offline with the fake model"),
        ("batch", "e.g. irgraph batch irgraph.demo:research_pipeline topics.jsonl"),
        ("show", "e.g. irgraph show irgraph.demo:research_pipeline -o pipeline.svg"),
    ],
)
def test_a_commands_help_says_what_it_does(capsys, command, said):
    """irgraph run --help (check, diff, demo, batch, show) listed the options under no word
    of what the command does, which only irgraph --help said, in three words."""
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert said in text


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (
            ["check", DEMO, "--schedule", "dataflow"],
            "--schedule is an option of irgraph run and irgraph batch, not of irgraph check",
        ),
        (
            ["demo", "--state", "topic=owls"],
            "--state is an option of irgraph run and irgraph check, not of irgraph demo",
        ),
    ],
)
def test_an_option_of_another_command_is_told_as_such(capsys, argv, said):
    """check's hint names irgraph run --schedule dataflow; tried on check, the option was
    only "unrecognized"."""
    with pytest.raises(SystemExit) as stop:
        main(argv)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and f"; {said} (see irgraph {argv[0]} --help)" in err


@pytest.mark.parametrize(
    "argv",
    [
        ("--backend", "asynco"),
        ("--provider", "fak"),
        ("--backend", "prefect", "--schedule", "dataflow"),
        ("--run-key", "r1"),
    ],
)
def test_the_demo_notice_comes_only_with_a_demo_that_runs(capsys, argv):
    """``irgraph run`` with no pipeline named printed "No pipeline named: running the demo
    pipeline ..." and then refused the command line; the refusal is now its only line."""
    err = error_of(capsys, "run", "--state", "topic=owls", *argv)
    assert err.startswith("irgraph: error: ") and "demo" not in err.split(":")[0]
    assert "No pipeline named" not in err
