"""The state and input keys given on the command line: JSON too deep to read, keys that are not
keys, and a misspelt key named the right way round (the given key looks like the needed one)."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from irgraph.cli import CliError, main, parse_state
from tests.support.modules import importable

DEMO = "irgraph.demo:research_pipeline"


def error_of(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv), out=io.StringIO()) == 2
    err = capsys.readouterr().err
    assert err.startswith("irgraph: error: ") and err.count("\n") == 1, err
    return err


# --state-json -------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["[" * 100_000, '{"a": ' * 100_000])
def test_state_json_nested_too_deeply_is_a_cli_error(text):
    with pytest.raises(CliError, match="--state-json nests arrays or objects too deeply"):
        parse_state([], text)


def test_state_json_nested_too_deeply_gives_no_traceback_in_a_fresh_process():
    proc = subprocess.run(
        [sys.executable, "-m", "irgraph.cli", "run", DEMO, "--state-json", "[" * 100_000],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr == (
        "irgraph: error: --state-json nests arrays or objects too deeply to read; pass a value "
        "nested less deeply.\n"
    )


@pytest.mark.parametrize(
    "text", ['{"topic": "owls", "topic": "bats"}', '{"topic": "owls", "n": {"k": 1, "k": 2}}']
)
def test_state_json_giving_a_key_twice_is_refused_as_a_batch_line_is(capsys, text):
    # JSON keeps the last of the two values without a word; irgraph batch refused such a line
    # while --state-json of run and check took it.
    for command in ("run", "check"):
        err = error_of(capsys, command, DEMO, "--state-json", text)
        assert "--state-json gives the key" in err and "twice in one object" in err
        assert "give it once" in err


@pytest.mark.parametrize(
    ("key", "like"),
    [("1st", "k_1st"), ("", "draft_v2"), ("topic-name", "topic_name"), ("café", "cafe")],
)
def test_state_json_keys_must_be_state_keys(capsys, key, like):
    import json

    err = error_of(capsys, "run", DEMO, "--state-json", json.dumps({key: "owls"}))
    assert f"--state-json has the key {key!r}, which is not a state key" in err
    assert f"rename it, e.g. to {like!r}." in err  # a key made from the one given


def test_an_empty_state_json_is_not_valid_json(capsys):
    assert "--state-json is not valid JSON" in error_of(capsys, "run", DEMO, "--state-json", "")


def test_state_json_values_pass_through_with_null_as_none():
    assert parse_state(["b=2"], '{"a": null, "b": 1, "c": [1.5, true]}') == {
        "a": None,
        "b": "2",
        "c": [1.5, True],
    }


def test_state_json_given_twice_gives_the_keys_of_both_the_later_winning():
    """The second --state-json replaced the first, and the run said the command line did not
    give the first one's keys."""
    out = io.StringIO()
    code = main(["run", DEMO, "--state-json", '{"topic": "owls"}', "--state-json", '{"n": 1}'],
                out=out)  # fmt: skip
    assert code == 0 and "topic = owls" in out.getvalue()
    assert parse_state([], ['{"a": 1, "b": 1}', '{"b": 2}']) == {"a": 1, "b": 2}
    assert parse_state(["b=3"], ['{"a": 1}', '{"b": 2}']) == {"a": 1, "b": "3"}


@pytest.mark.parametrize("command", ["run", "check"])
def test_a_state_key_given_twice_is_refused_naming_both_values(capsys, command):
    """``--state topic=owls --state topic=bats`` ran with bats and dropped owls without a
    word."""
    argv = [command, DEMO, "--state", "topic=owls", "--state", "n=1", "--state", "topic=bats"]
    err = error_of(capsys, *argv)
    assert err == (
        "irgraph: error: --state gives the key 'topic' twice (topic=owls and topic=bats, and a "
        "run takes one value of a key); give it once.\n"
    )
    err = error_of(capsys, command, DEMO, "--state", "topic=owls", "--state", "topic=owls")
    assert "twice (topic=owls both times); give it once." in err


def test_state_wins_over_state_json_as_the_help_says():
    """A key of both options is no mistake: --state wins, as its help and docs/cli.md say."""
    assert parse_state(["topic=owls"], '{"topic": "bats", "n": 1}') == {"topic": "owls", "n": 1}
    from irgraph.cli import _parser

    helps = {a.dest: a.help for a in _subparser(_parser(), "run")._actions}
    assert "each key once" in helps["state"] and "wins over a --state-json" in helps["state"]


def _subparser(parser, name):
    import argparse

    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[name]


def test_state_json_null_for_a_required_key_is_a_mistake_on_the_command_line(capsys):
    # None means "no value": refused before the run, naming the key, as the command line's
    # mistake (exit 2), as a --state text a route never equals is.
    assert main(["run", DEMO, "--state-json", '{"topic": null}'], out=io.StringIO()) == 2
    err = capsys.readouterr().err
    assert err.startswith("irgraph: error: ") and "'topic'" in err and "None" in err


@pytest.mark.parametrize("key", ["1x", "", "a b"])
def test_input_keys_must_be_state_keys(capsys, key):
    err = error_of(capsys, "check", DEMO, "--input", key)
    assert f"--input {key!r} is not a state key" in err and "--input topic" in err


# a misspelt key -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "fix"),
    [
        (["run", DEMO, "--state", "topc=owls"], "write --state topic=... instead"),
        (["run", DEMO, "--state-json", '{"topc": "owls"}'], 'write "topic" in --state-json'),
        (["check", DEMO, "--input", "topc"], "write --input topic instead"),
        (["check", DEMO, "--state", "topc=owls"], "write --state topic=... instead"),
    ],
)
def test_a_misspelt_key_says_which_given_key_looks_like_which_needed_key(capsys, argv, fix):
    err = error_of(capsys, *argv)
    option = argv[2]
    assert f"The key 'topc' given with {option} is read by no step" in err
    assert "it looks like 'topic', which 'researcher' needs and nothing gives" in err
    assert fix in err
    assert "Did you mean 'topc'" not in err


def test_a_misspelt_key_from_a_fresh_process_reads_the_right_way_round():
    proc = subprocess.run(
        [sys.executable, "-m", "irgraph.cli", "run", DEMO, "--state", "topc=owls"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "'topc' given with --state is read by no step, but it looks like 'topic'" in (
        proc.stderr
    )


@pytest.fixture
def optional_reader(tmp_path, monkeypatch):
    """A pipeline that needs {topic}, reads {topics?} if set and declares the input tpic."""
    module = importable(
        tmp_path,
        monkeypatch,
        "cli_state_optional_reader",
        "from irgraph import Agent, Pipeline\n"
        "w = Agent('w').instruct('Write {topic} {topics?}.').writes('text')\n"
        "p = Pipeline('p', inputs=['tpic']).step(w)\n",
    )
    return f"{module}:p"


@pytest.mark.parametrize("key", ["topics", "tpic"])
def test_a_key_the_pipeline_reads_or_declares_is_never_called_misspelt(
    optional_reader, capsys, key
):
    # topic is missing, but the given key is read ({topics?}) or declared (tpic): the
    # missing key is named with the option that gives it (a usage error, exit 2), not a
    # guess at spelling.
    assert main(["run", optional_reader, "--state", f"{key}=x"], out=io.StringIO()) == 2
    err = capsys.readouterr().err
    assert err.startswith("irgraph: error: The pipeline reads 'topic' from its initial state")
    assert "add --state topic=VALUE" in err and "misspel" not in err and "looks like" not in err


def test_a_missing_key_nothing_resembles_is_named_with_the_option_to_give_it(capsys):
    assert main(["run", DEMO, "--state", "colour=red"], out=io.StringIO()) == 2
    err = capsys.readouterr().err
    assert err.startswith("irgraph: error: The pipeline reads 'topic' from its initial state")
    assert "add --state topic=VALUE (or --state-json" in err


def test_run_without_a_pipeline_runs_the_demo_and_says_so(capsys):
    out = io.StringIO()
    assert main(["run", "--state", "topic=owls", "--no-progress"], out=out) == 0
    assert "running the demo pipeline (irgraph.demo:research_pipeline)" in capsys.readouterr().err
    assert "report = <writer: Write a report from" in out.getvalue()


# demo options -------------------------------------------------------------------------


@pytest.mark.parametrize("latency", ["-1", "nan", "inf", "soon"])
def test_a_bad_demo_latency_is_a_usage_error(capsys, latency):
    with pytest.raises(SystemExit) as info:
        main(["demo", "--latency", latency], out=io.StringIO())
    assert info.value.code == 2
    assert f"argument --latency: {latency!r} is not a number of seconds" in capsys.readouterr().err


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_state_json_refuses_what_is_not_json(constant, capsys):
    argv = ["run", DEMO, "--state-json", f'{{"topic": {constant}}}']
    assert main(argv, out=io.StringIO()) == 2
    assert f"--state-json holds {constant}, which is not JSON" in capsys.readouterr().err
