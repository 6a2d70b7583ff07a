"""The option tables of docs/cli.md list each command's options, and only those."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from irgraph.cli import _parser

CLI_PAGE = Path(__file__).resolve().parents[1] / "docs" / "cli.md"
ROW = re.compile(r"^\| `(-[^`]*)`(?:, `(-[^`]*)`)?", re.M)


def _sections() -> dict[str, str]:
    parts = re.split(r"^## irgraph (\w+)\n", CLI_PAGE.read_text(encoding="utf-8"), flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def _commands() -> dict[str, argparse.ArgumentParser]:
    sub = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


@pytest.mark.parametrize("command", sorted(_commands()))
def test_a_commands_option_table_names_exactly_its_options(command):
    """The batch table had a --direction row (irgraph batch takes none: it is show's and
    diff's), and the demo and check tables lacked options the commands take."""
    documented = {
        option.split()[0] for row in ROW.findall(_sections()[command]) for option in row if option
    }
    actions = _commands()[command]._actions
    real = {o for a in actions for o in a.option_strings if o not in ("-h", "--help")}
    assert documented - real == set(), f"irgraph {command} has no such option"
    assert real - documented == set(), f"the table of irgraph {command} lacks them"
