"""The backend and the model provider the ``irgraph`` command is told to use: ``--backend``
and ``--provider``, checked before anything runs.

A name no backend is registered under, or a provider spec that makes no provider, is a
mistake on the command line like any other: a :class:`~irgraph.cli_inputs.CliError` (exit 2)
naming the option, with the closest name when there is one.
"""

from __future__ import annotations

import logging
import os
import sys
from difflib import get_close_matches
from typing import Any

from irgraph.cli_inputs import CliError
from irgraph.errors import did_you_mean

__all__ = [
    "check_backend",
    "check_provider",
    "quiet_prefect",
    "quiet_prefect_exit",
    "PROVIDER_HELP",
]

#: What ``--provider`` takes, as ``irgraph run --help`` and ``irgraph batch --help`` say it.
PROVIDER_HELP = (
    "'fake' (the default), 'openai:MODEL' (the key from OPENAI_API_KEY) or "
    "'package.module:factory' (a provider of your own)"
)


def check_backend(name: str) -> str:
    """``name`` when a backend is registered under it (built in or by an entry point)."""
    from irgraph.compile import available_backends

    known = available_backends()
    if name in known:
        return name
    listed = ", ".join(repr(n) for n in known)
    raise CliError(
        f"--backend {name!r} names no registered backend.{did_you_mean(name, known)} The "
        f"backends: {listed}; a third-party backend registers through the 'irgraph.backends' "
        "entry-point group."
    )


def quiet_prefect() -> None:
    """Keep Prefect's console log (a line per flow and task run, a traceback per failure)
    out of a command that tells its progress and failures itself, unless the user set
    ``PREFECT_LOGGING_LEVEL``. Prefect reads the setting when it sets its loggers up, on
    first use; should that have happened already, its logger is turned down as well."""
    if "PREFECT_LOGGING_LEVEL" in os.environ:
        return
    os.environ["PREFECT_LOGGING_LEVEL"] = "CRITICAL"
    os.environ.setdefault("PREFECT_INTERNAL_LOGGING_LEVEL", "CRITICAL")  # prefect._internal
    # Its background services log under their class names, outside "prefect" (a shutdown's
    # "Still processing items"): no setting reaches them, their loggers' levels do.
    for name in ("EventsWorker", "APILogWorker"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    if "prefect.main" in sys.modules:
        for name in ("prefect", "prefect._internal"):
            logging.getLogger(name).setLevel(logging.CRITICAL)


def quiet_prefect_exit() -> None:
    """When this process started Prefect's temporary server, which Prefect stops as the
    process exits: make a Ctrl-C then end the process with status 130 and no traceback."""
    if "prefect.server.api.server" not in sys.modules:  # no temporary server: nothing to do
        return
    from irgraph.backends.prefect_server import quiet_interrupt_at_exit

    quiet_interrupt_at_exit()


def check_provider(spec: str | None, **options: Any) -> Any:
    """The model provider ``--provider spec`` makes (``None`` is ``fake``), with ``options``."""
    from irgraph.provider_spec import SPEC_FORMS, is_import_spec, provider_from_spec
    from irgraph.providers import ProviderError

    spec = "fake" if spec is None else spec
    try:
        return provider_from_spec(spec, **options)
    except ProviderError as error:
        name, colon, rest = spec.partition(":")
        # Closer than closest_keys asks: with two words, 'nope' would come out as 'openai'.
        close = get_close_matches(name.lower(), ["fake", "openai"], n=1, cutoff=0.7)
        guess = [] if name in ("fake", "openai") else close
        if guess:  # 'fak', 'opnai:gpt-4o'
            better = guess[0] + (colon + rest if guess[0] == "openai" else "")
            raise CliError(
                f"--provider {spec!r} is not a provider spec. Did you mean {better!r}? A spec "
                f"is {SPEC_FORMS}."
            ) from None
        if name not in ("fake", "openai") and not is_import_spec(spec):
            raise CliError(
                f"--provider {spec!r} is not a provider spec; a spec is {SPEC_FORMS} (e.g. "
                "--provider openai:gpt-4o-mini, the key read from OPENAI_API_KEY)."
            ) from None
        detail = str(error)
        said = f"Provider spec {spec!r}"  # the spec's own errors name it so: name the option
        if detail.startswith(said):
            raise CliError(f"--provider {spec!r}{detail[len(said) :]}") from None
        raise CliError(f"--provider {spec!r}: {detail}") from None
