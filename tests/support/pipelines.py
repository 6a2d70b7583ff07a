"""Importable functions and pipelines shared by tests (transforms must be importable)."""

from __future__ import annotations

from typing import Any

from irgraph import Agent


def split_words(topic: str) -> list[str]:
    """Turn a topic string into a list of words."""
    return topic.split()


def count_items(items: list[Any]) -> int:
    return len(items)


def stop_when_done(state: Any) -> bool:
    return bool(state.get("verdict", "").startswith("DONE"))


research = (
    Agent("researcher").instruct("Research {topic}.").writes("findings")
    >> Agent("analyst").instruct("Analyze the findings: {findings}.").writes("analysis")
    >> Agent("writer").instruct("Write report from {analysis}.")
)

#: Three agents in a row that need nothing from each other, then one that reads all three:
#: the dataflow schedule saves 2 of 4 steps, though each wait alone saves 1.
waiting = (
    Agent("w1").instruct("One {topic}.").writes("k1")
    >> Agent("w2").instruct("Two {topic}.").writes("k2")
    >> Agent("w3").instruct("Three {topic}.").writes("k3")
    >> Agent("joined").instruct("All of {k1} {k2} {k3}.")
)


#: A script's own functions and a pipeline that calls each (transform 'loud' calls shout,
#: route 'triage' tests is_long, loop 'again' stops on done): run as ``python script.py``,
#: they are functions of ``__main__``. The script imports Agent, Loop, Route and Transform.
MAIN_FUNCTIONS_SCRIPT = """\
def shout(text):
    return text.upper()

def is_long(state):
    return len(state["y"]) > 3

def done(state):
    return True

pipeline = (
    Transform("loud", shout).reads("text").writes("y")
    >> Route("triage").when(is_long, Agent("long")).otherwise(Agent("short"))
    >> Loop("again").step(Agent("a")).until(done).max_iterations(2)
)
"""
