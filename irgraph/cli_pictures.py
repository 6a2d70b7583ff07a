"""``irgraph show``: its options, and the output file's picture format, checked before
anything is drawn (a file that cannot be written, a suffix no format is written as, a format
its name contradicts, PNG to standard output), each a :class:`~irgraph.cli_inputs.CliError`;
and Graphviz's failures told in the command's words (its options, not Python's arguments).
"""

from __future__ import annotations

import argparse
import math
import os
from typing import Any, TextIO

from irgraph.cli_help import said_of
from irgraph.cli_inputs import CliError
from irgraph.cli_live import one_line
from irgraph.display import SUFFIXES
from irgraph.errors import IrgraphError, MissingExtraError

__all__ = [
    "DIRECTIONS",
    "add_direction_option",
    "SUFFIX_FORMATS",
    "add_show_parser",
    "check_output",
    "dot_seconds",
    "collapsed",
    "graphviz_failure",
    "show_command",
]

#: The picture format a file name's suffix asks for, when --format is not given (the first
#: format that takes it: ``.txt`` is mermaid, or dot with --format dot).
SUFFIX_FORMATS = {
    suffix: fmt for fmt, suffixes in reversed(SUFFIXES.items()) for suffix in suffixes
}


#: What ``--direction`` takes: the exporters' ``direction=`` (mermaid's words; dot's rankdir).
DIRECTIONS = ("TD", "TB", "BT", "LR", "RL")


def add_direction_option(cmd: Any) -> None:
    """Give the parser ``cmd`` ``--direction``, the way its picture flows."""
    cmd.add_argument(
        "--direction",
        type=str.upper,  # --direction lr is LR
        choices=DIRECTIONS,
        default=None,
        help="the way the graph flows, in any case: TD or TB top-down, BT bottom-up, LR "
        "left to right, RL right to left (default: TD)",
    )


def add_show_parser(sub: Any, target_help: str) -> None:
    """Register ``irgraph show`` on the subparsers ``sub``."""
    show = sub.add_parser("show", **said_of("show"))
    show.add_argument("target", help=target_help)
    show.add_argument(
        "--format",
        type=str.lower,  # --format SVG is svg
        choices=("mermaid", "dot", "svg", "png"),
        default=None,
        help="the picture format, in any case (default: from the -o file's suffix, else mermaid)",
    )
    add_direction_option(show)
    show.add_argument(
        "-o", "--output", default=None, metavar="FILE", help="write to FILE (-: standard output)"
    )
    show.add_argument(
        "--collapse",
        action="append",
        default=None,
        metavar="PART",
        help="fold parts into one node each: a depth (0: the loops, map-overs, routes and "
        "named blocks the pipeline holds, 1: those inside them, ...) or a part's id or name; "
        "repeat it to fold several parts",
    )
    show.add_argument(
        "--no-data-edges",
        dest="data_edges",
        action="store_false",
        help="draw the control flow only: no dashed arrows for the keys a node reads from another",
    )
    show.add_argument(
        "--style",
        type=str.lower,
        choices=("default", "seed"),
        default=None,
        help="mermaid only: seed draws the way the builder's example pages do (the root as a "
        "title node, one arrow per pair of nodes)",
    )
    show.add_argument(
        "--dot-timeout",
        type=dot_seconds,
        default=None,
        metavar="SECONDS",
        help="how long Graphviz's dot may draw svg or png before it is stopped (default: 60)",
    )


def dot_seconds(text: str) -> float:
    """The seconds of ``--dot-timeout``: a number above 0, else a usage error.

    >>> dot_seconds("2.5")
    2.5
    """
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of seconds above 0; give how long dot may draw, "
            "e.g. --dot-timeout 120"
        )
    return value


def collapsed(values: list[str]) -> int | list[str]:
    """The exporters' ``collapse=`` for ``--collapse`` given ``values``: one whole number is a
    depth, anything else the parts to fold by id or name.

    >>> collapsed(["0"]), collapsed(["revise", "triage"])
    (0, ['revise', 'triage'])
    """
    if len(values) == 1 and values[0].strip().isdigit():
        return int(values[0])
    depths = [value for value in values if value.strip().isdigit()]
    if depths:
        raise CliError(
            f"--collapse {depths[0]} is a depth, which folds every part at that depth, and "
            f"cannot be given with the parts named by the other --collapse options "
            f"({', '.join(v for v in values if v not in depths)}); give one depth, or names."
        )
    return list(values)


def show_command(args: argparse.Namespace, target: Any, out: TextIO) -> int:
    """Draw ``target`` as ``irgraph show`` was asked to: printed, or written to ``-o``."""
    from irgraph.backends import dot
    from irgraph.display import render

    output: str | None = None if args.output == "-" else args.output  # -o -: standard output
    fmt = check_output(output, args.format)
    seconds = dot.DOT_TIMEOUT if args.dot_timeout is None else args.dot_timeout  # as set now
    try:
        options: dict[str, Any] = {} if args.direction is None else {"direction": args.direction}
        if args.collapse:
            options["collapse"] = collapsed(args.collapse)
        if not args.data_edges:
            options["data_edges"] = False
        if args.style is not None:
            if fmt != "mermaid":
                raise CliError(
                    f"--style {args.style} draws mermaid, and this picture is {fmt}; drop "
                    "--style, or give --format mermaid (or an -o file ending in .mmd)."
                )
            options["style"] = args.style
        diagram = render(target, fmt, timeout=seconds, **options)
    except IrgraphError as exc:  # no Graphviz to draw with: a set-up matter, told as such
        if args.collapse and str(exc).startswith("collapse names "):  # a part misspelt
            negative = [v for v in args.collapse if v.strip().startswith("-")]
            if negative and negative[0].strip()[1:].isdigit():  # no part of that name either
                raise CliError(
                    f"--collapse {negative[0].strip()} is no depth: depths start at 0 (the "
                    "loops, map-overs, routes and named blocks the pipeline holds), 1 for "
                    "those inside them, ...; e.g. --collapse 0."
                ) from None
            said = str(exc).replace("collapse='", "--collapse '")  # the option, not Python's
            raise CliError(one_line(f"--{said}")) from None
        raise graphviz_failure(exc, fmt) from None
    if output is None:
        print(diagram.data, file=out)
        return 0
    try:
        diagram.save(output)
    except OSError as exc:
        raise CliError(
            f"Cannot write {output!r}: {exc.strerror}; choose a file you may write."
        ) from None
    print(f"Wrote {output} ({fmt}).", file=out)
    return 0


def check_output(output: str | None, chosen: str | None = None) -> str:
    """The picture format for ``irgraph show`` (``chosen`` with --format, else the one the
    output file's suffix asks for, else mermaid), refusing before anything is drawn an output
    file that cannot be written, a suffix no format is written as (``.pdf``), a format its
    name contradicts, and PNG to standard output. A name without a suffix takes any format."""
    suffix = os.path.splitext(output or "")[1].lower()
    named = SUFFIX_FORMATS.get(suffix)
    fmt = chosen or named or "mermaid"
    ext = SUFFIXES[fmt][0].lstrip(".")
    if output is None:
        if fmt == "png":
            raise CliError(
                "PNG is binary, so it is not printed to standard output (no -o, or -o -); "
                "write it to a file, e.g. -o pipeline.png."
            )
        return fmt
    if not output:
        raise CliError(f"-o needs a file name (got an empty one), e.g. -o pipeline.{ext}.")
    if os.path.isdir(output):
        example = os.path.join(output, f"pipeline.{ext}")
        raise CliError(f"-o {output!r} is a directory; give a file in it, e.g. -o {example}.")
    folder, base = os.path.split(output)
    if _only_a_suffix(base):
        takes = chosen or SUFFIX_FORMATS.get(base.lower())
        fits = takes is not None and base.lower() in SUFFIXES[takes]
        example = os.path.join(folder, "pipeline" + (base if fits else SUFFIXES[takes or "svg"][0]))
        alone = f", or drop -o to print it (--format {takes})" if takes not in (None, "png") else ""
        raise CliError(
            f"-o {output!r} is only a suffix, not a file name: it would write a hidden file "
            f"named {base!r}. Name the file, e.g. -o {example}{alone}."
        )
    if folder and os.path.exists(folder) and not os.path.isdir(folder):
        raise CliError(
            f"Cannot write {output!r}: {folder!r} is a file, not a directory; write the "
            "picture elsewhere."
        )
    if folder and not os.path.isdir(folder):
        raise CliError(
            f"Cannot write {output!r}: there is no directory {folder!r}; create it first "
            f"(mkdir -p {folder}) or write the picture elsewhere."
        )
    stem = os.path.splitext(output)[0]
    if suffix and named is None:
        known = ", ".join(f"{f} {'/'.join(SUFFIXES[f])}" for f in SUFFIXES)
        example = f"{stem}.{ext}" if chosen else f"{stem}.svg"
        raise CliError(
            f"Cannot write a picture to {output!r}: irgraph show writes no {suffix} files; "
            f"name the file e.g. {example} (the suffixes it writes: {known})."
        )
    if chosen is not None and suffix and suffix not in SUFFIXES[chosen]:
        asks = " or ".join(f for f in SUFFIXES if suffix in SUFFIXES[f])
        raise CliError(
            f"--format {chosen} does not match the file name {output!r}, which asks for "
            f"{asks}; drop --format (the file name picks the format) or name the file "
            f"{stem}.{ext}."
        )
    return fmt


def _only_a_suffix(name: str) -> bool:
    """Whether a file name is only a suffix (``.svg``, ``.pdf``): a picture format's or one
    the ``mimetypes`` table knows. ``os.path.splitext`` sees no suffix in such a name."""
    import mimetypes

    if not name.startswith(".") or "." in name[1:]:
        return False
    return name.lower() in SUFFIX_FORMATS or mimetypes.guess_type("x" + name)[0] is not None


def graphviz_failure(exc: IrgraphError, fmt: str) -> IrgraphError:
    """What ``irgraph show`` raises for ``exc``, an error drawing ``fmt``: a Graphviz error (no
    ``dot``, one that failed or was stopped) or no pydot as a
    :class:`~irgraph.cli_inputs.CliError` (exit code 2) whose advice names the command's
    options; any other error as it is."""
    if isinstance(exc, MissingExtraError):  # no pydot: a set-up matter, as no dot is
        return CliError(
            f"Drawing {fmt.upper() if fmt != 'dot' else 'DOT'} needs the '{exc.package}' "
            f"package, which is not installed. Install it with: pip install "
            f"'irgraph[{exc.extra}]', or show it as --format mermaid."
        )
    if type(exc).__name__ != "GraphvizError":
        return exc
    timeout = getattr(exc, "timeout", None)
    if timeout is not None:  # the Python advice (collapse=..., timeout=) in its options
        return CliError(
            f"Graphviz's dot did not finish drawing {fmt.upper()} within {timeout:g} s, and "
            f"was stopped. Allow it more time with --dot-timeout SECONDS (e.g. --dot-timeout "
            f"{max(120, 4 * timeout):g}), fold its parts with --collapse 0, show it as --format "
            "mermaid, or write its DOT text "
            f"(--format dot -o pipeline.dot) and run dot -T{fmt} on that file yourself, with "
            "no time limit."
        )
    said = str(exc).replace("draw with to_mermaid instead", "show it as --format mermaid")
    return CliError(one_line(said))  # what dot wrote, on one line and without escape codes
