"""``--schedule`` of ``irgraph run`` and ``irgraph batch``: the asyncio backend's schedule,
taken from the command line (``irgraph check``'s hint names it), and refused on a backend
made without one."""

from __future__ import annotations

import io
import json
import re

import pytest

from irgraph.cli import main
from irgraph.testing.held import HeldProvider

WAITING = "tests.support.pipelines:waiting"  # w1 >> w2 >> w3, needing nothing of each other
HELD: list[HeldProvider] = []


def held(patience: float = 30.0) -> HeldProvider:
    """The provider ``--provider tests.test_cli_schedule:held`` makes: it holds the calls of
    w1, w2 and w3 until all three are in flight at once, which only the dataflow schedule
    reaches (the topological one runs them one by one, and the provider stops holding after
    its patience, which only a run that does not reach three waits for)."""
    HELD.append(HeldProvider(3, agents={"w1", "w2", "w3"}, patience=patience, latency=0))
    return HELD[-1]


def held_briefly() -> HeldProvider:
    """:func:`held` for a run expected to hold one call at a time: it waits out the
    patience once per held call, so a short one."""
    return held(patience=0.2)


def most_at_once(*argv: str, provider: str = "held") -> int:
    HELD.clear()
    out = io.StringIO()
    assert main([*argv, "--provider", f"tests.test_cli_schedule:{provider}"], out=out) == 0
    if argv[0] == "run":  # the line that ends the run says the schedule given
        given = argv[argv.index("--schedule") + 1] if "--schedule" in argv else None
        said = f" with the {given} schedule" if given else ""
        ending = re.search(r"on backend 'asyncio'(.*?)[.;]", out.getvalue())
        assert ending is not None and ending[1] == said, out.getvalue()
    return HELD[-1].most_held


def test_run_schedule_dataflow_runs_steps_that_need_nothing_of_each_other_together():
    """irgraph run had no --schedule: w2 waited for w1 and w3 for w2, as written."""
    base = ["run", WAITING, "--state", "topic=owls", "--no-progress"]
    assert most_at_once(*base, "--schedule", "dataflow") == 3


def test_run_schedule_topological_keeps_the_order_written():
    base = ["run", WAITING, "--state", "topic=owls", "--no-progress"]
    assert most_at_once(*base, "--schedule", "topological", provider="held_briefly") == 1
    assert most_at_once(*base, provider="held_briefly") == 1  # the default


def test_batch_schedule_dataflow_runs_each_items_steps_together(tmp_path):
    inputs = tmp_path / "in.jsonl"
    inputs.write_text(json.dumps({"topic": "owls"}) + "\n")
    argv = ["batch", WAITING, str(inputs), "-o", str(tmp_path / "out.jsonl")]
    assert most_at_once(*argv, "--schedule", "dataflow") == 3
    result = json.loads((tmp_path / "out.jsonl").read_text().splitlines()[0])
    assert (
        result["state"]["k1"] == "<w1: One owls.>" and result["state"]["k3"] == "<w3: Three owls.>"
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["run", WAITING, "--state", "topic=owls", "--backend", "prefect"],
        ["batch", WAITING, "in.jsonl", "-o", "out.jsonl", "--backend", "prefect"],
    ],
)
def test_schedule_is_refused_on_a_backend_made_without_one(capsys, argv):
    pytest.importorskip("prefect")
    assert main([*argv, "--schedule", "dataflow"], out=io.StringIO()) == 2
    err = capsys.readouterr().err
    assert err == (
        "irgraph: error: --schedule dataflow sets what each step waits for on a backend made "
        "with a schedule, and the backend 'prefect' takes none (its steps wait for every step "
        "written before them); add --backend asyncio, or drop --schedule.\n"
    )


def test_a_misspelt_schedule_is_refused_with_the_one_meant(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["run", WAITING, "--state", "topic=owls", "--schedule", "dataflw"])
    assert stop.value.code == 2
    assert "did you mean 'dataflow'?" in capsys.readouterr().err


def test_the_schedules_are_those_of_the_asyncio_backend():
    from irgraph.analysis import SCHEDULES
    from irgraph.backends.plan import SCHEDULES as BACKEND_SCHEDULES
    from irgraph.cli_run import SCHEDULES as CLI_SCHEDULES

    assert CLI_SCHEDULES == SCHEDULES == BACKEND_SCHEDULES


def test_check_hints_at_the_schedule_option():
    out = io.StringIO()
    assert main(["check", WAITING, "--state", "topic=owls"], out=out) == 0
    hint = [line for line in out.getvalue().splitlines() if line.startswith("hint: ")][-1]
    assert hint.startswith("hint: irgraph run --schedule dataflow (AsyncioBackend(schedule=")
    assert "saves 2 s in all (at 1 s per node)." in hint
