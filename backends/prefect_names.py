"""Names and hashes Prefect runs use: a node's place in loops and map-overs, and the names
Prefect accepts for flows, tasks and runs.

irgraph names may be anything; Prefect refuses some characters. :func:`prefect_name` maps a
pipeline or node name to one Prefect accepts, the same way every time. Kept apart from
:mod:`irgraph.backends.prefect_runtime` so that the gates' module, which the runtime imports,
can name its task runs too.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any
from uuid import UUID

from irgraph import checks
from irgraph.errors import IrgraphError, PipelineError

__all__ = [
    "Position",
    "check_run_key",
    "flow_run_uuid",
    "is_prefect_name",
    "prefect_name",
    "sha256",
    "where",
]

Position = tuple[tuple[str, int], ...]  # (loop or map-over id, index) pairs

# Prefect refuses / % & < > in a flow name (prefect.types.names.BANNED_CHARACTERS); its HTTP
# client cannot send control characters (in a header) or lone surrogates (as UTF-8) either.
_REFUSED = re.compile("[/%&<>\x00-\x1f\x7f-\x9f\ud800-\udfff]+")
_NAME_LIMIT = 80  # longer names are shortened: they are labels in Prefect's UI


def flow_run_uuid(flow_run_id: str, what: str) -> UUID:
    """``flow_run_id`` as a UUID, or an :class:`IrgraphError` naming ``what`` was given it: a
    flow run's name from Prefect's log (``'meaty-bullfinch'``) is not its id."""
    try:
        return UUID(str(flow_run_id))
    except ValueError:
        raise IrgraphError(
            f"{what} got {flow_run_id!r}, which is not a flow run id (a UUID such as "
            "'0b9c0c1e-...'); Prefect's log names a run by its name, not its id. Use the id "
            "on_paused is given (its second argument), or the one Prefect's UI shows."
        ) from None


def sha256(text: str) -> str:
    """The hex SHA-256 of ``text``; a lone surrogate in a name or prompt is hashed as it is
    (``surrogatepass``), since UTF-8 cannot encode it."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def where(node: str, path: Position) -> str:
    """A node at a loop/map position, as task runs are named: ``critic[2]``.

    >>> where("critic", (("review", 2),))
    'critic[2]'
    """
    return node + "".join(f"[{i}]" for _, i in path)


def is_prefect_name(value: Any) -> bool:
    """Whether Prefect accepts ``value`` as the name of a flow, task, deployment or work pool:
    a string that is not blank or only quotes, without ``/ % & < >`` or control characters.

    >>> is_prefect_name("research v2"), is_prefect_name("research/v2"), is_prefect_name("' '")
    (True, False, False)
    """
    return isinstance(value, str) and bool(value.strip("'\" ")) and _REFUSED.search(value) is None


def prefect_name(name: str) -> str:
    """The name Prefect knows a pipeline or node ``name`` by, for flows, tasks and runs.

    A name Prefect accepts, of at most 80 characters, is kept as it is. Any other is made
    readable — each run of refused characters becomes ``-``, and it is cut to fit — and gets
    8 hex digits of a hash of the original, so the same name always gives the same Prefect
    name and two different names do not share one:

    >>> prefect_name("research"), prefect_name("research/v2")
    ('research', 'research-v2-bca81bb8')
    """
    if is_prefect_name(name) and len(name) <= _NAME_LIMIT:
        return name
    digest = sha256(name)[:8]
    readable = _REFUSED.sub("-", name)[: _NAME_LIMIT - 9].strip(" -")
    return f"{readable}-{digest}" if readable.strip("'\" -") else f"irgraph-{digest}"


def check_run_key(run_key: Any) -> None:
    """Refuse a ``run_key`` that is no text, or empty: it names the run whose agent results
    and gate answers are kept."""
    checks.optional(checks.text).check(run_key, "the run option run_key")
    if run_key == "":
        raise PipelineError(
            "The run option run_key is empty; it names the run whose agent results (and "
            "gate answers) are kept, so two runs with one key share them.",
            hint="Pass a non-empty key, e.g. run_key='report-2026-12-02', or leave it out "
            "to key the run by its flow run id.",
        )
