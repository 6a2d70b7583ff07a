"""The irgraph exception hierarchy.

Every error the library raises on purpose is an :class:`IrgraphError`. Problems found before
anything runs are :class:`PipelineError`; failures while running are :class:`RunError`. The
exception objects carry their pieces (``node``, ``key``, ``suggestion``, ``state``) as
attributes, so programs can react without parsing the text. The words every refusal shares
live here too: "did you mean" and the unknown keyword option (:func:`keyword_options`).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from difflib import get_close_matches
from typing import Any, TypeVar

import attrs

from irgraph.home_paths import unexpanded_home as unexpanded_home  # its old home
from irgraph.missing_arguments import missing_text, too_many_text

__all__ = [
    "IrgraphError",
    "PipelineError",
    "Problem",
    "RunError",
    "MissingExtraError",
    "closest_keys",
    "did_you_mean",
    "a_or_an",
    "unknown_option",
    "keywords",
    "keyword_names",
    "keyword_options",
    "refused_calls",
    "argument_check",
]


class IrgraphError(Exception):
    """Base class of every error irgraph raises on purpose."""


class ArgumentError(IrgraphError, TypeError):
    """A call given arguments its function does not take: a ``TypeError``, as Python's is."""


def closest_keys(key: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """Up to ``n`` candidates that look like ``key`` (difflib), best first: ``['findings']``
    for ``"finding"`` among ``["findings", "analysis"]``."""
    return get_close_matches(key, sorted(set(candidates)), n=n, cutoff=0.6)


def a_or_an(word: str) -> str:
    """``a`` or ``an`` before ``word`` in a message, by its first letter.

    >>> a_or_an("int"), a_or_an("str")
    ('an', 'a')
    """
    return "an" if word[:1].lower() in "aeiou" else "a"


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`` Did you mean 'x' or 'y'?`` for the candidates closest to ``word``, or ``""``: ready
    to append to a sentence.

    >>> did_you_mean("finding", ["findings", "analysis"])
    " Did you mean 'findings'?"
    """
    return suggestion_text(closest_keys(word, candidates))


def suggestion_text(found: Sequence[str]) -> str:
    """`` Did you mean 'a' or 'b'?`` for the keys ``found``, or nothing when there are none."""
    return f" Did you mean {' or '.join(repr(s) for s in found)}?" if found else ""


# Keyword options ---------------------------------------------------------------------------
# Here, not in irgraph.checks (which hands them on): RunError's methods check their keywords
# too, and checks imports this module.
def unknown_option(key: str, known: Sequence[str], said: str) -> ArgumentError:
    """The error for a keyword option ``key`` that is not one of ``known``: ``said`` (who got
    it), then the closest known name and all of them, the same words wherever it happens.

    >>> print(unknown_option("on_evnt", ["on_event", "timeout"], "f() got 'on_evnt'."))
    f() got 'on_evnt'. Did you mean 'on_event'? Its options: on_event, timeout.
    >>> print(unknown_option("timeout", [], "f() got 'timeout'."))
    f() got 'timeout'. It takes no options.
    """
    if not known:
        return ArgumentError(f"{said} It takes no options.")
    return ArgumentError(f"{said}{did_you_mean(key, known)} Its options: {', '.join(known)}.")


def keyword_names(fn: Callable[..., Any]) -> list[str] | None:
    """The names ``fn`` takes as keywords, in order (``None``: it takes any)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    takes = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return [p.name for p in params if p.kind in takes and p.name != "self"]


def keywords(fn: Callable[..., Any], given: Iterable[str], where: str) -> None:
    """Refuse a name in ``given`` that ``fn`` takes no keyword of, naming ``where`` (the call
    the user wrote, e.g. ``"AsyncioRunnable.run()"``) and the option meant."""
    known = keyword_names(fn)
    if known is not None:
        _refuse(given, known, where)


def _refuse(given: Iterable[str], known: Sequence[str], where: str) -> None:
    for key in sorted(set(given) - set(known)):
        raise unknown_option(key, known, f"{where} got the option {key!r}, which it does not take.")


F = TypeVar("F", bound=Callable[..., Any])
#: A call's check: given its positional and keyword arguments, raise or return.
ArgumentCheck = Callable[[tuple[Any, ...], dict[str, Any]], None]


def keyword_options(fn: F) -> F:
    """Make ``fn`` refuse a misspelled keyword with :func:`unknown_option`'s "did you mean",
    more positional arguments than it takes with the keywords to give them by
    (:func:`~irgraph.missing_arguments.too_many_text`), and a required argument left out with
    the call to write (:func:`~irgraph.missing_arguments.missing_text`), instead of Python's
    bare ``TypeError`` (an ``__init__`` is named by its class). A function taking
    ``**options`` has only its positional arguments counted."""
    check = argument_check(fn)
    if check is None:
        return fn
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def checked_async(*args: Any, **kwargs: Any) -> Any:
            check(args, kwargs)
            return await fn(*args, **kwargs)

        return checked_async  # type: ignore[return-value]

    @functools.wraps(fn)
    def checked(*args: Any, **kwargs: Any) -> Any:
        check(args, kwargs)
        return fn(*args, **kwargs)

    return checked  # type: ignore[return-value]


def refused_calls(fn: F) -> F:
    """:func:`keyword_options`' errors for ``fn``, worked out only once Python has refused
    the call: a call that binds pays no check, for what is called in bulk (an IR node's attrs
    ``__init__``, once per node when a pipeline is read back). A ``TypeError`` raised inside
    ``fn`` is left as it is. Given a class, wraps its ``__init__`` and returns the class."""
    if isinstance(fn, type):
        fn.__init__ = refused_calls(fn.__init__)  # type: ignore[misc]
        return fn

    @functools.wraps(fn)
    def checked(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except TypeError as error:
            # Raised where fn was called, in no frame of its own: the arguments did not bind.
            if error.__traceback__ is not None and error.__traceback__.tb_next is None:
                refusal = _refusal(fn, args, kwargs)
                if refusal is not None:
                    raise refusal from None
            raise

    return checked  # type: ignore[return-value]


def _refusal(fn: Callable[..., Any], args: Any, kwargs: dict[str, Any]) -> ArgumentError | None:
    """The :class:`ArgumentError` :func:`keyword_options` would raise for this call of ``fn``
    (an ``__init__`` named by the class made, a subclass that inherits it too)."""
    made = fn.__name__ == "__init__" and bool(args)
    check = argument_check(fn, f"{type(args[0]).__name__}()" if made else None)
    try:
        if check is not None:
            check(args, kwargs)
    except ArgumentError as error:
        return error
    return None


def argument_check(fn: Callable[..., Any], where: str | None = None) -> ArgumentCheck | None:
    """What :func:`keyword_options` checks a call of ``fn`` with: given the call's positional
    and keyword arguments, it raises the :class:`ArgumentError` Python's ``TypeError`` would
    be, naming ``where`` (default: the function, a class for its ``__init__``) and the fix;
    ``None`` for a function taking ``*args``, which nothing is checked of."""
    params = list(inspect.signature(fn).parameters.values())
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params):
        return None
    known = keyword_names(fn)
    names = frozenset(known) if known is not None else None
    positional = [p.name for p in params if p.kind in _POSITIONAL]
    most = len(positional)
    qualname = fn.__qualname__.rpartition("<locals>.")[2]  # a function made in another: its name
    owner, _, method = qualname.rpartition(".")
    where = where or (f"{owner}()" if method == "__init__" else f"{qualname}()")
    # The options a message lists: not a required positional parameter (a graph, a node).
    required = {
        p.name
        for p in params
        if p.default is inspect.Parameter.empty and p.kind is not inspect.Parameter.KEYWORD_ONLY
    }
    every = known if known is not None else [p.name for p in params if p.kind in _NAMED]
    options = [n for n in every if n not in required and not n.startswith("_")] or every
    if known is None:  # **options: what a call may give besides the names (show's direction=)
        options = [*options, *(f"**{p.name}" for p in params if p.kind is p.VAR_KEYWORD)]
    needed = [name for name in positional if name in required]
    keyword_only = [
        p.name
        for p in params
        if p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is inspect.Parameter.empty
    ]

    def check(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if len(args) > most:
            raise ArgumentError(too_many_text(where, args, positional, options))
        if len(args) < len(needed) or keyword_only:
            lacking = missing_text(where, args, kwargs, positional, needed, keyword_only)
            if lacking is not None:
                raise ArgumentError(lacking)
        if names is not None and not names.issuperset(kwargs):
            _refuse(set(kwargs) - names, options, where)

    return check


_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
_NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def _names(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(names)


@refused_calls
@attrs.frozen
class Problem:
    """One thing wrong with a pipeline: where (``node``, ``key``), what, and how to fix it."""

    message: str
    node: str | None = None
    key: str | None = None
    suggestion: tuple[str, ...] = ()
    hint: str | None = None
    #: Those of ``suggestion`` that are inputs no step reads: the input may be the key
    #: misspelled (a batch line's), so the text says so too, beside "Did you mean".
    unread_inputs: tuple[str, ...] = ()
    #: Every node whose read of ``key`` is the problem, in the graph's order (``node`` is the
    #: first): a key no step writes is one problem however many nodes read it.
    readers: tuple[str, ...] = attrs.field(default=(), converter=_names)
    #: The fields of ``key`` the readers' templates read (``reason`` of ``{verdict.reason}``):
    #: those a read requires, or those read only with ``?`` when none is required.
    fields: tuple[str, ...] = attrs.field(default=(), converter=_names)
    #: The path a map-over among the readers iterates at ``key`` (``plan.topics``, or ``plan``).
    over: str | None = None

    def __str__(self) -> str:
        text = self.message + suggestion_text(self.suggestion) + self.unread_text()
        if self.hint:
            text += f" {self.hint}"
        return text

    def unread_text(self) -> str:
        """What the text says of ``unread_inputs``: that the input may be the key misspelled
        (a batch line's, a state's), as the suggestion says the reader may be."""
        if not self.unread_inputs:
            return ""
        if len(self.unread_inputs) == 1:
            given = f"The input '{self.unread_inputs[0]}' is given and nothing reads it"
        else:
            names = " and ".join(repr(k) for k in self.unread_inputs)
            given = f"The inputs {names} are given and nothing reads them"
        return f" ({given}: if the input is what is misspelled, give it as '{self.key}'.)"


@refused_calls
class PipelineError(IrgraphError, ValueError):
    """A pipeline is malformed; raised before any node runs.

    ``problems`` lists every :class:`Problem` found; ``node``, ``key`` and ``suggestion`` are
    those of the first one, for the common case of a single problem. A refused value (see
    :mod:`irgraph.checks`) also carries what was ``expected`` and what it ``got``.
    """

    def __init__(
        self,
        problems: Sequence[Problem] | str,
        *,
        node: str | None = None,
        key: str | None = None,
        hint: str | None = None,
        expected: str | None = None,
        got: Any = None,
    ) -> None:
        if isinstance(problems, str):
            problems = [Problem(problems, node=node, key=key, hint=hint)]
        self.problems: list[Problem] = list(problems)
        first = self.problems[0] if self.problems else Problem("unknown problem")
        self.node = first.node
        self.key = first.key
        self.suggestion = first.suggestion
        self.expected = expected
        self.got = got
        super().__init__(self._render())

    def _render(self) -> str:
        if len(self.problems) == 1:
            return str(self.problems[0])
        count = len(self.problems)
        lines = [f"{count} problems found in the pipeline:"]
        lines += [f"  {i}. {p}" for i, p in enumerate(self.problems, 1)]
        return "\n".join(lines)


@refused_calls
class RunError(IrgraphError, RuntimeError):
    """A node failed while the pipeline ran.

    ``node`` is the failing node id, ``state`` the state with everything that completed,
    ``completed`` the id of each node execution that finished, in the order they finished:
    a node once per run of it (a map-over's body node once per item, a loop's once per
    iteration, the scope itself once when it ends); ``completed_nodes`` names each node that
    finished once; the original exception is ``__cause__``.
    ``trace`` (the run's events so far), ``calls`` (its model calls), ``graph`` (the pipeline
    graph) and ``reused`` (as ``RunResult.reused``) are set when the backend hands them on.
    In Jupyter the error shows the failed run's coloured diagram, timeline and node table
    (:meth:`view`), as a cell's value and when raised uncaught (then above its traceback).
    """

    def __init__(
        self,
        message: str,
        *,
        node: str | None = None,
        state: Mapping[str, Any] | None = None,
        completed: Sequence[str] = (),
    ) -> None:
        super().__init__(message)
        self.node = node
        self.state: dict[str, Any] = dict(state or {})
        self.completed: list[str] = list(completed)
        self.trace: Any = None
        self.calls: list[Any] = []
        self.gates: list[Any] = []  # what each gate reached asked (events.GateAsk)
        #: What each node that finished produced, by node id, as ``RunResult.outputs``.
        self.outputs: dict[str, Any] = {}
        self.graph: Any = None
        self.reused: list[str] = []  # nodes whose results came from an earlier run's cache
        self._view_shown = False  # by IPython, once (ipython_traceback)
        #: Where ``node`` ran: the enclosing loop iterations and map-over items, as
        #: ``((scope id, index from 0), ...)`` like an event's path; ``()`` at the top level.
        self.path: tuple[tuple[str, int], ...] = ()
        #: True for the record a cancelled run's ``CancelledError`` carries as ``partial``:
        #: nothing failed, the run was stopped.
        self.cancelled = False
        #: When the run stopped (``time.monotonic()``, the trace's clock), if the backend
        #: says: the view measures a failed run up to it, not to its last finished node.
        self.ended: float | None = None
        #: The run's own bound on model calls (``None``: none), what its view's prediction
        #: assumes unless told otherwise.
        self.max_concurrency: int | None = None
        #: What each node waited for (``"topological"``, ``"dataflow"``): the backend's
        #: schedule, which the view's prediction and critical path follow.
        self.schedule = "topological"

    @property
    def completed_nodes(self) -> tuple[str, ...]:
        """Each node of ``completed`` once, in the order it first finished. A tuple, not a
        frozenset: it keeps the run's order, the same in every process (a set's order is not),
        and ``node in error.completed_nodes`` reads as well. Made from ``completed`` when read,
        so it agrees with it whichever backend (or program) set that."""
        return tuple(dict.fromkeys(self.completed))

    @keyword_options
    def view(
        self, pipeline: Any = None, *, trace: Any = None, concurrency: int | None = None
    ) -> Any:
        """The failed run's diagram (the failed node red, what completed green, the rest not
        reached), timeline and node table: a :class:`irgraph.run_view.RunView`. ``pipeline``
        is needed when the error carries no ``graph``, ``trace`` (events collected by an
        ``on_event`` handler, say) when it carries no ``trace``; ``concurrency`` is the limit
        the timeline's prediction assumes (default: the run's ``max_concurrency``)."""
        if _run_view is None:
            load_run_view()
        assert _run_view is not None
        return _run_view(self, pipeline, trace, concurrency)

    @keyword_options
    def diagram(self, pipeline: Any = None) -> Any:
        """The failed run's coloured diagram, as ``RunResult.diagram()``: ``view().diagram``."""
        return self.view(pipeline).diagram

    @keyword_options
    def timeline(self, pipeline: Any = None, *, concurrency: int | None = None) -> Any:
        """The failed run's Gantt chart, as ``RunResult.timeline()``: ``view().timeline``."""
        return self.view(pipeline, concurrency=concurrency).timeline

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        try:
            bundle: dict[str, Any] = self.view()._repr_mimebundle_()
        except Exception:  # displaying never raises (a custom backend's graph, say)
            return {"text/plain": repr(self)}
        return bundle

    def _render_traceback_(self) -> list[str]:
        """What IPython shows for this error raised uncaught in a cell: the failed run's view
        (displayed first, so a failed run needs no ``try``), then the usual traceback."""
        from irgraph.ipython_tracebacks import ipython_traceback

        return ipython_traceback(self, self)


#: Draws a failed run (set by :mod:`irgraph.events`: the run view imports this module).
_run_view: Callable[[RunError, Any, Any, Any], Any] | None = None


#: Loads the run view on first use (set by the ``irgraph`` package, which stands above it:
#: the view imports this module, so this one cannot import the view).
_run_view_loader: Callable[[], Any] | None = None


def load_run_view() -> None:
    """Load :mod:`irgraph.run_view`, which installs the functions results and errors draw
    with, through the loader the package gave (:func:`set_run_view_loader`)."""
    if _run_view_loader is None:
        raise IrgraphError("The run view is not loaded; import irgraph first.")
    _run_view_loader()


def set_run_view_loader(loader: Callable[[], Any]) -> None:
    """Install what :func:`load_run_view` calls."""
    global _run_view_loader
    _run_view_loader = loader


def set_run_view(view: Callable[[RunError, Any, Any, Any], Any]) -> None:
    """Install the function :meth:`RunError.view` draws with."""
    global _run_view
    _run_view = view


@refused_calls
class MissingExtraError(IrgraphError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""

    def __init__(self, package: str, extra: str, feature: str) -> None:
        super().__init__(
            f"{feature} needs the '{package}' package, which is not installed. "
            f"Install it with: pip install 'irgraph[{extra}]'"
        )
        self.package = package
        self.extra = extra
