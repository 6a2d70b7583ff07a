"""The temporary Prefect server processes of a child process, found from outside it.

A Prefect run without ``PREFECT_API_URL`` starts a temporary server: a ``uvicorn`` process
whose parent is the process that ran the flow. The tests that interrupt or kill such a process
find its server through ``/proc`` (Linux, where the suite runs), as an operator would with
``ps``, and wait for it to go with a deadline.
"""

from __future__ import annotations

import os
import time

__all__ = ["alive", "servers_of", "watchdogs_of", "wait_until"]


def _stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()
    except OSError:  # gone, or not ours to read
        return None


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, ended but not yet reaped, does not)."""
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


def servers_of(parent: int) -> list[int]:
    """The running ``uvicorn`` children of process ``parent``."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        fields = _stat(int(name))
        if fields is None or fields[0] == "Z" or int(fields[1]) != parent:
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as cmdline:
                if b"uvicorn" in cmdline.read().split(b"\0"):
                    found.append(int(name))
        except OSError:
            continue
    return found


def watchdogs_of(server: int) -> list[int]:
    """The running watchdogs (``irgraph.backends.prefect_watchdog``) of server ``server``:
    the watchdog processes its parent started (asked while that parent runs; a watchdog is
    told its server's pid on its standard input, so its command line does not name it)."""
    from irgraph.backends.prefect_watchdog import WATCHDOG

    fields = _stat(server)
    if fields is None:
        return []
    parent, found = int(fields[1]), []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        stat = _stat(int(name))
        if stat is None or stat[0] == "Z" or int(stat[1]) != parent:
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as cmdline:
                if WATCHDOG.encode() in cmdline.read().split(b"\0"):
                    found.append(int(name))
        except OSError:
            continue
    return found


def wait_until(condition, what: str, seconds: float = 120.0):  # type: ignore[no-untyped-def]
    """Poll ``condition()`` until it returns something true, which is returned; fail naming
    ``what`` was awaited after ``seconds`` (a deadline, not a measurement)."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"Waited {seconds:.0f} s for {what}, in vain.")
        time.sleep(0.02)
