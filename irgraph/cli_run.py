"""``irgraph run``'s run: the pipeline run with its progress told; ``--run-key``, which
names a run of a backend that keeps answers (Prefect's cache), so that the same command run
again after a failure takes the agents that completed from there rather than paying again;
and ``--schedule`` (``irgraph batch`` too), what each step waits for on a backend made with a
``schedule`` (asyncio's)."""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from irgraph.cli_gates import gate_handler
from irgraph.cli_inputs import CliError
from irgraph.cli_live import RunDisplay, one_line, print_state, shown
from irgraph.cli_signals import exit_code, terminated

__all__ = [
    "SCHEDULES",
    "add_run_key_option",
    "add_schedule_option",
    "check_schedule_option",
    "scheduled_backend",
    "check_run_key_option",
    "keeps_answers",
    "resume_advice",
    "run_and_tell",
]

RUN_KEY_HELP = (
    "name the run for the backend's cache (--backend prefect): the same command run again "
    "with the same name, after a failure or a crash, takes the agents that completed from "
    "the cache rather than asking the model again"
)


#: What ``--schedule`` takes: the asyncio backend's schedules (``irgraph.analysis.SCHEDULES``,
#: not imported here: it would load networkx for ``irgraph --help``).
SCHEDULES = ("topological", "dataflow")

SCHEDULE_HELP = (
    "what each step waits for (--backend asyncio): 'topological' (the default), every step "
    "written before it; 'dataflow', only the steps whose keys it reads, so steps that need "
    "nothing from each other run at the same time"
)


def add_schedule_option(cmd: argparse.ArgumentParser) -> None:
    """Give ``irgraph run`` or ``irgraph batch`` its ``--schedule`` option."""
    cmd.add_argument("--schedule", choices=SCHEDULES, default=None, help=SCHEDULE_HELP)


def check_schedule_option(schedule: str | None, backend: str) -> str | None:
    """``schedule`` when the backend registered as ``backend`` is made with a ``schedule``
    option (its class or factory takes the keyword, as asyncio's does), else the error saying
    so: the backend would refuse the keyword only in Python's words."""
    from irgraph.compile import get_backend
    from irgraph.errors import keyword_names

    if schedule is None:
        return None
    takes = keyword_names(type(get_backend(backend)))
    if takes is not None and "schedule" not in takes:
        raise CliError(
            f"--schedule {schedule} sets what each step waits for on a backend made with a "
            f"schedule, and the backend {backend!r} takes none (its steps wait for every step "
            "written before them); add --backend asyncio, or drop --schedule."
        )
    return schedule


def scheduled_backend(backend: str, schedule: str | None) -> Any:
    """The backend to run on: its registered name ``backend``, or, with a ``schedule``
    (:func:`check_schedule_option`), the backend made with it."""
    if schedule is None:
        return backend
    from irgraph.compile import get_backend
    from irgraph.errors import IrgraphError

    try:
        return get_backend(backend, schedule=schedule)
    except IrgraphError as error:  # a backend of one's own refusing the value
        raise CliError(f"--schedule {schedule}: {error}") from None


def add_run_key_option(cmd: argparse.ArgumentParser) -> None:
    """Give ``irgraph run`` its ``--run-key NAME`` option."""
    cmd.add_argument("--run-key", default=None, metavar="NAME", help=RUN_KEY_HELP)


def keeps_answers(backend: str) -> bool:
    """Whether the backend registered as ``backend`` keeps its agents' answers between runs
    under a run key (its capabilities say ``durable``: Prefect's cache)."""
    from irgraph.compile import get_backend

    return bool(getattr(get_backend(backend).capabilities, "durable", False))


def check_run_key_option(run_key: str | None, backend: str) -> str | None:
    """``run_key`` when the ``backend`` named keeps answers between runs (its capabilities say
    ``durable``), else the error saying so: the asyncio backend would refuse the option only
    once the pipeline had been checked, in Python's words."""
    if run_key is None:
        return None
    if not run_key.strip():
        raise CliError(
            f"--run-key {run_key!r} names no run; give a name such as --run-key report-2026-12."
        )
    if not keeps_answers(backend):
        raise CliError(
            f"--run-key names a run for a backend that keeps its agents' answers between runs, "
            f"and the backend {backend!r} keeps none (a run asks every agent again); add "
            "--backend prefect, or drop --run-key."
        )
    return run_key


def _kept(run_key: str | None) -> str:
    """Where the answers of the agents that completed are, when a ``run_key`` named the run."""
    if run_key is None:
        return ""
    return (
        f" The agents that completed are kept under run key {run_key!r}: run the same command "
        f"(with --run-key {run_key}) and they are taken from there, not asked again."
    )


def resume_advice(args: argparse.Namespace) -> str:
    """What ``irgraph run``'s failure adds about the next run: the answers kept under the
    ``--run-key`` given, or, on a backend that keeps answers (:func:`keeps_answers`, the rule
    :func:`check_run_key_option` takes the option by), the option that would keep them."""
    run_key = getattr(args, "run_key", None)
    if run_key is not None:
        return _kept(run_key)
    backend = getattr(args, "backend", None)  # irgraph demo has none: asyncio
    if backend is not None and keeps_answers(backend):
        return (
            " To keep the answers of the agents that complete for the next run, name the run: "
            "--run-key NAME."
        )
    return ""


def run_and_tell(
    target: Any,
    state: dict[str, Any],
    out: TextIO,
    *,
    backend: str = "asyncio",
    model: Any,
    answers: dict[str, str] | None = None,
    allow: list[str] | None = None,
    live: bool | None = None,
    run_key: str | None = None,
    schedule: str | None = None,
) -> int:
    """Run ``target`` from ``state`` as ``irgraph run`` does: its progress on ``out`` (a live
    table, or a line per node), gates answered from ``answers``, then the time it took and the
    final state; ``run_key`` names a Prefect run for its cache (:func:`check_run_key_option`),
    ``schedule`` what each step waits for (:func:`check_schedule_option`)."""
    from irgraph.graph import to_graph
    from irgraph.run import run

    G = to_graph(target, inputs=state.keys())
    on_gate = gate_handler(G, answers or {})
    progress = RunDisplay(G, out, live=live)
    options: dict[str, Any] = {"on_event": progress}
    if run_key is not None:
        options["run_key"] = run_key
    if on_gate is not None:

        def answer(request: Any) -> str:
            value = on_gate(request)
            if progress.live is None:
                asked = request.message or "(no message)"  # a message holds state
                said = one_line(f"{asked} -> {value}")
                progress.write(f"  ? {shown(request.node)}: {said}")
            return value

        options["on_gate"] = answer
    try:
        with progress:
            engine = scheduled_backend(backend, schedule)
            result = run(
                target, backend=engine, provider=model, state=state, allow=allow, **options
            )
            progress.finish(result)
    except KeyboardInterrupt as stop:
        partial = getattr(stop, "partial", None)  # what completed, and the state it wrote
        if partial is not None and partial.completed and isinstance(partial.state, dict):
            print_state(partial.state, out, heading="State when the run stopped:")
        done = ", ".join(map(shown, progress.done())) or "nothing"
        said = "Terminated (SIGTERM)" if terminated(stop) else "Interrupted"
        kept = _kept(run_key) if progress.done() else ""
        print(f"{said}; completed: {done}.{kept}", file=sys.stderr)
        return exit_code(stop)
    took, extra = progress.took()  # the run's measured time, as its progress and view say
    scheduled = "" if schedule is None else f" with the {schedule} schedule"
    print(f"Finished in {took} on backend '{backend}'{scheduled}{extra}.", file=out)
    print_state(result.state, out)
    return 0
