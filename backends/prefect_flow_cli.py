"""The command line of a generated flow module, and what its flow says about its inputs.

A generated module (:func:`~irgraph.backends.prefect_worker.generate_flow_code`) deploys
itself (``python flow.py``) or runs once (``python flow.py run --state JSON``). A mistake on
that command line is one line on standard error and exit code 2, naming the mistake and the
fix, as ``irgraph``'s own commands do (:class:`FlowCommandLine`). After deploying, the module
prints a command that starts a run of the deployment as it is pasted
(:func:`deployment_run_command`), and a flow run started without the inputs the pipeline
needs says which, and how to give them (:func:`initial_state`).
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import json
import re
import shlex
import sys
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any, NoReturn

from irgraph.checks import is_key, not_a_key
from irgraph.cli_batch_lines import KeyGivenTwice, unique_keys
from irgraph.cli_options import UNKNOWN, options_meant
from irgraph.errors import closest_keys
from irgraph.initial_values import given_state

from .prefect_flow_values import refuse_given_values, warn_given_keys

__all__ = [
    "FlowCommandLine",
    "check_deploy_target",
    "api_path_hint",
    "deployment_run_command",
    "worker_command",
    "initial_state",
    "state_from_json",
    "STATE_TOLD",
    "state_warnings_told",
    "told_by_command_line",
    "misspelt_inputs",
    "no_pool_message",
]

_CHOICE = re.compile(r"invalid choice: '(?P<given>[^']*)' \(choose from (?P<choices>.*)\)")


class FlowCommandLine(argparse.ArgumentParser):
    """An argument parser whose errors are one line (``flow.py: error: ...``, exit 2), with
    the nearest command for a misspelt one and where to read the rest."""

    def error(self, message: str) -> NoReturn:
        choice = _CHOICE.search(message)
        if choice is not None:
            given = choice["given"]
            choices = [name.strip("' ") for name in choice["choices"].split(",")]
            near = difflib.get_close_matches(given, choices, n=1)
            also = f"; did you mean {near[0]!r}?" if near else "."
            message = f"there is no command {given!r}{also} Commands: {', '.join(choices)}"
        elif message.startswith(UNKNOWN):
            message += options_meant(self, message[len(UNKNOWN) :].split())
        message = message.rstrip(". ")
        stop = "" if message.endswith("?") else "."
        self.exit(2, f"{self.prog}: error: {message}{stop} See {self.prog} --help.\n")


def check_deploy_target(pool: str) -> None:
    """Refuse, with a ``ValueError`` that says what to do, a deploy that could not work: no
    ``PREFECT_API_URL`` (a temporary server ends with the command, deployments and all), a
    server that does not answer, or a work pool it does not have (the pools it has listed)."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    if not url:
        raise ValueError(
            "deploying needs the Prefect server your workers use, but PREFECT_API_URL is not "
            "set (a temporary local server would end with this command, deployments and all); "
            "set it, e.g. PREFECT_API_URL=http://127.0.0.1:4200/api, and deploy again"
        )
    with get_client(sync_client=True) as client:
        problem = client.api_healthcheck()
        if problem is not None:
            raise ValueError(
                f"cannot reach the Prefect API at {url} (from PREFECT_API_URL): "
                f"{str(problem).rstrip('.')}{api_path_hint(url)}; start the server (prefect "
                "server start) or point PREFECT_API_URL at it"
            )
        try:
            client.read_work_pool(pool)
        except ObjectNotFound:
            pools = sorted(found.name for found in client.read_work_pools(limit=200))
            raise ValueError(no_pool_message(url, pool, pools)) from None


def api_path_hint(url: str) -> str:
    """What a Prefect API URL of a server's root, without its ``/api`` path, is told
    (Prefect's server answers there; at its root, the health check is "404 Not Found"), or
    ``""`` (a URL with a path of its own, Prefect Cloud's, is left as it is).

    >>> api_path_hint("http://127.0.0.1:4200")
    ' (a Prefect API URL ends in /api: PREFECT_API_URL=http://127.0.0.1:4200/api)'
    >>> api_path_hint("https://api.prefect.cloud/api/accounts/a/workspaces/w")
    ''
    """
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if not parts.scheme.startswith("http") or parts.path.strip("/"):
        return ""
    return f" (a Prefect API URL ends in /api: PREFECT_API_URL={url.rstrip('/')}/api)"


def no_pool_message(url: str, pool: str, pools: list[str]) -> str:
    """What deploying to work pool ``pool`` says when the server at ``url`` has only
    ``pools``: the nearest names, the pools it has, and how to create the one named."""
    near = difflib.get_close_matches(pool, pools, n=3)
    hint = f"did you mean {' or '.join(map(repr, near))}? It has: " if near else "it has: "
    have = f"{hint}{', '.join(pools)}" if pools else "it has none"
    return (
        f"the Prefect server at {url} has no work pool {pool!r}; {have}. Create it "
        f"(prefect work-pool create {shlex.quote(pool)} --type process) or generate "
        "the module again with PrefectWorkerConfig(work_pool=...) naming one"
    )


def deployment_run_command(flow: str, deployment: str, inputs: Iterable[str]) -> str:
    """The shell command that starts a run of deployment ``flow/deployment``, its initial
    state holding each of ``inputs`` (with ``...`` for you to replace), quoted so that it
    runs as pasted.

    >>> print(deployment_run_command("notes", "notes", ["topic"]))
    prefect deployment run notes/notes --params '{"state": {"topic": "..."}}'
    """
    state = {key: "..." for key in inputs}
    command = f"prefect deployment run {shlex.quote(f'{flow}/{deployment}')}"
    if state:
        command += f" --params {shlex.quote(json.dumps({'state': state}))}"
    return command


def worker_command(pool: str) -> str:
    """The shell command that starts a worker of work pool ``pool``, quoted to run as pasted.

    >>> print(worker_command("gpu pool"))
    prefect worker start --pool 'gpu pool'
    """
    return f"prefect worker start --pool {shlex.quote(pool)}"


def misspelt_inputs(missing: Iterable[str], given: Iterable[str], where: str) -> str:
    """A sentence naming each given key that looks like a ``missing`` one (``topc`` for
    ``topic``), as a misspelling to fix, or ``""`` when none does.

    >>> misspelt_inputs(["topic"], ["topc", "n"], "--state")
    " --state gives 'topc': did you mean 'topic'?"
    """
    spare = [key for key in given if key not in set(missing)]
    pairs = []
    for key in missing:
        near = closest_keys(key, spare, n=1)
        if near:
            spare.remove(near[0])
            pairs.append(f"{near[0]!r}: did you mean {key!r}?")
    return "".join(f" {where} gives {pair}" for pair in pairs)


def state_from_json(
    text: str, inputs: Collection[str], checks: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A generated module's ``run --state``: a JSON object holding every key in ``inputs``
    once, with values the pipeline can use (by ``checks``, its ``STATE_CHECKS``, as an
    in-process run refuses them), or a ``ValueError`` saying what is wrong, before Prefect
    starts.

    >>> state_from_json('{"topic": "owls"}', ["topic"])
    {'topic': 'owls'}
    """
    try:
        state = json.loads(text, object_pairs_hook=unique_keys)
    except KeyGivenTwice as twice:
        raise ValueError(
            f"--state gives the key {twice.key!r} twice in one object, and JSON keeps only "
            "one of the two values; give it once."
        ) from None
    except ValueError as error:
        raise ValueError(
            f"--state is not JSON ({error}); give a JSON object, e.g. --state "
            '\'{"topic": "owls"}\'.'
        ) from None
    if not isinstance(state, dict):
        raise ValueError(
            f"--state must be a JSON object of state keys to values, not a "
            f'{type(state).__name__}; e.g. --state \'{{"topic": "owls"}}\'.'
        )
    for key in state:
        if not is_key(key):  # as irgraph run refuses it
            raise ValueError(not_a_key("--state", key))
    missing = [key for key in inputs if key not in state]
    if missing:
        fix = misspelt_inputs(missing, state, "--state") or " Add it to --state."
        raise ValueError(
            f"--state lacks {', '.join(map(repr, missing))}, which the pipeline reads before "
            f"anything writes it.{fix}"
        )
    if checks is not None:
        refuse_given_values(state, inputs, checks)
    return state


def initial_state(
    state: Mapping[str, Any] | None,
    inputs: Collection[str],
    checks: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What a generated flow starts from: ``state`` if it holds every key of ``inputs``,
    else a ``ValueError`` naming the missing keys and how to give them; with ``checks`` (the
    module's ``STATE_CHECKS``), the :class:`~irgraph.errors.PipelineError` an in-process run
    raises for a value the pipeline cannot use, before any task runs."""
    given = given_state(state)  # keys checked and made plain, as in-process runs make them
    missing = [key for key in inputs if key not in given]
    if missing:
        needed = {key: "..." for key in inputs}
        raise ValueError(
            f"The flow run's initial state lacks {', '.join(map(repr, missing))}, which the "
            f"pipeline reads before anything writes it (state given: {sorted(given)})."
            f"{misspelt_inputs(missing, given, 'The state')} Give "
            f"them in the state parameter, e.g. prefect deployment run FLOW/DEPLOYMENT "
            f"--params {shlex.quote(json.dumps({'state': needed}))}, or python FLOW_FILE.py "
            f"run --state {shlex.quote(json.dumps(needed))}."
        )
    if checks is not None:
        refuse_given_values(given, inputs, checks)
        if not (STATE_TOLD.get() or _TOLD_BY_COMMAND_LINE):
            warn_given_keys(given, checks, past=_caller_module())
    return given


#: Whether the warnings of the state a generated flow runs on were told already: by its
#: command line (``python flow.py run``, ``run-batch``), which tells them in its own words
#: before Prefect loads (:func:`~irgraph.backends.prefect_flow_command.read_command`).
STATE_TOLD: ContextVar[bool] = ContextVar("irgraph_flow_state_told", default=False)


#: Whether this process's own command line (``python flow.py run-batch``) told the warnings
#: of its items' states: the ``main`` of a module an older irgraph generated runs the batch
#: flow outside :func:`state_warnings_told`, where each warning was said a second time.
_TOLD_BY_COMMAND_LINE = False


def told_by_command_line() -> None:
    """Generated flows in this process leave the warnings of their states unsaid from now
    on: the process's command line told them as it was read."""
    global _TOLD_BY_COMMAND_LINE
    _TOLD_BY_COMMAND_LINE = True


@contextlib.contextmanager
def state_warnings_told() -> Iterator[None]:
    """Within the block, generated flows leave the warnings of their states unsaid: the
    command line told them as it was read (``python flow.py run-batch``: each item's)."""
    told = STATE_TOLD.set(True)
    try:
        yield
    finally:
        STATE_TOLD.reset(told)


def _caller_module() -> tuple[str, ...]:
    """The name of the module :func:`initial_state` was called from: the generated flow
    module, whose line the warnings point past, at the user's call of its flow."""
    return (str(sys._getframe(2).f_globals.get("__name__", "")),)
