"""The ``irgraph`` command: ``demo``, ``run``, ``batch``, ``check``, ``show``, ``diff``.

A target is ``module:attr`` naming a builder or IR node the way ``uvicorn`` names an app (the
current directory is importable), ``file.py:attr``, or a ``.json`` file holding a pipeline
saved as IR JSON or a graph (or a ``.graphml`` file of ``irgraph.portable``). Exit codes: 0
success, 1 the pipeline has problems or failed (``batch``: some item failed; ``diff``: the
pipelines differ), 2 bad command-line input (``diff``: any error), 130 interrupted (143 by
``SIGTERM``), 141 standard output closed early (``irgraph show ... | head -1``). A mistake on
the command line is one line on standard error, never a traceback. ``batch`` lives in
:mod:`irgraph.cli_batch`, ``show`` in :mod:`irgraph.cli_pictures`.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any, TextIO

from irgraph.cli_batch import batch_command, batch_target
from irgraph.cli_batch_options import add_batch_parser
from irgraph.cli_batch_results import input_words
from irgraph.cli_choices import (
    PROVIDER_HELP,
    check_backend,
    check_provider,
    quiet_prefect,
    quiet_prefect_exit,
)
from irgraph.cli_gates import gate_handler, parse_answers
from irgraph.cli_help import TARGET_HELP, said_of
from irgraph.cli_inputs import (
    CliError,
    check_keys,
    check_modules,
    check_valued,
    forget_file,
    load_saved,
    load_target,
    parse_state,
)
from irgraph.cli_live import one_line, shown, tell_run_failure
from irgraph.cli_options import CommandLine
from irgraph.cli_pictures import (
    add_direction_option,
    add_show_parser,
    check_output,
    show_command,
)
from irgraph.cli_run import (
    add_run_key_option,
    add_schedule_option,
    check_run_key_option,
    check_schedule_option,
    resume_advice,
    run_and_tell,
)
from irgraph.cli_signals import exit_code, terminated, terminated_as_interrupt
from irgraph.cli_state_types import (
    check_spelling,
    check_texts_routed_on,
    check_values,
    missing_state_error,
)
from irgraph.cli_warnings import told
from irgraph.errors import IrgraphError, RunError

__all__ = [
    "main",
    "load_target",
    "load_saved",
    "parse_state",
    "parse_answers",
    "check_keys",
    "check_modules",
    "check_output",
    "check_spelling",
    "check_backend",
    "check_provider",
    "gate_handler",
    "describe_graph",
    "CliError",
]


#: The fake model's latency of the demo pipeline (irgraph demo, irgraph run without a target).
DEMO_LATENCY = 0.3


def describe_graph(G: Any) -> str:
    """A plain-text summary of a pipeline graph: nodes, control edges, data edges. A node
    is one line, its id (with its name when the id is pinned to another): a name with a
    character that does not print shows as its ``repr``."""
    count = G.number_of_nodes()
    lines = [f"Pipeline {G.graph['name']!r}: {count} node{'' if count == 1 else 's'}"]
    for nid, data in G.nodes(data=True):
        scope = f"  (in {shown(data['parent'])})" if data["parent"] else ""
        writes = ", ".join(data.get("writes", ())) or "-"
        # A route's own key is also read by its body's condition: list each key once. An
        # optional {key?} read is a read too (a data edge comes in for it), marked with its ?.
        read = dict.fromkeys([*data.get("reads", ()), *data.get("body_reads", ())])
        optional = [*data.get("optional_reads", ()), *data.get("body_optional_reads", ())]
        read.update((f"{key}?", None) for key in optional if key not in read)
        reads = ", ".join(read) or "-"
        # A pinned id may say nothing of the node: give its name too (the builder's, the one
        # messages and diagrams elsewhere use).
        label = data.get("label", nid)
        named = f" (named {shown(label)})" if data.get("pinned") and label != nid else ""
        said = f"reads {reads}; writes {writes}{scope}"
        lines.append(f"  [{data['kind']}] {shown(nid)}{named}: {said}")
    control = [(u, v) for u, v, c in G.edges(data="control") if c]
    lines.append(f"Control edges ({len(control)}):")
    lines += [f"  {shown(u)} --> {shown(v)}" for u, v in control]
    data_edges = [(u, v, k) for u, v, k in G.edges(data="keys") if k]
    lines.append(f"Data edges ({len(data_edges)}):")
    lines += [f"  {shown(u)} -. {', '.join(sorted(k))} .-> {shown(v)}" for u, v, k in data_edges]
    if G.graph.get("inputs"):
        lines.append(f"Inputs: {', '.join(sorted(G.graph['inputs']))}")
    return "\n".join(lines)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds, 0 or more")
    return value


def _demo(args: argparse.Namespace, out: TextIO) -> int:
    from irgraph.demo import research_pipeline
    from irgraph.graph import to_graph
    from irgraph.validate import validate

    state = {"topic": args.topic}
    G = to_graph(research_pipeline, inputs=state.keys())
    validate(G)
    print(describe_graph(G), file=out)
    print(file=out)
    model = check_provider("fake", **({"latency": args.latency} if args.latency else {}))
    return run_and_tell(research_pipeline, state, out, model=model, live=args.progress)


def _check(args: argparse.Namespace, target: Any, out: TextIO) -> int:
    from irgraph.analysis import parallelizable
    from irgraph.cli_allow import allow_warnings
    from irgraph.graph import root_of, to_graph
    from irgraph.validate import check_given_values, required_inputs, validate

    state = parse_state(args.state, args.state_json)
    inputs = check_keys(args.input)
    declared = root_of(target).inputs
    # --state and --input add to the inputs the pipeline declares, never replace them.
    G = to_graph(target, inputs=[*declared, *state, *inputs])
    given = {**_state_options(args, state), **dict.fromkeys(inputs, "--input")}
    check_spelling(G, given, required_inputs(G) - set(declared), declared)
    check_texts_routed_on(G, _texts(args), state)
    allow = check_modules(args.allow_module)
    warnings = [*validate(G), *allow_warnings(root_of(target), allow)]
    check_given_values(G, state)  # what run would refuse of the values given, before a node
    print(describe_graph(G), file=out)
    for warning in warnings:
        print(f"warning: {one_line(warning)}", file=out)
    suggestions = parallelizable(G, latency=1.0)
    for suggestion in suggestions:
        said = str(_escaped_names(suggestion)).rstrip(".")
        print(f"hint: {said} (at 1 s per node).", file=out)
    if suggestions:
        print(
            "hint: irgraph run --schedule dataflow (AsyncioBackend(schedule='dataflow') in "
            "Python) drops every such wait, as writing such steps side by side (a | b) does: "
            f"it saves {suggestions.saving:g} s in all (at 1 s per node).",
            file=out,
        )
    print("OK: no problems found.", file=out)
    return 0


def _escaped_names(suggestion: Any) -> Any:
    """The suggestion with node names that do not print escaped as inside a ``repr`` (its
    text quotes them)."""
    import attrs

    def inner(name: str) -> str:
        return shown(name)[1:-1] if shown(name) != name else name

    return attrs.evolve(suggestion, node=inner(suggestion.node), after=inner(suggestion.after))


def _state_options(args: argparse.Namespace, state: dict[str, Any]) -> dict[str, str]:
    """The option that gave each state key, for messages about it."""
    pairs = _texts(args)
    return {key: "--state" if key in pairs else "--state-json" for key in state}


def _texts(args: argparse.Namespace) -> dict[str, str]:
    """The state keys ``--state key=value`` gave, as text (each once: parse_state refuses a
    key given twice)."""
    return dict(pair.partition("=")[::2] for pair in args.state)


def _run_command(
    args: argparse.Namespace,
    target: Any,
    out: TextIO,
    latency: float | None = None,
    notice: str = "",
) -> int:
    from irgraph.graph import root_of, to_graph
    from irgraph.validate import required_inputs

    state = parse_state(args.state, args.state_json)
    check_valued(args.input, state)
    answers = parse_answers(args.answer)
    allow = check_modules(args.allow_module)
    G = to_graph(target, inputs=state.keys())
    needed = required_inputs(G)
    check_spelling(G, _state_options(args, state), needed, root_of(target).inputs)
    check_texts_routed_on(G, _texts(args), state)
    missing = sorted(set(needed) - set(state))
    if missing:
        raise missing_state_error(G, missing)
    check_values(G, state)
    gate_handler(G, answers)  # refuses a missing or unknown answer before anything runs
    backend = check_backend(args.backend)
    if backend == "prefect":  # the command tells progress and failures itself
        quiet_prefect()
    fake = args.provider is None or args.provider == "fake"
    model = check_provider(args.provider, **({"latency": latency} if latency and fake else {}))
    schedule = check_schedule_option(args.schedule, backend)
    run_key = check_run_key_option(args.run_key, backend)
    if notice:  # once the command line is found right: a refusal is its only line
        print(notice, file=sys.stderr)
    return run_and_tell(
        target,
        state,
        out,
        backend=backend,
        model=model,
        answers=answers,
        allow=allow,
        live=args.progress,
        run_key=run_key,
        schedule=schedule,
    )


def _diff(args: argparse.Namespace, out: TextIO) -> int:
    from irgraph.analysis import diff
    from irgraph.graph import to_graph

    if args.direction is not None and not args.mermaid:
        raise CliError(
            f"--direction {args.direction} sets the way the --mermaid picture flows, and the "
            f"text of a change has none; add --mermaid, or drop --direction."
        )
    old = to_graph(load_target(args.old))  # plain data: the modules it came from may go
    forget_file(args.old)
    change = diff(old, to_graph(load_target(args.new)))
    forget_file(args.new)
    if args.mermaid:
        from irgraph.backends.mermaid_diff import diff_to_mermaid

        options = {} if args.direction is None else {"direction": args.direction}
        print(diff_to_mermaid(change, **options), file=out, end="")
    else:
        print(change, file=out)  # names that do not print are shown as their repr
    return 0 if change.empty else 1


def _progress_flag(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="a live table of the nodes on standard error (with rich; default: when "
        "standard error is a terminal)",
    )


def _parser() -> CommandLine:
    target_help = TARGET_HELP
    parser = CommandLine(
        prog="irgraph",
        description="Check, draw and run LLM-agent pipelines; irgraph COMMAND --help tells "
        "each command's options.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", **said_of("demo"))
    demo.add_argument(
        "--topic",
        default="graph-based agent pipelines",
        help="the topic input (default: %(default)s)",
    )
    demo.add_argument(
        "--latency", type=_seconds, default=DEMO_LATENCY, help="fake model latency (s)"
    )
    _progress_flag(demo)
    for name in ("run", "check"):
        cmd = sub.add_parser(name, **said_of(name))
        if name == "run":  # without one, the demo pipeline (irgraph run --state topic=owls)
            cmd.add_argument("target", nargs="?", help=target_help + " (default: the demo)")
        else:
            cmd.add_argument("target", help=target_help)
        cmd.add_argument(
            "--state",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="an initial state value, as text (repeatable, each key once; it wins over "
            "a --state-json value of its key; numbers, booleans and null go in --state-json)",
        )
        cmd.add_argument(
            "--state-json",
            action="append",
            default=[],
            metavar="JSON",
            help='initial state as a JSON object, e.g. \'{"topic": "owls", "n": 3}\' (null: '
            "no value; repeatable, a later one's keys win)",
        )
        cmd.add_argument(
            "--input",
            action="append",
            default=[],
            metavar="KEY",
            help="an input key besides those the pipeline declares (repeatable)"
            if name == "check"
            else "irgraph check's option: a run needs each input's value (--state KEY=VALUE), "
            "so a key without one is refused",
        )
        cmd.add_argument(
            "--allow-module",
            action="append",
            default=[],
            metavar="MODULE",
            help="let a pipeline read from a .json file import functions from MODULE "
            "(and its submodules; repeatable)",
        )
        if name == "run":
            cmd.add_argument(
                "--backend",
                default="asyncio",
                help="a registered backend: asyncio (the default), prefect, or one an installed "
                "package registers",
            )
            cmd.add_argument("--provider", default=None, help=PROVIDER_HELP)
            _progress_flag(cmd)
            add_run_key_option(cmd)
            add_schedule_option(cmd)
            cmd.add_argument(
                "--answer",
                action="append",
                default=[],
                metavar="GATE=VALUE",
                help="the answer to the gate with this name or id, a string (repeatable)",
            )
    add_batch_parser(sub, target_help)
    add_show_parser(sub, target_help)
    compare = sub.add_parser("diff", **said_of("diff"))
    compare.add_argument("old", help="the old pipeline: " + target_help)
    compare.add_argument("new", help="the new pipeline: " + target_help)
    compare.add_argument("--mermaid", action="store_true", help="print the change as mermaid")
    add_direction_option(compare)
    return parser


def _command(args: argparse.Namespace, out: TextIO) -> int:
    if args.command == "demo":
        return _demo(args, out)
    if args.command == "diff":
        return _diff(args, out)
    if args.command == "run" and args.target is None:
        from irgraph.demo import research_pipeline

        fake = f" with the fake model at {DEMO_LATENCY} s a call" if args.provider is None else ""
        notice = (
            f"No pipeline named: running the demo pipeline (irgraph.demo:research_pipeline)"
            f"{fake}. Name yours as module:attr, file.py:attr or a .json file."
        )
        return _run_command(args, research_pipeline, out, DEMO_LATENCY, notice)
    if args.command in ("run", "check"):  # a state the shell cut up is told before the
        parse_state(args.state, args.state_json)  # target made of its pieces ('owls}')
    target = batch_target(args) if args.command == "batch" else load_target(args.target)
    if args.command == "show":
        return show_command(args, target, out)
    if args.command == "check":
        return _check(args, target, out)
    if args.command == "batch":
        return batch_command(args, target, out)
    return _run_command(args, target, out)


def _silence(out: TextIO) -> None:
    """Point standard output at /dev/null once its reader has gone, so that Python's final
    flush does not fail again with a traceback."""
    if out is not sys.stdout:
        return
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):  # not a real file (captured output)
        pass


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Entry point of the ``irgraph`` console script; returns the exit code."""
    out = out or sys.stdout
    parser = _parser()
    parser.words = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    try:
        with terminated_as_interrupt(), warnings.catch_warnings():
            warnings.showwarning = told  # a warning of a run, as the command says its own
            return _command(args, out)
    except CliError as exc:
        print(f"irgraph: error: {exc}", file=sys.stderr)
        return 2
    except RunError as exc:  # what failed and where, and what to do: no Python advice
        tell_run_failure(exc, out, advice=resume_advice(args))
        return 1
    except IrgraphError as exc:  # PipelineError and the rest
        text = input_words(str(exc), exc, args.command)  # the options, not to_graph(inputs=)
        print(f"irgraph: {type(exc).__name__}: {text}", file=sys.stderr)
        return 2 if args.command == "diff" else 1
    except BrokenPipeError:  # irgraph show ... | head -1: the reader has all it wants
        _silence(out)
        return 141
    except KeyboardInterrupt as stop:
        said = "terminated (SIGTERM)" if terminated(stop) else "interrupted"
        print(f"irgraph: {said}.", file=sys.stderr)
        return exit_code(stop)
    finally:  # Prefect's temporary server stops as the process exits: Ctrl-C there is 130
        quiet_prefect_exit()


if __name__ == "__main__":
    raise SystemExit(main())
