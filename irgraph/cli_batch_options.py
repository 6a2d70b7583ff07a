"""The options of ``irgraph batch``, what ``irgraph batch --help`` says of each, the
backend its options choose, and a batch refused before any item ran in the options' words
(the command itself is :mod:`irgraph.cli_batch`)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator
from typing import Any

from irgraph.cli_batch_lock import output_lock
from irgraph.cli_choices import PROVIDER_HELP, quiet_prefect
from irgraph.cli_help import said_of
from irgraph.cli_inputs import CliError
from irgraph.cli_run import add_schedule_option, check_schedule_option, scheduled_backend
from irgraph.errors import IrgraphError, PipelineError

__all__ = ["add_batch_parser", "batch_backend", "setup_mistake", "named_by_output", "held_output"]


def _count(text: str) -> int:
    if not text.strip().lstrip("+-").isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number; give 1 or more")
    if int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is too few; give 1 or more")
    return int(text)


def add_batch_parser(sub: Any, target_help: str) -> None:
    """Register ``irgraph batch`` on the subparsers ``sub``."""
    cmd = sub.add_parser("batch", **said_of("batch"))
    cmd.add_argument("target", help=target_help)
    cmd.add_argument(
        "inputs",
        help="JSON Lines, one initial state a line ('-': standard input, read once: its lines "
        "resume only in their own places; give a file to resume lines that moved)",
    )
    cmd.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="FILE",
        help="the results, one JSON line per item; the same file again resumes the batch",
    )
    cmd.add_argument(
        "--backend",
        choices=("asyncio", "prefect"),
        default="asyncio",
        help="where the items run (default: asyncio)",
    )
    add_schedule_option(cmd)
    cmd.add_argument(
        "--work-pool",
        default=None,
        metavar="NAME",
        help="send the items to this Prefect work pool (with --backend prefect)",
    )
    cmd.add_argument(
        "--deployment",
        default=None,
        metavar="FLOW/NAME",
        help="the item deployment on the pool (default: the pipeline's flow name, twice)",
    )
    cmd.add_argument(
        "--chunk-size",
        type=_count,
        default=None,
        metavar="N",
        help="items per flow run on the pool (default: 8)",
    )
    cmd.add_argument("--provider", default=None, help=PROVIDER_HELP)
    cmd.add_argument(
        "--max-concurrency",
        type=_count,
        default=None,
        metavar="N",
        help="model calls in flight across the whole batch (default: no limit)",
    )
    cmd.add_argument(
        "--max-items",
        type=_count,
        default=None,
        metavar="N",
        help="items in flight, how far the inputs are read ahead (default: "
        "--max-concurrency, else 64)",
    )
    cmd.add_argument(
        "--batch-key",
        default=None,
        metavar="KEY",
        help="keep completed agents' answers in .irgraph-batches/KEY, so that half-done "
        "items resume too",
    )
    cmd.add_argument("--fail-fast", action="store_true", help="stop at the first failed item")
    cmd.add_argument(
        "--answer",
        action="append",
        default=[],
        metavar="GATE=VALUE",
        help="the answer to the gate with this name or id for every item, a string (repeatable)",
    )
    cmd.add_argument(
        "--allow-module",
        action="append",
        default=[],
        metavar="MODULE",
        help="let a pipeline read from a .json file import functions from MODULE (repeatable)",
    )


def batch_backend(args: argparse.Namespace) -> Any:
    """The backend ``irgraph batch`` runs its items on: ``--backend``'s name, or Prefect's
    backend sending them to ``--work-pool``, its options checked together."""
    if args.backend == "prefect":
        quiet_prefect()
    if args.work_pool is None:
        for option, value in (("--deployment", args.deployment), ("--chunk-size", args.chunk_size)):
            if value is not None:
                raise CliError(
                    f"{option} names how a batch goes to a Prefect work pool; add --backend "
                    "prefect --work-pool NAME (or drop it to run the batch here)."
                )
        return scheduled_backend(args.backend, check_schedule_option(args.schedule, args.backend))
    if args.backend != "prefect":
        raise CliError(
            f"--work-pool {args.work_pool} sends items to Prefect workers; add --backend prefect "
            "(or drop --work-pool to run the batch here)."
        )
    check_schedule_option(args.schedule, args.backend)  # Prefect's backend takes none
    if args.provider is not None:
        raise CliError(
            f"--provider cannot reach the workers of the work pool {args.work_pool!r}, which use "
            "the provider of their flow module (PrefectWorkerConfig(provider=...)); drop it."
        )
    try:
        from irgraph.backends.prefect_backend import PrefectBackend
    except ImportError as exc:
        raise CliError(
            f"--work-pool needs Prefect, which cannot be imported ({exc}); install it with "
            "pip install 'irgraph[prefect]'."
        ) from None
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        raise CliError(
            f"--work-pool {args.work_pool} sends items to the Prefect server its workers use, but "
            "PREFECT_API_URL is not set (a temporary local server has no workers); set it, e.g. "
            "export PREFECT_API_URL=http://127.0.0.1:4200/api."
        )
    pool = {"deployment": args.deployment, "chunk_size": args.chunk_size}
    try:
        return PrefectBackend(args.work_pool, **{k: v for k, v in pool.items() if v})
    except PipelineError as error:  # a deployment name Prefect refuses, say
        raise CliError(f"--deployment: {error}") from None


def _command_words(said: str, args: argparse.Namespace, kept: bool | None) -> str:
    """A batch's refusal as the command says it: its options for ``batch_key``; and, when the
    results file holds results of another pipeline (``kept`` True), that a changed pipeline
    needs a new one too (the same file would be refused); when it holds only this pipeline's
    (``kept`` None), that it resumes with the new key (deleting it would lose them)."""
    from irgraph.batch_store import default_directory

    new = "give it a new --batch-key"
    if kept and args.batch_key is not None:
        new += f" and a new -o file (the results {args.output} holds are the old pipeline's)"
        store = f"delete the directory {default_directory(args.batch_key)}"
        said = said.replace(store, f"{store} and the results file {args.output}")
    elif kept is None and args.batch_key is not None:
        mine = f"the results {args.output} holds are this pipeline's"
        new += f" ({mine}, and resume under the new key)"
    said = said.replace("give it a new batch_key", new)
    return f"{said.rstrip('.')}."


def _results_kind(found: Any, target: Any) -> bool | None:
    """What the results file (scanned into ``found``) holds that a resumed batch would keep:
    ``False`` nothing, ``None`` only results of ``target``, ``True`` some of another pipeline
    (or of an irgraph that did not record it)."""
    from irgraph.batch_pipeline import described_json, digest_of_described

    kept = [pipeline for _, _, ok, pipeline in found.values() if ok]
    if not kept:
        return False
    digest = digest_of_described(json.loads(described_json(target)))
    return True if any(pipeline != digest for pipeline in kept) else None


@contextlib.contextmanager
def held_output(args: argparse.Namespace) -> Iterator[None]:
    """Hold the results file ``-o`` while the command runs (:func:`output_lock`), tell what a
    command killed outright left running on a work pool that this one does not take over, and
    name a batch on a pool without ``--batch-key`` by the file (:func:`named_by_output`). A
    pool batch that ends before it looked for the chunks a killed command left (refused,
    stopped) keeps the lock file's generation: the next command still finds them by it."""
    with output_lock(args.output, args.work_pool, args.batch_key) as held:
        if held.note is not None:
            print(f"irgraph: {held.note}", file=sys.stderr)
        if args.work_pool is None:
            yield
            return
        from irgraph.backends.prefect_orphans import taking_over

        with taking_over() as took, named_by_output(args, held.generation):
            try:
                yield
            finally:
                held.keep = held.keep or (held.inherited and not took.done)


def named_by_output(args: argparse.Namespace, generation: str) -> Any:
    """A context in which a batch sent to ``--work-pool`` without ``--batch-key`` is named by
    its results file ``-o`` (its real path) and ``generation`` (``output_lock``'s): run
    again after a ``kill -9``, it finds the chunks the killed command left on the workers,
    takes the answers of those that completed and waits for those still running, rather
    than send their items again (:mod:`irgraph.backends.prefect_orphans`). Any other
    batch: a context that does nothing (a keyed one is named by its store)."""
    if args.work_pool is None or args.batch_key is not None:
        return contextlib.nullcontext()
    from irgraph.backends.prefect_orphans import sending_for

    return sending_for(os.path.realpath(args.output), generation)


def setup_mistake(
    error: IrgraphError, args: argparse.Namespace, found: Any, target: Any
) -> CliError:
    """A batch refused before any item ran, in the command line's words: exit code 2."""
    said = str(error)
    renamed = args.batch_key is not None and "give it a new batch_key" in said
    return CliError(_command_words(said, args, _results_kind(found, target) if renamed else False))
