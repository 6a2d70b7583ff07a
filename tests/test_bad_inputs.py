"""Every bad input in the catalog raises an IrgraphError that names the problem and the fix.

The catalog (:mod:`tests.support.bad_inputs`) is data: code, error class, message pieces.
These tests run each row, run each command-line row through ``irgraph`` itself, and check that
``docs/errors.md`` shows the catalog as it is. After changing a row or a message, regenerate
the page with::

    python3 dev.py docs
"""

from __future__ import annotations

import contextlib
import difflib
import io
import json
import os
import sys
import traceback
from pathlib import Path

import pytest

from irgraph import Agent, IrgraphError, PipelineError, compile, to_graph, validate
from irgraph.cli import CliError, main
from irgraph.ir import AgentNode, FunctionRef, LoopNode, SequenceNode, TransformNode, from_json
from tests.support.bad_inputs import CATALOG, FIXTURES, BadInput, ir_json, namespace, without
from tests.support.errors_page import (
    AREAS,
    BEGIN,
    END,
    ERRORS_PAGE,
    REGENERATE,
    raised,
    render_catalog,
)


def test_the_catalog_covers_every_area_with_unique_ids() -> None:
    assert len(CATALOG) >= 40
    assert {row.area for row in CATALOG} == set(AREAS)
    ids = [row.id for row in CATALOG]
    assert len(ids) == len(set(ids))
    for row in CATALOG:
        assert len(row.contains) >= 2, f"{row.id}: name what is wrong and how to fix it"


@pytest.mark.parametrize("row", CATALOG, ids=lambda row: row.id)
def test_bad_input_raises_an_irgraph_error_naming_the_problem_and_the_fix(row: BadInput) -> None:
    error = raised(row)
    assert error is not None, f"{row.code} raised nothing"
    if not isinstance(error, IrgraphError):
        trace = "".join(traceback.format_exception(error))
        pytest.fail(f"{row.code} leaked {type(error).__name__} from the library:\n{trace}")
    assert type(error) is row.error, (type(error), row.error)
    message = str(error)
    missing = [piece for piece in row.contains if piece not in message]
    assert not missing, f"{row.code}: {missing} not in {message!r}"


CLI_ROWS = [row for row in CATALOG if row.command]


@pytest.mark.parametrize("row", CLI_ROWS, ids=lambda row: row.id)
def test_the_command_line_reports_the_same_error_with_its_exit_code(
    row: BadInput, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err):
        status = main(list(row.command), out=out)
    error = raised(row)
    assert isinstance(error, IrgraphError)
    if isinstance(error, CliError):
        assert (status, err.getvalue()) == (2, f"irgraph: error: {error}\n")
    else:
        assert (status, err.getvalue()) == (1, f"irgraph: {type(error).__name__}: {error}\n")


def test_from_json_never_imports_or_runs_a_function_named_in_the_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    called: list[tuple[object, ...]] = []

    def system(*args: object) -> int:
        called.append(args)
        return 0

    monkeypatch.setattr(os, "system", system)
    root = {
        "kind": "SequenceNode",
        "name": "hostile",
        "children": [
            {
                "kind": "TransformNode",
                "name": "shell",
                "fn": {"function": "os:system"},
                "reads": ["cmd"],
                "writes": "out",
            },
            {
                "kind": "LoopNode",
                "name": "again",
                "children": [{"kind": "AgentNode", "name": "a", "instruction": "{out}"}],
                "max_iterations": 2,
                "until": {"function": "irgraph_hostile_module:payload"},
            },
        ],
    }
    node = from_json(ir_json(root))
    assert isinstance(node, SequenceNode)
    transform, loop = node.children
    assert isinstance(transform, TransformNode) and isinstance(loop, LoopNode)
    assert transform.fn == FunctionRef("os:system") and transform.fn.fn is None
    assert isinstance(loop.until, FunctionRef) and loop.until.fn is None
    assert loop.until.ref == "irgraph_hostile_module:payload"
    # Drawing and checking the pipeline do not import the functions either, and compiling it
    # refuses both, naming each, since nobody allowed their modules.
    validate(to_graph(node, inputs={"cmd"}))
    with pytest.raises(PipelineError) as refused:
        compile(node, inputs={"cmd"})
    assert [problem.node for problem in refused.value.problems] == ["shell", "again"]
    assert "allow=['os']" in str(refused.value)
    assert "irgraph_hostile_module" not in sys.modules
    assert called == []


def test_a_target_module_that_fails_while_importing_is_a_command_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "broken_pipeline_module.py").write_text("pipeline = 1 / 0\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        status = main(["check", "broken_pipeline_module:pipeline"], out=io.StringIO())
    assert status == 2
    assert "'broken_pipeline_module'" in err.getvalue()
    assert "raised ZeroDivisionError: division by zero" in err.getvalue()
    assert "python -c 'import broken_pipeline_module'" in err.getvalue()
    sys.modules.pop("broken_pipeline_module", None)


def test_the_command_line_runs_without_rich_printing_plain_progress() -> None:
    out = io.StringIO()
    status = without("rich", main, ["demo", "--latency", "0"], out=out)
    assert status == 0
    assert "  ok writer" in out.getvalue()


def test_a_misspelt_builder_method_is_still_an_attribute_error() -> None:
    assert not hasattr(Agent("a"), "wrties")
    assert getattr(Agent("a"), "wrties", None) is None


def test_an_ir_node_on_the_left_of_an_operator_composes() -> None:
    assert [c.name for c in (AgentNode("a") >> Agent("b")).to_ir().children] == ["a", "b"]
    assert [c.name for c in (AgentNode("a") | Agent("b")).to_ir().children] == ["a", "b"]


def test_the_namespace_matches_what_the_docs_print() -> None:
    names = namespace()
    for name, _ in FIXTURES:
        assert name in names
    assert json.loads(ir_json({"kind": "AgentNode", "name": "a"}))["version"] == 1


# docs/errors.md --------------------------------------------------------------------------


def test_the_errors_page_shows_the_catalog_as_it_is() -> None:
    page = ERRORS_PAGE.read_text(encoding="utf-8")
    assert BEGIN in page and END in page, f"docs/errors.md lost its {BEGIN} ... {END} markers"
    start, end = page.index(BEGIN), page.index(END) + len(END)
    current, wanted = page[start:end], render_catalog()
    if current != wanted:
        diff = difflib.unified_diff(
            current.splitlines(), wanted.splitlines(), "docs/errors.md", "catalog", lineterm=""
        )
        shown = "\n".join(list(diff)[:40])
        pytest.fail(f"docs/errors.md is out of date; run {REGENERATE} to regenerate it.\n{shown}")
