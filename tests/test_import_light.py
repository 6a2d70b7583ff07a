"""`import irgraph` stays light: heavy and optional dependencies load only where used."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

HEAVY = ("prefect", "pydot", "hypothesis", "rich", "networkx", "openai")


def modules_after(code: str) -> set[str]:
    """The top-level packages in sys.modules after running ``code`` in a fresh interpreter."""
    script = textwrap.dedent(code) + (
        "\nimport json, sys\nprint(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    return set(json.loads(result.stdout.splitlines()[-1]))


def test_import_irgraph_loads_no_heavy_dependency():
    loaded = modules_after("import irgraph")
    assert "irgraph" in loaded
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_the_public_submodules_load_no_heavy_dependency():
    loaded = modules_after(
        """
        import irgraph, irgraph.ir, irgraph.builder, irgraph.graph, irgraph.validate
        import irgraph.testing, irgraph.backends
        from irgraph import Agent
        pipeline = Agent("a").writes("x") >> Agent("b").instruct("{x}")
        ir = pipeline.to_ir()
        irgraph.ir.from_json(irgraph.ir.to_json(ir))
        """
    )
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_networkx_loads_on_the_first_to_graph_and_nothing_else_does():
    loaded = modules_after(
        """
        from irgraph import Agent, to_graph, validate
        validate(to_graph(Agent("a").writes("x") >> Agent("b").instruct("{x}")))
        """
    )
    assert "networkx" in loaded
    assert loaded.isdisjoint(set(HEAVY) - {"networkx"}), sorted(loaded & set(HEAVY))


def test_strategies_load_hypothesis_only_when_asked_for():
    assert "hypothesis" not in modules_after("import irgraph.testing")
    assert "hypothesis" in modules_after("from irgraph.testing import strategies")


def loaded_modules(code: str) -> set[str]:
    """Every module name in sys.modules after running ``code`` in a fresh interpreter."""
    script = textwrap.dedent(code) + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    return set(json.loads(result.stdout.splitlines()[-1]))


#: What running a pipeline needs and building or checking one does not (#20: import irgraph
#: within 40 ms of import attrs).
RUNTIME = (
    "asyncio",
    "concurrent.futures",
    "ssl",
    "irgraph.run",
    "irgraph.batch",
    "irgraph.batch_store",
    "irgraph.batch_progress",
    "irgraph.run_progress",
    "irgraph.run_view",
    "irgraph.compile",
    "irgraph.events",
)


def test_import_irgraph_leaves_running_and_its_displays_unloaded():
    loaded = loaded_modules("import irgraph")
    assert loaded.isdisjoint(RUNTIME), sorted(loaded & set(RUNTIME))


#: What checking a pipeline as a graph needs and building one does not: these load with
#: networkx on the first to_graph, where networkx's ~170 ms hides them; the standard modules
#: are each a few ms that only a rare check uses (#20).
GRAPH_PHASE = (
    "irgraph.graph",
    "irgraph.validate",
    "irgraph.display",
    "irgraph.graph_read",
    "irgraph.portable",
    "fractions",
    "hashlib",
)


def test_import_irgraph_and_building_leave_the_graph_phase_unloaded():
    loaded = loaded_modules(
        """
        import irgraph
        irgraph.Agent("a").writes("x") >> irgraph.Agent("b").instruct("{x}")
        """
    )
    assert loaded.isdisjoint(GRAPH_PHASE), sorted(loaded & set(GRAPH_PHASE))


def test_a_submodule_named_as_a_public_function_leaves_the_function_in_place():
    script = """
        import irgraph, irgraph.portable, irgraph.validate
        from irgraph.portable import portable
        from irgraph.validate import validate
        assert irgraph.portable is portable and irgraph.validate is validate
        from irgraph import to_graph, validate as v, portable as p
        assert v is validate and p is portable
        first = irgraph.Agent("a").instruct("A.").writes("x")
        pipeline = first >> irgraph.Agent("b").instruct("{x}")
        assert v(to_graph(pipeline)) == []
        """
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_building_and_checking_a_pipeline_loads_nothing_of_running_it():
    loaded = loaded_modules(
        """
        from irgraph import Agent, to_graph, validate
        validate(to_graph(Agent("a").writes("x") >> Agent("b").instruct("{x}")))
        """
    )
    assert loaded.isdisjoint(RUNTIME), sorted(loaded & set(RUNTIME))


def test_every_public_name_imports_and_is_listed():
    script = """
        import sys, irgraph
        from irgraph import run_many, arun_many, RunView, run
        assert "irgraph.batch" in sys.modules and "irgraph.run_view" in sys.modules
        from irgraph.batch import run_many as defined
        assert run_many is defined and irgraph.run_many is defined
        exec("from irgraph import *", space := {})
        assert sorted(set(irgraph.__all__) - set(space)) == [], set(irgraph.__all__) - set(space)
        assert set(irgraph.__all__) <= set(dir(irgraph))
        try:
            irgraph.run_mnay
        except AttributeError as exc:
            assert "run_mnay" in str(exc)
        else:
            raise AssertionError("an unknown name must raise AttributeError")
        """
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
