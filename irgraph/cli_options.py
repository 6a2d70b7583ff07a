"""The option a command line misspelt: ``--bakend`` for ``--backend``.

argparse says only "unrecognized arguments: --bakend prefect"; :func:`options_meant` finds
the nearest option of the command (or of any command) for each unknown one, for the
``irgraph`` command and for generated flow modules alike.
"""

from __future__ import annotations

import argparse
import ast
import re
from collections.abc import Sequence
from typing import Any, NoReturn

from irgraph.cli_state_json import split_words
from irgraph.errors import closest_keys

__all__ = [
    "UNKNOWN",
    "CommandLine",
    "choice_meant",
    "options_elsewhere",
    "options_meant",
    "parsers",
]

#: How argparse's message for options it does not know begins.
UNKNOWN = "unrecognized arguments: "
#: argparse's message for a command line without the command (irgraph alone).
NO_COMMAND = "the following arguments are required: command"


class CommandLine(argparse.ArgumentParser):
    """The ``irgraph`` command's parser: argparse's, with the option meant told beside one it
    does not know (``irgraph run --bakend prefect``: did you mean --backend?)."""

    #: The words being parsed (set before parsing): the command among them picks the options.
    words: Sequence[str] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # No abbreviations: ``--sched`` is told as unknown, with ``--schedule`` meant beside
        # it, where argparse took it as ``--schedule``; a later option sharing the prefix
        # would silently change what an old command line means. Subcommands' parsers are
        # made with this class, so this holds for each.
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        command = self.prog.split(" ", 1)[1] if " " in self.prog else None
        if message.startswith(UNKNOWN):
            commands = parsers(self)
            command = next((word for word in self.words if word in commands), None)
            given = message[len(UNKNOWN) :].split()
            message += options_meant(self, given, command) or options_elsewhere(
                self, given, command
            )
            message += split_words(self.words)  # --state-json {"topic": 1} without quotes
        elif INVALID_CHOICE.search(message):
            message += choice_meant(message)
        elif message == NO_COMMAND and command is None:  # irgraph alone
            named = ", ".join(name for name in parsers(self) if name)
            message = f"give a command: {named} (irgraph demo runs the demo pipeline offline)"
        # One line, as every other mistake: no usage, which --help shows.
        shown = f"irgraph {command} --help" if command else "irgraph --help"
        self.exit(2, f"irgraph: error: {message} (see {shown})\n")


#: argparse's message for a value not among an argument's choices (choices quoted or not).
INVALID_CHOICE = re.compile(r"invalid choice: (?P<value>.*) \(choose from (?P<choices>.*)\)$")


def choice_meant(message: str) -> str:
    """``"; did you mean 'mermaid'?"``: the choice nearest the one argparse's ``message``
    refuses, or ``""`` when none is near.

    >>> choice_meant("argument --format: invalid choice: 'mermad' (choose from 'mermaid', 'dot')")
    "; did you mean 'mermaid'?"
    """
    found = INVALID_CHOICE.search(message)
    if found is None:
        return ""
    value, choices = found["value"], found["choices"].split(", ")
    try:  # argparse quotes them with repr() (before Python 3.12.8), or not at all
        value = str(ast.literal_eval(value))
        choices = [str(ast.literal_eval(choice)) for choice in choices]
    except (ValueError, SyntaxError):
        pass
    near = closest_keys(value, choices, n=1)
    return f"; did you mean {near[0]!r}?" if near else ""


def options_meant(
    parser: argparse.ArgumentParser, given: Sequence[str], command: str | None = None
) -> str:
    """``"; did you mean --run-key (for --runkey)?"``: the nearest option to each unknown
    option in ``given``, among those of ``command``'s parser (all of ``parser``'s commands'
    when ``None`` or not a command), or ``""`` when none is near.

    >>> p = argparse.ArgumentParser(); _ = p.add_argument("--backend")
    >>> options_meant(p, ["--bakend", "x"])
    '; did you mean --backend (for --bakend)?'
    """
    chosen = parsers(parser)
    named = chosen.get(command) if command else None
    known = sorted(
        {
            option
            for each in ([named] if named is not None else chosen.values())
            for option in each._option_string_actions
        }
    )
    bare = [option[2:] for option in known if option.startswith("--")]
    meant = []
    for word in given:
        name = word.split("=", 1)[0]
        # Compared without their dashes, which every long option shares: '--timeout' is not
        # like '--input'.
        near = closest_keys(name[2:], bare, n=1) if name.startswith("--") else []
        if near:
            meant.append(f"--{near[0]} (for {name})")
    return f"; did you mean {' and '.join(meant)}?" if meant else ""


def options_elsewhere(
    parser: argparse.ArgumentParser, given: Sequence[str], command: str | None
) -> str:
    """``"; --schedule is an option of irgraph run and irgraph batch, not of irgraph
    check"``: the other commands that take an option ``command`` does not, or ``""``."""
    chosen = parsers(parser)
    if command not in chosen or not command:
        return ""
    said = []
    for word in given:
        name = word.split("=", 1)[0]
        if not name.startswith("--"):
            continue
        taking = [c for c, p in chosen.items() if c and name in p._option_string_actions]
        if taking:
            named = " and ".join(f"irgraph {c}" for c in taking)
            said.append(f"{name} is an option of {named}, not of irgraph {command}")
    return f"; {'; '.join(said)}" if said else ""


def parsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """``parser`` (under ``""``) and its commands' parsers, by command name."""
    found = {"": parser}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.update(action.choices)
    return found
