"""What a batch stopped by a cancel or Ctrl-C says it got done, and how to go on.

A cancelled ``arun_many`` batch raises ``CancelledError`` (``run_many``: ``KeyboardInterrupt``)
as any stopped run does, carrying ``partial``: a :class:`BatchStopped` record (never raised)
that counts the items handed over and says where the completed ones are kept and how to
resume: with a ``batch_key``, running the same batch again gives them back as ``resumed``;
without one nothing was kept. Items that completed as the batch stopped, too late to be handed
over, are in its ``results`` (a keyed batch kept them too).

>>> record = BatchStopped(handed=3, failed=1, batch_key="evals-v1", store="runs/evals")
>>> print(record)  # doctest: +NORMALIZE_WHITESPACE
The batch 'evals-v1' was stopped after 3 items were handed over (1 of them failed). Every
item that completed is kept in 'runs/evals', and the agents of an item under way keep their
answers: run the same batch again with batch_key='evals-v1' and store='runs/evals' to resume
(kept items come back as resumed, without a model call).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncGenerator, Iterator, Sequence
from typing import Any

from irgraph.batch_items import ItemResult
from irgraph.batch_store import default_directory
from irgraph.errors import RunError

__all__ = [
    "BatchStopped",
    "Tally",
    "carry",
    "keep_late",
    "states_failed",
    "stop_items",
    "stopped_preparing",
]

#: The attribute of a stopping batch's exception that holds the items its source completed as
#: it stopped, which were never handed over (a work pool's chunks that ended unseen).
_LATE = "irgraph_late_items"


def keep_late(stop: BaseException, items: Sequence[Any]) -> None:
    """Hand ``items``, completed as the batch stopped but never handed over, to the
    :class:`Tally` counting the batch, through the exception ``stop`` that stops it: they go
    into its record's ``results``."""
    setattr(stop, _LATE, [*getattr(stop, _LATE, ()), *items])


#: The attribute that marks an exception the batch's states raised (see :func:`states_failed`).
_STATES = "irgraph_states_failed"


def states_failed(error: Exception) -> Exception:
    """Mark ``error``, raised by a batch's states, for the :class:`Tally` counting the batch:
    raised once the items in flight have ended (and been handed over), it gets the batch's
    record as its ``partial``, as a stopped batch's interrupt does."""
    setattr(error, _STATES, True)
    return error


def carry(stop: BaseException, record: BatchStopped) -> None:
    """Give ``stop`` (the ``KeyboardInterrupt`` or ``CancelledError`` stopping a batch)
    ``record`` as its ``partial``, and its text as a note: a traceback of the interrupt (in a
    terminal, or Jupyter's) then says what was kept and how to resume, not only
    ``KeyboardInterrupt``. A record given again replaces the note of the one before."""
    before = getattr(stop, "partial", None)
    notes = getattr(stop, "__notes__", None)
    if isinstance(before, BatchStopped) and notes is not None and str(before) in notes:
        notes.remove(str(before))
    stop.partial = record  # type: ignore[attr-defined]
    stop.add_note(str(record))


class BatchStopped(RunError):
    """The ``partial`` of a stopped batch: ``handed`` items handed over (``failed`` of them
    failed), ``results`` the :class:`~irgraph.batch.ItemResult` s that completed too late to
    be handed over, ``batch_key`` and ``store`` where completed items are kept (``None``:
    nowhere). ``cancelled`` is true, as on a stopped run's record."""

    def __init__(
        self,
        *,
        handed: int,
        failed: int = 0,
        results: Sequence[Any] = (),
        batch_key: str | None = None,
        store: str | os.PathLike[str] | None = None,
    ) -> None:
        self.handed, self.failed, self.results = handed, failed, list(results)
        self.batch_key = batch_key
        self.store = None if store is None else os.fspath(store)
        super().__init__(self._message())
        self.cancelled = True

    def _message(self) -> str:
        done = f"The batch{'' if self.batch_key is None else f' {self.batch_key!r}'} was "
        if self.handed == 0:
            done += "stopped before any item was handed over."
        else:
            items = f"{self.handed} item{' was' if self.handed == 1 else 's were'}"
            done += f"stopped after {items} handed over"
            done += f" ({self.failed} of them failed)." if self.failed else "."
        if self.results:
            late = len(self.results)
            done += f" {late} more completed as it stopped: .results holds them."
        if self.batch_key is None:
            return done + (
                " It had no batch_key, so nothing was kept and running it again runs every "
                "item again; pass batch_key='a name' to make a batch resumable."
            )
        return done + (
            f" Every item that completed is kept in {self.store!r}, and the agents of an item "
            f"under way keep their answers: run the same batch again with "
            f"batch_key={self.batch_key!r} and store={self.store!r} to resume (kept items "
            "come back as resumed, without a model call)."
        )


class Tally:
    """The items a batch has handed over, and how many of them failed."""

    def __init__(self) -> None:
        self.handed = 0
        self.failed = 0
        self.unhanded: list[Any] = []  # completed as the batch stopped, never counted
        #: Completed together with the item being handed over, and waiting their turn: a
        #: batch stopped while one is handed over (Ctrl-C) lists the rest as completed.
        self.waiting: list[Any] = []

    def record(self, store: Any, late: Sequence[Any] = ()) -> BatchStopped:
        """The :class:`BatchStopped` of the batch kept in ``store`` (a BatchStore or
        ``None``); ``late`` are items counted here that never reached the caller."""
        return BatchStopped(
            handed=self.handed - len(late),
            failed=self.failed - sum(not item.ok for item in late),
            results=[*late, *self.unhanded, *self.waiting],
            batch_key=getattr(store, "batch_key", None),
            store=getattr(store, "directory", None),
        )

    async def counted(
        self, results: AsyncGenerator[Any, None], store: Any
    ) -> AsyncGenerator[Any, None]:
        """``results``, counted as they are handed over; a cancel (or Ctrl-C) that stops them
        carries :meth:`record` as its ``partial``."""
        try:
            async for item in results:
                self.handed += 1
                self.failed += not item.ok
                try:
                    yield item
                except (asyncio.CancelledError, KeyboardInterrupt) as stop:
                    # Thrown in as an item was handed over (irgraph.batch_blocking does, for
                    # a Ctrl-C in the caller's loop): ``results`` stops as a cancel of its
                    # step would, with the items it completed meanwhile on ``stop``.
                    await results.athrow(stop)
                    raise
        except (asyncio.CancelledError, KeyboardInterrupt) as stop:
            self.unhanded += getattr(stop, _LATE, ())
            carry(stop, self.record(store))
            raise
        except Exception as error:
            if getattr(error, _STATES, False):
                carry(error, self.record(store))
            raise
        finally:
            await results.aclose()


@contextlib.contextmanager
def stopped_preparing(batch_key: Any, store: Any) -> Iterator[None]:
    """Give a Ctrl-C while a batch is checked and compiled (importing Prefect alone takes a
    second) the ``partial`` of a batch that handed nothing over, as a later one has; the
    arguments are the batch's, not yet checked."""
    try:
        yield
    except KeyboardInterrupt as interrupt:
        named = batch_key if isinstance(batch_key, str) and batch_key.strip() else None
        if named is not None and store is None:
            store = default_directory(named)
        kept = store if named is not None and isinstance(store, (str, os.PathLike)) else None
        carry(interrupt, BatchStopped(handed=0, batch_key=named, store=kept))
        raise


async def stop_items(in_flight: set[asyncio.Task[ItemResult]]) -> list[ItemResult]:
    """Cancel the items in flight and wait until they have stopped; the ones that completed
    all the same (before the cancel reached them, or as it did) are returned: they are kept
    in a keyed batch's store, and a stopped batch's record lists them (:func:`keep_late`)."""
    for task in in_flight:
        task.cancel()
    ended = await asyncio.gather(*in_flight, return_exceptions=True)
    in_flight.clear()
    return sorted(
        (item for item in ended if isinstance(item, ItemResult) and item.ok),
        key=lambda item: item.index,
    )
