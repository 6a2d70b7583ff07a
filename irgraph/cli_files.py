"""Which command-line targets name a saved pipeline file, and what to say about one that
names no target at all (a GEXF or GML file, a file without the ``.json`` suffix, a module
without ``:attr``, nothing before or after the colon, an expression after it: ``x.py:p[0]``)
or whose part before the colon is no Python file (``x.txt:p``, ``dir/:p``, ``missing.py:p``).
Plain functions returning text; :mod:`irgraph.cli_inputs` raises it as a
:class:`~irgraph.cli_inputs.CliError`.

>>> is_saved_file("p.json"), is_saved_file("P.JSON"), is_saved_file("p.graphml")
(True, True, True)
>>> is_saved_file("p.py:x"), is_graphml("p.GraphML")
(False, True)
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
from types import ModuleType

__all__ = [
    "file_problem",
    "has_colon",
    "is_graphml",
    "is_saved_file",
    "malformed",
    "missing_module",
    "nearby",
    "no_target",
    "not_a_name",
    "not_python",
    "shadowed_by",
]

_SAVED = (
    "a saved pipeline is read from a .json file (IR JSON or a node-link graph) or a .graphml "
    "file written with irgraph.portable"
)

#: How to name a pipeline: the end of each message about a target's file or module part.
_HOW = (
    "name a pipeline as file.py:pipeline (in a Python file) or module:pipeline (in an "
    "importable module), or name a saved pipeline's .json or .graphml file alone"
)

#: Suffixes of files that hold no Python module, which a dotted module name never ends with.
_NOT_PYTHON = frozenset(
    ".txt .md .rst .yaml .yml .toml .cfg .ini .csv .ipynb .pyc .pyi .pyw .pyx .sh .dot .gv "
    ".mmd .svg .png .gexf .gml".split()
)


def nearby(path: str, suffixes: tuple[str, ...] = (), rest: str = "") -> str:
    """`` Did you mean 'topics.jsonl'?`` for the files beside the missing ``path`` whose names
    are close to its own (a misspelt file name), each followed by ``rest`` (a target's
    ``:attr``), or ``""``; ``suffixes`` (lower case) keeps only files that end in one.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     _ = open(os.path.join(folder, "topics.jsonl"), "w").close()
    ...     nearby(os.path.join(folder, "topcs.jsonl")).endswith("topics.jsonl'?")
    True
    """
    from difflib import SequenceMatcher

    from irgraph.errors import suggestion_text

    folder, name = os.path.split(path)
    try:
        with os.scandir(folder or ".") as entries:
            names = [e.name for e in entries if e.is_file() and _ends(e.name, suffixes)]
    except OSError:  # the folder is missing too, or cannot be listed: nothing to offer
        return ""
    stem, suffix = os.path.splitext(name)
    scored = []
    for other in sorted(names):  # names of one suffix are compared by their stems alone,
        base, end = os.path.splitext(other)  # which the suffix would make look alike
        same = end.lower() == suffix.lower()
        ratio = SequenceMatcher(None, stem if same else name, base if same else other).ratio()
        if ratio >= 0.75 and name:
            scored.append((-ratio, other))
    found = [other for _, other in sorted(scored)[:3]]
    return suggestion_text([os.path.join(folder, n) + rest for n in found])


def _ends(name: str, suffixes: tuple[str, ...]) -> bool:
    """Whether the file ``name`` ends in one of ``suffixes``, in any case (any name, when
    there are none)."""
    return not suffixes or name.lower().endswith(suffixes)


def is_saved_file(spec: str) -> bool:
    """Whether ``spec`` names a saved pipeline: a ``.json`` or ``.graphml`` file, in any case
    (``P.JSON``)."""
    return spec.lower().endswith(".json") or is_graphml(spec)


def is_graphml(spec: str) -> bool:
    """Whether ``spec`` names a GraphML file (``nx.write_graphml(irgraph.portable(G), ...)``)."""
    return spec.lower().endswith(".graphml")


def no_target(spec: str) -> str:
    """The message for ``spec``, which is neither ``module:attr``, ``file.py:attr`` nor a
    ``.json`` file."""
    source, colon, attr = spec.rpartition(":")
    if colon and not attr:  # x.py:: names no pipeline either: suggest one colon
        source = source.rstrip(":")
    if colon and not attr and source and not has_colon(source):  # x.py: names no pipeline
        alone = f", or {source} alone for the one pipeline it holds" if source[-3:] == ".py" else ""
        return (
            f"{spec!r} names no pipeline after the colon; give its name there, e.g. "
            f"{source}:pipeline{alone}."
        )
    if colon and not source:  # :p names no file or module before it
        name = attr or "pipeline"
        return (
            f"{spec!r} names no file or module before the colon; {_HOW} (e.g. "
            f"pipelines.py:{name} or mypackage.pipelines:{name})."
        )
    if colon and has_colon(source):  # x.py:p:q
        return (
            f"{spec!r} has more than one colon, but a target has one, between the file or "
            f"module and the pipeline: {spec.partition(':')[0]}:pipeline; an attribute of an "
            "attribute is dotted (module:holder.pipeline)."
        )
    if colon and _relative(source):  # .x:p, as in a package's own import
        name = source.lstrip(".")
        if not name:  # .:p or ..:p, a folder
            return not_python(source, spec) or f"{spec!r} names no file or module; {_HOW}."
        return (
            f"{spec!r} names the relative module {source!r}, but a target has no package to be "
            f"relative to; name the module in full (mypackage.{name}:{attr or 'pipeline'}) or "
            f"its file ({name.replace('.', '/')}.py:{attr or 'pipeline'})."
        )
    if colon and "" in attr.split("."):  # x.py:p. or x.py:.p or x.py:a..b
        dotted = ".".join(part for part in attr.split(".") if part) or "pipeline"
        return (
            f"{spec!r} has an empty name in its attribute {attr!r}; name it as "
            f"{source}:{dotted} (a dotted attribute joins names with single dots)."
        )
    if colon and not all(part.isidentifier() for part in attr.split(".")):  # x.py:p[0]
        return not_a_name(source, attr, spec)
    stem, suffix = os.path.splitext(spec)
    if suffix.lower() == ".gexf":
        return (
            f"{spec!r} is a GEXF file, which cannot hold a pipeline (GEXF drops the graph's "
            f"'tree'), and {_SAVED}; save the pipeline with "
            "json.dumps(nx.node_link_data(to_graph(pipeline))) and name that file."
        )
    if suffix.lower() == ".gml":
        return (
            f"{spec!r} is a GML file, which cannot hold a pipeline (nx.read_gml takes each "
            f"node's 'label' as its id), and {_SAVED}; save the pipeline with "
            "nx.write_graphml(irgraph.portable(to_graph(pipeline)), path) and name that file."
        )
    if suffix.lower() in (".dot", ".gv"):
        return (
            f"{spec!r} is a DOT file, which cannot hold a pipeline (DOT keeps no graph "
            f"attributes and turns every node attribute into text: it is for drawing), and "
            f"{_SAVED}; save the pipeline with json.dumps(nx.node_link_data(to_graph(pipeline))) "
            "and name that file."
        )
    if os.path.isfile(spec) and suffix.lower() != ".py":
        start = _start(spec)
        if start == b"<":  # XML: GraphML, perhaps
            return (
                f"{spec!r} is a file without the .graphml suffix, but {_SAVED}; if it is "
                f"GraphML written from irgraph.portable(G), rename it to {stem}.graphml, else "
                "name a pipeline as module:attr or file.py:attr."
            )
        if start not in (b"{", b"["):  # a pickle, a picture: renaming it makes no pipeline
            return (
                f"{spec!r} is not JSON text, but {_SAVED}; save the pipeline with "
                "json.dumps(nx.node_link_data(to_graph(pipeline))) and name that file, or "
                "name a pipeline as module:attr or file.py:attr."
            )
        return (
            f"{spec!r} is a file without the .json suffix, but {_SAVED}; if it holds one, "
            f"rename it to {stem}.json, else name a pipeline as module:attr or file.py:attr."
        )
    plain = (
        f"{spec!r} is not of the form module:attr (e.g. irgraph.demo:research_pipeline), "
        f"file.py:attr or file.py, nor a saved pipeline's .json or .graphml file."
    )
    module = _module(spec)
    if os.path.isdir(spec) and getattr(module, "__file__", None) is None:
        # A folder (without __init__.py it imports as a namespace package, which holds no
        # pipeline) and spec:ATTR is refused as a directory: name a file in it.
        files = sorted(e.name for e in os.scandir(spec) if e.name.endswith(".py"))
        files = [name for name in files if name != "__init__.py"]
        folder = spec.rstrip("/" + os.sep) or spec
        shown = ", ".join(f"{folder}/{name}" for name in files[:4]) + (", ..." * (len(files) > 4))
        said = f"its files: {shown}" if files else f"e.g. {folder}/pipelines.py"
        return f"{plain} {spec!r} is a folder: name a .py file in it ({said})."
    if module is not None:  # a module alone: name its pipelines
        from irgraph.cli_classes import listing

        return f"{plain} It names a module: give {spec}:ATTR.{listing(module, spec)}"
    if colon or os.path.exists(spec):
        return plain
    return plain + nearby(spec, (".json", ".graphml", ".py"))  # p.jsn for p.json


def _start(path: str) -> bytes:
    """The first character of the file at ``path`` past a byte-order mark and white space
    (``{`` for JSON text, ``<`` for XML), or ``b"{"`` when it cannot be read (said when the
    file is read)."""
    try:
        with open(path, "rb") as file:
            return file.read(256).removeprefix(b"\xef\xbb\xbf").lstrip()[:1]
    except OSError:
        return b"{"


def not_a_name(source: str, attr: str, spec: str) -> str:
    """The message for target ``spec`` whose attribute ``attr`` (after the colon, in
    ``source``) is an expression, not a name or dotted attribute (``p[0]``, ``make()``).

    >>> print(not_a_name("x.py", "p[0]", "x.py:p[0]"))  # doctest: +NORMALIZE_WHITESPACE
    'x.py:p[0]' has an index after the colon ('p[0]'), but a target names a pipeline by
    its name or a dotted attribute only (file.py:name or file.py:name.attr), and evaluates no
    expression; assign it to a module-level name (pipeline = p[0]) in x.py and name that:
    x.py:pipeline.
    """
    part = next(p for p in attr.split(".") if not p.isidentifier())
    form = "file.py" if source.endswith(".py") else "module"
    accepted = f"a target names a pipeline by its name or a dotted attribute only ({form}:name "
    accepted += f"or {form}:name.attr)"
    if "[" not in part and "(" not in part:
        return (
            f"{spec!r} has {part!r} after the colon, which is not a Python name, but "
            f"{accepted}; name a pipeline by the name it has in {source} (letters, digits "
            "and _, not starting with a digit)."
        )
    what = "an index" if "[" in part else "a call"
    own = "" if form == "file.py" else ", or in a module of yours that imports it,"
    return (
        f"{spec!r} has {what} after the colon ({attr!r}), but {accepted}, and evaluates no "
        f"expression; assign it to a module-level name (pipeline = {attr}) in {source}{own} "
        f"and name that: {source}:pipeline."
    )


def _module(spec: str) -> ModuleType | None:
    """The module a dotted name ``spec`` names, when it imports cleanly; else ``None``."""
    if not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", spec):
        return None
    try:
        if importlib.util.find_spec(spec) is None:
            return None
        return importlib.import_module(spec)
    except Exception:  # not a module, or one that fails: the plain message says enough
        return None


def malformed(source: str, attr: str) -> bool:
    """Whether a target's parts around its last colon cannot name a pipeline: either is
    empty, the source holds another colon, it is a relative module name (``.x``), or the
    dotted attribute has an empty name (``p.``, ``.p``) or a part that is no name (``p[0]``,
    ``make()``); :func:`no_target` says why."""
    if not source or not attr or has_colon(source) or _relative(source):
        return True
    return not all(part.isidentifier() for part in attr.split("."))  # p., .p, p[0], f()


def _relative(source: str) -> bool:
    """Whether ``source`` is a relative module name (``.x``, ``..pkg.x``), not a path."""
    return source.startswith(".") and not source.endswith(".py") and not re.search(r"[\\/]", source)


def has_colon(source: str) -> bool:
    """Whether ``source``, a target's part before its last colon, holds a colon itself
    (``x.py:p`` of ``x.py:p:q``) other than a Windows drive's (``C:``)."""
    return ":" in re.sub(r"^[A-Za-z]:(?=[\\/])", "", source)


def not_python(source: str, spec: str) -> str | None:
    """What to say when ``source``, the part of target ``spec`` before its last colon, names
    a file or folder rather than a Python file (``x.txt``, ``dir/``, ``p.json``, ``x.PY``);
    ``None`` when it may be a module, or is a ``.py`` path."""
    where = f"{source!r} (named in {spec!r})"
    suffix = os.path.splitext(source)[1]
    if suffix == ".py":
        return None
    if is_saved_file(source):
        return (
            f"{where} is a saved pipeline's file, which holds one pipeline: name it alone, "
            f"without {spec[len(source) :]!r}, as {source}."
        )
    if os.path.isdir(source):
        found = sorted(n for n in os.listdir(source) if n.endswith(".py"))
        example = os.path.join(source, found[0] if found else "pipelines.py")
        return (
            f"{where} is a directory, not a Python file; name a .py file in it, e.g. "
            f"{example}{spec[len(source) :]}."
        )
    if os.path.isfile(source) and suffix.lower() == ".py":
        return (
            f"{where} ends in {suffix!r}, not '.py': Python loads only files named in lower "
            f"case .py; rename it to {source[: -len(suffix)]}.py."
        )
    if os.path.isfile(source):
        return f"{where} is a file, but not a Python file; {_HOW}."
    if suffix.lower() == ".py":
        close = nearby(source, (".py",), spec[len(source) :])
        return (
            f"There is no file {where}; check the path (a Python file's name ends in .py).{close}"
        )
    if suffix.lower() in _NOT_PYTHON:
        return (
            f"There is no file {where}, nor a module of that name, and a {suffix} file holds "
            f"no pipeline; {_HOW}."
        )
    return None


def missing_module(name: str, spec: str, exc: ImportError) -> str:
    """What to say when the module ``name`` of target ``spec`` is not there: a file or folder
    it names instead (:func:`not_python`), else the import's error with the modules of a
    close name (``irgraph.Demo``: ``irgraph.demo``; ``pipelnes``: ``pipelines``)."""
    said = not_python(name, spec)
    if said is not None:
        return said
    import pkgutil

    from irgraph.errors import closest_keys

    importlib.invalidate_caches()  # a folder listed before the file was written lists it now
    parent, _, _ = name.rpartition(".")
    try:  # the parent package is imported already: the import got as far as its child
        # sys.path's "" is the directory current now, as the import that failed took it;
        # pkgutil would keep the finder of the directory current when it first looked.
        here = [os.getcwd() if entry == "" else entry for entry in sys.path]
        places = importlib.import_module(parent).__path__ if parent else here
        found = [f"{parent}.{m.name}" if parent else m.name for m in pkgutil.iter_modules(places)]
    except Exception:  # not a package, or one that fails: no names to offer
        found = []
    attr = spec[len(name) + 1 :].partition(".")[0]
    close = closest_keys(name, [f for f in found if not f.rpartition(".")[2].startswith("_")], 3)
    # Only a module that defines the name asked for: the closest of every installed module
    # to a misspelt file name is some package (nope:x -> openai:x) that holds no pipeline.
    meant = next((module for module in close if defines(module, attr)), None)
    hint = f" Did you mean {meant}{spec[len(name) :]}?" if meant else ""
    return (
        f"Cannot import module {name!r} named in {spec!r}: {exc}.{hint} Run irgraph from the "
        "directory that holds it, or install the package it belongs to."
    )


def defines(module: str, name: str) -> bool:
    """Whether the source of ``module``, read without importing it, binds ``name`` at its top
    level (an assignment, a ``def`` or ``class``, an import), also inside an ``if`` or ``try``.

    >>> defines("irgraph.demo", "research_pipeline"), defines("irgraph.demo", "nothing")
    (True, False)
    """
    import ast

    try:
        found = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return False
    origin = found.origin if found is not None else None
    if not origin or not origin.endswith(".py"):
        return False
    try:
        with open(origin, encoding="utf-8") as source:
            tree = ast.parse(source.read())
    except (OSError, SyntaxError, ValueError):  # UnicodeDecodeError is a ValueError
        return False
    statements: list[ast.stmt] = list(tree.body)
    while statements:
        statement = statements.pop()
        if isinstance(statement, (ast.If, ast.Try, ast.With)):
            statements += statement.body + getattr(statement, "orelse", [])
            statements += getattr(statement, "finalbody", [])
            for handler in getattr(statement, "handlers", []):
                statements += handler.body
        elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if statement.name == name:
                return True
        elif isinstance(statement, (ast.Import, ast.ImportFrom)):
            if any((a.asname or a.name.partition(".")[0]) == name for a in statement.names):
                return True
        elif isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            if any(isinstance(n, ast.Name) and n.id == name for t in targets for n in ast.walk(t)):
                return True
    return False


def shadowed_by(name: str) -> str | None:
    """The file ``NAME.py`` in the current directory when ``name`` is a standard-library
    module, which an import of ``name`` takes instead of it; else ``None``."""
    if name in sys.stdlib_module_names and os.path.isfile(f"{name}.py"):
        return f"{name}.py"
    return None


def _named_in(path: str, spec: str) -> str:
    """`` (named in 'x.py:p')`` after a path that is part of the target ``spec``; nothing when
    the target is the path alone (``irgraph diff v1.py v3.py``), which would say it twice."""
    return "" if path == spec else f" (named in {spec!r})"


def file_problem(path: str, spec: str) -> str | None:
    """What to say when ``path``, the file part of target ``spec`` (``dir/x:p``,
    ``missing.py:p``), is not a Python file that exists; ``None`` when it is one."""
    if not path.endswith(".py"):
        said = not_python(path, spec)
        if said is not None or os.path.splitext(path)[1]:
            return said or f"There is no file {path!r}{_named_in(path, spec)}; {_HOW}."
        if path.endswith(("/", os.sep)):  # dir/:p, a folder that is not there
            return (
                f"There is no directory {path!r}{_named_in(path, spec)}; check the path, and "
                f"name a .py file in it, e.g. {path}pipelines.py{spec[len(path) :]}."
            )
        dotted = path.replace("/", ".").replace(os.sep, ".").strip(".")
        return (
            f"{path!r} in {spec!r} is a path but not a Python file; name a .py file "
            f"({path}.py:ATTR) or an importable module ({dotted}:ATTR)."
        )
    if not os.path.exists(path):
        return (
            f"There is no file {path!r}{_named_in(path, spec)}; check the path (a relative one "
            f"starts at the current directory).{nearby(path, ('.py',), spec[len(path) :])}"
        )
    if os.path.isdir(path):
        return (
            f"{path!r}{_named_in(path, spec)} is a directory, not a Python file; name a .py file "
            "in it, e.g. pipelines/research.py:pipeline."
        )
    return None
