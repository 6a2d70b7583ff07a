"""What the ``irgraph`` command is given, read and checked: targets, state, allowed modules
(output files: :mod:`irgraph.cli_pictures`; gate answers: :mod:`irgraph.cli_gates`).

A target is ``module:attr`` (imported from the current directory or ``sys.path``),
``path/to/file.py:attr`` (the file loaded as the module named by its stem, its folder made
importable, as ``python path/to/file.py`` would) or a ``.json`` or ``.graphml`` file holding a
saved pipeline (:mod:`irgraph.cli_saved`). Every mistake is a :class:`CliError`
(:mod:`irgraph.cli_errors`) whose one-line message names the offending thing and says what to
do; the command prints it and exits with 2, never with a traceback.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import sysconfig
from collections.abc import Iterable, Sequence
from types import ModuleType
from typing import Any

from irgraph import checks
from irgraph.cli_batch_lines import KeyGivenTwice, TooBig, strict_json
from irgraph.cli_classes import as_target, is_pipeline, listing, not_a_pipeline, sole_pipeline
from irgraph.cli_errors import CliError
from irgraph.cli_files import (
    file_problem,
    is_saved_file,
    malformed,
    missing_module,
    no_target,
    not_python,
    shadowed_by,
)
from irgraph.cli_saved import load_saved
from irgraph.cli_state_json import not_json
from irgraph.errors import closest_keys, did_you_mean
from irgraph.ir.values import NotJsonNumber

__all__ = [
    "CliError",
    "forget_file",
    "load_target",
    "load_saved",
    "parse_state",
    "check_keys",
    "check_modules",
    "check_valued",
]

_KEY_RULE = checks.KEY_RULE


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
            if not index and not names:  # an empty file, or one not saved yet
                listed = f" {source!r} defines no name at its top level; is it saved?"
            elif not index and not listed and not close:  # names, but not one a pipeline
                listed = (
                    f" {source!r} holds no pipeline at its top level (a builder such as "
                    "Agent('a') >> Agent('b'), or an IR node): is it the file you meant?"
                )
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


# State and answers -----------------------------------------------------------------------


def parse_state(
    pairs: Sequence[str], json_texts: str | Sequence[str] | None = None
) -> dict[str, Any]:
    """Parse ``key=value`` pairs (values are strings) and JSON objects, one or a list (a
    ``null`` is ``None``: no value). A ``--state`` wins over ``--state-json``, and a later
    ``--state-json``'s key over an earlier one's; one key given by two ``--state`` is
    refused, since one of the two values would be dropped without a word."""
    state: dict[str, Any] = {}
    texts = [json_texts] if isinstance(json_texts, str) else list(json_texts or ())
    for json_text in texts:
        try:
            loaded = strict_json(json_text)
        except KeyGivenTwice as exc:
            raise CliError(
                f"--state-json gives the key {exc.key!r} twice in one object, and JSON keeps "
                "only one of the two values; give it once."
            ) from None
        except NotJsonNumber as exc:
            raise CliError(
                f"--state-json holds {exc}, which is not JSON; give a number or null."
            ) from None
        except TooBig as exc:
            raise CliError(
                f"--state-json holds the number {exc.shown}, too large for a floating-point "
                "number (it would read as infinity); give it as a string, or a smaller number."
            ) from None
        except RecursionError:
            raise CliError(
                "--state-json nests arrays or objects too deeply to read; pass a value nested "
                "less deeply."
            ) from None
        except ValueError as exc:
            raise CliError(not_json(json_text, exc)) from None
        if not isinstance(loaded, dict):
            raise CliError('--state-json must be a JSON object such as \'{"topic": "owls"}\'.')
        for key in loaded:
            if not checks.is_key(key):
                raise CliError(checks.not_a_key("--state-json", key))
        state.update(loaded)
    given: dict[str, str] = {}  # the --state values, to refuse a key given twice
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep and checks.is_key(key):
            raise CliError(
                f"--state {key} gives {key!r} no value; write --state {key}=VALUE (the value "
                "a text; --state-json for a number, a boolean or null)."
            )
        if not sep or not checks.is_key(key):
            raise CliError(
                f"--state {pair!r} is not of the form key=value with an identifier key "
                "(e.g. --state topic=owls)."
            )
        if key in given:
            values = (
                f"{key}={value} both times"
                if given[key] == value
                else f"{key}={given[key]} and {key}={value}, and a run takes one value of a key"
            )
            raise CliError(f"--state gives the key {key!r} twice ({values}); give it once.")
        given[key] = state[key] = value
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


def check_valued(inputs: Iterable[str], state: dict[str, Any]) -> None:
    """Refuse an ``irgraph run --input`` key the state gives no value: ``irgraph check``'s
    option declares a key without one, and a run needs it (a key given a value too is
    declared twice, no harm)."""
    for key in inputs:
        if key not in state:
            raise CliError(
                f"--input {key} declares {key!r} as an input without a value, which irgraph "
                f"check takes, and a run needs the value: give it with --state {key}=VALUE "
                "(or --state-json), or drop --input."
            )


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
