"""The notebooks in notebooks/ run top to bottom, their cells show what the prose says, and
the outputs committed with them are what they show today.

Each notebook runs once, with nbclient in a fresh ``python3`` kernel that is this interpreter
(a kernelspec written to a temporary ``JUPYTER_PATH``, so a system-wide ``python3`` kernel can
never be picked up instead). Cells are found by their tag. The notebooks are stored with their
outputs; each test compares what of the fresh outputs does not depend on timing
(``tests.support.notebooks.summary``: the kinds of output, the text without durations, the
nodes and statuses every diagram and timeline draws) with the stored ones. After changing a
notebook, store its new outputs with ``.venv/bin/python -m tests.support.notebooks NAME``.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from irgraph.backends.prefect_codegen_templates import FLOW
from irgraph.display import dot_available
from tests.support import notebooks
from tests.support.diagram_parsers import parse_mermaid

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = notebooks.NOTEBOOKS


@pytest.fixture(scope="module")
def kernel_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A JUPYTER_PATH whose ``python3`` kernel runs this interpreter."""
    return notebooks.write_kernel_spec(tmp_path_factory.mktemp("jupyter"))


def prefect_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hand a notebook the suite's temporary Prefect server, so its flows do not start a
    server of their own (the lean settings go in before this process first imports prefect,
    which reads them)."""
    from tests.support.prefect_env import ensure_prefect_test_env

    ensure_prefect_test_env()
    pytest.importorskip("prefect")
    from tests.support.prefect_children import shared_api_url

    monkeypatch.setenv("IRGRAPH_NOTEBOOK_PREFECT_API_URL", shared_api_url())


def execute(name: str, kernel_path: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run the notebook and check that what does not depend on timing is what is stored."""
    monkeypatch.setenv("JUPYTER_PATH", kernel_path)
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    nb = notebooks.execute(name)
    fresh, kept = notebooks.summary(nb), notebooks.summary(notebooks.stored(name))
    for now, before in zip(fresh, kept, strict=True):
        if not dot_available() and drawn_by_graphviz(before):
            # The stored picture came from Graphviz; without it the notebook draws the same
            # pipeline in mermaid (the tests check the fallback's kind): the same nodes.
            assert diagram_ids(now) == diagram_ids(before), f"notebooks/{name}.ipynb: {now[0]}"
            continue
        assert now == before, (
            f"notebooks/{name}.ipynb: cell {now[0]} shows something else than its stored "
            f"output; if that is intended, run .venv/bin/python -m tests.support.notebooks "
            f"{name} and commit the notebook.\nnow:    {now}\nstored: {before}"
        )
    return nb


def drawn_by_graphviz(summary: list[Any]) -> bool:
    """Whether a cell's summary holds a picture Graphviz drew (its nodes read ``dot:ID``)."""
    return "'dot:" in repr(summary)


def diagram_ids(summary: list[Any]) -> list[str]:
    """The node and scope ids of the one diagram a cell's summary holds, Graphviz or mermaid
    (a diagram's ids are the same in both: ``n1``, ``n2``, ... in graph order)."""
    for output in summary[1]:
        for value in output[2:]:
            if isinstance(value, list) and any(str(v).startswith("dot:") for v in value):
                return sorted(str(v).removeprefix("dot:") for v in value)
            if isinstance(value, str) and "graph TD" in value:
                drawn = parse_mermaid(value.removeprefix("```mermaid\n").removesuffix("\n```"))
                return sorted([*drawn.nodes, *drawn.subgraphs])
    raise AssertionError(f"cell {summary[0]} holds no diagram: {summary}")


def cell(nb: Any, tag: str) -> Any:
    (found,) = [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", ())]
    return found


def text(nb: Any, tag: str) -> str:
    """Everything a cell printed or displayed as plain text."""
    parts = []
    for output in cell(nb, tag).outputs:
        if output.output_type == "stream":
            parts.append(output.text)
        elif "data" in output:
            parts.append(output.data.get("text/plain", ""))
    return "".join(parts)


def mimetypes(nb: Any, tag: str) -> list[str]:
    return [m for o in cell(nb, tag).outputs for m in o.get("data", {})]


TESTED = {
    "01_exploring_a_pipeline_graph",
    "02_property_testing_a_backend",
    "03_prefect",
    "04_routes_and_structured_outputs",
    "05_batches",
    "06_what_a_run_did",
}


def test_notebooks_are_stored_with_their_outputs():
    assert set(notebooks.names()) == TESTED  # and every notebook has its test below
    for name in notebooks.names():
        nb = notebooks.stored(name)
        nbformat.validate(nb)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), name
        for c in code:
            assert c.get("metadata", {}).get("tags"), f"{name}: a code cell without a tag"
            assert "execution" not in c.metadata, f"{name}: timing metadata stored"
            raised = [o for o in c.outputs if o.output_type == "error"]
            # only a cell that shows an error on purpose keeps one (nbclient runs on past it)
            assert not raised or "raises-exception" in c.metadata.tags, name
        assert any(c.outputs for c in code), name
        # a temporary path changes at every execution: a notebook prints none
        stored = json.dumps([c.outputs for c in code])
        assert not re.search(r"/tmp/|irgraph-notebook-", stored), name


def test_exploring_a_pipeline_graph(kernel_path, monkeypatch):
    nb = execute("01_exploring_a_pipeline_graph", kernel_path, monkeypatch)
    assert "DiGraph 8 nodes" in text(nb, "build")
    nodes = text(nb, "nodes")
    assert re.search(r"^researcher +agent +parent=research ", nodes, re.M)
    assert re.search(r"^revise +loop +parent=None ", nodes, re.M)
    assert text(nb, "generations").splitlines() == [
        "0 ['split']",
        "1 ['planner', 'research']",
        "2 ['revise']",
        "3 ['editor']",
    ]
    # The loop's body leads on to what follows the loop, so its nodes are ancestors too.
    ancestors = "['critic', 'planner', 'research', 'researcher', 'revise', 'split', 'writer']"
    assert text(nb, "ancestors").strip() == ancestors
    writers = text(nb, "writers")
    assert "draft is written by ['revise', 'writer']" in writers
    assert "split -> research: ['subjects']" in writers
    errors = text(nb, "errors")
    assert "finding" in errors and "Did you mean 'findings'?" in errors
    assert "writer audience ()" in errors and "writer finding ('findings',)" in errors
    from irgraph.display import dot_available

    picture = "image/svg+xml" if dot_available() else "text/markdown"
    assert picture in mimetypes(nb, "show-default")
    assert picture in mimetypes(nb, "inline")
    (markdown,) = [o.data["text/markdown"] for o in cell(nb, "show-mermaid").outputs]
    assert markdown.startswith("```mermaid\n---\ntitle: ") and "\n---\ngraph TD\n" in markdown
    assert "\n---\ngraph LR\n" in text(nb, "mermaid-text")  # the root's name is the title
    assert "critical path: planner -> search_web -> search_papers" in text(nb, "critical-path")
    assert "'search_papers' needs nothing from 'search_web'" in text(nb, "parallelizable")
    runs = text(nb, "dataflow")
    assert "topological: 8 keys" in runs and "dataflow: 8 keys" in runs
    assert "readers=['fact_check']" in text(nb, "lineage-diff")
    assert "+ node editor" in text(nb, "lineage-diff")


def test_property_testing_a_backend(kernel_path, monkeypatch):
    nb = execute("02_property_testing_a_backend", kernel_path, monkeypatch)
    found = text(nb, "find")
    assert "Loop(" in found and "MapOver(" in found
    # shrunk to one agent in the loop and one in the map-over (it once kept four in the loop)
    assert found.count("Agent(") <= 2, found
    assert "50 pipelines: valid and acyclic" in text(nb, "dags")
    assert "most calls at once: 1" in text(nb, "backend")
    suite = text(nb, "suite")
    assert suite.count("passed: test_") >= 5
    caught = text(nb, "caught")
    assert "Model calls differ from the reference" in caught
    assert ("Loop(" in caught or "MapOver(" in caught) and "no bug found" not in caught


@pytest.mark.prefect
def test_prefect(kernel_path, monkeypatch):
    prefect_server(monkeypatch)
    nb = execute("03_prefect", kernel_path, monkeypatch)
    plan = text(nb, "plan")
    assert "researcher: AgentNode as a Prefect task, after []" in plan
    assert "writer: AgentNode as a Prefect task, after ['analyst', 'fact_checker']" in plan
    assert "calls: ['researcher', 'analyst', 'fact_checker', 'writer']" in text(nb, "run")
    retry = text(nb, "retry")
    assert "{'analyst': 1, 'fact_checker': 1, 'researcher': 1, 'writer': 2}" in retry
    assert "<writer: Write a report from" in retry
    code = text(nb, "codegen")
    assert "@flow(" in code and "async def research_flow(" in code
    *_, last = code.splitlines()  # the snippet ends at a line's end, not mid-word
    assert f"\n{last}\n" in FLOW, last


@pytest.mark.prefect
def test_notebook_04_routes_and_structured_outputs(kernel_path, monkeypatch):
    prefect_server(monkeypatch)
    nb = execute("04_routes_and_structured_outputs", kernel_path, monkeypatch)
    built = text(nb, "build")
    assert "warnings: []" in built
    assert 'triage -> spec: condition "feature", branch 1' in built
    from irgraph.display import dot_available

    picture = "image/svg+xml" if dot_available() else "text/markdown"
    assert picture in mimetypes(nb, "show")
    ran = text(nb, "asyncio")
    assert 'category: bug | route took: "bug"' in ran
    assert "calls: ['classify', 'fix', 'respond', 'check', 'respond', 'check']" in ran
    retry = text(nb, "retry")
    assert "attempts: [1, 2]" in retry
    assert "RunError at 'classify'" in retry and "'urgent' is not one of" in retry
    maybe = text(nb, "maybe-written")
    assert "route 'triage' writes 'patch' only on some branches" in maybe
    assert "model calls: 0" in maybe
    mapped = text(nb, "map-over-text")
    assert "agent 'steps' writes it as free text, not a list" in mapped
    assert "model calls: 0" in mapped
    enum = text(nb, "enum")
    assert "Route 'triage' has a branch for \"bugs\"" in enum and "model calls: 0" in enum
    assert 'warning: Route \'triage\' has no branch for "feature", "question"' in enum
    assert "same final state as asyncio: True" in text(nb, "prefect")


@pytest.mark.prefect
@pytest.mark.slow
def test_notebook_05_batches(kernel_path, monkeypatch):
    prefect_server(monkeypatch)
    nb = execute("05_batches", kernel_path, monkeypatch)
    assert "12 items, 24 model calls for the whole batch" in text(nb, "data")
    interrupted = text(nb, "interrupted")
    assert re.search(
        r"^Stopped after 5 of 12 items: 5 done, 0 failed, 0 resumed in ", interrupted, re.M
    )
    assert "interrupted after 5 items" in interrupted
    resumed = text(nb, "resume")
    # the progress display, updated in place, ends as the summary; its bar is in the HTML
    shown = re.search(r"^Finished 12 items: (\d+) done, 0 failed, (\d+) resumed in ", resumed, re.M)
    assert shown and int(shown[1]) + int(shown[2]) == 12 and int(shown[2]) >= 5
    assert f"resumed {shown[2]} items, ran {shown[1]}" in resumed
    assert "both runs together: 24 model calls (none paid twice)" in resumed
    assert "<writer: Write a short report from <researcher: Research owls.>.>" in resumed
    html = [
        o.data["text/html"] for o in cell(nb, "resume").outputs if "text/html" in o.get("data", {})
    ]
    assert len(html) == 1 and '<progress value="12" max="12"' in html[0]
    changed = text(nb, "changed")
    assert "PipelineError: Batch 'reports-v1'" in changed
    assert "its node 'writer' has another instruction" in changed
    assert "Batch 'reports-v1' in WORK/batches was started" in changed  # no random path
    deployed = text(nb, "deploy")
    assert "Deployed reports/reports" in deployed and "Deployed reports-batch/reports" in deployed
    assert re.search(
        r"^Finished 12 items: 12 done, 0 failed, 0 resumed in ", text(nb, "pool"), re.M
    )
    assert "the same reports as the local batch: True" in text(nb, "pool")
    assert "worker stopped" in text(nb, "stop")


def test_kernel_is_this_interpreter(kernel_path):
    spec = json.loads((Path(kernel_path) / "kernels" / "python3" / "kernel.json").read_text())
    assert spec["argv"][0] == sys.executable
    assert os.path.exists(spec["argv"][0])


@pytest.mark.prefect
def test_notebook_06_what_a_run_did(kernel_path, monkeypatch):
    prefect_server(monkeypatch)
    nb = execute("06_what_a_run_did", kernel_path, monkeypatch)
    assert text(nb, "build").startswith("11 nodes: split, define_all, define, pro, con, polish")
    shown = text(nb, "result")
    assert shown.startswith("Run finished on asyncio: 11 nodes (10 done, 1 not taken); measured ")
    assert "predicted " in shown and "concurrency 4" in shown
    (view,) = [o.data["text/html"] for o in cell(nb, "result").outputs if "data" in o]
    (diagram, timeline) = notebooks.html_svgs(view)
    assert len(notebooks.svg_nodes(diagram)) == 11 and "answer=skipped" in notebooks.svg_nodes(
        diagram
    )
    assert len(notebooks.svg_nodes(timeline)) == 13  # 3 map-over items, 2 loop iterations
    assert "<details" in view and "<script" not in view
    assert "13 bars: {'split': 1, 'define_all': 1, 'define': 3," in text(nb, "timeline")
    assert "'editor': 2," in text(nb, "timeline")
    assert "image/svg+xml" in mimetypes(nb, "timeline-view")
    assert text(nb, "gantt").startswith("gantt\n    title Run timeline\n    dateFormat x\n")
    assert text(nb, "save").strip() == "['run.svg', 'timeline.mmd', 'timeline.svg']"
    (markdown,) = [o.data["text/markdown"] for o in cell(nb, "mermaid").outputs]
    assert markdown.startswith("```mermaid\n---\ntitle: ") and "classDef skipped" in markdown
    calls = text(nb, "calls")
    assert calls.startswith("3 runs, 3 calls; every prompt:\n\u2014 define (define_all item 0)")
    assert "\u2014 define (define_all item 2), attempt 1 \u2014\nDefine cats." in calls
    assert "9 calls in all; item 0's: 'Define owls.' -> '<define: Define owls.>'" in calls
    failed = text(nb, "failed")
    assert "RunError at 'explode'" in failed
    assert "'explode': 'failed', 'after': 'not_reached'" in failed
    (error,) = [o.data["text/html"] for o in cell(nb, "failed-view").outputs if "data" in o]
    assert "Run failed at &#x27;explode&#x27;" in error and "no notes today" in error
    statuses = notebooks.svg_nodes(notebooks.html_svgs(error)[0])
    assert "explode=failed" in statuses and "after=not_reached" in statuses
    # raised uncaught, the error shows its view above its traceback
    shown, raised = cell(nb, "uncaught").outputs
    assert raised.output_type == "error" and raised.ename == "RunError"
    assert "ValueError" in "".join(raised.traceback)
    assert shown.data["text/plain"].startswith("Run failed at 'explode'")
    assert notebooks.svg_nodes(notebooks.html_svgs(shown.data["text/html"])[0]) == statuses
    prefect = text(nb, "prefect")
    assert "model calls: first run 9 | second run 0" in prefect
    assert "reused: ['define', 'pro', 'con', 'editor', 'classify', 'fix']" in prefect
    assert "same state: True" in prefect
    resumed = text(nb, "resumed")
    assert resumed.startswith("Run finished on prefect: 11 nodes (4 done, 6 reused, 1 not taken)")
    (again,) = [o.data["text/html"] for o in cell(nb, "resumed").outputs if "data" in o]
    assert notebooks.svg_nodes(notebooks.html_svgs(again)[0]).count("define=reused") == 1
