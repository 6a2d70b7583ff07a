"""Gates on Prefect: a gate asks once, its answer kept as a cached task's result, so a retried
or resumed run does not ask again.

A gate pauses its flow run until a human answers and resumes it with the answer
(:mod:`irgraph.backends.prefect_pauses`, which these names are handed on from too). Answers
may be given up front (a generated module's ``run --answer``, :func:`gate_answers`,
:func:`answering`); a run whose gates nobody could answer is refused before it starts
(:func:`refuse_unanswerable`).

:mod:`irgraph.backends.prefect_runtime` hands these on to generated flow modules. This module
does not import ``prefect`` at import time; the functions that need it do.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping, Sequence
from types import MappingProxyType
from typing import Any

from irgraph import gate_answers as answer_pairs
from irgraph.errors import IrgraphError
from irgraph.templates import filled, parse_template

from .prefect_failures import cache_hit
from .prefect_names import Position, prefect_name, sha256, where
from .prefect_pauses import (  # handed on from here too (__all__)
    current_flow_run_id,
    kept_then_resumed,
    pause_key,
    pause_turn,
    refuse_on_own_path,
    resume_when_paused,
    wait_for_answer,
)

__all__ = [
    "refuse_unanswerable",
    "refuse_on_own_path",
    "gate",
    "gate_cache_key",
    "gate_answers",
    "answering",
    "answered_once",
    "kept_then_resumed",
    "pause_key",
    "current_flow_run_id",
    "pause_turn",
    "wait_for_answer",
    "resume_when_paused",
]

State = MutableMapping[str, Any]


async def gate(
    state: State,
    path: Position,
    run_key: str | None = None,
    *,
    node: str,
    message: str,
    writes: str | None,
    timeout: int,
    storage: Any = None,
    kept_as: str | None = None,
) -> str:
    """Pause the flow run until someone resumes it with an answer (a string), e.g.
    :func:`~irgraph.backends.prefect_backend.resume_gate`. The answer is kept as a cached
    task's result (:func:`answered_once`) under ``run_key`` (default: the flow run id), or
    ``kept_as`` if given (a dry run's answers, kept apart), in ``storage`` (default:
    Prefect's result storage), so a retried or resumed run does not ask again."""
    from prefect.logging import get_run_logger

    template = parse_template(message, field="message")
    text = filled(template, state)[0]

    key = current_flow_run_id() if run_key is None else run_key

    async def asking() -> str:
        paused_as = pause_key(node, path, key, text)
        async with pause_turn() as flow_run_id:
            get_run_logger().info("Gate %r waits for an answer: %s", where(node, path), text)
            given = _given.get().get(node)
            answering = None
            if given is not None:  # from the command line: resume the pause with it
                answering = kept_then_resumed(flow_run_id, given, key=paused_as, timeout=timeout)
            return await wait_for_answer(paused_as, timeout=timeout, answering=answering)

    kept = key if kept_as is None else kept_as  # an older irgraph's module kept it under key
    answer, _ = await answered_once(asking, kept, node, path, text, storage=storage, before=key)
    if writes is not None:
        state[writes] = answer
    return answer


_given: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar(
    "irgraph_gate_answers", default=MappingProxyType({})
)


def gate_answers(gates: Mapping[str, str], pairs: Sequence[str]) -> dict[str, str]:
    """Each gate's answer given as ``GATE=VALUE`` pairs (a generated module's ``run
    --answer``), by gate id, for :func:`answering`; ``gates`` maps each gate's id to its name,
    and a pair may name either. The checks and words are ``irgraph run --answer``'s
    (:mod:`irgraph.gate_answers`), raised as ``ValueError``; a gate without an answer is
    refused too when the run has only a temporary server, where nobody else could answer it;
    with ``PREFECT_API_URL`` set it waits for someone to resume it there."""
    given = answer_pairs.parse_answers(pairs, ValueError)
    answers, unanswered = answer_pairs.answers_by_id(gates, given, ValueError)
    if unanswered and not _api_url():
        raise ValueError(
            answer_pairs.unanswered_message(
                unanswered, "and on a temporary Prefect server nobody else can answer"
            )
            + " (or set PREFECT_API_URL and resume the run there)."
        )
    return answers


def refuse_unanswerable(gates: Sequence[str]) -> None:
    """Refuse a run that would pause at ``gates`` with nobody to answer: no ``on_gate`` and no
    ``on_paused`` handler, on a temporary server only this process reaches (it would wait for
    the gate timeout, an hour by default, and fail). Call it with the gates of such a run."""
    if gates and not _api_url():
        which = ", ".join(map(repr, gates))
        raise IrgraphError(
            f"The pipeline stops at the gate(s) {which} to ask a person, but this run has no "
            "on_gate or on_paused handler and runs on a temporary Prefect server nobody else "
            "can reach, so nobody could answer: it would wait for the gate timeout and fail. "
            "Pass on_gate=handler (it gets the gate's request and returns the answer), or "
            "on_paused=handler to resume it yourself with resume_gate, or set PREFECT_API_URL "
            "to a server where a person can resume it."
        )


def _api_url() -> str | None:
    from prefect.settings import PREFECT_API_URL

    url: str | None = PREFECT_API_URL.value()
    return url


@contextlib.contextmanager
def answering(answers: Mapping[str, str]) -> Iterator[None]:
    """Within the block, the gates of a run started here answer themselves with ``answers``
    (by gate id, from :func:`gate_answers`): each still pauses, and is resumed with its
    answer as soon as it is paused."""
    token = _given.set(dict(answers))
    try:
        yield
    finally:
        _given.reset(token)


def gate_cache_key(run_key: str, node: str, path: Position, message: str) -> str:
    """The key a gate's answer is kept under: the run key, the gate's id, its loop/map
    position and a hash of its rendered message. A retried or resumed run finds the answer
    given before; another run, another iteration, or the same gate asking something else
    (its message changed with the state) asks anew."""
    at = "/".join(f"{scope}[{index}]" for scope, index in path)
    parts = [sha256(run_key)[:16], node, at, sha256(message)[:32]]
    return "irgraph-gate-" + sha256("\x00".join(parts))


async def answered_once(
    asking: Callable[[], Awaitable[str]],
    run_key: str,
    node: str,
    path: Position,
    message: str,
    *,
    storage: Any = None,
    before: str | None = None,
) -> tuple[str, bool]:
    """``asking()``'s answer, run as a Prefect task whose result is persisted under
    :func:`gate_cache_key`, and whether it came from that cache (asked before, by this run
    or one with the same run key) rather than from asking now. A gate asks a person, so
    as an agent's answer its answer is never paid for twice: a flow retry, or a new process
    resuming with the same run key and result storage, does not pause there again.

    ``before`` is the run key an older irgraph kept this answer under (a dry run's gates were
    kept under the run key itself): with nothing kept under ``run_key``, an answer kept under
    ``before`` is taken, so a dry run is not asked again after an upgrade."""
    from prefect.states import get_state_result

    gate_task = _gate_task(node, storage)
    key = gate_cache_key(run_key, node, path, message)
    if before is not None and before != run_key and not await _kept(gate_task, key):
        older = gate_cache_key(before, node, path, message)
        if await _kept(gate_task, older):
            key = older
    state = await gate_task(asking, key, prefect_name(where(node, path)), return_state=True)
    answer: str = await get_state_result(state)
    return answer, cache_hit(node, state.name == "Cached")  # a generated flow's record notes it


async def _kept(gate_task: Any, key: str) -> bool:
    """Whether an answer is kept under ``key`` where ``gate_task`` keeps its results."""
    from prefect.results import get_result_store

    store = await get_result_store().aupdate_for_task(gate_task)
    return bool(await store.aexists(key))


@functools.cache
def _gate_task(node: str, storage: Any) -> Any:
    """The cached Prefect task that waits for gate ``node``'s answer, made once per node."""
    from prefect import task

    return task(
        name=prefect_name(node),
        persist_result=True,
        cache_key_fn=_cache_key_parameter,
        result_storage=storage,
        retries=0,
        task_run_name="{where}",
        log_prints=False,
    )(_wait)


async def _wait(asking: Callable[[], Awaitable[str]], cache_key: str, where: str) -> str:
    """What a gate's task does: wait for the answer. ``cache_key`` is what the task is cached
    under; ``where`` names the task run (gate and loop/map position)."""
    return await asking()


def _cache_key_parameter(context: Any, parameters: dict[str, Any]) -> str:
    return str(parameters["cache_key"])
