"""The options of ``irgraph batch`` and what ``irgraph batch --help`` says of each (the
command itself is :mod:`irgraph.cli_batch`)."""

from __future__ import annotations

import argparse
from typing import Any

from irgraph.cli_choices import PROVIDER_HELP

__all__ = ["add_batch_parser"]


def _count(text: str) -> int:
    if not text.strip().lstrip("+-").isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number; give 1 or more")
    if int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is too few; give 1 or more")
    return int(text)


def add_batch_parser(sub: Any, target_help: str) -> None:
    """Register ``irgraph batch`` on the subparsers ``sub``."""
    cmd = sub.add_parser("batch", help="run a pipeline once per line of a JSON Lines file")
    cmd.add_argument("target", help=target_help)
    cmd.add_argument("inputs", help="JSON Lines, one initial state a line ('-': standard input)")
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
