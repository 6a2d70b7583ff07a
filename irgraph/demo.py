"""The demo pipeline: the research pipeline from the docs, with a parallel review step.

It runs offline with :class:`~irgraph.testing.FakeProvider`; ``irgraph demo`` shows it.
"""

from __future__ import annotations

from irgraph.builder import Agent, Pipeline

__all__ = ["research_pipeline"]

research_pipeline: Pipeline = (
    Agent("researcher").instruct("Research {topic}.").writes("findings")
    >> (
        Agent("analyst").instruct("Analyze the findings: {findings}.").writes("analysis")
        | Agent("fact_checker").instruct("Check the claims in {findings}.").writes("checks")
    )
    >> Agent("writer").instruct("Write a report from {analysis}, noting {checks}.").writes("report")
)
