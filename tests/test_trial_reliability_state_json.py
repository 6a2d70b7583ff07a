"""``--state-json`` with a number JSON allows but Python reads as infinity (helper K's trial):
``irgraph run`` ran with 'inf' in the prompt; now it is refused, naming the number."""

from __future__ import annotations

import io

from irgraph.cli import main


def test_a_number_too_large_for_a_float_is_refused(capsys):
    argv = ["run", "irgraph.demo:research_pipeline", "--state-json", '{"topic": 1e999}']
    assert main(argv, out=io.StringIO()) == 2
    err = capsys.readouterr().err
    assert err.startswith("irgraph: error: --state-json holds the number 1e999, too large")
    assert err.count("\n") == 1
