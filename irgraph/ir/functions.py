"""Functions inside a pipeline: how a transform or loop predicate is named, imported and called.

A :class:`FunctionRef` names a function by import path and holds the live callable when the
pipeline was built in Python. A path read from data (a JSON file, a saved graph) is imported
only from modules the caller allows, so a pipeline file cannot run code the caller did not
choose. How the function is then called, and refused when it cannot take that call, is
:mod:`irgraph.ir.function_calls` (:func:`transform_arguments`, :func:`predicate_problem`).
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from collections.abc import Callable, Iterable
from difflib import get_close_matches
from typing import Any, TypeAlias

import attrs

from irgraph import checks
from irgraph.errors import PipelineError, closest_keys, refused_calls
from irgraph.ir.function_calls import (
    predicate_call_problem,
    transform_arguments,
    transform_call_problem,
)
from irgraph.ir.identity import function_name
from irgraph.prompt_values import short_repr

__all__ = [
    "FunctionRef",
    "SAFE_FUNCTIONS",
    "allowing",
    "refusal",
    "misspelt_as",
    "FunctionLike",
    "function_ref",
    "resolve_function",
    "loaded_function",
    "transform_arguments",
    "transform_call_problem",
    "predicate_problem",
    "main_function_warning",
]


@refused_calls
@attrs.frozen
class FunctionRef:
    """A function named by import path (``"package.module:qualname"``).

    ``fn`` is the live callable when the IR was built in Python, ``None`` after ``from_json``
    (call :func:`resolve_function` to import it). ``allow`` says whose word the path is: ``None``
    for a path written in Python code (trusted like any code), else the modules the caller
    allowed when reading it from data (a JSON file, a saved graph), the only ones it may
    import. Equality uses the path only.
    """

    ref: str
    fn: Callable[..., Any] | None = attrs.field(default=None, eq=False, repr=False)
    allow: frozenset[str] | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def importable(self) -> bool:
        """Whether the path can name the function (lambdas, local functions and callables of
        no known module cannot)."""
        return "<" not in self.ref and ":" in self.ref and not self.ref.startswith("?:")

    @property
    def module(self) -> str:
        """The module the path imports (``"builtins"`` for ``"builtins:str.strip"``)."""
        return self.ref.partition(":")[0]

    @property
    def permitted(self) -> bool:
        """Whether running may call it: a live function, a path from code, a path on the
        :data:`SAFE_FUNCTIONS` list, or one whose module (or a package around it) is allowed."""
        if self.fn is not None or self.allow is None or self.ref in SAFE_FUNCTIONS:
            return True
        parts = self.module.split(".")
        return any(".".join(parts[:i]) in self.allow for i in range(1, len(parts) + 1))


#: Functions a pipeline read from data may name without an ``allow=``: pure functions of
#: their arguments that cannot reach the file system, the network or the interpreter.
SAFE_FUNCTIONS: frozenset[str] = frozenset(
    [
        f"builtins:{name}"
        for name in (
            "len abs round min max sum sorted reversed any all str int float bool list tuple "
            "dict set frozenset"
        ).split()
    ]
    + [
        f"builtins:str.{name}"
        for name in (
            "strip lstrip rstrip lower upper title capitalize casefold split rsplit splitlines "
            "join replace startswith endswith count find removeprefix removesuffix"
        ).split()
    ]
    + ["json:loads", "json:dumps"]
)


def allowing(ref: FunctionRef, modules: Iterable[str]) -> FunctionRef:
    """``ref`` with ``modules`` added to what it may import (a path from code stays trusted)."""
    extra = frozenset(modules)
    if ref.allow is None or not extra or extra <= ref.allow:
        return ref
    return FunctionRef(ref.ref, ref.fn, ref.allow | extra)


def main_function_warning(node: str, ref: str, saving: str) -> str | None:
    """The warning for ``saving`` (e.g. ``"to_json()"``) a pipeline whose node ``node``
    calls the function ``ref`` of ``__main__`` (a script run as ``python script.py``, or a
    notebook): the saved path names the program running then, so loading the pipeline anywhere
    else fails. ``None`` for a function of any other module.

    >>> main_function_warning("clean", "textwrap:dedent", "to_json()") is None
    True
    """
    module, _, qualname = ref.partition(":")
    if module != "__main__":
        return None
    return (
        f"{saving} saves '{node}', which calls {ref!r}, a function of the script or notebook "
        "running now ('__main__'): loading the saved pipeline anywhere else (irgraph run, a "
        "Prefect worker, another script) cannot import it. Move "
        f"{qualname} into an importable module (e.g. steps.py beside the script), import it "
        f"from there (from steps import {qualname.partition('.')[0]}), and save again."
    )


def refusal(
    ref: FunctionRef, node: str | None = None, more: Iterable[tuple[str, str]] = ()
) -> PipelineError:
    """The error for running a function ``ref`` whose module the caller did not allow;
    ``more`` are other ``(node, path)`` calls into the same module, told in the same error
    (each once), so one module is one message however many steps call it."""
    module = ref.module
    if not _import_path(ref.ref):
        return _no_import_path(ref, node)
    calls = list(dict.fromkeys([(node, ref.ref), *more]))
    said = [
        f"'{name}' calls {path!r}" if name else f"A step calls {path!r}" for name, path in calls
    ]
    who = said[0] if len(said) == 1 else f"{', '.join(said[:-1])} and {said[-1]}"
    near = misspelt_as(ref)
    typo = f" (the module {near!r} is allowed: is it {module!r} misspelt?)" if near else ""
    return PipelineError(
        f"{who}, but the pipeline was read from data (a JSON file or a "
        f"saved graph) and the module {module!r} is not allowed{typo}, so irgraph will not "
        "import it: a pipeline file could otherwise run any code on this machine.",
        node=node,
        hint=f"If you trust the file, allow the module: run(..., allow=[{module!r}]), "
        f"from_json(text, allow=[{module!r}]) or from_graph(G, allow=[{module!r}]) in Python, "
        f"--allow-module {module} on the command line.",
    )


#: What follows the ``:`` of an import path: a dotted name of Python identifiers.
_QUALNAME = re.compile(r"[^\W\d]\w*(\.[^\W\d]\w*)*")


def _import_path(path: str) -> bool:
    """Whether ``path`` can name a module's function: ``module:qualname``, dotted Python names
    each short enough to be a file's name (255 characters, the file systems' limit)."""
    module, _, qualname = path.partition(":")
    parts = [*module.split("."), *qualname.split(".")]
    return (
        checks.module_name.test(module)
        and _QUALNAME.fullmatch(qualname) is not None
        and max(map(len, parts)) <= 255
    )


def _no_import_path(ref: FunctionRef, node: str | None) -> PipelineError:
    """The error for a function read from data whose path names no module and function (a
    file path, spaces, a name of no identifiers): no ``allow=`` could let it run, so none is
    suggested; a path too long to read is shown by its start."""
    who = f"'{node}' calls" if node else "A step calls"
    return PipelineError(
        f"{who} {short_repr(ref.ref, 80)}, which is no import path of a function, read from "
        "data (a JSON file or a saved graph), so irgraph will not import it.",
        node=node,
        hint="Name the function as 'package.module:function' (dotted Python names, as "
        "irgraph.ir.to_json writes it), a module importable here, and allow that module: "
        "allow=['package.module'] in Python, --allow-module package.module on the command line.",
    )


def misspelt_as(ref: FunctionRef) -> str | None:
    """The allowed module that looks like ``ref``'s module misspelt, which :func:`refusal`
    names (``'os.pth'`` for ``'os.path'``), or ``None``."""
    near = closest_keys(ref.module, ref.allow or (), n=1)
    return near[0] if near else None


#: What names a function: the callable, its import path ("module:name") or its FunctionRef.
FunctionLike: TypeAlias = "Callable[..., Any] | str | FunctionRef"


@refused_calls
def function_ref(fn: FunctionLike, *, node: str, role: str = "") -> FunctionRef:
    """Make a :class:`FunctionRef` from a callable, an import path, or another ref; ``role``
    ``"until"`` says what a loop's ``.until()`` takes instead when ``fn`` is neither."""
    if isinstance(fn, FunctionRef):
        return fn
    if isinstance(fn, str):
        if ":" not in fn:
            raise PipelineError(
                f"'{node}' names its function as {fn!r}, but an import path looks like "
                "'package.module:function'.",
                node=node,
            )
        return FunctionRef(fn)
    if not callable(fn) and role == "until":  # a key would be a str: neither was given
        raise PipelineError(
            f"'{node}'.until() stops on a state key or a predicate of the state (got {fn!r} "
            f"of type {type(fn).__name__}).",
            node=node,
            hint="Write .until('done') to stop once the key 'done' is truthy, .until('verdict', "
            "equals='approved'), or .until(lambda state: ...).",
        )
    if not callable(fn):
        raise PipelineError(
            f"'{node}' needs a callable (got {fn!r} of type {type(fn).__name__}).",
            node=node,
            hint="Pass a function, e.g. Transform('clean', str.strip).",
        )
    return FunctionRef(function_name(fn), fn)


def _attribute(module: Any, qualname: str) -> Any:
    """What the dotted ``qualname`` names in ``module`` (AttributeError if nothing)."""
    target = module
    for part in qualname.split("."):
        target = getattr(target, part)
    return target


def loaded_function(ref: str) -> Any:
    """What the path ``module:qualname`` names if its module is imported already, else
    ``None``. It imports nothing, so a caller that must not run code may ask (a prediction).

    >>> loaded_function("builtins:str.strip"), loaded_function("not.imported.yet:fn")
    (<method 'strip' of 'str' objects>, None)
    """
    module_name, _, qualname = ref.partition(":")
    try:
        return _attribute(sys.modules[module_name], qualname)
    except (KeyError, AttributeError):
        return None


@refused_calls
def resolve_function(ref: FunctionRef) -> Callable[..., Any]:
    """Return the callable behind ``ref``, importing it by path if needed.

    This is the only place irgraph imports code named in an IR, and it runs only when a
    caller asks (a backend about to run a transform), never while reading JSON.
    """
    if ref.fn is not None:
        return ref.fn
    if not ref.permitted:
        raise refusal(ref)
    module_name, _, qualname = ref.ref.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise PipelineError(
            f"Cannot import the function {ref.ref!r} ({exc}).",
            hint="Check that the module is importable from here (its directory on sys.path or "
            "PYTHONPATH) and defines the function at its top level.",
        ) from exc
    except Exception as exc:  # the module's own code failed (a SyntaxError, a raise...)
        raise PipelineError(
            f"Cannot import the function {ref.ref!r}: importing the module {module_name!r} "
            f"raised {type(exc).__name__}: {exc}.",
            hint="Fix the error in the module and run again.",
        ) from exc
    try:
        target = _attribute(module, qualname)
    except AttributeError as exc:
        raise _missing(ref.ref, module, exc) from exc
    if not callable(target):
        raise PipelineError(f"{ref.ref!r} names {target!r}, which is not callable.")
    return target  # type: ignore[no-any-return]


def _missing(ref: str, module: Any, exc: AttributeError) -> PipelineError:
    """The error for function ``ref`` that its imported ``module`` lacks, naming the file the
    module came from: a standard-library module of the name stands in for a file of the user's
    (a ``colorsys.py`` beside the pipeline), since the standard library is searched first."""
    where = getattr(module, "__file__", None)
    said = f"{exc}; the module was imported from {where}" if where else str(exc)
    top = module.__name__.partition(".")[0]
    hint = "Check that the module is importable and defines the function at its top level."
    if top == "__main__":
        hint = (
            "'__main__' is the program running now, not the script that saved the pipeline: a "
            "function defined in a script run as python script.py is saved as '__main__:name', "
            "which no other program can import; move the function into a module, import it "
            "from there, and save the pipeline again."
        )
    elif top in sys.stdlib_module_names and _file_named_like(top):
        hint = (
            f"{top!r} is a standard-library module, which is imported before a file of yours "
            f"of the same name ({_file_named_like(top)}): rename your module (and the "
            "function's module in the pipeline) and save the pipeline again."
        )
    else:
        module_name, _, qualname = ref.partition(":")
        names = [n for n in dir(module) if not n.startswith("_")]
        meant = get_close_matches(qualname, names, n=1, cutoff=0.7)
        if meant:
            hint = f"Did you mean '{module_name}:{meant[0]}'? {hint}"
    return PipelineError(f"Cannot import the function {ref!r} ({said}).", hint=hint)


def _file_named_like(top: str) -> str | None:
    """A module file of the user's named ``top`` (``colorsys.py``, ``colorsys/__init__.py``),
    in the current directory or on ``sys.path``, other than the module Python imported."""
    imported = getattr(sys.modules.get(top), "__file__", None)
    taken = os.path.realpath(imported) if imported else None
    for folder in dict.fromkeys([os.getcwd(), *(entry or os.getcwd() for entry in sys.path)]):
        for path in (os.path.join(folder, f"{top}.py"), os.path.join(folder, top, "__init__.py")):
            if os.path.isfile(path) and os.path.realpath(path) != taken:
                return path
    return None


def predicate_problem(ref: FunctionRef, *, kind: str, node: str) -> PipelineError | None:
    """The error for a predicate of the ``kind`` (``"Route"``, ``"Loop"``) ``node`` that
    cannot be called with one positional argument, the read-only view of the state, as every
    backend calls it; ``None`` if it can, or if its signature cannot be known yet (a path to a
    module not imported, a builtin that hides its signature: then only running it tells).

    >>> error = predicate_problem(FunctionRef("m:two", lambda a, b: 1), kind="Loop", node="l")
    >>> error.node, str(error).split(", which fails: ")[1][:33]
    ('l', "missing a required argument: 'b'.")
    >>> predicate_problem(FunctionRef("m:one", lambda state: True), kind="Loop", node="r") is None
    True
    """
    fn = ref.fn if ref.fn is not None else loaded_function(ref.ref) if ref.importable else None
    if not callable(fn):
        return None
    return predicate_call_problem(fn, kind=kind, node=node)
