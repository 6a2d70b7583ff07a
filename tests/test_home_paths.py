"""A path written with ``~`` for the home directory (``store="~/batches"``,
``view.save("~/run.html")``), which Python does not expand as a shell does: run_many made a
folder named ``~`` in the current directory and kept the batch there, and a save said to
create the directory '~' first."""

from __future__ import annotations

import os

import pytest

from irgraph import Agent, IrgraphError, PipelineError, run, run_many
from irgraph.display import render
from irgraph.testing import FakeProvider

AGENT = Agent("a").instruct("Write about {topic}.")


@pytest.fixture
def here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_store_under_an_unexpanded_home_is_refused_and_makes_no_folder(here):
    with pytest.raises(PipelineError) as refused:
        list(run_many(AGENT, [{"topic": "owls"}], provider=FakeProvider(), batch_key="k",
                      store="~/irgraph-batches"))  # fmt: skip
    assert "store '~/irgraph-batches' starts with '~', which Python does not expand" in str(
        refused.value
    )
    assert "os.path.expanduser('~/irgraph-batches')" in str(refused.value)
    assert os.listdir(here) == []


@pytest.mark.parametrize(
    "save",
    [
        lambda: run(AGENT, state={"topic": "owls"}).view().save("~/run.html"),
        lambda: run(AGENT, state={"topic": "owls"}).timeline().save("~/timeline.svg"),
        lambda: render(AGENT, "mermaid").save("~/pipeline.mmd"),
    ],
)
def test_a_save_under_an_unexpanded_home_says_to_expand_it(here, save):
    with pytest.raises(IrgraphError) as refused:
        save()
    assert "which Python does not expand to a home directory" in str(refused.value)
    assert "create it first" not in str(refused.value)


def test_a_folder_named_tilde_that_is_there_is_used_as_it_is(here):
    """A folder '~' made on purpose (or by an earlier run) keeps what it holds: a batch kept
    there resumes from it."""
    (here / "~").mkdir()
    kept = list(run_many(AGENT, [{"topic": "owls"}], provider=FakeProvider(), batch_key="k",
                         store="~/batches"))  # fmt: skip
    assert kept[0].ok and (here / "~" / "batches").is_dir()


def test_a_prefect_result_dir_under_an_unexpanded_home_says_to_expand_it(here):
    from irgraph.backends.prefect_result_dir import check_result_dir

    with pytest.raises(PipelineError, match=r"result_dir '~/results' starts with '~'"):
        check_result_dir("~/results", "PrefectBackend's result_dir")
    assert os.listdir(here) == []
