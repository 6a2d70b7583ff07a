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
        "from irgraph import Agent, Loop, MapOver, Route\n"
        "urgent = Agent('urgent').instruct('U {ticket}').writes('o')\n"
        "normal = Agent('normal').instruct('N {ticket}').writes('o')\n"
        "by_priority = Route('prio').on('priority').when(1, urgent).otherwise(normal)\n"
        "by_flag = Route('flag').on('vip').when(True, urgent).when(False, normal)\n"
        "by_name = Route('named').on('level').when('1', urgent).when(1, normal)\n"
        "by_text = Route('texts').on('level').when('1', urgent).when('true', normal)\n"
        "by_text = by_text.when('null', normal)\n"
        "classify = Agent('c').instruct('Rate {ticket}').writes('priority')\n"
        "rated = classify >> by_priority\n"
        "rate = Agent('rate').instruct('Rate.').output({'type': 'integer'}).writes('priority')\n"
        "after = by_priority >> rate\n"
        "step = Agent('s').instruct('Step.').output({'type': 'integer'}).writes('n')\n"
        "until = Loop('L').step(step).until('n', equals=3).max_iterations(2)\n"
        "inner = Route('r').on('it').when(1, urgent).otherwise(normal)\n"
        "per_item = MapOver('m').over('items', item='it').step(inner).writes('os')\n",
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


@pytest.mark.parametrize("command", ["run", "check"])
def test_a_quoted_json_string_a_route_compares_as_a_json_value_is_refused(routed, capsys, command):
    given = '{"ticket": "x", "vip": "true"}'
    code, out = call(command, f"{routed}:by_flag", "--state-json", given)
    err = capsys.readouterr().err
    assert code == 2 and out == ""
    assert '--state-json gives vip the text "true"' in err
    assert "compares vip with true (a boolean)" in err
    assert """--state-json '{"vip": true}'""" in err
    # A --state of the same key wins over --state-json's, and is checked as a --state.
    code, out = call(command, f"{routed}:by_name", "--state-json", given, "--state", "level=1")
    assert code == 0, capsys.readouterr().err


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


@pytest.mark.parametrize(
    ("target", "said"),
    [
        ("after", "route 'prio' compares priority with 1 (a number)"),  # written after it
        ("until", "loop 'L' stops on n equal to 3 (a number)"),
    ],
)
def test_a_key_a_step_also_writes_is_judged_where_the_text_can_be_read(
    routed, capsys, target, said
):
    key = "n" if target == "until" else "priority"
    value = "3" if target == "until" else "1"
    code, _ = call(
        "check", f"{routed}:{target}", "--state", "ticket=x", "--state", f"{key}={value}"
    )
    assert code == 2
    assert said in capsys.readouterr().err


def test_a_map_over_item_of_that_name_is_what_the_route_reads(routed):
    """The route inside reads the item 'it', never the --state text: no refusal."""
    code, out = call(
        "run",
        f"{routed}:per_item",
        "--state",
        "ticket=x",
        "--state",
        "it=1",
        "--state-json",
        '{"items": [1, 2]}',
    )
    assert code == 0, out


@pytest.mark.parametrize("command", ["run", "check"])
@pytest.mark.parametrize(
    ("value", "given", "text"),
    [("1", "the number 1", "1"), ("true", "the boolean true", "true"), ("null", "null", "null")],
)
def test_a_json_value_a_route_compares_as_its_text_is_refused(
    routed, capsys, command, value, given, text
):
    """--state-json '{"level": 1}' for a route's .when('1', ...) silently took another branch:
    only the other way round (a text for a number) was refused."""
    state = f'{{"ticket": "x", "level": {value}}}'
    code, out = call(command, f"{routed}:by_text", "--state-json", state)
    err = capsys.readouterr().err
    assert code == 2 and out == ""
    assert (
        f"--state-json gives level {given}, but route 'texts' compares level with the text "
        f'"{text}", which {given} never equals. Give the value as text: --state level={text}'
    ) in err
    # A route that compares with the value itself, beside its text, takes it.
    code, out = call(command, f"{routed}:by_name", "--state-json", '{"ticket": "x", "level": 1}')
    assert code == 0, capsys.readouterr().err


@pytest.mark.parametrize(
    ("option", "value", "said"),
    [
        ("--state", "items=a", "'items' is 'a' (a str), not a list"),
        ("--state-json", '{"items": null}', "'items' is None (no value), not a list"),
    ],
)
def test_a_value_a_map_over_cannot_take_is_a_mistake_on_the_command_line(
    routed, capsys, option, value, said
):
    """Refused as a route's unmatched --state text is: one line and exit code 2 (it was
    irgraph's PipelineError and exit code 1, as if the pipeline had problems)."""
    code, _ = call("run", f"{routed}:per_item", "--state", "ticket=x", option, value)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("irgraph: error: MapOver 'm' iterates over 'items'") and said in err
