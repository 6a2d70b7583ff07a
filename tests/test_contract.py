"""The names DESIGN.md's Contract section promises, imported as the acceptance checks import
them: a rename or a lost re-export fails here, not in someone else's script."""

from __future__ import annotations

import importlib

import pytest

#: Each line of the Contract's import block: module, names.
CONTRACT = [
    ("irgraph", "Agent Pipeline FanOut Loop MapOver Gate Transform"),
    ("irgraph", "to_graph validate compile run arun"),
    ("irgraph", "IrgraphError PipelineError RunError"),
    ("irgraph.ir", "to_json from_json"),
    ("irgraph.testing", "FakeProvider strategies"),
    ("irgraph.backends.asyncio_backend", "AsyncioBackend"),
    ("irgraph.backends.prefect_backend", "PrefectBackend PrefectRunnable"),
    ("irgraph.backends.prefect_worker", "PrefectWorkerConfig generate_flow_code _collect_tasks"),
    ("irgraph.backends.mermaid", "to_mermaid"),
    ("irgraph.backends.dot", "to_dot"),
    ("irgraph", "from_graph Route run_many arun_many"),
]


@pytest.mark.parametrize(("module", "names"), CONTRACT)
def test_every_contract_name_imports(module: str, names: str) -> None:
    loaded = importlib.import_module(module)
    missing = [name for name in names.split() if not hasattr(loaded, name)]
    assert not missing, f"{module} lacks {missing}"


def test_the_contract_errors_are_irgraph_errors() -> None:
    import irgraph

    assert issubclass(irgraph.PipelineError, irgraph.IrgraphError)
    assert issubclass(irgraph.RunError, irgraph.IrgraphError)


def test_the_top_level_names_are_in_all() -> None:
    import irgraph

    top = {name for module, names in CONTRACT if module == "irgraph" for name in names.split()}
    assert top <= set(irgraph.__all__), sorted(top - set(irgraph.__all__))
