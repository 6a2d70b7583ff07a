"""A generated flow module's command line, read and checked before Prefect loads.

``python flow.py run --state '[1]'``, a gate answer for no gate, ``--help``: a generated module
answers each at once, where it used to import Prefect first (seconds on a small machine) only
to refuse the line. The module reads its command line with :func:`read_command` between its
settings and ``from prefect import flow``, when it runs as a script; its ``main`` then acts on
the :class:`FlowCommand`. The words of every refusal are the ones ``main`` said before. A run
that fails ends as ``irgraph run`` ends one: one line and exit code 1 (:func:`failure_told`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import attrs

from irgraph.errors import RunError, a_or_an

from .prefect_flow_cli import STATE_TOLD, FlowCommandLine, state_from_json, told_by_command_line
from .prefect_flow_ends import flow_timeout, run_ends
from .prefect_flow_values import warn_given_keys
from .prefect_gates import gate_answers
from .prefect_logs import TRACEBACK_HINT, quiet_failures
from .prefect_result_dir import check_result_storage

__all__ = ["FlowCommand", "read_command", "failure_told", "flow_timeout", "TRACEBACK_HINT"]


@attrs.frozen
class FlowCommand:
    """What a generated module's command line asks: ``name`` is ``deploy``, ``run`` or
    ``run-batch``; ``run`` has its checked ``state``, ``run_key`` and gate ``answers`` (by
    gate id), ``run-batch`` its ``items``; ``parser`` says a later refusal (a deploy target
    that cannot work) in the same one-line form."""

    parser: FlowCommandLine
    name: str
    state: dict[str, Any] = attrs.field(factory=dict)
    run_key: str | None = None
    answers: dict[str, str] = attrs.field(factory=dict)
    items: Any = None


def _parser() -> FlowCommandLine:
    parser = FlowCommandLine(description="Deploy (default) or run this Prefect flow.")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("deploy", help="deploy to the work pool (the default)")
    run = commands.add_parser("run", help="run once here and print the final state as JSON")
    run.add_argument(  # --state-json too: irgraph run's name for JSON, which its hints say
        "--state",
        "--state-json",
        dest="state",
        default="{}",
        help="the initial state, a JSON object",
    )
    run.add_argument("--run-key", default=None, help="the run key agent results cache under")
    run.add_argument(
        "--answer",
        action="append",
        default=[],
        metavar="GATE=VALUE",
        help="the answer to the gate with this name or id (repeatable)",
    )
    batch = commands.add_parser("run-batch", help="run a chunk of items here, print results")
    batch.add_argument("--items", required=True, help='JSON: [{"index", "state", "run_key"}]')
    return parser


def read_command(
    argv: Sequence[str] | None,
    inputs: Sequence[str],
    gates: Mapping[str, str],
    result_storage: str | os.PathLike[str] | None,
    checks: Mapping[str, Any] | None = None,
) -> FlowCommand:
    """Read ``argv`` (``None``: the process's arguments) as the module with ``INPUTS``
    ``inputs``, ``GATES`` ``gates``, ``RESULT_STORAGE`` ``result_storage`` and
    ``STATE_CHECKS`` ``checks`` does; a mistake (an initial value the pipeline cannot use
    too) ends the process with one line and exit code 2, as ``--help`` ends it with the
    help."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "run":
        try:
            state = state_from_json(args.state, inputs, checks)
            if args.run_key == "":
                raise ValueError("--run-key is empty; give the run a name, or leave it out")
            answers = gate_answers(gates, args.answer)
            check_result_storage(result_storage)
        except ValueError as error:
            parser.error(str(error))
        if checks is not None:
            _tell_warnings(parser, state, checks)
        return FlowCommand(parser, "run", state, args.run_key, answers)
    if args.command == "run-batch":
        try:
            items = json.loads(args.items)
        except ValueError as error:
            parser.error(f"--items is not JSON ({error}); give a JSON list of items")
        try:
            _check_items(items)
            check_result_storage(result_storage)
        except ValueError as error:
            parser.error(str(error))
        if checks is not None:
            _tell_item_warnings(parser, items, checks)
            if argv is None or list(argv) == sys.argv[1:]:  # this process's: its batch flow
                told_by_command_line()  # leaves them unsaid, in an older module's main too
        return FlowCommand(parser, "run-batch", items=items)
    return FlowCommand(parser, "deploy")


#: What a ``run-batch`` item holds; an example of one, for the refusals.
_ITEM_KEYS = ("index", "state", "run_key")
_ITEM = '{"index": 0, "state": {"topic": "owls"}, "run_key": "k0"}'


def _check_items(items: Any) -> None:
    """Refuse ``run-batch --items`` that is not a list of items (objects of ``index``,
    ``state`` an object, ``run_key`` a name, or left out) with a ``ValueError`` naming the
    first item that is not one, before Prefect loads: Prefect refused them in a traceback."""
    if not isinstance(items, list):
        raise ValueError(
            f"--items must be a JSON list of items, not {_json_kind(items)}; e.g. --items "
            f"'[{_ITEM}]'"
        )
    for number, item in enumerate(items):
        where = f"--items' item {number}"
        if not isinstance(item, dict):
            raise ValueError(
                f"{where} is {_json_kind(item)} ({json.dumps(item)[:40]}), not an item; give "
                f"each as an object, e.g. {_ITEM}"
            )
        strange = [key for key in item if key not in _ITEM_KEYS]
        if strange:
            raise ValueError(
                f"{where} has the key {strange[0]!r}, which an item does not take; an item "
                f"takes {', '.join(map(repr, _ITEM_KEYS))}, e.g. {_ITEM}"
            )
        state, run_key = item.get("state"), item.get("run_key")
        if state is not None and not isinstance(state, dict):
            raise ValueError(
                f"{where}'s state is {_json_kind(state)}, not an object of state keys to "
                f"values; e.g. {_ITEM}"
            )
        if run_key is not None and not (isinstance(run_key, str) and run_key):
            raise ValueError(
                f"{where}'s run_key is {json.dumps(run_key)[:40]}; give a non-empty string, "
                "or leave it out"
            )


def _json_kind(value: Any) -> str:
    """What ``value`` (read from JSON) is, in JSON's words: "an object", "a list", ..."""
    kinds = {dict: "object", list: "list", str: "string", bool: "boolean", type(None): "null"}
    kind = kinds.get(type(value), "number")
    return f"{a_or_an(kind)} {kind}"


def _tell_warnings(
    parser: argparse.ArgumentParser,
    state: Mapping[str, Any],
    checks: Mapping[str, Any],
    item: str = "",
) -> None:
    """Say each warning an in-process run gives for ``state`` (a key that is an optional read
    misspelt) as ``irgraph run`` says it, one line on standard error (after ``item``, the
    batch item it is of), before Prefect loads; the flow then leaves it unsaid
    (:func:`failure_told`, :func:`~.prefect_flow_cli.state_warnings_told`)."""
    from irgraph.cli_live import one_line

    with warnings.catch_warnings(record=True) as given:
        warnings.simplefilter("always")
        warn_given_keys(state, checks)
    for warning in given:
        said = one_line(str(warning.message))
        print(f"{parser.prog}: warning: {item}{said}", file=sys.stderr)


def _tell_item_warnings(parser: argparse.ArgumentParser, items: Any, checks: Any) -> None:
    """:func:`_tell_warnings` of each item of ``run-batch --items`` (``Item 3: ...``, by the
    item's index) whose state is a mapping; what is no item is the batch flow's to refuse."""
    for number, item in enumerate(items if isinstance(items, list) else []):
        state = item.get("state") if isinstance(item, Mapping) else None
        if isinstance(state, Mapping):
            _tell_warnings(parser, state, checks, f"Item {item.get('index', number)}: ")


@contextlib.contextmanager
def failure_told(parser: argparse.ArgumentParser) -> Iterator[None]:
    """A run that fails in the block ends the process as ``irgraph run`` ends it: one line on
    standard error (``flow.py: RunError: Node 'x' failed: ...``, what completed before it and
    what to do) and exit code 1, where a traceback said it. Prefect's console says before it
    only which agent's task run failed, without the traceback (shown with
    ``PREFECT_LOGGING_LEVEL=DEBUG``; :mod:`.prefect_logs`). A run stopped (by its flow's
    ``timeout_seconds``, a Ctrl-C) or failed by its Prefect server ends in one line too
    (:func:`~.prefect_flow_ends.run_ends`). The state's warnings were told as the command
    line was read, so the flow does not tell them again."""
    told = STATE_TOLD.set(True)
    try:
        with run_ends(parser), quiet_failures():
            yield
    except RunError as error:
        from irgraph.cli_live import run_failure

        from .prefect_server import settle_services_at_exit

        settle_services_at_exit()  # the failed run's last events are sent first, quietly
        parser.exit(1, f"{parser.prog}: RunError: {run_failure(error)}\n")
    finally:
        STATE_TOLD.reset(told)
