"""The mutation tool's command line, tried from outside: ``--help`` says how to use it, and
an option it does not know is refused as an option, before any mutant is planted."""

from __future__ import annotations

import pytest

from tests.mutation import run


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_prints_the_usage_and_runs_no_mutant(flag, capsys):
    assert run.main([flag]) == 0
    out = capsys.readouterr().out
    assert "python3 dev.py mutants --list" in out
    assert "killed" in out


def test_an_unknown_option_is_refused_as_an_option(capsys):
    assert run.main(["--lsit"]) == 2
    err = capsys.readouterr().err
    assert "Unknown option '--lsit'" in err
    assert "--list or --help" in err
