"""``--state key=value`` gives text: a route comparing an input key with a number, a boolean
or null never matched it, and ``irgraph run`` silently took ``otherwise`` (or failed at the
route with advice to add ``.when('true', ...)``). Such a value is refused before anything
runs, pointing at ``--state-json``."""

from __future__ import annotations

import io

import pytest

from irgraph.cli import main
from tests.support.modules import importable


@pytest.fixture
def routed(tmp_path, monkeypatch):
    module = importable(
        tmp_path,
        monkeypatch,
        "cli_routed_pipeline",
        "from irgraph import Agent, Route\n"
        "urgent = Agent('urgent').instruct('U {ticket}').writes('o')\n"
        "normal = Agent('normal').instruct('N {ticket}').writes('o')\n"
        "by_priority = Route('prio').on('priority').when(1, urgent).otherwise(normal)\n"
        "by_flag = Route('flag').on('vip').when(True, urgent).when(False, normal)\n"
        "by_name = Route('named').on('level').when('1', urgent).when(1, normal)\n"
        "classify = Agent('c').instruct('Rate {ticket}').writes('priority')\n"
        "rated = classify >> by_priority\n",
    )
    return module


ROUTES = {"by_priority": "prio", "by_flag": "flag"}


def call(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main([*argv], out=out), out.getvalue()


@pytest.mark.parametrize("command", ["run", "check"])
@pytest.mark.parametrize(
    ("target", "pair", "compared", "meant"),
    [
        ("by_priority", "priority=1", "priority with 1 (a number)", '{"priority": 1}'),
        ("by_priority", "priority=1.0", "priority with 1.0 (a number)", '{"priority": 1.0}'),
        ("by_flag", "vip=true", "vip with true (a boolean)", '{"vip": true}'),
    ],
)
def test_a_text_a_route_compares_as_a_json_value_is_refused(
    routed, capsys, command, target, pair, compared, meant
):
    code, out = call(command, f"{routed}:{target}", "--state", "ticket=x", "--state", pair)
    err = capsys.readouterr().err
    assert code == 2 and out == ""
    assert f"route '{ROUTES[target]}' compares" in err
    assert f"compares {compared}" in err
    assert f"--state-json '{meant}'" in err


def test_the_json_value_runs_the_branch_it_names(routed):
    code, out = call(
        "run", f"{routed}:by_flag", "--state", "ticket=x", "--state-json", '{"vip": true}'
    )
    assert code == 0, out
    assert "o = <urgent: U x>" in out


@pytest.mark.parametrize(
    ("target", "pair", "branch"),
    [
        ("by_priority", "priority=high", "normal"),  # spells no value the route compares with
        ("by_name", "level=1", "urgent"),  # the route has a branch for the text itself
    ],
)
def test_texts_the_route_means_as_text_still_run(routed, target, pair, branch):
    code, out = call("run", f"{routed}:{target}", "--state", "ticket=x", "--state", pair)
    assert code == 0, out
    assert f"o = <{branch}: " in out


def test_a_key_a_step_writes_before_the_route_is_not_judged_by_its_text(routed):
    """'priority' is written by agent 'c' (the text given is unused): no refusal here."""
    code, out = call("check", f"{routed}:rated", "--state", "ticket=x", "--state", "priority=1")
    assert code == 0, out
