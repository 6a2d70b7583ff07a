"""A result_dir Prefect could keep no result in is refused before any model call, naming the
path: on PrefectBackend (once for a whole run_many), and in a generated flow module (its
``run`` command, and its flows on a worker)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from irgraph import Agent, PipelineError, run, run_many
from irgraph.backends.prefect_backend import PrefectBackend
from irgraph.backends.prefect_result_dir import check_result_dir
from irgraph.testing import FakeProvider
from tests.test_prefect_worker import generated

PIPELINE = Agent("writer").instruct("Write {topic}.").writes("text")


def bad_dirs(tmp_path: Path) -> dict[str, tuple[str, str]]:
    """Each bad result_dir and what its error says is wrong."""
    a_file = tmp_path / "a_file"
    a_file.write_text("not a directory")
    return {
        "file": (str(a_file), "is a file, not a directory"),
        "under_file": (str(a_file / "results"), f"lies under {str(a_file)!r}, which is a file"),
        "no_parent": (str(tmp_path / "not_mounted" / "results"), "which does not exist"),
        "unwritable": ("/proc", "cannot be written"),
    }


@pytest.mark.parametrize("case", ["file", "under_file", "no_parent", "unwritable"])
def test_a_run_with_a_bad_result_dir_is_refused_before_any_model_call(tmp_path, case):
    path, says = bad_dirs(tmp_path)[case]
    fake = FakeProvider()
    with pytest.raises(PipelineError) as caught:
        run(PIPELINE, backend=PrefectBackend(provider=fake, result_dir=path), state={"topic": "x"})
    assert f"PrefectBackend's result_dir {path!r}" in str(caught.value)
    assert says in str(caught.value)
    assert fake.calls == []


def test_run_many_with_a_bad_result_dir_fails_once_before_any_item(tmp_path):
    path, _ = bad_dirs(tmp_path)["file"]
    fake = FakeProvider()
    backend = PrefectBackend(provider=fake, result_dir=path)
    with pytest.raises(PipelineError, match="is a file, not a directory"):
        run_many(PIPELINE, [{"topic": "a"}, {"topic": "b"}], backend=backend)
    assert fake.calls == []


def test_a_missing_result_dir_in_an_existing_directory_is_accepted_and_not_made(tmp_path):
    path = tmp_path / "results"
    assert check_result_dir(path, "result_dir") == str(path)
    PrefectBackend(result_dir=path).compile(PIPELINE.to_ir())
    assert not path.exists()  # Prefect makes it with the first result
    assert list(tmp_path.iterdir()) == []  # and the write probe leaves nothing behind


def test_a_link_to_a_missing_directory_is_checked_where_it_leads(tmp_path):
    """The docs accept a missing directory whose parent exists, which Prefect makes with the
    first result; a symbolic link to a directory on a disk not mounted looked missing, in an
    existing parent, so it was accepted, and Prefect followed it, making the whole path on
    the local disk: what the check refuses for the same path given directly."""
    unmounted = tmp_path / "shared" / "results"
    link = tmp_path / "results"
    link.symlink_to(unmounted)
    fake = FakeProvider()
    with pytest.raises(PipelineError) as caught:
        run(PIPELINE, backend=PrefectBackend(provider=fake, result_dir=link), state={"topic": "x"})
    assert str(caught.value).startswith(
        f"PrefectBackend's result_dir {str(link)!r} (a symbolic link to {str(unmounted)!r}) is "
        f"in {str(unmounted.parent)!r}, which does not exist"
    )
    assert fake.calls == [] and not (tmp_path / "shared").exists()
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    with pytest.raises(PipelineError, match="a symbolic link that leads back to itself"):
        check_result_dir(loop, "result_dir")
    (tmp_path / "shared").mkdir()  # mounted: the link's directory is made as a missing one
    assert check_result_dir(link, "result_dir") == str(link)
    assert not unmounted.exists()


def test_the_generated_run_command_refuses_a_bad_result_dir_in_one_line(tmp_path):
    path, _ = bad_dirs(tmp_path)["file"]
    flow = tmp_path / "flow.py"
    flow.write_text(generated(PIPELINE, result_dir=path), encoding="utf-8")
    out = subprocess.run(
        [sys.executable, str(flow), "run", "--state", '{"topic": "x"}'],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr
    assert f"result directory (RESULT_DIR) {path!r} is a file" in lines[0]
    assert "PrefectWorkerConfig(result_dir=...)" in lines[0]


def test_a_generated_batch_flow_on_a_worker_fails_at_once_with_a_bad_result_dir(tmp_path):
    """The chunk's flow fails, naming the directory (its items are reported failed with that
    message), before any item calls the model."""
    path, _ = bad_dirs(tmp_path)["file"]
    flow = tmp_path / "flow.py"
    flow.write_text(generated(PIPELINE, result_dir=path), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("bad_result_dir_flow", flow)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    items = [{"index": 0, "state": {"topic": "x"}, "run_key": "k"}]
    with pytest.raises(PipelineError, match="is a file, not a directory"):
        module.rich_flow_batch.fn(items, module.PIPELINE_DIGEST).send(None)
    with pytest.raises(PipelineError, match="is a file, not a directory"):
        module.rich_flow.fn({"topic": "x"}).send(None)
