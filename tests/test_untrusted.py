"""A pipeline read from data cannot run code its reader did not allow.

The hostile file here is the one the issue describes: a transform ``os:system`` reading a key
the model writes, so the model's answer would be a shell command. The command would create a
canary file; every test checks that it never appears unless the reader allowed ``os``, which
also proves the command would really have run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

from irgraph import Agent, PipelineError, Transform, compile, from_graph, run, to_graph
from irgraph.ir import SAFE_FUNCTIONS, from_json, refused_functions, to_json, with_allowed
from irgraph.testing import answering


def loaded_ir(
    function: str, *, name: str = "p", agent: str = "first", step: str = "step", key: str = "x"
) -> str:
    """IR JSON: ``agent`` writes ``key``, then transform ``step`` calls ``function`` (an
    import path) on it."""
    root = {
        "kind": "SequenceNode",
        "name": name,
        "children": [
            {"kind": "AgentNode", "name": agent, "instruction": "Plan.", "writes": key},
            {
                "kind": "TransformNode",
                "name": step,
                "fn": {"function": function},
                "reads": [key],
                "writes": "status",
            },
        ],
    }
    return json.dumps({"format": "irgraph-ir", "version": 1, "root": root})


def hostile(canary: Path) -> str:
    """IR JSON whose transform runs the model's answer as a shell command."""
    return loaded_ir("os:system", name="hostile", agent="planner", step="shell", key="cmd")


@pytest.fixture
def canary(tmp_path: Path) -> Path:
    return tmp_path / "canary"


def touch(canary: Path):  # the model's answer: a shell command that makes the canary
    return answering(f"touch '{canary}'")


def test_running_a_loaded_pipeline_refuses_a_module_nobody_allowed(canary: Path) -> None:
    pipeline = from_json(hostile(canary))
    with pytest.raises(PipelineError) as refused:
        run(pipeline, provider=touch(canary))
    message = str(refused.value)
    assert refused.value.node == "shell"
    assert "'os:system'" in message and "module 'os' is not allowed" in message
    assert "allow=['os']" in message and "--allow-module os" in message
    assert not canary.exists()


def test_a_saved_graph_is_data_too(canary: Path) -> None:
    saved = json.dumps(nx.node_link_data(to_graph(from_json(hostile(canary)))))
    loaded = from_graph(nx.node_link_graph(json.loads(saved)))
    with pytest.raises(PipelineError, match="module 'os' is not allowed"):
        run(loaded, provider=touch(canary))
    assert not canary.exists()


def test_every_backend_refuses_at_compile_before_any_node_runs(canary: Path) -> None:
    pipeline = from_json(hostile(canary))
    for backend in ("asyncio", "prefect"):
        with pytest.raises(PipelineError, match="'shell' calls 'os:system'"):
            compile(pipeline, backend=backend)
    assert not canary.exists()


def test_allowing_the_module_runs_it_which_shows_the_canary_is_real(canary: Path) -> None:
    # On load...
    result = run(from_json(hostile(canary), allow=["os"]), provider=touch(canary))
    assert result.state["status"] == 0 and canary.exists()
    canary.unlink()
    # ...or on run, and for a saved graph.
    run(from_json(hostile(canary)), provider=touch(canary), allow="os")
    assert canary.exists()
    canary.unlink()
    G = nx.node_link_graph(nx.node_link_data(to_graph(from_json(hostile(canary)))))
    run(from_graph(G, allow=["os"]), provider=touch(canary))
    assert canary.exists()


def test_a_package_allows_its_modules_but_not_its_neighbours() -> None:
    def loaded(ref: str, allow: list[str]) -> list[str]:
        text = json.dumps(
            {
                "format": "irgraph-ir",
                "version": 1,
                "root": {"kind": "TransformNode", "name": "t", "fn": {"function": ref}},
            }
        )
        return [p.node or "" for p in refused_functions(from_json(text, allow=allow))]

    assert loaded("mypkg.transforms:clean", ["mypkg"]) == []
    assert loaded("mypkg.transforms:clean", ["mypkg.transforms"]) == []
    assert loaded("mypkg_evil:clean", ["mypkg"]) == ["t"]
    assert loaded("mypkg:clean", ["mypkg.transforms"]) == ["t"]


def test_safe_builtins_need_no_permission_and_dangerous_ones_do() -> None:
    saved = to_json(
        (
            Transform("clean", str.strip).reads("text").writes("text")
            >> Transform("size", len).reads("text").writes("n")
        ).to_ir()
    )
    result = run(from_json(saved), state={"text": "  owls  "})
    assert result.state == {"text": "owls", "n": 4}
    for name in ("eval", "exec", "open", "__import__", "getattr", "compile"):
        assert f"builtins:{name}" not in SAFE_FUNCTIONS


def test_pipelines_built_in_python_are_unaffected(tmp_path: Path) -> None:
    # A function named by path in Python code is the code's own choice, like an import.
    pipeline = Agent("a").instruct("Say.").writes("x") >> Transform(
        "name", "os.path:basename"
    ).reads("x").writes("base")
    result = run(pipeline, provider=answering("/tmp/owls.txt"))
    assert result.state["base"] == "owls.txt"
    assert refused_functions(pipeline.to_ir()) == []
    assert with_allowed(pipeline.to_ir(), ["os"]) is not None


def test_allow_takes_module_names_only() -> None:
    for bad in (5, [3], ["os system"], ["../etc"]):
        with pytest.raises(PipelineError, match="module name"):
            from_json(hostile(Path("x")), allow=bad)
    with pytest.raises(PipelineError, match="run\\(allow=...\\)"):
        run(Agent("a").instruct("Hi."), provider=answering("x"), allow=[""])


def test_the_command_line_refuses_it_too(canary: Path, tmp_path: Path) -> None:
    path = tmp_path / "hostile.json"
    path.write_text(hostile(canary), encoding="utf-8")
    spec = "fake"
    done = subprocess.run(
        [sys.executable, "-m", "irgraph.cli", "run", str(path), "--provider", spec],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1, done.stderr  # a pipeline the command refuses, as check does
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "module 'os' is not allowed" in done.stderr
    assert not canary.exists()


@pytest.mark.parametrize(
    ("function", "why"),
    [
        ("irgraph_no_such_module:f", "No module named 'irgraph_no_such_module'"),
        ("json:no_such_function", "no_such_function"),
    ],
)
def test_an_allowed_function_that_cannot_be_imported_is_refused_before_any_call(function, why):
    """It failed only when its node was reached, after 'first' had paid for its call."""
    from irgraph.testing import FakeProvider

    fake = FakeProvider()
    module = function.partition(":")[0]
    with pytest.raises(PipelineError) as refused:
        run(from_json(loaded_ir(function)), provider=fake, allow=[module])
    assert refused.value.node == "step"
    assert f"'step' calls '{function}', which cannot be imported" in str(refused.value)
    assert why in str(refused.value)
    assert fake.calls == []


def test_irgraph_check_warns_of_an_allowed_function_that_cannot_be_imported(tmp_path, capsys):
    from irgraph.cli import main

    path = tmp_path / "p.json"
    path.write_text(to_json(from_json(loaded_ir("irgraph_no_such_module:f"))))
    assert main(["check", str(path), "--allow-module", "irgraph_no_such_module"]) == 0
    assert "warning: 'step' calls 'irgraph_no_such_module:f', which cannot be" in (
        capsys.readouterr().out
    )


@pytest.fixture
def user_modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A package 'untrusted_pkg' with a module failing on import and functions whose
    signatures their nodes cannot call."""
    package = tmp_path / "untrusted_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "broken.py").write_text('raise RuntimeError("module import fails")\n')
    (package / "funcs.py").write_text(
        "def two(a, b):\n    return True\n\ndef needs_lang(x, lang):\n    return x\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("untrusted_pkg", "untrusted_pkg.broken", "untrusted_pkg.funcs"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    return "untrusted_pkg"


def _route_on(predicate: str) -> str:
    root = {
        "kind": "SequenceNode",
        "name": "p",
        "children": [
            {"kind": "AgentNode", "name": "first", "instruction": "Go.", "writes": "x"},
            {
                "kind": "RouteNode",
                "name": "r",
                "cases": [
                    {"test": {"function": predicate}},
                    {"otherwise": True},
                ],
                "children": [
                    {"kind": "AgentNode", "name": "a", "instruction": "A {x}."},
                    {"kind": "AgentNode", "name": "b", "instruction": "B {x}."},
                ],
            },
        ],
    }
    return json.dumps({"format": "irgraph-ir", "version": 1, "root": root})


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (
            lambda: loaded_ir("untrusted_pkg.broken:f"),
            "importing the module 'untrusted_pkg.broken' raised RuntimeError: module import fails",
        ),
        (lambda: loaded_ir("untrusted_pkg.funcs:needs_lang"), "'lang'"),
        (lambda: _route_on("untrusted_pkg.funcs:two"), "missing a required argument: 'b'"),
    ],
)
def test_a_loaded_function_that_fails_to_import_or_cannot_be_called_is_refused_first(
    user_modules: str, text, said: str
) -> None:
    """A module raising on import gave a raw RuntimeError; a loaded predicate or transform
    with the wrong parameters failed at its node, after 'first' had paid for its call."""
    from irgraph.testing import FakeProvider

    fake = FakeProvider()
    with pytest.raises(PipelineError, match=said):
        run(from_json(text()), provider=fake, allow=[user_modules])
    assert fake.calls == []


def test_a_refused_module_close_to_an_allowed_one_is_named_as_a_likely_typo():
    saved = to_json(Transform("split", "textwrap:wrap").reads("text").writes("lines").to_ir())
    with pytest.raises(PipelineError) as caught:
        run(from_json(saved), state={"text": "a b"}, allow=["textwrp"])
    assert "(the module 'textwrp' is allowed: is it 'textwrap' misspelt?)" in str(caught.value)
    with pytest.raises(PipelineError) as unrelated:
        run(from_json(saved), state={"text": "a b"}, allow=["json"])
    assert "misspelt" not in str(unrelated.value)
