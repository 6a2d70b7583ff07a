"""The Prefect server a run talks to: lean settings for the temporary one, a reachability
check with a clear error, and importing Prefect with those settings applied.

Shared by the in-process backend (:mod:`.prefect_backend`) and the batch sender
(:mod:`.prefect_batch`); ``prefect`` is imported only inside these functions.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from irgraph.errors import IrgraphError, MissingExtraError

from .prefect_runtime import TELEMETRY_OFF

__all__ = [
    "lean_prefect_settings",
    "PrefectUnavailableError",
    "check_prefect_api",
    "import_prefect",
    "reread_prefect_settings",
]

# the server services a local run does not need
_LEAN_SERVICES = """CANCELLATION_CLEANUP DB_VACUUM EVENT_PERSISTER EVENT_LOGGER FOREMAN LATE_RUNS
    SCHEDULER PAUSE_EXPIRATIONS REPOSSESSOR CLEANUP_RECONCILER TASK_RUN_RECORDER TRIGGERS""".split()


def lean_prefect_settings(environ: dict[str, str] | None = None) -> dict[str, str]:
    """Settings that make local runs fast and offline, applied only where the user set none.

    Telemetry is always off by default (:data:`~irgraph.backends.prefect_runtime.TELEMETRY_OFF`).
    With ``PREFECT_API_URL`` set (a real server) nothing else about the server is changed; for
    the temporary local server, API logging and the services a local run does not need are
    turned off. Returns what was set.
    """
    env = os.environ if environ is None else environ
    chosen = {
        **TELEMETRY_OFF,
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
        "PREFECT_TELEMETRY_ENABLE_RESOURCE_METRICS": "false",
    }
    if not env.get("PREFECT_API_URL"):
        chosen["PREFECT_LOGGING_TO_API_ENABLED"] = "false"
        for service in _LEAN_SERVICES:
            chosen[f"PREFECT_SERVER_SERVICES_{service}_ENABLED"] = "false"
    applied = {k: v for k, v in chosen.items() if k not in env}
    env.update(applied)
    return applied


class PrefectUnavailableError(IrgraphError, ConnectionError):
    """The Prefect API named by ``PREFECT_API_URL`` does not answer."""


#: What to do about a server that does not answer, for a run that may use a temporary one.
START_OR_UNSET = (
    "Start the server (prefect server start), fix the URL, or unset PREFECT_API_URL to let "
    "Prefect run a temporary local server."
)


async def check_prefect_api(fix: str = START_OR_UNSET) -> None:
    """Raise :class:`PrefectUnavailableError` before a run if ``PREFECT_API_URL`` names a
    server that does not answer (without it, Prefect starts its own temporary server);
    ``fix`` is the error's last sentence, what to do about it."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    if not url:
        return
    async with get_client() as client:
        problem = await client.api_healthcheck()
    if problem is not None:
        raise PrefectUnavailableError(
            f"Cannot reach the Prefect API at {url} (from PREFECT_API_URL): {problem}. {fix}"
        )


def import_prefect() -> Any:
    """``prefect``, imported after :func:`lean_prefect_settings` (or a clear error). Prefect
    reads its settings from the environment once, when first imported: if it was imported
    before (by the user, or another library), the settings applied now are made to count."""
    imported_before = "prefect" in sys.modules
    applied = lean_prefect_settings()
    try:
        import prefect
    except ImportError as exc:
        raise MissingExtraError("prefect", "prefect", "The Prefect backend") from exc
    if imported_before and applied:
        reread_prefect_settings()
    return prefect


def reread_prefect_settings() -> None:
    """Make Prefect read its settings from the environment again (it read them when first
    imported; e.g. a temporary server's start-up timeout set later was otherwise ignored,
    and the server failed to start in 20 s on a loaded machine)."""
    import prefect.context

    refresh = getattr(prefect.context, "refresh_global_settings_context", None)
    if refresh is not None:
        refresh()
    else:  # older Prefect 3 releases have no function for it: the assignment it makes
        prefect.context.GLOBAL_SETTINGS_CONTEXT = prefect.context.root_settings_context()
