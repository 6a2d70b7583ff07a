"""``--state-json`` text that is not JSON, told as what it can have been: a shell is named
only where it can have made the text (``{topic: 1}`` is also what the user may have written:
both are said), never for a text with its double quotes (``{"topic": owls}``)."""

from __future__ import annotations

import io
import subprocess

import pytest

from irgraph.cli import main

DEMO = "irgraph.demo:research_pipeline"


def error_of(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv), out=io.StringIO()) == 2
    err = capsys.readouterr().err
    assert err.startswith("irgraph: error: ") and err.count("\n") == 1, err
    return err


def state_json_error(capsys: pytest.CaptureFixture[str], text: str) -> str:
    return error_of(capsys, "check", DEMO, "--state-json", text)


def bash_words(line: str) -> list[str]:
    """The words bash passes for ``--state-json`` and what follows it in ``line``."""
    script = f"for w in {line}; do printf '%s\\0' \"$w\"; done"
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True)
    return done.stdout.split("\0")[:-1]


def test_unquoted_keys_written_in_single_quotes_are_not_blamed_on_the_shell_alone(capsys):
    """'{topic: 1}' was said to be a shell's doing ("an unquoted shell took them"), where the
    user wrote JSON without quotes; the same text comes from "{"topic": 1}" in bash, so both
    are said, with the JSON to write."""
    err = state_json_error(capsys, "{topic: 1}")
    assert "--state-json got {topic: 1}, which is not valid JSON" in err
    assert "either they were left out, or a shell removed them" in err
    assert "write --state-json '{\"topic\": 1}'." in err
    assert bash_words('"{"topic": 1}"') == ["{topic: 1}"]  # the second way to get it


@pytest.mark.parametrize("text", ['{"topic": owls}', '{topic: "owls"}'])
def test_a_text_with_double_quotes_never_names_the_shell(capsys, text):
    err = state_json_error(capsys, text)
    assert "shell" not in err
    assert (
        'JSON puts every key and string in double quotes: --state-json \'{"topic": "owls"}\'.'
        in err
    )


def test_python_single_quotes_and_literals_are_told_as_json_writes_them(capsys):
    err = state_json_error(capsys, "{'topic': 'owls', 'n': None, 'ok': True}")
    assert "shell" not in err and "with double quotes, not single ones" in err
    assert '--state-json \'{"topic": "owls", "n": null, "ok": true}\'.' in err


def test_a_misspelt_literal_is_not_made_a_string(capsys):
    err = state_json_error(capsys, '{"topic": "owls", "n": nul}')
    assert '"nul"' not in err and "shell" not in err


def test_json_a_shell_split_at_a_space_is_told_as_such(capsys):
    words = bash_words('{"topic": "owls"}')
    assert words == ["{topic:", "owls}"]  # what bash passes for it written bare
    # run without a target: 'owls}' is taken for one, but the state is told first
    err = error_of(capsys, "run", "--state-json", *words)
    assert "--state-json got {topic:, which is not valid JSON" in err
    assert "it is cut short after ':' with no double quotes, as a shell passes" in err
    assert "put the whole JSON in single quotes" in err
    # with a target, argparse meets the rest of the JSON first
    with pytest.raises(SystemExit):
        main(["check", DEMO, "--state-json", *words])
    err = capsys.readouterr().err
    assert err.startswith("irgraph: error: unrecognized arguments: owls}; --state-json got {topic:")
    assert "JSON a shell split at its spaces" in err


def test_json_a_shell_split_at_its_commas_is_told_as_such(capsys):
    words = bash_words('{"topic":"owls","n":1}')
    assert words == ["topic:owls", "n:1"]  # bash's brace expansion
    err = error_of(capsys, "run", "--state-json", *words)
    assert "got topic:owls, which is not valid JSON" in err
    assert "a piece of a JSON object a shell cut up" in err
    with pytest.raises(SystemExit):  # with a target, argparse meets the other pieces first
        main(["check", DEMO, "--state-json", *words])
    err = capsys.readouterr().err
    assert err.startswith("irgraph: error: unrecognized arguments: n:1; --state-json got ")
    assert "topic:owls, a piece of a JSON object a shell cut up" in err


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("", "--state-json is not valid JSON: it is empty; give a JSON object"),
        ("topic=owls", "it looks like --state's KEY=VALUE: write --state topic=owls"),
        ('{"topic": "owls",}', "; give a JSON object, e.g. --state-json"),
        ("[1, 2", "; give a JSON object, e.g. --state-json"),
    ],
)
def test_other_texts_are_told_without_a_shell(capsys, text, said):
    err = state_json_error(capsys, text)
    assert said in err and "shell" not in err
