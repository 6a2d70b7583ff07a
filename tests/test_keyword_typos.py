"""A misspelt keyword of to_graph, from_graph, to_json, from_json, validate, the analyses and
the exporters is told with the name meant and the options the function takes, as run() and
FakeProvider() tell theirs, instead of Python's bare "unexpected keyword argument"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from irgraph import Agent, IrgraphError, RunError, from_graph, run, to_graph, validate
from irgraph.analysis import critical_path, makespan, parallelizable
from irgraph.backends.dot import to_dot, to_png, to_svg
from irgraph.backends.mermaid import to_mermaid
from irgraph.display import render
from irgraph.ir import from_json, to_json
from irgraph.testing import FakeProvider

PIPELINE = Agent("a").instruct("Say {x}.").writes("y")
G = to_graph(PIPELINE, inputs={"x"})


@pytest.mark.parametrize(
    ("call", "told"),
    [
        (lambda: to_graph(PIPELINE, input={"x"}), "to_graph() got the option 'input'"),
        (lambda: from_graph(G, alow=["m"]), "from_graph() got the option 'alow'"),
        (lambda: to_json(PIPELINE.to_ir(), indnt=2), "to_json() got the option 'indnt'"),
        (lambda: from_json(to_json(PIPELINE.to_ir()), alow=[]), "from_json() got the option"),
        (lambda: validate(G, input={"x"}), "validate() got the option 'input'"),
        (lambda: critical_path(G, schedul="dataflow"), "critical_path() got the option"),
        (lambda: makespan(G, concurency=2), "makespan() got the option 'concurency'"),
        (lambda: parallelizable(G, concurency=2), "parallelizable() got the option"),
        (lambda: to_mermaid(G, directon="LR"), "to_mermaid() got the option 'directon'"),
        (lambda: to_dot(G, directon="LR"), "to_dot() got the option 'directon'"),
        (lambda: to_svg(G, directon="LR"), "to_svg() got the option 'directon'"),
        (lambda: to_png(G, directon="LR"), "to_png() got the option 'directon'"),
        (lambda: render(G, "mermaid", directon="LR"), "render() got the option 'directon'"),
    ],
)
def test_a_misspelt_keyword_is_told_with_the_name_meant(call: Callable[[], Any], told: str):
    with pytest.raises(IrgraphError) as refused:
        call()
    message = str(refused.value)
    assert message.startswith(told) and "Did you mean '" in message
    # the options listed are the keywords, not the graph or pipeline given first
    options = message.split("Its options: ")[1]
    assert not options.startswith(("G,", "G_or_pipeline", "pipeline_or_ir", "node", "text"))


def test_every_parameter_still_goes_by_keyword_too():
    assert makespan(G=G, latency=2.0) == 2.0
    assert list(to_graph(pipeline_or_ir=PIPELINE).nodes) == ["a"]


@pytest.mark.parametrize(
    ("method", "options", "told"),
    [
        ("view", {"concurency": 2}, "RunResult.view() got the option 'concurency'"),
        ("timeline", {"concurency": 2}, "RunResult.timeline() got the option 'concurency'"),
        ("diagram", {"pipline": PIPELINE}, "RunResult.diagram() got the option 'pipline'"),
    ],
)
def test_a_run_results_picture_tells_a_misspelt_keyword(method, options, told):
    result = run(PIPELINE, provider=FakeProvider(), state={"x": "hi"})
    with pytest.raises(IrgraphError) as refused:
        getattr(result, method)(**options)
    message = str(refused.value)
    assert message.startswith(told) and "Did you mean '" in message
    assert getattr(result, method)(PIPELINE) is not None  # the right names still draw


def test_a_failed_runs_view_tells_a_misspelt_keyword():
    with pytest.raises(RunError) as failed:
        run(PIPELINE, provider=FakeProvider(fail={"a": 1}), state={"x": "hi"})
    with pytest.raises(IrgraphError) as refused:
        failed.value.view(concurency=2)
    message = str(refused.value)
    assert message.startswith("RunError.view() got the option 'concurency'")
    assert "Did you mean 'concurrency'?" in message
    assert "Its options: pipeline, trace, concurrency." in message
    assert failed.value.view(concurrency=2) is not None  # the right name still draws
