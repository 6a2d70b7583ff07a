"""A child process for the crash-resume test: runs a pipeline on Prefect with a run key,
logging every provider call to a file (one line per call) so the parent can count them."""

from __future__ import annotations

import asyncio
import sys

from irgraph import Agent, run
from irgraph.backends.prefect_backend import PrefectBackend
from irgraph.providers import ModelRequest


class LoggingProvider:
    def __init__(self, log: str, slow: set[str]) -> None:
        self.log = log
        self.slow = slow

    async def complete(self, request: ModelRequest) -> str:
        with open(self.log, "a") as f:
            f.write(request.agent + "\n")
        if request.agent in self.slow:
            await asyncio.sleep(60)
        return f"<{request.agent}: {request.prompt}>"


pipeline = (
    Agent("first").instruct("Start {topic}.").writes("a")
    >> (Agent("left").instruct("L {a}").writes("l") | Agent("right").instruct("R {a}").writes("r"))
    >> Agent("last").instruct("{l} {r}").writes("out")
)

if __name__ == "__main__":
    log, results, run_key, slow = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    backend = PrefectBackend(
        provider=LoggingProvider(log, set(slow.split(",")) - {""}), result_dir=results
    )
    result = run(pipeline, backend=backend, state={"topic": "owls"}, run_key=run_key)
    print("OUT=" + result.state["out"])
