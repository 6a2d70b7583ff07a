"""An option is given whole: argparse's abbreviations (``--sched`` for ``--schedule``) are
refused and the whole name offered, so an option added later that shares a prefix cannot
silently change what an old command line means."""

from __future__ import annotations

import pytest

from irgraph.cli import main


@pytest.mark.parametrize(
    ("argv", "meant"),
    [
        (["run", "--sched", "dataflow"], "--schedule (for --sched)"),
        (["run", "missing.py:p", "--prov", "fake"], "--provider (for --prov)"),
        (["show", "missing.py:p", "--form", "svg"], "--format (for --form)"),
        (["batch", "p.py", "in.jsonl", "-o", "o.jsonl", "--work", "gpu"], "--work-pool"),
    ],
)
def test_an_abbreviated_option_is_refused_with_the_whole_name(capsys, argv, meant):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    said = capsys.readouterr().err.strip().splitlines()[-1]
    assert said.startswith("irgraph: error: unrecognized arguments: "), said
    assert f"did you mean {meant}" in said, said


def test_the_whole_option_is_still_taken(capsys):
    """The refusal is of abbreviations only: ``--schedule`` itself runs the demo."""
    assert main(["run", "--schedule", "dataflow", "--state", "topic=owls", "--no-progress"]) == 0
    assert "Final state:" in capsys.readouterr().out
