"""Where Prefect keeps a run's results (``result_dir``), checked before any model call.

Prefect writes a task's result once the task has run, and a result it cannot write is only
logged: the run goes on and "completes", but nothing was kept, so a retry or a resume with
the same run key pays for every agent again, and on a work pool every machine silently keeps
its own. A directory under a file, in a parent that does not exist (a shared disk that is not
mounted, a typo), or that cannot be written is therefore refused before the run starts,
naming the path. The directory itself may be missing while its parent exists: Prefect makes
it when it writes the first result. A symbolic link to a directory not there (yet) is checked
where it leads: Prefect follows it, making every missing directory on the way.

:func:`check_result_dir` is called when a pipeline is compiled for
:class:`~irgraph.backends.prefect_backend.PrefectBackend` (so ``run_many`` checks it once, not
once per item) and when a generated flow module's flows start, on the worker.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

from irgraph.errors import PipelineError, unexpanded_home

__all__ = ["check_result_dir", "check_result_storage", "results_kept_in"]

_HINT = (
    "Give a directory this process can write (a missing one is made if its parent exists), "
    "or leave result_dir unset for Prefect's own result storage."
)
_WORKER_HINT = (
    "Make that directory writable on this machine (on a work pool: storage every worker "
    "reaches at that path), or generate the module again with PrefectWorkerConfig("
    "result_dir=...) naming one, and deploy it again."
)


def check_result_dir(path: str | os.PathLike[str], where: str, hint: str = _HINT) -> str:
    """``path`` as a string if Prefect can keep results there, else a :class:`PipelineError`
    naming ``where`` (e.g. ``"PrefectBackend's result_dir"``), the path and what is wrong.

    >>> import tempfile
    >>> check_result_dir(tempfile.gettempdir(), "result_dir") == tempfile.gettempdir()
    True
    """
    text = os.fspath(path)
    if unexpanded_home(text):  # '~/results' would be a folder '~' here (or no folder at all)
        raise PipelineError(f"{where} {unexpanded_home(text)}", expected="a path", got=text)
    directory = Path(text).absolute()
    link = ""
    if directory.is_symlink() and not directory.exists():
        directory = _link_target(directory, where, text, hint)
        link = f"(a symbolic link to {str(directory)!r}) "
    if directory.exists() and not directory.is_dir():
        _refuse(where, text, hint, link + "is a file, not a directory")
    if not directory.exists():
        parent = directory.parent
        if not parent.exists():
            above = _existing_above(parent)
            if above is not None and not above.is_dir():
                _refuse(where, text, hint, link + f"lies under {str(above)!r}, which is a file")
            _refuse(
                where,
                text,
                hint,
                link
                + f"is in {str(parent)!r}, which does not exist (a disk not mounted, or a typo?)",
            )
        if not parent.is_dir():
            _refuse(where, text, hint, link + f"lies under {str(parent)!r}, which is a file")
        _writable(parent, where, text, hint, link)
        return text
    _writable(directory, where, text, hint, link)
    return text


def _link_target(link: Path, where: str, text: str, hint: str) -> Path:
    """Where a symbolic link to nothing (yet) leads: Prefect makes the directory there, and
    every missing directory above it (``mkdir(parents=True)``), so that is what is checked, as
    if it were given: a link to a shared disk that is not mounted is refused, not followed to
    a new directory on the local disk."""
    target = Path(os.path.realpath(link))
    if target.is_symlink():
        _refuse(where, text, hint, "is a symbolic link that leads back to itself (a loop)")
    return target


def _existing_above(path: Path) -> Path | None:
    """The nearest of ``path`` and its ancestors that exists (as anything)."""
    for candidate in (path, *path.parents):
        if candidate.exists() or candidate.is_symlink():
            return candidate
    return None


def _writable(directory: Path, where: str, text: str, hint: str, link: str = "") -> None:
    """Refuse ``directory`` unless a file can be made in it (``os.access`` says yes to root
    even on a read-only file system; making one is the only sure test)."""
    try:
        handle, probe = tempfile.mkstemp(prefix=".irgraph-probe-", dir=directory)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        made = f"cannot be written ({reason}, making a file in {str(directory)!r})"
        _refuse(where, text, hint, link + made)
    os.close(handle)
    os.unlink(probe)


def _refuse(where: str, text: str, hint: str, what: str) -> NoReturn:
    raise PipelineError(
        f"{where} {text!r} {what}, so Prefect could keep no result there: every agent would "
        "run, and be paid for, again on a retry or a resume.",
        hint=hint,
        expected="a directory that can be written",
        got=text,
    )


def check_result_storage(directory: str | os.PathLike[str] | None) -> None:
    """What a generated flow module's flows and ``run`` do first: check its
    ``RESULT_STORAGE`` (``None``: Prefect's own storage, nothing to check)."""
    if directory is not None:
        check_result_dir(directory, "The flow module's result directory (RESULT_DIR)", _WORKER_HINT)


@contextlib.contextmanager
def results_kept_in(directory: str | None) -> Iterator[None]:
    """Within the block, the flow runs of this process keep their results in ``directory``
    (``None``: where Prefect's settings say). Prefect accepts only saved storage blocks on
    tasks; pointing its default local storage at the directory keeps results on disk where
    a new process finds them."""
    if directory is None:
        yield
        return
    from prefect.settings import PREFECT_RESULTS_LOCAL_STORAGE_PATH, temporary_settings

    with temporary_settings({PREFECT_RESULTS_LOCAL_STORAGE_PATH: directory}):
        yield
