"""``run`` and ``arun``: compile a pipeline for a backend and execute it in one call.

>>> from irgraph import Agent, run
>>> from irgraph.testing import FakeProvider
>>> result = run(Agent("w").instruct("Write about {topic}.").writes("text"),
...              provider=FakeProvider(), state={"topic": "owls"})
>>> result.state["text"]
'<w: Write about owls.>'
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
from collections.abc import Callable, Coroutine, Iterable, Iterator, Mapping
from difflib import get_close_matches
from typing import Any, TypeVar

from irgraph import checks
from irgraph.compile import Runnable, compiled_by, get_backend
from irgraph.errors import ArgumentError, IrgraphError, PipelineError
from irgraph.events import RunResult
from irgraph.graph import root_of
from irgraph.providers import ModelProvider
from irgraph.run_cancel import keeps_partial, nothing_ran, shown_in_ipython
from irgraph.state_keys import calling_site, pointing_at
from irgraph.thread_done import Done

__all__ = ["run", "arun", "run_coroutine"]

T = TypeVar("T")


def _compiled(
    pipeline: Any,
    backend: Any,
    state: Any,
    options: Mapping[str, Any],
    allow: Any = None,
    caller: str = "run()",
    provider: Any = None,
) -> Runnable:
    """Compile ``pipeline`` for ``backend`` and check the options against what its runnable
    takes. The inputs are those the pipeline declares and the state's keys, so one error lists
    every problem; the state itself is the runnable's to check when it runs (a declared input
    it lacks is reported there, as missing from the state)."""
    from irgraph.ir.trust import unimportable_functions, with_allowed

    allowed = checks.modules(allow, "run(allow=...)")
    engine = get_backend(backend)
    root = with_allowed(root_of(pipeline), allowed)
    # A key no template can read is refused by the runnable, with the state, not here.
    inputs = None
    if isinstance(state, Mapping):
        inputs = (*root.inputs, *filter(checks.is_key, state))
    try:
        runnable: Runnable = compiled_by(engine, root, inputs)
    except PipelineError as error:  # a misspelt keyword of the caller's own is told first,
        _refuse_misspelt_own(options, caller)  # and a key given as an option (topic=...)
        _refuse_state_options(options, caller, {p.key for p in error.problems})
        raise
    # A pipeline read from data names functions by path: the allowed ones must import here,
    # before any model call (compile() alone does not ask: generated code runs elsewhere).
    unimportable = unimportable_functions(root)
    if unimportable:
        raise PipelineError(unimportable)
    name = getattr(engine, "name", type(engine).__name__)
    _check_options(runnable, name, options, caller, engine)
    if provider is not None and "provider" not in (_takes(runnable) or ["provider"]):
        raise IrgraphError(
            f"{caller} got a provider, which the {name!r} backend's runnable does not take: its "
            "arun() has no provider keyword. Give the provider to the backend when you make "
            "it, or let its arun() take provider=None (None: the backend's own)."
        )
    return runnable


def _takes(runnable: Any) -> list[str] | None:
    """The keywords ``runnable.arun`` takes (``None``: any, or it has no ``arun``)."""
    arun = getattr(runnable, "arun", None)
    return None if arun is None else checks.keyword_names(arun)


def _provided(runnable: Any, provider: Any) -> dict[str, Any]:
    """``provider=`` for ``runnable.arun``: a backend of one's own whose ``arun`` takes no
    ``provider`` keyword runs with the backend's provider, so it gets none when none is given
    (one given to it is refused by :func:`_compiled`)."""
    if provider is None and "provider" not in (_takes(runnable) or ["provider"]):
        return {}
    return {"provider": provider}


def _check_options(
    runnable: Any,
    backend_name: str,
    options: Mapping[str, Any],
    caller: str = "run()",
    engine: Any = None,
) -> None:
    """Name an option the runnable does not take, instead of leaving it to Python's TypeError;
    one that ``engine``'s class takes when it is made is told to go there."""
    takes = _takes(runnable) if options else None
    if takes is None:  # no options, or a runnable that takes any
        return
    known = [name for name in takes if name not in ("state", "provider")]
    made_with = (checks.keyword_names(type(engine)) or []) if engine is not None else []
    graph = getattr(runnable, "graph", None)
    read: set[str] = set()
    for _, data in graph.nodes(data=True) if graph is not None else ():
        read.update(data.get("reads") or (), data.get("optional_reads") or ())
    for key in sorted(set(options) - set(takes)):
        _refuse_misspelt_own({key: None}, caller, known)
        _refuse_state_options({key: None}, caller, read)
        if key in made_with and key != "provider":
            cls = type(engine)
            raise IrgraphError(
                f"{caller} got the option {key!r}, which the {backend_name!r} backend takes "
                f"when it is made, not for each run: pass backend={cls.__name__}({key}=...) "
                f"(from {cls.__module__} import {cls.__name__}). Its run options: "
                f"{', '.join(known) or 'none'}."
            )
        said = f"{caller} got the option {key!r}, which the {backend_name!r} backend does not take."
        raise checks.unknown_option(key, known, said)


def _refuse_misspelt_own(
    options: Mapping[str, Any], caller: str, known: Iterable[str] = ()
) -> None:
    """Refuse an option that is a misspelling of one of ``caller``'s own keywords (``stat=``
    for ``state=``), saying the name meant; ``known`` are the runnable's options, listed too."""
    own = _OWN.get(caller, ("backend", "provider", "allow"))
    for key in sorted(options):
        if get_close_matches(key, own, n=1, cutoff=0.75):
            said = f"{caller} got the option {key!r}, which it does not take."
            raise checks.unknown_option(key, [*own, *known], said)


def _refuse_state_options(options: Mapping[str, Any], caller: str, keys: Iterable[Any]) -> None:
    """Refuse an option named like a state key the pipeline reads (``topic="owls"``, as if
    the caller took the state's keys as keywords), saying to give it in ``state=``."""
    for key in sorted(set(options).intersection(keys)):
        given = f"state={{{key!r}: ...}}"
        if caller == "run_many()":
            given = f"each state of states=[{{{key!r}: ...}}, ...]"
        raise ArgumentError(
            f"{caller} got {key}=..., which is no option of it: {key!r} is a key the pipeline "
            f"reads from its state, given in {given}."
        )


#: The keywords the callers of :func:`_check_options` take themselves (besides ``pipeline``),
#: so that a misspelling of one (``provder=``) is told as such, not as a backend's option.
_OWN = {
    "run()": ("backend", "provider", "state", "allow", "progress"),
    "arun()": ("backend", "provider", "state", "allow", "progress"),
    "run_many()": ("backend", "provider", "max_items", "batch_key", "store", "fail_fast", "allow"),
}


def _nothing_ran(pipeline: Any, *, state: Mapping[str, Any] | None = None, **_: Any) -> Any:
    """The ``partial`` of an ``arun`` stopped before its first step, drawn as ``pipeline``."""
    graph = getattr(pipeline, "graph", None)  # a compiled pipeline's
    if graph is None:
        from irgraph.graph import to_graph

        try:
            graph = to_graph(pipeline, inputs=state.keys() if state else None)
        except Exception:  # a pipeline the run would have refused: no drawing, no run
            graph = None
    return nothing_ran(state, graph)


@checks.keyword_options
@keeps_partial(_nothing_ran)
async def arun(
    pipeline: Any,
    *,
    backend: str | Any = "asyncio",
    provider: ModelProvider | None = None,
    state: Mapping[str, Any] | None = None,
    allow: Iterable[str] | str | None = None,
    progress: Any = False,
    **options: Any,
) -> RunResult:
    """Run ``pipeline`` (builder or IR) on ``backend`` and return its :class:`RunResult`.

    ``backend`` is a registered name or a backend instance; ``provider=None`` means the
    instance's own provider. ``allow`` names the modules a pipeline read from data (JSON, a
    saved graph) may import its functions from. ``progress=True`` shows the run live (the
    coloured diagram in Jupyter, a line on a terminal: :mod:`irgraph.run_progress`; a
    ``RunProgress`` chooses where). ``options`` go to the runnable (``on_event``,
    ``on_gate``, ``max_concurrency``, ``timeout``, ...).
    """
    runnable = _compiled(pipeline, backend, state, options, allow, "arun()", provider)
    with _watching(progress, runnable, options) as done:
        result = await runnable.arun(state, **_provided(runnable, provider), **options)
        return done(_returned(runnable, result))


@checks.keyword_options
def run(
    pipeline: Any,
    *,
    backend: str | Any = "asyncio",
    provider: ModelProvider | None = None,
    state: Mapping[str, Any] | None = None,
    allow: Iterable[str] | str | None = None,
    progress: Any = False,
    **options: Any,
) -> RunResult:
    """The blocking twin of :func:`arun` (also usable inside Jupyter's running loop). A
    Ctrl-C raises ``KeyboardInterrupt`` with the run's ``partial`` (see :func:`run_coroutine`)."""
    try:
        runnable = _compiled(pipeline, backend, state, options, allow, "run()", provider)
    except KeyboardInterrupt as interrupt:  # while checking the pipeline: nothing ran
        interrupt.partial = nothing_ran(state)  # type: ignore[attr-defined]
        raise
    # The progress starts and ends here, in the caller's thread (Jupyter's, with its context).
    with _watching(progress, runnable, options) as done:
        try:
            result = run_coroutine(runnable.arun(state, **_provided(runnable, provider), **options))
        except KeyboardInterrupt as interrupt:  # in Jupyter, the view of what it did shows
            shown_in_ipython(interrupt)
            raise
        return done(_returned(runnable, result))


def _returned(runnable: Any, result: Any) -> RunResult:
    """``result`` if it is a ``RunResult``, as every backend's ``arun`` returns, else the
    error naming the runnable (a custom backend's bug)."""
    if not isinstance(result, RunResult):
        raise IrgraphError(
            f"{type(runnable).__name__}.arun() returned {type(result).__name__}, not a "
            "RunResult; a backend's runnable returns irgraph.events.RunResult (or raises "
            "RunError when the run fails)."
        )
    return result


@contextlib.contextmanager
def _watching(
    progress: Any, runnable: Any, options: dict[str, Any]
) -> Iterator[Callable[[RunResult], RunResult]]:
    """Start the live progress ``progress=`` asks for (if any), its handler put in
    ``options`` ahead of the user's own ``on_event``; ``done(result)`` shows the result, an
    error leaving the block shows where the run failed."""
    if progress is None or progress is False:
        yield lambda result: result
        return
    from irgraph.run_progress import progress_of

    if options.get("on_event") is not None:  # told before the progress shows anything
        checks.function.check(options["on_event"], "the run option on_event")
    watcher = progress_of(progress, getattr(runnable, "graph", None))
    assert watcher is not None
    options["on_event"] = watcher.hook(options.get("on_event"))

    def done(result: RunResult) -> RunResult:
        watcher.finish(result)
        return result

    try:
        yield done
    except BaseException as exc:
        watcher.finish(error=exc)
        raise


def _keep_partial(interrupt: BaseException, stopped: BaseException | None) -> None:
    """Hand a cancelled run's ``partial`` (its record of the work done) to the interrupt that
    stopped it, which is what the caller of a blocking ``run()`` sees."""
    if getattr(interrupt, "partial", None) is None:  # not its own yet: the stopped run's
        interrupt.partial = getattr(stopped, "partial", None)  # type: ignore[attr-defined]


def _cancel(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any]) -> None:
    """Cancel the task of ``loop`` that runs ``coro`` (called on that loop)."""
    for task in asyncio.all_tasks(loop):
        if task.get_coro() is coro:
            task.cancel()


def _run_here(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coro)``; inside a plain transform's call on a worker thread, the run is
    cancelled once its caller gives that call up (its node timed out, its run was cancelled),
    rather than going on asking its model in the background."""
    from irgraph.backends.blocking import on_give_up

    with asyncio.Runner() as runner:
        loop = runner.get_loop()

        def stop() -> None:  # on the thread of the run that gave the call up
            try:
                loop.call_soon_threadsafe(_cancel, loop, coro)
            except RuntimeError:  # this loop has closed: the run is over
                pass

        forget = on_give_up(stop)
        try:
            return runner.run(coro)
        finally:
            forget()


def _hold_ctrl_c() -> bool:
    """Hold SIGINT off this thread (and the threads it starts) until :func:`_let_ctrl_c`,
    where the OS allows it (POSIX, the main thread); whether it did. ``Thread.start()`` waits
    for the new thread to begin, which on a loaded machine took long enough for the helper
    thread to be calling the model: a Ctrl-C there escaped before the wait that cancels the
    run, and the run went on behind a KeyboardInterrupt that had no ``partial``. So the helper
    thread waits until the caller is in that wait, and a Ctrl-C held till then is raised
    there."""
    import signal

    if not hasattr(signal, "pthread_sigmask"):
        return False
    if threading.current_thread() is not threading.main_thread():
        return False
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    return True


def _let_ctrl_c(held: bool) -> None:
    """Let SIGINT in again after :func:`_hold_ctrl_c` (``held``: it did hold it); one that
    came meanwhile is raised now."""
    if held:
        import signal

        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def run_coroutine(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion from sync code, even when an event loop is already running
    in this thread (Jupyter): then it runs on a fresh loop in a helper thread.

    Interrupting the wait there (Ctrl-C: a KeyboardInterrupt in this thread) cancels ``coro``
    on the helper loop and waits until it has stopped before the KeyboardInterrupt goes on, so
    no model call outlives the interrupt.

    Either way the KeyboardInterrupt keeps the work done: its ``partial`` is the cancelled
    run's record (a :class:`RunError`, never raised), as a cancelled ``arun``'s
    ``CancelledError`` carries it (the record of nothing done when the run had not begun:
    :func:`irgraph.run_cancel.nothing_ran`, also for a Prefect run interrupted while its
    temporary server started), or ``None`` when ``coro`` is no run."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        running = False  # run here, outside this handler: else "no running event loop" would
    else:  # be the context of every error the run raises, first thing in its traceback
        running = True
    if not running:
        try:
            return _run_here(coro)
        except KeyboardInterrupt as interrupt:  # raised while asyncio.run handled the cancel
            _keep_partial(interrupt, interrupt.__context__)
            raise
    # A fresh context, as a new thread's, but for the user's line its warnings point at.
    context = pointing_at(calling_site(), contextvars.Context())
    box: dict[str, Any] = {}
    # Waited on instead of thread.join(): a join cut short by KeyboardInterrupt marks the
    # still-running thread as stopped (CPython 3.11's Thread._wait_for_tstate_lock), and a
    # second join then returns at once. Not threading.Events: a Ctrl-C in their own code
    # could leave their lock held, and both threads hung (thread_done.py).
    finished = Done()

    def target() -> None:
        go.wait()  # until the caller waits where a Ctrl-C cancels the run
        _let_ctrl_c(held)  # held as the thread started: the processes it starts would be too
        try:
            # The loop is made here, where no Ctrl-C lands, and closed by the Runner: made by
            # the caller, an interrupt before this thread ran it left it unclosed.
            with asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner:
                box["loop"] = runner.get_loop()
                if "cancel" in box:  # interrupted before the loop was there to be told
                    box["loop"].call_soon(cancel)
                box["value"] = runner.run(coro, context=context)
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc
        finally:
            finished.set()

    def cancel() -> None:  # on the helper loop, which runs coro's task and its children
        _cancel(asyncio.get_running_loop(), coro)

    go = Done()
    held = _hold_ctrl_c()
    try:
        threading.Thread(target=target, name="irgraph-run", daemon=True).start()
    except BaseException:
        _let_ctrl_c(held)
        raise
    try:
        _let_ctrl_c(held)  # a Ctrl-C that came while the thread started is raised here
        go.set()
        # In short waits (Done.wait's): a SIGINT that lands as a wait begins to block (after
        # Python last looked for signals) does not wake it, and its KeyboardInterrupt came
        # only once the whole run had ended; a short wait looks again soon.
        finished.wait()
    except KeyboardInterrupt as interrupt:
        box["cancel"] = True  # seen by the helper thread if it makes its loop after this
        loop = box.get("loop")  # else made already: told here (told twice does no harm)
        if loop is not None:
            try:
                loop.call_soon_threadsafe(cancel)  # runs once the loop runs coro's task
            except RuntimeError:  # the loop has closed: the run is over already
                pass
        go.set()
        finished.wait()
        _keep_partial(interrupt, box.get("error"))
        raise
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]
