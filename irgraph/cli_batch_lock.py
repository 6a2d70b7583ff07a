"""The lock file of ``irgraph batch``'s results file: one command at a time, and what a killed
one left on a work pool.

``.NAME.lock`` beside the results file ``NAME`` holds the file for one command (an advisory
``flock`` the system drops however the process ends) and names the file's *generation*: a
random name an unkeyed batch on a work pool is named by (with the file's real path), so that
the same command run after one killed outright (``kill -9``) finds the chunks it left on the
workers. A command that ends any other way removes the file, and the next one makes a new
generation. A command that sends to a work pool also writes its pool and batch key there: a
command run after it was killed that does not take its chunks over (without ``--work-pool``,
or with another pool or batch key) keeps the file as it found it, and says so
(:attr:`Held.note`), rather than throw away the only record of chunks that may still run and
call the model.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import uuid
from collections.abc import Iterator
from typing import Any

import attrs

from irgraph.cli_inputs import CliError

__all__ = ["Held", "output_lock"]


@attrs.define
class Held:
    """A results file held by this command: its generation, and the work-pool batch a command
    killed outright left under it that this command does not take over."""

    generation: str
    output: str  # the results file, as the command line names it
    lock: str  # its lock file, beside it
    #: The killed command's ``(work pool, batch key)``: its chunks may still run there.
    left: tuple[str, str | None] | None = None
    #: Whether the generation is a killed command's (else this command made it).
    inherited: bool = False
    #: Whether the lock file stays when this command ends (a killed command's chunks may
    #: still run, and the command that takes them over finds them by it).
    keep: bool = False

    @property
    def note(self) -> str | None:
        """What the user is told of the chunks left on a work pool (``None``: nothing)."""
        if self.left is None:
            return None
        pool, key = self.left
        flags = f"--work-pool {pool}" + (
            f" --batch-key {key}" if key is not None else " and no --batch-key"
        )
        keyed = "" if key is None else f" --batch-key {key}"
        return (
            f"-o {self.output} was last written by irgraph batch --work-pool {pool}{keyed}, "
            "killed outright: chunks it sent may still be running on the pool's workers, "
            "calling the model. This command does not take them over, so the items of theirs "
            "it runs are paid for again. To take them over (the answers of those that "
            f"completed taken, the running ones waited for), stop it (Ctrl-C) and run it with "
            f"{flags}. Their record stays in {self.lock} until a command does; delete that "
            "file to forget them (they then run to their end unseen)."
        )


@contextlib.contextmanager
def output_lock(
    path: str, work_pool: str | None = None, batch_key: str | None = None
) -> Iterator[Held]:
    """Hold the results file ``path`` for this command: a second ``irgraph batch`` writing
    the same file is refused while the first runs (its rewrite would replace the file the
    first is appending to, losing its lines); where there is no ``flock`` (Windows) nothing
    is locked. ``work_pool`` and ``batch_key``: where this command sends its items (``None``:
    here), recorded for a command run after this one should it be killed outright."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on this system
        yield Held(uuid.uuid4().hex, path, "")
        return
    # Beside the file itself: -o given through a symlink (or a linked folder) is the same file
    real = os.path.realpath(path)
    folder, name = os.path.split(real)
    lock = os.path.join(folder, f".{name}.lock")
    while True:
        try:
            handle = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise CliError(
                f"Cannot create {lock!r} to hold -o {path!r} ({exc.strerror}); write the "
                "results to a folder you may write."
            ) from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(handle)
            raise CliError(
                f"-o {path!r} is being written by another irgraph batch right now; wait for it "
                "to finish (then run this again to resume), or write the results to another file."
            ) from None
        try:  # the holder before may have removed the file it held: lock the one there now
            if os.stat(lock).st_ino == os.fstat(handle).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(handle)
    shown = os.path.join(os.path.dirname(path), f".{name}.lock")
    held = Held("", path, shown if os.path.abspath(path) == real else lock)
    try:
        held = _generation(handle, held, None if work_pool is None else (work_pool, batch_key))
        yield held
    finally:
        if not held.keep:
            with contextlib.suppress(OSError):
                os.unlink(lock)
        os.close(handle)


def _generation(handle: int, held: Held, sending: tuple[str, str | None] | None) -> Held:
    """What the held lock file ``handle`` names: a killed command's generation (and the pool
    batch it sent, when this command does not take that over), else a new one. The file is
    written again for this command unless it keeps a record this command does not take over."""
    generation, left = _read(handle)
    if generation is not None and left is not None and left != sending:
        return attrs.evolve(held, generation=generation, left=left, inherited=True, keep=True)
    made = generation or uuid.uuid4().hex
    if made != generation or left != sending:
        record = "" if sending is None else json.dumps(list(sending)) + "\n"
        with contextlib.suppress(OSError):  # not kept: a killed command's chunks are not found
            os.ftruncate(handle, 0)
            os.pwrite(handle, f"{made}\n{record}".encode(), 0)
    return attrs.evolve(held, generation=made, inherited=made == generation)


def _read(handle: int) -> tuple[str | None, tuple[str, str | None] | None]:
    """The generation a killed command left in lock file ``handle`` (its first line), and
    the work pool and batch key it sent to (its second, when it sent to a pool)."""
    with contextlib.suppress(OSError, UnicodeDecodeError):
        lines = os.pread(handle, 4096, 0).decode().splitlines()
        first = lines[0].strip() if lines else ""
        if not re.fullmatch("[0-9a-f]{32}", first):
            return None, None
        return first, _sent(lines[1] if len(lines) > 1 else "")
    return None, None


def _sent(line: str) -> tuple[str, str | None] | None:
    """The ``[work pool, batch key]`` a lock file's second line records, or ``None``."""
    with contextlib.suppress(ValueError):
        said: Any = json.loads(line)
        if (
            isinstance(said, list)
            and len(said) == 2
            and isinstance(said[0], str)
            and (said[1] is None or isinstance(said[1], str))
        ):
            return said[0], said[1]
    return None
