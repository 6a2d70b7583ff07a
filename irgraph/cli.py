"""The ``irgraph`` command: ``demo``, ``run``, ``check``, ``show``, ``diff``.

``module:attr`` names a builder or IR node the way ``uvicorn`` names an app (the current
directory is importable), or a ``.json`` file holds one saved as IR JSON or a graph.
Exit codes: 0 success, 1 the pipeline has problems or failed,
2 bad command-line input.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

from irgraph import checks
from irgraph.errors import IrgraphError, did_you_mean
from irgraph.events import Event

__all__ = ["main", "load_target", "parse_state", "describe_graph", "CliError"]


class CliError(IrgraphError):
    """Bad command-line input (exit code 2)."""


def load_saved(path: str) -> Any:
    """The pipeline saved in a ``.json`` file: IR JSON (``irgraph.ir.to_json``) or a graph
    (``nx.node_link_data(to_graph(...))``). Functions are imported only when they run."""
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
        data = json.loads(text)
    except OSError as exc:
        raise CliError(f"Cannot read the pipeline file {path!r}: {exc.strerror}.") from None
    except ValueError as exc:
        raise CliError(f"The pipeline file {path!r} is not valid JSON ({exc}).") from None
    if isinstance(data, dict) and data.get("format") == "irgraph-ir":
        from irgraph.ir import from_json

        return from_json(text)
    if isinstance(data, dict) and "nodes" in data and "graph" in data:
        import networkx as nx

        from irgraph.schema import from_graph

        edges = "links" if "links" in data else "edges"
        return from_graph(nx.node_link_graph(data, edges=edges))
    raise CliError(
        f"{path!r} holds neither IR JSON nor a saved graph; save a pipeline with "
        "irgraph.ir.to_json(ir) or json.dumps(nx.node_link_data(to_graph(pipeline)))."
    )


def load_target(spec: str) -> Any:
    """Import ``module:attr`` (attr may be dotted) from the current directory or sys.path, or
    read a saved pipeline from a ``.json`` file."""
    if spec.endswith(".json"):
        return load_saved(spec)
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise CliError(
            f"{spec!r} is not of the form module:attr (e.g. irgraph.demo:research_pipeline)."
        )
    if "" not in sys.path:
        sys.path.insert(0, "")
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise CliError(
            f"Cannot import module {module_name!r} named in {spec!r}: {exc}. Run irgraph from "
            "the directory that holds it, or install the package it belongs to."
        ) from exc
    except Exception as exc:  # the user's module failed while importing: say so, not a trace
        raise CliError(
            f"Importing module {module_name!r} named in {spec!r} raised "
            f"{type(exc).__name__}: {exc}. Fix the module so that it imports "
            f"(python -c 'import {module_name}' shows the traceback)."
        ) from exc
    for part in attr.split("."):
        if not hasattr(target, part):
            names = [n for n in dir(target) if not n.startswith("_")]
            guess = did_you_mean(part, names)
            raise CliError(f"{module_name!r} has no attribute {part!r}.{guess}")
        target = getattr(target, part)
    return target


def parse_state(pairs: Sequence[str], json_text: str | None = None) -> dict[str, Any]:
    """Parse ``key=value`` pairs (values are strings) and an optional JSON object."""
    state: dict[str, Any] = {}
    if json_text:
        try:
            loaded = json.loads(json_text)
        except ValueError as exc:
            raise CliError(f"--state-json is not valid JSON ({exc}).") from None
        if not isinstance(loaded, dict):
            raise CliError('--state-json must be a JSON object such as \'{"topic": "owls"}\'.')
        state.update(loaded)
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not checks.is_key(key):
            raise CliError(
                f"--state {pair!r} is not of the form key=value with an identifier key "
                "(e.g. --state topic=owls)."
            )
        state[key] = value
    return state


def describe_graph(G: Any) -> str:
    """A plain-text summary of a pipeline graph: nodes, control edges, data edges."""
    lines = [f"Pipeline {G.graph['name']!r}: {G.number_of_nodes()} nodes"]
    for nid, data in G.nodes(data=True):
        scope = f"  (in {data['parent']})" if data["parent"] else ""
        writes = ", ".join(data.get("writes", ())) or "-"
        reads = ", ".join([*data.get("reads", ()), *data.get("body_reads", ())]) or "-"
        lines.append(f"  [{data['kind']}] {nid}: reads {reads}; writes {writes}{scope}")
    control = [(u, v) for u, v, c in G.edges(data="control") if c]
    lines.append(f"Control edges ({len(control)}):")
    lines += [f"  {u} --> {v}" for u, v in control]
    data_edges = [(u, v, k) for u, v, k in G.edges(data="keys") if k]
    lines.append(f"Data edges ({len(data_edges)}):")
    lines += [f"  {u} -. {', '.join(sorted(k))} .-> {v}" for u, v, k in data_edges]
    if G.graph.get("inputs"):
        lines.append(f"Inputs: {', '.join(sorted(G.graph['inputs']))}")
    return "\n".join(lines)


class _Progress:
    """Per-node progress: a live table with rich when installed, plain lines otherwise."""

    def __init__(self, nodes: list[str], out: TextIO) -> None:
        self.nodes = nodes
        self.out = out
        self.status: dict[str, str] = {n: "waiting" for n in nodes}
        self.started: dict[str, float] = {}
        self.live: Any = None
        try:
            from rich.console import Console
            from rich.live import Live
        except ImportError:
            return
        console = Console(file=out)
        if console.is_terminal:
            self.live = Live(self.table(), console=console, refresh_per_second=12)

    def table(self) -> Any:
        from rich.table import Table

        table = Table(title="irgraph run")
        table.add_column("node")
        table.add_column("status")
        for node in self.nodes:
            table.add_row(node, self.status[node])
        return table

    def __enter__(self) -> _Progress:
        if self.live is not None:
            self.live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.live is not None:
            self.live.__exit__(*exc)

    def __call__(self, event: Event) -> None:
        if event.event == "start":
            self.started[event.node] = event.time
            self.status[event.node] = "running"
            line = f"  > {event.node} started"
        elif event.event == "end":
            took = event.time - self.started.get(event.node, event.time)
            self.status[event.node] = f"done in {took:.2f} s"
            line = f"  ok {event.node} ({took:.2f} s)"
        else:
            return
        if self.live is not None:
            self.live.update(self.table())
        else:
            print(line, file=self.out, flush=True)


def _print_state(state: dict[str, Any], out: TextIO) -> None:
    print("Final state:", file=out)
    for key, value in state.items():
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        if len(text) > 300:
            text = text[:297] + "..."
        print(f"  {key} = {text}", file=out)


def _run(
    target: Any,
    backend: str,
    provider_spec: str,
    state: dict[str, Any],
    out: TextIO,
    latency: float | None = None,
) -> int:
    from irgraph.graph import to_graph
    from irgraph.provider_spec import provider_from_spec
    from irgraph.run import run

    G = to_graph(target, inputs=state.keys())
    options = {"latency": latency} if latency and provider_spec == "fake" else {}
    provider = provider_from_spec(provider_spec, **options)
    start = time.monotonic()
    progress = _Progress(list(G.nodes), out)
    try:
        with progress:
            result = run(target, backend=backend, provider=provider, state=state, on_event=progress)
    except KeyboardInterrupt:
        done = [node for node, status in progress.status.items() if status.startswith("done")]
        print(f"Interrupted; completed: {', '.join(done) or 'nothing'}.", file=sys.stderr)
        return 130
    print(f"Finished in {time.monotonic() - start:.2f} s on backend '{backend}'.", file=out)
    _print_state(result.state, out)
    return 0


def _show(target: Any, fmt: str, output: str | None, out: TextIO) -> int:
    from irgraph.display import render

    diagram = render(target, fmt)
    if output is not None:
        diagram.save(output)
        print(f"Wrote {output} ({fmt}).", file=out)
    elif isinstance(diagram.data, bytes):
        raise CliError("PNG is binary: write it to a file with -o FILE.")
    else:
        print(diagram.data, file=out)
    return 0


def _diff(old: Any, new: Any, mermaid: bool, out: TextIO) -> int:
    from irgraph.analysis import diff
    from irgraph.graph import to_graph

    change = diff(to_graph(old), to_graph(new))
    if mermaid:
        from irgraph.backends.mermaid_diff import diff_to_mermaid

        print(diff_to_mermaid(change), file=out, end="")
    else:
        print(change, file=out)
    return 0


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Entry point of the ``irgraph`` console script; returns the exit code."""
    out = out or sys.stdout
    parser = argparse.ArgumentParser(prog="irgraph", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the research demo offline with the fake model")
    demo.add_argument("--topic", default="graph-based agent pipelines")
    demo.add_argument("--latency", type=float, default=0.3, help="fake model latency (s)")
    for name, help_text in (("run", "run a pipeline"), ("check", "validate a pipeline")):
        cmd = sub.add_parser(name, help=help_text)
        cmd.add_argument("target", help="module:attr naming a builder or IR node, or a .json file")
        cmd.add_argument("--state", action="append", default=[], metavar="KEY=VALUE")
        cmd.add_argument("--state-json", default=None, metavar="JSON")
        cmd.add_argument(
            "--input",
            action="append",
            default=[],
            metavar="KEY",
            help="an input key besides those the pipeline declares (check)",
        )
        if name == "run":
            cmd.add_argument("--backend", default="asyncio")
            cmd.add_argument("--provider", default=None, help="'fake' or 'openai:MODEL'")
    show = sub.add_parser("show", help="draw a pipeline (mermaid, dot, svg or png)")
    show.add_argument("target", help="module:attr naming a builder or IR node, or a .json file")
    show.add_argument("--format", choices=("mermaid", "dot", "svg", "png"), default="mermaid")
    show.add_argument("-o", "--output", default=None, metavar="FILE", help="write to FILE")
    compare = sub.add_parser("diff", help="what changed between two pipelines")
    compare.add_argument("old", help="module:attr of the old pipeline")
    compare.add_argument("new", help="module:attr of the new pipeline")
    compare.add_argument("--mermaid", action="store_true", help="print the change as mermaid")
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            from irgraph.demo import research_pipeline
            from irgraph.graph import to_graph
            from irgraph.validate import validate

            state = {"topic": args.topic}
            G = to_graph(research_pipeline, inputs=state.keys())
            validate(G)
            print(describe_graph(G), file=out)
            print(file=out)
            return _run(research_pipeline, "asyncio", "fake", state, out, args.latency)
        if args.command == "diff":
            return _diff(load_target(args.old), load_target(args.new), args.mermaid, out)
        target = load_target(args.target)
        if args.command == "show":
            return _show(target, args.format, args.output, out)
        state = parse_state(args.state, args.state_json)
        if args.command == "check":
            from irgraph.graph import root_of, to_graph
            from irgraph.validate import validate

            # --state and --input add to the inputs the pipeline declares, never replace them.
            G = to_graph(target, inputs=[*root_of(target).inputs, *state, *args.input])
            warnings = validate(G)
            print(describe_graph(G), file=out)
            for warning in warnings:
                print(f"warning: {warning}", file=out)
            from irgraph.analysis import parallelizable

            for suggestion in parallelizable(G, latency=1.0):
                print(f"hint: {suggestion} (at 1 s per node)", file=out)
            print("OK: no problems found.", file=out)
            return 0
        return _run(target, args.backend, args.provider or "fake", state, out)
    except CliError as exc:
        print(f"irgraph: error: {exc}", file=sys.stderr)
        return 2
    except IrgraphError as exc:  # PipelineError, RunError and the rest
        print(f"irgraph: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
