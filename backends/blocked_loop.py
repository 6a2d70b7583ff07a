"""What blocked the event loop past a node's timeout, and how to stop it doing so.

A timeout fires from the event loop, so code that blocks the loop (``time.sleep`` or a
synchronous client in an ``async def``) holds the timer off until it returns
(:mod:`irgraph.backends.timeouts`). Which code that was depends on the node: an agent's model
call (the provider's ``complete()``, or ``stream()`` with the ``on_event`` handler told of each
chunk), a transform's function, or a gate's ``on_gate`` handler. A plain ``def`` transform or
handler runs on a worker thread (:mod:`irgraph.backends.blocking`), where it may block: on the
loop run only an ``async def`` one and an awaitable a plain one returns.
"""

from __future__ import annotations

import inspect
from typing import Any

from .plan import Step
from .run_options import handler_name

__all__ = ["Culprit", "blamed"]

#: ``(kind, node, code)``: ``kind`` is "agent", "stream" (a streamed agent), "transform" or
#: "gate"; ``code`` the provider, the transform's step (its function is imported on its first
#: run) or function, or the ``on_gate`` handler (None: the backend asks none on the loop).
Culprit = tuple[str, str, Any]

_AWAIT = "await asyncio.sleep rather than calling time.sleep, and run a blocking call in a thread "
_AWAIT += "with await asyncio.to_thread(fn, ...)"


def blamed(culprit: Culprit | None) -> tuple[str, str]:
    """What blocked the loop (the subject of a sentence) and the fix, for ``culprit``.

    >>> async def tidy(text): ...
    >>> blamed(("gate", "review", tidy))[0]
    "the on_gate handler tidy() of gate 'review' (an async def, so it runs on the event loop)"
    """
    if culprit is None:
        return "it", f"make what it awaits async: {_AWAIT}"
    kind, node, code = culprit
    if kind == "agent" or kind == "stream":
        method = "stream()" if kind == "stream" else "complete()"
        what = f"the model call of agent '{node}' ({type(code).__name__}.{method}"
        fix = f"make {method} await its I/O rather than block: {_AWAIT}"
        if kind == "stream":
            what += ", or the on_event handler told of each chunk it streamed"
            fix += "; an on_event handler must return at once (hand slow work to a thread)"
        return what + ")", fix
    if kind == "transform":
        fn, whose, thing = code.fn if isinstance(code, Step) else code, "function", "transform"
    else:
        fn, whose, thing = code, "on_gate handler", "on_gate handler"
    what = f"{kind} '{node}'"
    if fn is None:
        return what, f"make what it awaits async: {_AWAIT}"
    name = f"{handler_name(fn)}()"
    if not inspect.iscoroutinefunction(fn):
        return (
            f"the awaitable that the {whose} {name} of {what} returned",
            f"have {name} return its value, not an awaitable: a plain-def {thing} already runs "
            "on a worker thread, where it may block, but what it returns is awaited on the "
            "event loop",
        )
    return (
        f"the {whose} {name} of {what} (an async def, so it runs on the event loop)",
        f"make {name} a plain def, which irgraph runs on a worker thread where its timeout "
        f"fires and other branches go on; or, keeping the async def, {_AWAIT}",
    )
