"""An outside trial of the keys routes, loops and map-overs name: a key written as its
template (``.on("{category}")``, ``.until("{done?}")``) is refused with the key to write,
where the hint offered an unrelated example key ('findings')."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from irgraph import Agent, Loop, MapOver, PipelineError, Route


@pytest.mark.parametrize(
    ("call", "meant"),
    [
        (lambda: Route("triage").on("{category}"), "category"),
        (lambda: Route("triage").on("category?"), "category"),
        (lambda: Route("triage").on(" category "), "category"),
        (lambda: Loop("review").until("{done?}"), "done"),
        (lambda: MapOver("each").over("{plan.topics}"), "plan.topics"),
        (lambda: MapOver("each").over("papers", item="{paper}"), "paper"),
        (lambda: Agent("writer").writes("{draft}"), "draft"),
    ],
)
def test_a_key_written_as_its_template_is_refused_with_the_key_to_write(
    call: Callable[[], Any], meant: str
) -> None:
    with pytest.raises(PipelineError) as caught:
        call()
    assert f"Write the key alone, {meant!r}" in str(caught.value)
    assert "'findings'" not in str(caught.value)


def test_a_key_that_is_no_template_keeps_the_example_hint() -> None:
    with pytest.raises(PipelineError, match="Use a key such as 'findings'"):
        Agent("writer").writes("a draft")
