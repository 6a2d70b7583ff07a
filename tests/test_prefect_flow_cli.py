"""A generated flow module's command line: a mistake is one line and exit code 2, naming it
and the fix; the commands it prints run as pasted; a flow run without its inputs says which."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from irgraph import Agent
from irgraph.backends.prefect_flow_cli import (
    deployment_run_command,
    initial_state,
    no_pool_message,
    worker_command,
)
from tests.support.prefect_children import child_env
from tests.test_prefect_worker import generated

PIPELINE = Agent("writer").instruct("Write {topic} for {reader}.").writes("text")


@pytest.fixture(scope="module")
def flow_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("flow_cli") / "notes_flow.py"
    path.write_text(generated(PIPELINE, flow_name="notes"), encoding="utf-8")
    return path


def one_line_error(flow_file: Path, *args: str, env: dict[str, str] | None = None) -> str:
    out = subprocess.run(
        [sys.executable, str(flow_file), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("notes_flow.py: error: ")
    assert lines[0].endswith("See notes_flow.py --help.")
    return lines[0]


def test_a_misspelt_command_is_one_line_with_the_nearest_command(flow_file):
    said = one_line_error(flow_file, "runn")
    assert "there is no command 'runn'; did you mean 'run'?" in said
    assert "Commands: deploy, run, run-batch" in said


def test_run_without_an_input_names_it(flow_file):
    said = one_line_error(flow_file, "run", "--state", '{"topic": "owls"}')
    assert "--state lacks 'reader'" in said
    assert "did you mean" not in said


def test_run_with_a_misspelt_input_names_the_key_meant(flow_file):
    said = one_line_error(flow_file, "run", "--state", '{"topic": "owls", "readr": "kids"}')
    assert "--state lacks 'reader'" in said
    assert "--state gives 'readr': did you mean 'reader'? See notes_flow.py --help." in said


def test_run_batch_items_that_are_not_json_are_one_line(flow_file):
    said = one_line_error(flow_file, "run-batch", "--items", "[{")
    assert "--items is not JSON (" in said


def test_an_unknown_option_is_one_line(flow_file):
    said = one_line_error(flow_file, "run", "--sate", "{}")
    assert "unrecognized arguments: --sate {}; did you mean --state (for --sate)?" in said


def test_a_misspelt_option_names_the_one_meant(flow_file):
    said = one_line_error(flow_file, "run", "--state", "{}", "--runkey=k", "--anser", "a=b")
    assert "did you mean --run-key (for --runkey) and --answer (for --anser)? See" in said
    said = one_line_error(flow_file, "run", "--state", "{}", "--colour")
    assert said.endswith("unrecognized arguments: --colour. See notes_flow.py --help.")


@pytest.mark.parametrize("name", ["notes", 'it\'s a "flow" $HOME `x`'])
def test_the_printed_commands_parse_back_to_their_names_and_parameters(name):
    run = shlex.split(deployment_run_command(name, name, ["topic", "reader"]))
    assert run[:4] == ["prefect", "deployment", "run", f"{name}/{name}"]
    assert run[4] == "--params"
    assert json.loads(run[5]) == {"state": {"topic": "...", "reader": "..."}}
    assert shlex.split(worker_command(name)) == ["prefect", "worker", "start", "--pool", name]


def test_a_pipeline_without_inputs_is_run_without_parameters():
    assert deployment_run_command("f", "d", []) == "prefect deployment run f/d"


def test_a_flow_run_without_its_inputs_says_which_and_how_to_give_them():
    with pytest.raises(ValueError) as caught:
        initial_state({"topic": "owls"}, ["reader", "topic"])
    said = str(caught.value)
    assert "initial state lacks 'reader'" in said
    assert "state given: ['topic']" in said
    assert """--params '{"state": {"reader": "...", "topic": "..."}}'""" in said
    assert initial_state(None, []) == {}


def test_a_flow_run_with_a_misspelt_input_is_told_the_key_meant():
    with pytest.raises(ValueError) as caught:
        initial_state({"topc": "owls", "reader": "kids"}, ["reader", "topic"])
    assert "The state gives 'topc': did you mean 'topic'?" in str(caught.value)


def env_with_api(tmp_path: Path, url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env["PREFECT_HOME"] = str(tmp_path / "home")
    if url is not None:
        env["PREFECT_API_URL"] = url
    return env


def test_deploying_without_a_server_says_to_set_prefect_api_url(flow_file, tmp_path):
    said = one_line_error(flow_file, env=env_with_api(tmp_path, None))
    assert "deploying needs the Prefect server your workers use" in said
    assert "PREFECT_API_URL is not set" in said


def test_deploying_to_a_server_that_does_not_answer_says_so(flow_file, tmp_path):
    url = "http://127.0.0.1:9/api"  # the discard port: nobody there
    said = one_line_error(flow_file, "deploy", env=env_with_api(tmp_path, url))
    assert f"cannot reach the Prefect API at {url} (from PREFECT_API_URL)" in said


@pytest.mark.prefect
def test_deploying_to_a_pool_the_server_lacks_says_how_to_create_it(tmp_path):
    pool = f"absent-{uuid.uuid4().hex[:8]}"  # the server is shared: a name nobody made
    flow_file = tmp_path / "notes_flow.py"
    flow_file.write_text(generated(PIPELINE, flow_name="notes", work_pool=pool), encoding="utf-8")
    said = one_line_error(flow_file, env=child_env(tmp_path / "home"))
    assert f"has no work pool {pool!r}" in said
    assert f"prefect work-pool create {pool} --type process" in said


@pytest.mark.parametrize(
    ("pools", "says"),
    [
        ([], "has no work pool 'gpu'; it has none. Create it (prefect work-pool create gpu"),
        (["cpu-a", "cpu-b"], "has no work pool 'gpu'; it has: cpu-a, cpu-b. Create it"),
        (["cpu", "gpus"], "no work pool 'gpu'; did you mean 'gpus' or 'cpu'? It has: cpu, gpus. "),
    ],
)
def test_the_missing_pool_message_is_sentences(pools, says):
    said = no_pool_message("http://127.0.0.1:4200/api", "gpu", pools)
    assert says in said and said.startswith("the Prefect server at http://127.0.0.1:4200/api")


def test_an_empty_run_key_is_refused(flow_file):
    said = one_line_error(
        flow_file, "run", "--state", '{"topic": "a", "reader": "b"}', "--run-key", ""
    )
    assert "--run-key is empty" in said
