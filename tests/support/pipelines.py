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
