"""What ``irgraph --help`` and each command's own ``--help`` say of ``demo``, ``run``,
``check``, ``batch``, ``show`` and ``diff`` (:mod:`irgraph.cli`): a line in the command list,
and a description with an example above the command's options."""

from __future__ import annotations

from typing import Any

__all__ = ["TARGET_HELP", "said_of"]

#: What a target is, as every command's help says it.
TARGET_HELP = (
    "module:attr or file.py:attr naming a builder or IR node, file.py for its one "
    "pipeline, or a .json or .graphml file"
)

_COMMANDS = {
    "demo": (
        "run the research demo offline with the fake model",
        "Print the demo pipeline's graph, then run it offline with the fake model.",
    ),
    "run": (
        "run a pipeline",
        "Run a pipeline and print each node's progress, then the final state; e.g. irgraph "
        "run irgraph.demo:research_pipeline --state topic=owls (the fake model answers unless "
        "--provider names another).",
    ),
    "check": (
        "validate a pipeline",
        "Build a pipeline's graph, validate it and print its nodes and edges, every problem "
        "at once (exit 1); e.g. irgraph check irgraph.demo:research_pipeline --input topic.",
    ),
    "batch": (
        "run a pipeline once per line of a JSON Lines file",
        "Run a pipeline once per line of a JSON Lines file (each line an object of its "
        "inputs), writing each item's result to -o as it completes; the same command run "
        "again resumes, running only what has no result; e.g. irgraph batch "
        "irgraph.demo:research_pipeline topics.jsonl -o results.jsonl.",
    ),
    "show": (
        "draw a pipeline (mermaid, dot, svg or png)",
        "Print a pipeline's picture as mermaid (or DOT), or write it to a file, its format "
        "from -o's suffix (SVG and PNG need Graphviz's dot); e.g. irgraph show "
        "irgraph.demo:research_pipeline -o pipeline.svg.",
    ),
    "diff": (
        "what changed between two pipelines (exit 1 if any)",
        "Print what changed from one pipeline to another (exit 1 if anything did); e.g. "
        "irgraph diff v1/pipe.py:pipeline v2/pipe.py:pipeline.",
    ),
}


def said_of(command: str) -> dict[str, Any]:
    """``help`` and ``description`` of ``command``, for ``add_parser``."""
    line, description = _COMMANDS[command]
    return {"help": line, "description": description}
