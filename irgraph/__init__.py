"""irgraph: compose LLM-agent pipelines with a fluent builder, check them as typed graphs,
draw them, and run them on asyncio or Prefect.

>>> from irgraph import Agent, to_graph, validate
>>> p = Agent("researcher").instruct("Research {topic}.").writes("findings") >> Agent(
...     "writer").instruct("Write from {findings}.")
>>> validate(to_graph(p, inputs={"topic"}))
[]

Building a pipeline is what every import is for, so only the builder and the IR load here;
the graph and its checks (with networkx), running (asyncio, threads, the batch store), the
progress displays and the run view load on first use of their names (``irgraph.to_graph``,
``from irgraph import run``), which keeps ``import irgraph`` close to the cost of importing
attrs.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from irgraph import errors as _errors
from irgraph.builder import Agent, FanOut, Gate, Loop, MapOver, Pipeline, Transform
from irgraph.errors import IrgraphError, MissingExtraError, PipelineError, Problem, RunError
from irgraph.routing import Route

if TYPE_CHECKING:  # loaded on first use, by __getattr__ below
    from irgraph.batch import BatchError, arun_many, run_many
    from irgraph.batch_progress import BatchProgress, abatch_progress, batch_progress
    from irgraph.compile import EngineCapabilities, compile
    from irgraph.display import show
    from irgraph.events import Event, RunResult
    from irgraph.graph import to_graph
    from irgraph.graph_read import from_graph
    from irgraph.portable import from_portable, portable
    from irgraph.providers import ModelProvider, ModelRequest
    from irgraph.run import arun, run
    from irgraph.run_progress import RunProgress
    from irgraph.run_view import RunView
    from irgraph.validate import validate

__version__ = "0.1.0"

#: The public names whose modules load on first use, each with the module defining it.
_LAZY = {
    "to_graph": "irgraph.graph",
    "from_graph": "irgraph.graph_read",
    "validate": "irgraph.validate",
    "show": "irgraph.display",
    "portable": "irgraph.portable",
    "from_portable": "irgraph.portable",
    "run": "irgraph.run",
    "arun": "irgraph.run",
    "run_many": "irgraph.batch",
    "arun_many": "irgraph.batch",
    "BatchError": "irgraph.batch",
    "batch_progress": "irgraph.batch_progress",
    "abatch_progress": "irgraph.batch_progress",
    "BatchProgress": "irgraph.batch_progress",
    "RunProgress": "irgraph.run_progress",
    "RunView": "irgraph.run_view",
    "compile": "irgraph.compile",
    "EngineCapabilities": "irgraph.compile",
    "ModelProvider": "irgraph.providers",
    "ModelRequest": "irgraph.providers",
    "Event": "irgraph.events",
    "RunResult": "irgraph.events",
}


def __getattr__(name: str) -> Any:
    """Load a name of :data:`_LAZY` from its module on first use, then keep it here."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'irgraph' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "Agent",
    "Pipeline",
    "FanOut",
    "Loop",
    "MapOver",
    "Gate",
    "Transform",
    "Route",
    "to_graph",
    "from_graph",
    "portable",
    "from_portable",
    "validate",
    "compile",
    "run",
    "arun",
    "run_many",
    "arun_many",
    "batch_progress",
    "abatch_progress",
    "RunProgress",
    "RunView",
    "BatchProgress",
    "show",
    "EngineCapabilities",
    "Event",
    "RunResult",
    "ModelProvider",
    "ModelRequest",
    "IrgraphError",
    "PipelineError",
    "RunError",
    "BatchError",
    "MissingExtraError",
    "Problem",
]


class _Package(types.ModuleType):
    """This package's module type. Five public functions share their module's name (``run``,
    ``compile``, ``batch_progress``, ``validate``, ``portable``), and importing such a module
    binds it over the package's attribute of that name; the package keeps the function
    instead, as the eager ``from irgraph.run import run`` it replaces did."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and _LAZY.get(name) == value.__name__:
            value = getattr(value, name)
        super().__setattr__(name, value)


for _name in [n for n, module in _LAZY.items() if isinstance(globals().get(n), types.ModuleType)]:
    del globals()[_name]  # a module imported above bound itself; __getattr__ gives the function
sys.modules[__name__].__class__ = _Package
# RunResult.view and RunError.view load the run view when first asked (it installs itself).
_errors.set_run_view_loader(lambda: importlib.import_module("irgraph.run_view"))
