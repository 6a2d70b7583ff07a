"""Findings of the second outside trial on the ``irgraph`` command: a gate answered twice, a
target holding what ``compile()`` returns (or no pipeline at all), and ``--provider`` specs the
fake provider does not take. Each is a real command-line run."""

from __future__ import annotations

import io
import re
import subprocess
import sys

import pytest

from irgraph.cli import main

MODULE = "irgraph_cli_trial2_pipelines"
PIPELINES = """
from irgraph import Agent, Gate, compile

gated = Agent("w").instruct("Write {topic}").writes("draft") >> Gate(
    "approve", "OK? {draft}"
).writes("verdict")
p = Agent("a").instruct("A {t}").writes("x")
C = compile(p)
"""


@pytest.fixture
def here(tmp_path, monkeypatch):
    """A temporary current directory holding the pipelines module, imported afresh."""
    (tmp_path / f"{MODULE}.py").write_text(PIPELINES)
    (tmp_path / "t.jsonl").write_text('{"topic": "owls"}\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, MODULE, raising=False)
    return tmp_path


def cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.startswith("irgraph: error: ") and err.count("\n") == 1, err
    return err


# 5. A gate answered twice ------------------------------------------------------------------


@pytest.mark.parametrize("command", ["run", "batch"])
def test_a_gate_answered_twice_is_refused(here, capsys, command):
    where = ["--state", "topic=owls"] if command == "run" else ["t.jsonl", "-o", "r.jsonl"]
    answers = ["--answer", "approve=yes", "--answer", "approve=no"]
    code, text = cli(command, f"{MODULE}:gated", *where, *answers)
    assert (code, text) == (2, "")
    assert "--answer approve=... is given twice (approve=yes and approve=no)" in error(capsys)
    assert not (here / "r.jsonl").exists()


def test_a_gate_answered_twice_in_a_fresh_process(here):
    argv = ["run", f"{MODULE}:gated", "--state", "topic=owls"]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "irgraph.cli",
            *argv,
            "--answer",
            "approve=a",
            "--answer",
            "approve=a",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=here,
    )
    assert proc.returncode == 2, proc.stdout
    assert "given twice" in proc.stderr and "Traceback" not in proc.stderr


# 7. Targets: what compile() returns, a function not of your own, a missing attribute --------


@pytest.mark.parametrize("attr", ["C", "C.runnable"])
def test_a_compiled_pipeline_is_a_target(here, capsys, attr):
    code, text = cli("check", f"{MODULE}:{attr}", "--input", "t")
    assert code == 0, capsys.readouterr().err
    assert "[agent] a: reads t; writes x" in text and "OK: no problems found." in text
    code, text = cli("run", f"{MODULE}:{attr}", "--state", "t=1")
    assert code == 0 and "  x = <a: A 1>" in text
    assert cli("diff", f"{MODULE}:{attr}", f"{MODULE}:p") == (0, "No differences.\n")


def test_a_standard_library_function_is_not_advised_to_be_edited(here, capsys):
    assert cli("check", "json:loads") == (2, "")
    err = error(capsys)
    assert "'json:loads' is the function loads, not a pipeline" in err
    assert "in json" not in err and "json:p" not in err
    assert "make one in your module (p = Agent('a') >> Agent('b')) and name it: module:p." in err


def test_an_object_without_a_readable_repr_is_named_by_its_type(here, capsys):
    (here / "objs.py").write_text("class K:\n    pass\n\nk = K()\n")
    assert cli("check", "objs:k") == (2, "")
    err = error(capsys)
    assert "'objs:k' is a K object, not a pipeline" in err and "0x" not in err


@pytest.mark.parametrize(
    ("attr", "words"),
    [
        ("missing", f"'{MODULE}' has no attribute 'missing'. Pipelines in {MODULE}: "),
        ("Agen", "has no attribute 'Agen'. Did you mean 'Agent'? Pipelines in "),
    ],
)
def test_a_missing_attribute_lists_the_modules_pipelines(here, capsys, attr, words):
    assert cli("check", f"{MODULE}:{attr}") == (2, "")
    err = error(capsys)
    assert words in err and f"{MODULE}:gated" in err and f"{MODULE}:p" in err


def test_a_missing_attribute_close_to_a_pipeline_names_just_that_one(here, capsys):
    assert cli("check", f"{MODULE}:gatd") == (2, "")
    assert error(capsys) == (
        f"irgraph: error: '{MODULE}' has no attribute 'gatd'. Did you mean 'gated'?\n"
    )


# 8. --provider specs the fake provider does not take ---------------------------------------


@pytest.mark.parametrize("command", ["run", "batch"])
@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("fake:gpt-4o", "--provider 'fake:gpt-4o': the fake provider takes no model"),
        ("fake:", "--provider 'fake:': the fake provider takes no model"),
        ("FAKE", "--provider 'FAKE' is not a provider spec. Did you mean 'fake'?"),
        ("OpenAI:gpt-4o", "Did you mean 'openai:gpt-4o'?"),
    ],
)
def test_a_provider_spec_the_fake_does_not_take_is_refused(here, capsys, command, spec, words):
    where = ["--state", "topic=owls"] if command == "run" else ["t.jsonl", "-o", "r.jsonl"]
    argv = [command, f"{MODULE}:gated", *where, "--answer", "approve=yes", "--provider", spec]
    assert cli(*argv) == (2, "")
    assert words in error(capsys)
    assert not (here / "r.jsonl").exists()


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        (
            "fake:gpt-4o",
            "takes no model (it makes its replies up); write 'fake', or 'openai:gpt-4o'",
        ),
        ("FAKE", "Unknown provider spec 'FAKE'. Did you mean 'fake'?"),
    ],
)
def test_provider_from_spec_refuses_the_same_specs(spec, words):
    from irgraph.provider_spec import provider_from_spec
    from irgraph.providers import ProviderError

    with pytest.raises(ProviderError, match=re.escape(words)):
        provider_from_spec(spec)


def test_a_fake_provider_with_a_model_is_refused_in_a_fresh_process(here):
    argv = ["run", f"{MODULE}:p", "--state", "t=1", "--provider", "fake:gpt-4o"]
    proc = subprocess.run(
        [sys.executable, "-m", "irgraph.cli", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=here,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert "the fake provider takes no model" in proc.stderr


def test_a_missing_attribute_says_how_many_more_pipelines_there_are(here, capsys):
    (here / "many.py").write_text(
        "from irgraph import Agent\n" + "".join(f"p{i} = Agent('a{i}')\n" for i in range(7))
    )
    assert cli("check", "many:nope") == (2, "")
    err = error(capsys)
    assert "Pipelines in many: many:p0, many:p1, many:p2, many:p3, many:p4 (and 2 more)." in err


def test_the_pipelines_listed_are_the_whole_ones_not_their_parts(tmp_path, monkeypatch, capsys):
    """The list named every builder at the module's top level, the parts a route is made of
    too, before the pipeline that holds them."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "parts_mod.py").write_text(
        "from irgraph import Agent, Route\n"
        "classify = Agent('classify').instruct('c {t}').writes('k')\n"
        "fix = Agent('fix').instruct('f')\n"
        "route = Route('r').on('k').when('a', fix).otherwise(Agent('o'))\n"
        "pipeline = classify >> route\n"
    )
    assert main(["check", "parts_mod:nope"], out=io.StringIO()) == 2
    err = capsys.readouterr().err
    assert err.rstrip().endswith("Pipelines in parts_mod: parts_mod:pipeline."), err
