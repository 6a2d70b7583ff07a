"""What the ``irgraph`` command is given, read and checked: targets, state, allowed modules
(output files: :mod:`irgraph.cli_pictures`; gate answers: :mod:`irgraph.cli_gates`).

A target is ``module:attr`` (imported from the current directory or ``sys.path``),
``path/to/file.py:attr`` (the file loaded as the module named by its stem, its folder made
importable, as ``python path/to/file.py`` would) or a ``.json`` file holding a saved pipeline.
Every mistake is a :class:`CliError` whose one-line message names the offending thing and says
what to do; the command prints it and exits with 2, never with a traceback.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
import sysconfig
from collections.abc import Iterable, Sequence
from types import ModuleType
from typing import Any

import attrs

from irgraph import checks
from irgraph.cli_batch_lines import KeyGivenTwice, unique_keys
from irgraph.cli_classes import as_target, is_pipeline, listing, not_a_pipeline, sole_pipeline
from irgraph.cli_files import (
    file_problem,
    is_graphml,
    is_saved_file,
    malformed,
    missing_module,
    nearby,
    no_target,
    not_python,
    shadowed_by,
)
from irgraph.errors import IrgraphError, PipelineError, closest_keys, did_you_mean
from irgraph.ir.values import NotJsonNumber, refuse_constant

__all__ = [
    "CliError",
    "forget_file",
    "load_target",
    "load_saved",
    "parse_state",
    "check_keys",
    "check_modules",
]

_KEY_RULE = checks.KEY_RULE


class CliError(IrgraphError):
    """Bad command-line input (exit code 2)."""


# Targets ---------------------------------------------------------------------------------


def load_target(spec: str) -> Any:
    """Import ``module:attr``, ``file.py:attr`` (attr may be dotted) or ``file.py`` (the one
    pipeline it holds), or read a saved pipeline from a ``.json`` or ``.graphml`` file. The
    current directory is importable, for the target and the functions a saved one names."""
    importable("")  # the current directory
    # a module file written since the last import, in the same tick of the folder's mtime,
    # is not in the finders' cached listings: look again
    importlib.invalidate_caches()
    if is_saved_file(spec):
        return load_saved(spec)
    source, sep, attr = spec.rpartition(":")
    if not sep and spec.endswith(".py"):  # a file alone: the one pipeline it holds
        found, problem = sole_pipeline(_import_file(spec, spec), spec)
        if problem is not None:
            raise CliError(problem)
        return as_target(found)
    if not sep or malformed(source, attr):
        raise CliError(no_target(spec))
    is_file = source.endswith(".py") or "/" in source or os.sep in source
    module = _import_file(source, spec) if is_file else _import_module(source, spec)
    target: Any = module
    holder: Any = None  # what the path's last part is read from
    parts = attr.split(".")
    for index, part in enumerate(parts):
        try:
            found = hasattr(target, part)
            value = getattr(target, part) if found else None
        except Exception as exc:  # a property or module __getattr__ of the user's code
            raise CliError(
                f"Reading {part!r} of {source!r} (named in {spec!r}) raised {type(exc).__name__}: "
                f"{str(exc).rstrip('.')}. Fix that code, or name another attribute."
            ) from exc
        if not found:
            shadowed = shadowed_by(source) if index == 0 and not is_file else None
            folder = index == 0 and not is_file and getattr(module, "__file__", None) is None
            if folder and os.path.isdir(source):  # a folder imported as a namespace package
                raise CliError(not_python(source, spec) or "")
            if shadowed:
                raise CliError(
                    f"{source!r} (named in {spec!r}) is the standard-library module, not your "
                    f"file {shadowed}: the standard library comes first. Rename the file, e.g. "
                    f"to {source}_pipeline.py, and name it {source}_pipeline:{attr}."
                )
            names = [n for n in dir(target) if not n.startswith("_")]
            where = f"{source}:{'.'.join(parts[:index])}" if index else source
            close = closest_keys(part, names)
            named = index == 0 and all(is_pipeline(getattr(module, n, None)) for n in close)
            listed = "" if index or (close and named) else listing(module, source)
            raise CliError(
                f"{where!r} has no attribute {part!r}.{did_you_mean(part, names)}{listed}"
            )
        holder, target = target, value
    problem = not_a_pipeline(spec, source, module, target, holder)
    if problem is not None:
        raise CliError(problem)
    return as_target(target)  # what compile() returns, or its .runnable: its IR


def _import_module(name: str, spec: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        if _is_missing(exc, name):
            raise CliError(missing_module(name, spec, exc)) from exc
        raise _import_failed(f"module {name!r}", spec, exc, f"python -c 'import {name}'") from exc
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # sys.exit() or any error of the module's own code
        raise _import_failed(f"module {name!r}", spec, exc, f"python -c 'import {name}'") from exc


def _is_missing(exc: ImportError, name: str) -> bool:
    """Whether ``exc`` says that ``name`` itself (or a package above it) is not there, rather
    than that the module's own code imports something missing."""
    missing = getattr(exc, "name", None)
    if not isinstance(exc, ModuleNotFoundError) or missing is None:
        return False
    return name == missing or name.startswith(missing + ".")


def _import_file(path: str, spec: str) -> ModuleType:
    """Load ``path`` as the module named by its stem, as ``python path`` would import it: its
    folder is importable, so its sibling modules import too."""
    problem = file_problem(path, spec)
    if problem is not None:
        raise CliError(problem)
    full = os.path.realpath(path)
    name = os.path.basename(full)[: -len(".py")]
    if name in sys.stdlib_module_names and name not in sys.modules:  # imported later, it
        raise CliError(  # would be this file, for irgraph and every library alike
            f"The file {path!r} (named in {spec!r}) has the name of the standard-library "
            f"module {name!r}, which it would stand in for; rename it, e.g. to "
            f"{name}_pipeline.py."
        )
    loaded = sys.modules.get(name)
    if loaded is not None:
        if os.path.realpath(getattr(loaded, "__file__", None) or "") == full:
            return loaded
        raise CliError(
            f"The file {path!r} (named in {spec!r}) has the name of the module {name!r}, "
            f"which is already imported from elsewhere; rename the file, e.g. to "
            f"{name}_pipeline.py."
        )
    folder = os.path.dirname(full)
    importable(folder)
    found = importlib.util.spec_from_file_location(name, full)
    if found is None or found.loader is None:  # pragma: no cover - a .py file always has one
        raise CliError(f"Python cannot load {path!r} (named in {spec!r}) as a module.")
    module = importlib.util.module_from_spec(found)
    sys.modules[name] = module
    try:
        found.loader.exec_module(module)
    except KeyboardInterrupt:
        del sys.modules[name]
        raise
    except OSError as exc:
        del sys.modules[name]
        raise CliError(
            f"Cannot read the file {path!r} named in {spec!r}: {exc.strerror}. Check that it "
            "is a file you may read."
        ) from exc
    except BaseException as exc:  # sys.exit() or any error of the file's own code
        del sys.modules[name]
        raise _import_failed(f"the file {path!r}", spec, exc, f"python {path}") from exc
    return module


def importable(folder: str) -> None:
    """Put ``folder`` (``""``: the current directory) on ``sys.path`` after the standard
    library, before the installed packages: a ``queue.py`` or ``email.py`` there would
    otherwise stand in for the standard module when irgraph or a library imports it."""
    if folder in sys.path:
        return
    stdlib = {os.path.realpath(sysconfig.get_paths()[k]) for k in ("stdlib", "platstdlib")}
    last = -1
    for index, entry in enumerate(sys.path):
        real = os.path.realpath(entry or os.curdir)
        if "-packages" in real:  # site-packages, dist-packages: after the folder
            continue
        if real.endswith(".zip") or any(real.startswith(s) for s in stdlib):
            last = index
    sys.path.insert(last + 1, folder)


def forget_file(spec: str) -> None:
    """Forget what loading the file target ``spec`` imported from the file's folder (its
    modules, the folder on ``sys.path``), so that another target loads its own: ``irgraph diff
    v1/pipe.py v2/pipe.py`` compares two versions whose files, and sibling modules, share names.
    Nothing for a module target or a saved file."""
    source = spec.rpartition(":")[0] if ":" in spec else spec
    if not source.endswith(".py") or is_saved_file(spec):
        return
    folder = os.path.dirname(os.path.realpath(source))
    for name, module in list(sys.modules.items()):
        where = getattr(module, "__file__", None) or ""
        if os.path.dirname(os.path.realpath(where)) == folder:
            del sys.modules[name]
    if folder in sys.path and folder != os.path.realpath(os.getcwd()):
        sys.path.remove(folder)


def _import_failed(what: str, spec: str, exc: BaseException, command: str) -> CliError:
    if isinstance(exc, SystemExit):
        code = "" if exc.code is None else repr(exc.code)
        return CliError(
            f"Importing {what} named in {spec!r} called sys.exit({code}); a module that a "
            "pipeline comes from must not exit when imported: put its script part under "
            "if __name__ == '__main__':."
        )
    return CliError(
        f"Importing {what} named in {spec!r} raised {type(exc).__name__}: "
        f"{str(exc).rstrip('.')}. Fix it so that it imports ({command} shows the traceback)."
    )


def load_saved(path: str) -> Any:
    """The pipeline saved in a ``.json`` file: IR JSON (``irgraph.ir.to_json``) or a graph
    (``nx.node_link_data(to_graph(...))``); or in a ``.graphml`` file written with
    ``nx.write_graphml(irgraph.portable(G), path)``. Functions are imported only when they
    run."""
    try:
        with open(path, "rb") as file:
            raw = file.read()
    except OSError as exc:
        advice = (
            "check the path (a relative one starts at the current directory)"
            if isinstance(exc, FileNotFoundError)
            else f"give the path of a {os.path.splitext(path)[1]} file you may read"
        )
        close = nearby(path, (".json", ".graphml")) if isinstance(exc, FileNotFoundError) else ""
        raise CliError(
            f"Cannot read the pipeline file {path!r}: {exc.strerror}; {advice}.{close}"
        ) from None
    if is_graphml(path):
        return _saved_graphml(path, raw)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CliError(
            f"The pipeline file {path!r} is not UTF-8 text (byte {exc.start} cannot be read); "
            "save it again as UTF-8 JSON."
        ) from None
    save = "irgraph.ir.to_json(ir) or json.dumps(nx.node_link_data(to_graph(pipeline)))"
    if not text.strip():
        raise CliError(f"The pipeline file {path!r} is empty; save a pipeline into it with {save}.")
    try:
        data = json.loads(text)
    except RecursionError:
        raise CliError(
            f"The pipeline file {path!r} nests its JSON too deeply to read; a pipeline saved by "
            "irgraph nests far less, so save it again with irgraph.ir.to_json."
        ) from None
    except ValueError as exc:
        raise CliError(
            f"The pipeline file {path!r} is not valid JSON ({exc}); save it again with {save}."
        ) from None
    if isinstance(data, dict) and data.get("format") == "irgraph-ir":
        from irgraph.ir import from_json

        try:
            return from_json(text)
        except PipelineError as exc:
            raise _led(path, exc.problems) from None
    if isinstance(data, dict) and "nodes" in data and "graph" in data and "adjacency" in data:
        raise CliError(
            f"{path!r} holds a graph saved as networkx's adjacency JSON (nx.adjacency_data), "
            "and a saved pipeline graph is read from node-link JSON; save it with "
            "json.dumps(nx.node_link_data(G)) (G = nx.adjacency_graph(data) reads this one "
            "back)."
        )
    if isinstance(data, dict) and "nodes" in data and "graph" in data:
        return _saved_graph(path, data)
    raise CliError(
        f"{path!r} holds neither IR JSON nor a saved graph; save a pipeline with "
        "irgraph.ir.to_json(ir) or json.dumps(nx.node_link_data(to_graph(pipeline)))."
    )


def _saved_graph(path: str, data: dict[str, Any]) -> Any:
    import networkx as nx

    edges = "links" if "links" in data else "edges"
    if not isinstance(data.get("graph"), dict):
        raise CliError(
            f'{path!r} looks like a saved graph, but its "graph" attributes are '
            f"{json.dumps(data.get('graph'))}, not an object holding its pipeline; save it "
            "again with json.dumps(nx.node_link_data(to_graph(pipeline)))."
        )
    try:
        G = nx.node_link_graph(data, edges=edges)
    except Exception as exc:  # networkx reports a damaged file as KeyError, TypeError, ...
        raise CliError(
            f"{path!r} looks like a saved graph, but networkx cannot read it "
            f"({type(exc).__name__}: {exc}); save it again with "
            "json.dumps(nx.node_link_data(to_graph(pipeline)))."
        ) from None
    return _file_graph(path, G)


def _saved_graphml(path: str, raw: bytes) -> Any:
    """The pipeline in GraphML file ``path`` (its bytes ``raw``), decoded by
    :func:`irgraph.from_portable`."""
    import networkx as nx

    from irgraph.portable import from_portable

    write = "nx.write_graphml(irgraph.portable(to_graph(pipeline)), path)"
    if b"<graphml" not in raw:
        raise CliError(
            f"{path!r} is not a GraphML file (it has no <graphml> element); save the pipeline "
            f"with {write}, or name its .json file."
        )
    try:
        H = nx.parse_graphml(raw)
    except Exception as exc:  # XML errors, and networkx's own for XML that is not GraphML
        raise CliError(
            f"{path!r} is not a GraphML file networkx can read ({type(exc).__name__}: {exc}); "
            f"save the pipeline again with {write}."
        ) from None
    if not isinstance(H, nx.DiGraph):
        raise CliError(
            f"{path!r} holds an undirected GraphML graph, which has lost which way each edge "
            f"goes; save the pipeline again with {write}."
        )
    try:
        G = from_portable(H)
    except PipelineError as exc:
        raise CliError(f"{path!r}: {exc.problems[0]}") from None
    return _file_graph(path, G)


def _file_graph(path: str, G: Any) -> Any:
    """The pipeline of graph ``G`` read from file ``path``: the problems ``validate(G)``
    lists, each led by the file's name."""
    from irgraph.graph_read import from_graph
    from irgraph.validate import unbound_reads

    try:
        return from_graph(G)
    except PipelineError as exc:
        # A key no step writes is the command's to check, against its --state and --input.
        try:
            unbound = unbound_reads(G)
        except Exception:  # a graph too damaged to tell: every problem stands
            unbound = []
        problems = [p for p in exc.problems if p not in unbound] or exc.problems
        raise _led(path, problems) from None


def _led(path: str, problems: Sequence[Any]) -> PipelineError:
    """The error listing ``problems`` of the pipeline file ``path``, each led by its name."""
    return PipelineError([attrs.evolve(p, message=f"{path}: {p.message}") for p in problems])


# State and answers -----------------------------------------------------------------------


def parse_state(
    pairs: Sequence[str], json_texts: str | Sequence[str] | None = None
) -> dict[str, Any]:
    """Parse ``key=value`` pairs (values are strings) and JSON objects, one or a list (a
    ``null`` is ``None``: no value). A ``--state`` wins over ``--state-json``, and a later
    ``--state`` (or ``--state-json``) of a key over an earlier one."""
    state: dict[str, Any] = {}
    texts = [json_texts] if isinstance(json_texts, str) else list(json_texts or ())
    for json_text in texts:
        try:
            loaded = json.loads(
                json_text, parse_constant=refuse_constant, object_pairs_hook=unique_keys
            )
        except KeyGivenTwice as exc:
            raise CliError(
                f"--state-json gives the key {exc.key!r} twice in one object, and JSON keeps "
                "only one of the two values; give it once."
            ) from None
        except NotJsonNumber as exc:
            raise CliError(
                f"--state-json holds {exc}, which is not JSON; give a number or null."
            ) from None
        except RecursionError:
            raise CliError(
                "--state-json nests arrays or objects too deeply to read; pass a value nested "
                "less deeply."
            ) from None
        except ValueError as exc:
            lost = '"' not in json_text and json_text.lstrip().startswith("{")
            shell = " (it holds no double quotes: an unquoted shell took them)" if lost else ""
            raise CliError(
                f"--state-json is not valid JSON ({exc}){shell}; JSON quotes keys and strings "
                'with ", so single-quote it for the shell: --state-json \'{"topic": "owls"}\'.'
            ) from None
        if not isinstance(loaded, dict):
            raise CliError('--state-json must be a JSON object such as \'{"topic": "owls"}\'.')
        for key in loaded:
            if not checks.is_key(key):
                raise CliError(checks.not_a_key("--state-json", key))
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


def check_keys(keys: Iterable[str], option: str = "--input") -> list[str]:
    """The keys given with ``option``, each refused unless it is a state key."""
    keys = list(keys)
    for key in keys:
        if not checks.is_key(key):
            raise CliError(
                f"{option} {key!r} is not a state key ({_KEY_RULE}); give one such as "
                f"{option} topic."
            )
    return keys


def check_modules(names: Iterable[str]) -> list[str]:
    """The modules given with ``--allow-module``, each refused unless it is a dotted module
    name (a function path or a file names its module in the advice)."""
    names = list(names)
    for name in names:
        if checks.module_name.test(name):
            continue
        module = name.partition(":")[0].removesuffix(".py").replace("/", ".").strip(".")
        example = module if checks.module_name.test(module) else "mypkg.transforms"
        raise CliError(
            f"--allow-module {name!r} is not a module name; name the module that defines the "
            f"functions, e.g. --allow-module {example}."
        )
    return names
