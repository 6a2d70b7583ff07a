"""``irgraph run --run-key``: a Prefect run named on the command line keeps its completed
agents' answers, so the same command run again after a failure asks only what is left, and
what the failure prints says so; a backend that keeps no answers refuses the option."""

from __future__ import annotations

import argparse
import io
import sys

import pytest

from irgraph.cli import main
from irgraph.cli_run import resume_advice

PIPELINE = (
    "from irgraph import Agent\n"
    "from irgraph.testing import FakeProvider\n"
    "pipeline = Agent('a').instruct('A {topic}').writes('x') >> "
    "Agent('b').instruct('B {x}').writes('y')\n"
    "FAKE = FakeProvider(fail={'b': 1})  # the same fake for both commands of a test\n"
    "def provider():\n"
    "    return FAKE\n"
)


@pytest.fixture
def target(tmp_path, monkeypatch):
    """``module:attr`` of a two-agent pipeline whose provider fails 'b' once, importable."""
    module = "irgraph_cli_run_key_pipeline"
    (tmp_path / f"{module}.py").write_text(PIPELINE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, module, raising=False)
    yield module
    sys.modules.pop(module, None)


def command(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


@pytest.mark.parametrize("backend", [[], ["--backend", "asyncio"]])
def test_a_run_key_on_a_backend_that_keeps_no_answers_is_refused_before_the_run(
    target, capsys, backend
):
    code, text = command(
        "run", f"{target}:pipeline", "--state", "topic=owls", "--run-key", "k", *backend
    )
    err = capsys.readouterr().err
    assert code == 2 and text == ""
    assert "the backend 'asyncio' keeps none" in err and "add --backend prefect" in err
    assert sys.modules[target].FAKE.calls == []


def test_an_empty_run_key_is_refused(target, capsys):
    argv = ["run", f"{target}:pipeline", "--state", "topic=owls", "--backend", "prefect"]
    code, _ = command(*argv, "--run-key", "  ")
    assert code == 2
    assert "--run-key '  ' names no run" in capsys.readouterr().err


@pytest.mark.prefect
def test_the_same_command_again_takes_the_completed_agents_from_the_cache(target, capsys):
    from tests.support.prefect_env import ensure_prefect_test_env

    ensure_prefect_test_env()
    argv = [
        "run",
        f"{target}:pipeline",
        "--state",
        "topic=owls",
        "--backend",
        "prefect",
        "--provider",
        f"{target}:provider",
        "--run-key",
        "cli-run-key-test",
        "--no-progress",
    ]
    code, text = command(*argv)
    err = capsys.readouterr().err
    assert code == 1
    assert "State when the run failed:\n  topic = owls\n  x = <a: A owls>\n" in text
    assert "Completed before the failure: a." in err
    assert "kept under run key 'cli-run-key-test'" in err
    assert "--run-key cli-run-key-test) and they are taken from there" in err

    code, text = command(*argv)
    assert code == 0, capsys.readouterr().err
    assert "y = <b: B <a: A owls>>" in text
    fake = sys.modules[target].FAKE
    assert [call.agent for call in fake.calls] == ["a", "b", "b"]  # 'a' not asked again


def test_a_failed_prefect_run_without_a_run_key_says_how_to_keep_its_answers():
    advice = resume_advice(argparse.Namespace(backend="prefect", run_key=None))
    assert "--run-key NAME" in advice
    assert resume_advice(argparse.Namespace(backend="asyncio", run_key=None)) == ""


def test_a_failure_names_each_completed_node_once_with_its_count(tmp_path, monkeypatch, capsys):
    """A map-over's step finished once per item is named once, with its count, where the
    failure's line repeated it (``Completed before the failure: a, s, s, s, m``)."""
    (tmp_path / "mapped.py").write_text(
        "from irgraph import Agent, MapOver, Transform\n"
        "def fail(summaries):\n"
        "    raise ValueError('no summary today')\n"
        "pipeline = (\n"
        "    Transform('a', lambda: ['x', 'y', 'z']).writes('items')\n"
        "    >> MapOver('m').over('items', item='it').step(\n"
        "        Agent('s').instruct('Say {it}.').writes('said')).writes('summaries')\n"
        "    >> Transform('z', fail).reads('summaries').writes('end')\n"
        ")\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "mapped", raising=False)
    code, _ = command("run", "mapped.py:pipeline", "--no-progress")
    err = capsys.readouterr().err
    assert code == 1, err
    assert "Completed before the failure: a, s (3 times), m." in err
