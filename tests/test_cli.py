"""The irgraph command line: demo, run, check, diff, and its errors."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys

import pytest

from irgraph.cli import main
from tests.support.modules import importable


def call(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def test_demo_prints_graph_progress_and_final_state():
    code, text = call("demo", "--latency", "0")
    assert code == 0
    assert "researcher -. findings .-> analyst" in text
    assert "ok writer" in text
    assert "report = <writer: Write a report from" in text


def test_console_script_demo_runs_in_a_fresh_process():
    proc = subprocess.run(
        [sys.executable, "-m", "irgraph.cli", "demo", "--latency", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Final state:" in proc.stdout


def test_run_with_state_and_fake_provider():
    code, text = call(
        "run", "tests.support.pipelines:research", "--state", "topic=owls", "--provider", "fake"
    )
    assert code == 0
    assert "findings = <researcher: Research owls.>" in text


def test_check_reports_every_problem_with_exit_code_1(capsys):
    assert call("check", "tests.support.pipelines:research")[0] == 1
    assert "{topic}" in capsys.readouterr().err
    code, text = call("check", "tests.support.pipelines:research", "--input", "topic")
    assert code == 0 and "OK: no problems found." in text


def test_check_hints_at_each_needless_wait_and_what_dropping_them_all_saves():
    code, text = call("check", "tests.support.pipelines:waiting", "--state", "topic=owls")
    hints = [line for line in text.splitlines() if line.startswith("hint: ")]
    assert code == 0 and len(hints) == 3
    assert "'w2' needs nothing from 'w1'" in hints[0] + hints[1]
    for hint in hints:  # one sentence each, its last words in it
        assert hint.endswith(" (at 1 s per node).") and ". (" not in hint
    assert hints[-1].startswith("hint: irgraph run --schedule dataflow (AsyncioBackend(")
    assert "saves 2 s in all (at 1 s per node)." in hints[-1]
    assert "side by side (a | b)" in hints[-1]  # what the pipeline itself may say instead


def test_check_shows_the_name_of_a_node_whose_id_is_pinned(tmp_path, monkeypatch):
    module = importable(
        tmp_path,
        monkeypatch,
        "pinned_ids",
        "from irgraph import Agent\n"
        "pipeline = (Agent('researcher', id='r1').instruct('On {topic}.').writes('notes')\n"
        "    >> Agent('writer').instruct('From {notes}.') >> Agent('step', id='step'))\n",
    )
    code, text = call("check", f"{module}:pipeline", "--input", "topic")
    assert code == 0, text
    lines = text.splitlines()
    assert "  [agent] r1 (named researcher): reads topic; writes notes" in lines
    assert "  [agent] writer: reads notes; writes -" in lines  # no pinned id: its name alone
    assert "  [agent] step: reads -; writes -" in lines  # pinned to its own name: said once


def test_check_lists_a_nodes_optional_reads_beside_its_required_ones(tmp_path, monkeypatch):
    """An agent reading only {patch?} and {reply?} was shown as ``reads -``, reading nothing,
    above the data edges that bring it both keys."""
    module = importable(
        tmp_path,
        monkeypatch,
        "optional_reads",
        "from irgraph import Agent, Loop\n"
        "pipeline = (Agent('fix').instruct('Fix {ticket}.').writes('patch')\n"
        "    >> Agent('final').instruct('Say {patch?} {reply?} for {ticket} {ticket?}.')\n"
        "    >> Loop('l').step(Agent('again').instruct('Again {notes?}.').writes('notes'))\n"
        "    .max_iterations(2))\n",
    )
    code, text = call("check", f"{module}:pipeline", "--input", "ticket")
    assert code == 0, text
    lines = text.splitlines()
    assert "  [agent] final: reads ticket, patch?, reply?; writes -" in lines
    assert "  [loop] l: reads notes?; writes notes" in lines
    assert "  fix -. patch .-> final" in lines


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "tests.support.pipelines"], "module:attr"),
        (["run", "no_such_module_xyz:p"], "Cannot import module 'no_such_module_xyz'"),
        (["run", "tests.support.pipelines:reserch"], "Did you mean 'research'"),
        (["run", "tests.support.pipelines:research", "--state", "topic"], "topic=VALUE"),
        (["run", "tests.support.pipelines:research", "--state-json", "[1]"], "JSON object"),
        (["run", "tests.support.pipelines:research", "--state-json", "{"], "not valid JSON"),
    ],
)
def test_bad_command_line_input_exits_2_with_a_clear_message(argv, message, capsys):
    assert call(*argv)[0] == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (
            ["--backend", "asynco"],
            "--backend 'asynco' names no registered backend. Did you mean 'asyncio'? The "
            "backends: 'asyncio', 'prefect'",
        ),
        (["--backend", "nope"], "--backend 'nope' names no registered backend. The backends"),
        (
            ["--provider", "fak"],
            "--provider 'fak' is not a provider spec. Did you mean 'fake'? A spec is 'fake', "
            "'openai:MODEL' or 'package.module:factory'.",
        ),
        (
            ["--provider", "opnai:gpt-4o"],
            "--provider 'opnai:gpt-4o' is not a provider spec. Did you mean 'openai:gpt-4o'?",
        ),
        (["--provider", "openai"], "--provider 'openai' names no model; write it as"),
        (["--provider", "no_such_pkg.llm:make"], "--provider 'no_such_pkg.llm:make': the module"),
    ],
)
def test_a_backend_or_provider_that_names_nothing_is_a_command_line_mistake(
    option, message, capsys
):
    code, text = call("run", "tests.support.pipelines:research", "--state", "topic=x", *option)
    err = capsys.readouterr().err
    assert (code, text) == (2, "")  # refused before anything runs
    assert err.startswith(f"irgraph: error: {message}") and err.count("\n") == 1, err


def test_batch_names_the_closest_provider(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.jsonl").write_text('{"topic": "owls"}\n')
    argv = ["batch", "irgraph.demo:research_pipeline", "in.jsonl", "-o", "out.jsonl"]
    assert call(*argv, "--provider", "fak")[0] == 2
    assert (
        "--provider 'fak' is not a provider spec. Did you mean 'fake'?" in capsys.readouterr().err
    )


def test_the_provider_help_lists_every_spec_form(capsys):
    for command in ("run", "batch"):
        with pytest.raises(SystemExit):
            call(command, "--help")
        help_text = " ".join(capsys.readouterr().out.split())
        assert "'openai:MODEL'" in help_text and "'package.module:factory'" in help_text


FAILING = (
    "from irgraph import Agent, Transform\n"
    "def explode(notes):\n"
    "    raise ValueError('no notes today')\n"
    "failing = Agent('researcher').instruct('Research {topic}.').writes('notes') >> "
    "Transform('explode', explode).reads('notes').writes('x')\n"
)


@pytest.fixture
def failing(tmp_path, monkeypatch):
    """``file.py:attr`` of a pipeline whose transform raises, in the current directory."""
    module = "irgraph_cli_failing_run"
    (tmp_path / f"{module}.py").write_text(FAILING)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, module, raising=False)
    yield f"{module}.py:failing"
    sys.modules.pop(module, None)


def test_a_failed_run_says_what_failed_where_and_what_to_do_without_python_advice(failing, capsys):
    code, text = call("run", failing, "--state", "topic=owls", "--no-progress")
    err = capsys.readouterr().err
    assert code == 1 and "> explode started" in text
    assert err == (
        "irgraph: RunError: Node 'explode' failed: ValueError: no notes today (raised in "
        "explode, irgraph_cli_failing_run.py line 3). Completed before the failure: "
        "researcher. Fix the cause and run the command again.\n"
    )


def test_a_failed_run_prints_the_answers_of_what_completed_rather_than_lose_them(failing, capsys):
    code, text = call("run", failing, "--state", "topic=owls", "--no-progress")
    assert code == 1
    state = text[text.index("State when the run failed:") :]
    assert state == (
        "State when the run failed:\n  topic = owls\n  notes = <researcher: Research owls.>\n"
    )


def test_a_failed_batch_item_is_told_without_python_advice(failing, tmp_path, capsys):
    (tmp_path / "in.jsonl").write_text('{"topic": "owls"}\n')
    assert call("batch", failing, "in.jsonl", "-o", "out.jsonl")[0] == 1
    error = json.loads((tmp_path / "out.jsonl").read_text())["error"]
    assert error["message"] == (
        "Item 0 (in.jsonl:1): Node 'explode' failed: ValueError: no notes today (raised in "
        "explode, irgraph_cli_failing_run.py line 3)."
    )
    assert error["message"].removeprefix("Item 0 (in.jsonl:1): ") in capsys.readouterr().err


@pytest.fixture
def declared(tmp_path, monkeypatch):
    """``module:attr`` of a pipeline that declares its input ``topic`` and reads ``{topic}``."""
    module = importable(
        tmp_path,
        monkeypatch,
        "irgraph_cli_declared_inputs",
        "from irgraph import Agent, Pipeline\n"
        "w = Agent('w').instruct('Write {topic}.').writes('text')\n"
        "p = Pipeline('p', inputs=['topic']).step(w)\n",
    )
    return f"{module}:p"


def test_check_needs_no_input_option_when_the_pipeline_declares_its_inputs(declared):
    code, text = call("check", declared)
    assert code == 0 and "OK: no problems found." in text
    assert "Inputs: topic" in text


def test_check_options_add_to_the_declared_inputs(declared):
    code, text = call("check", declared, "--input", "audience", "--state", "tone=dry")
    assert code == 0 and "Inputs: audience, tone, topic" in text


def test_run_and_show_a_pipeline_declaring_its_inputs(declared):
    code, text = call("run", declared, "--state", "topic=owls")
    assert code == 0 and "text = <w: Write owls.>" in text
    code, text = call("show", declared)
    assert code == 0 and "w" in text


def test_run_and_check_a_saved_graph_or_ir_file(tmp_path, monkeypatch):
    import json

    import networkx as nx

    from irgraph import to_graph
    from irgraph.demo import research_pipeline
    from irgraph.ir import to_json

    monkeypatch.chdir(tmp_path)
    (tmp_path / "graph.json").write_text(json.dumps(nx.node_link_data(to_graph(research_pipeline))))
    (tmp_path / "ir.json").write_text(to_json(research_pipeline.to_ir()))
    for name in ("graph.json", "ir.json"):
        out = io.StringIO()
        assert main(["check", name, "--input", "topic"], out=out) == 0, out.getvalue()
        out = io.StringIO()
        assert main(["run", name, "--state", "topic=owls"], out=out) == 0, out.getvalue()
        assert "report" in out.getvalue()


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "Cannot read the pipeline file"), ("{", "not valid JSON"), ("[1]", "neither IR JSON")],
)
def test_a_bad_pipeline_file_is_a_clear_error(tmp_path, monkeypatch, capsys, content, message):
    monkeypatch.chdir(tmp_path)
    if content is not None:
        (tmp_path / "p.json").write_text(content)
    assert main(["check", "p.json"], out=io.StringIO()) == 2
    assert message in capsys.readouterr().err


# irgraph diff exits like diff(1): 0 equal, 1 different, 2 trouble ----------------------


def test_diff_exits_0_when_the_pipelines_are_equal():
    code, text = call("diff", "irgraph.demo:research_pipeline", "irgraph.demo:research_pipeline")
    assert (code, text) == (0, "No differences.\n")


@pytest.mark.parametrize("mermaid", [[], ["--mermaid"]])
def test_diff_exits_1_when_the_pipelines_differ(mermaid):
    argv = ["diff", "irgraph.demo:research_pipeline", "tests.support.pipelines:research"]
    code, text = call(*argv, *mermaid)
    assert code == 1 and text


@pytest.mark.parametrize(("given", "drawn"), [("lr", "graph LR"), ("BT", "graph BT")])
def test_diff_mermaid_flows_the_way_direction_says(given, drawn):
    argv = ["diff", "irgraph.demo:research_pipeline", "tests.support.pipelines:research"]
    code, text = call(*argv, "--mermaid", "--direction", given)
    assert code == 1 and drawn in text.splitlines(), text
    assert "graph TD" in call(*argv, "--mermaid")[1].splitlines()


def test_diff_direction_without_mermaid_is_refused(capsys):
    argv = ["diff", "irgraph.demo:research_pipeline", "irgraph.demo:research_pipeline"]
    assert call(*argv, "--direction", "LR")[0] == 2
    assert "--direction LR sets the way the --mermaid picture flows" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("new", "message"),
    [
        ("no_such_module_xyz:p", "irgraph: error: Cannot import module"),
        ("irgraph.demo:__name__", "irgraph: error: 'irgraph.demo:__name__' is a str"),
        (
            "bad.json",
            "irgraph: PipelineError: bad.json: Invalid IR JSON at root: unknown node kind",
        ),
    ],
)
def test_diff_exits_2_on_any_error(capsys, tmp_path, monkeypatch, new, message):
    monkeypatch.chdir(tmp_path)
    bad = {"format": "irgraph-ir", "version": 1, "root": {"kind": "Nope", "name": "a"}}
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    assert call("diff", "irgraph.demo:research_pipeline", new)[0] == 2
    assert capsys.readouterr().err.startswith(message)


def test_diff_exit_codes_in_a_fresh_process():
    def diff(new: str) -> int:
        argv = ["diff", "irgraph.demo:research_pipeline", new]
        proc = subprocess.run(
            [sys.executable, "-m", "irgraph.cli", *argv], capture_output=True, timeout=60
        )
        return proc.returncode

    assert diff("irgraph.demo:research_pipeline") == 0
    assert diff("tests.support.pipelines:research") == 1
    assert diff("tests.support.pipelines:nothing") == 2


def test_every_option_of_every_command_says_what_it_does_in_its_help(capsys):
    """``irgraph batch --help`` listed --backend, --chunk-size, --max-concurrency, --max-items
    and --batch-key (and ``irgraph demo --help`` --topic) with no word on what they do."""
    for command in ("demo", "run", "check", "batch", "show", "diff"):
        with pytest.raises(SystemExit):
            call(command, "--help")
        help_text = capsys.readouterr().out
        options = help_text.partition("\noptions:\n")[2]
        flags = re.findall(r"^  (-[^\n]*?)(?:  +(\S[^\n]*))?$", options, re.M)
        assert flags, help_text
        bare = [flag for flag, said in flags if not said and not flag.endswith(",")]
        # an option whose help is on the next line (a long flag) is followed by an indented line
        bare = [f for f in bare if not re.search(re.escape(f) + r"\n {20,}\S", options)]
        assert not bare, f"irgraph {command} --help: {bare} say nothing"


def test_the_command_list_reads_as_plain_text_not_markup(capsys):
    with pytest.raises(SystemExit):
        call("--help")
    assert "``" not in capsys.readouterr().out
