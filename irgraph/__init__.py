"""irgraph: compose LLM-agent pipelines with a fluent builder, check them as typed graphs,
draw them, and run them on asyncio or Prefect.

>>> from irgraph import Agent, to_graph, validate
>>> p = Agent("researcher").instruct("Research {topic}.").writes("findings") >> Agent(
...     "writer").instruct("Write from {findings}.")
>>> validate(to_graph(p, inputs={"topic"}))
[]
"""

from irgraph.batch import arun_many, run_many
from irgraph.batch_progress import BatchProgress, abatch_progress, batch_progress
from irgraph.builder import Agent, FanOut, Gate, Loop, MapOver, Pipeline, Transform
from irgraph.compile import EngineCapabilities, compile
from irgraph.display import show
from irgraph.errors import IrgraphError, MissingExtraError, PipelineError, Problem, RunError
from irgraph.events import Event, RunResult
from irgraph.graph import to_graph
from irgraph.providers import ModelProvider, ModelRequest
from irgraph.routing import Route
from irgraph.run import arun, run
from irgraph.run_progress import RunProgress
from irgraph.run_view import RunView  # RunResult and RunError display with it
from irgraph.schema import from_graph, from_portable, portable
from irgraph.validate import validate

__version__ = "0.1.0"

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
    "MissingExtraError",
    "Problem",
]
