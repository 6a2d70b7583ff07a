"""Generated Prefect flow modules: plan, determinism, injection-proofing, and real runs."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from irgraph import Agent, Gate, Loop, MapOver, PipelineError, Transform, run
from irgraph.backends.prefect_backend import PrefectBackend
from irgraph.backends.prefect_runtime import is_prefect_name, prefect_name
from irgraph.backends.prefect_worker import (
    PrefectWorkerConfig,
    _collect_tasks,
    generate_flow_code,
)
from irgraph.errors import IrgraphError
from irgraph.ir import (
    AgentNode,
    FunctionRef,
    GateNode,
    LoopNode,
    MapOverNode,
    ParallelNode,
    SequenceNode,
    TransformNode,
)
from irgraph.testing import FakeProvider
from tests.support.pipelines import MAIN_FUNCTIONS_SCRIPT, split_words, stop_when_done

ROOT = Path(__file__).resolve().parent.parent

SEED_RESEARCH = (
    Agent("researcher").instruct("Research the topic.").writes("findings")
    >> Agent("analyst").instruct("Analyze the findings: {findings}.").writes("analysis")
    >> Agent("writer").instruct("Write report from {analysis}.")
)
SEED_PARALLEL = Agent("web_search").instruct("Search the web.") | Agent("paper_search").instruct(
    "Search academic papers."
)
SEED_LOOP = (
    Agent("writer").instruct("Write a draft.") >> Agent("critic").instruct("Critique the draft.")
) * 3

ODD_NAME = "qu'o\"te {x} \\ ✓"


def rich_pipeline() -> Any:
    """Sequence, parallel (with a nested sequence), transform, map-over, two kinds of loop,
    an optional read, literal braces, and an agent whose name needs escaping."""
    return (
        Agent("researcher").instruct("Research {topic}.").writes("findings")
        >> Transform("split", split_words).reads("topic").writes("words")
        >> (
            Agent("web").instruct("Web {{search}} for {findings}").writes("web")
            | (
                Agent("papers").instruct("Papers on {topic}").writes("papers")
                >> Agent(ODD_NAME).instruct("Rank {papers} '''\"\"\"").writes("ranked")
            )
        )
        >> MapOver("per_word")
        .over("words", item="word")
        .step(Agent("define").instruct("Define {word} given {web}.").writes("definition"))
        .writes("definitions")
        .max_concurrency(2)
        >> Loop("refine")
        .step(Agent("critic").instruct("Critique {definitions} {verdict?}").writes("verdict"))
        .max_iterations(2)
        .until(stop_when_done)
        >> (
            Agent("drafter").instruct("Draft {ranked} {draft?}").writes("draft")
            >> Agent("editor").instruct("Edit {draft}").writes("edited")
        )
        * 2
    )


RICH_STATE = {"topic": "owls fly"}

GATED = Agent("drafter").instruct("Draft {topic}").writes("draft") >> Loop("review").step(
    Gate("approve", "Approve {draft}?").writes("answer")
).step(Agent("reviser").instruct("Revise {draft} per {answer}").writes("draft")).max_iterations(2)


def generated(pipeline: Any, **config: Any) -> str:
    compiled = PrefectBackend(work_pool="pool").compile(pipeline.to_ir())
    options = {"flow_name": "rich", "work_pool": "pool", **config}
    return generate_flow_code(compiled, PrefectWorkerConfig(**options))


def asyncio_state(pipeline: Any, state: dict[str, Any], fake: FakeProvider | None = None) -> Any:
    """The asyncio backend's final state, as it looks after a JSON round trip."""
    final = run(pipeline, backend="asyncio", provider=fake or FakeProvider(), state=state).state
    return json.loads(json.dumps(final))


def run_flow_process(args: list[str], cwd: Path) -> Any:
    """Run a Python child with a Prefect home of its own whose flows run on this process's
    temporary server (a server of its own costs 10-30 s to start); return its last line as
    JSON."""
    from tests.support.prefect_children import child_env

    home = cwd / "home"
    home.mkdir(exist_ok=True)
    out = subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=child_env(home),
        timeout=180,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


# The plan ---------------------------------------------------------------------------------


def test_collect_tasks_lists_the_agents_of_the_seed_pipelines():
    backend = PrefectBackend(work_pool="gpu-pool")
    tasks = _collect_tasks(backend.compile(SEED_RESEARCH.to_ir()).node_plan)
    assert [t["name"] for t in tasks] == ["researcher", "analyst", "writer"]
    assert {t["prefect_type"] for t in tasks} == {"task"}
    assert [t["model"] for t in tasks] == [None, None, None]

    parallel_plan = backend.compile(SEED_PARALLEL.to_ir()).node_plan
    assert [(n["node_type"], n["prefect_type"]) for n in parallel_plan] == [
        ("ParallelNode", "flow"),
        ("AgentNode", "task"),
        ("AgentNode", "task"),
    ]
    assert [t["name"] for t in _collect_tasks(parallel_plan)] == ["web_search", "paper_search"]

    loop_plan = backend.compile(SEED_LOOP.to_ir()).node_plan
    assert [n["max_iterations"] for n in loop_plan] == [3, None, None]
    assert [t["name"] for t in _collect_tasks(loop_plan)] == ["writer", "critic"]


def test_collect_tasks_skips_transforms_maps_and_composites():
    plan = PrefectBackend().compile(rich_pipeline().to_ir()).node_plan
    names = [t["name"] for t in _collect_tasks(plan)]
    assert names == [
        "researcher",
        "web",
        "papers",
        ODD_NAME,
        "define",
        "critic",
        "drafter",
        "editor",
    ]


# Configuration ----------------------------------------------------------------------------


def test_config_defaults_the_deployment_name_to_the_flow_name():
    config = PrefectWorkerConfig(flow_name="research", work_pool="gpu-pool")
    assert config.deployment_name == "research"
    assert (config.task_retries, config.flow_retries, config.provider) == (0, 0, "fake")
    named = PrefectWorkerConfig(flow_name="research", work_pool="p", deployment_name="nightly")
    assert named.deployment_name == "nightly"


@pytest.mark.parametrize(
    "options",
    [
        {"provider": "sk-proj-abc123"},
        {"provider": "openai:sk-abc"},
        {"provider": "openai:"},
        {"provider": "anthropic:claude"},
        {"task_retries": -1},
        {"flow_retries": True},
        {"retry_delay_seconds": float("nan")},
        {"flow_name": " "},
    ],
)
def test_config_rejects_api_keys_and_bad_values(options):
    with pytest.raises(IrgraphError):
        PrefectWorkerConfig(**{"flow_name": "f", "work_pool": "p", **options})


def test_a_transform_without_an_import_path_cannot_be_generated():
    pipeline = Agent("a").instruct("Go.").writes("x") >> Transform("up", lambda x: x.upper()).reads(
        "x"
    ).writes("y")
    with pytest.raises(PipelineError, match="cannot import"):
        generated(pipeline)


GENERATOR = """\
from irgraph import Agent, Loop, PipelineError, Route, Transform
from irgraph.backends.prefect_backend import PrefectBackend
from irgraph.backends.prefect_worker import PrefectWorkerConfig, generate_flow_code

"""
GENERATOR += MAIN_FUNCTIONS_SCRIPT
GENERATOR += """try:
    generate_flow_code(PrefectBackend().compile(pipeline.to_ir()), PrefectWorkerConfig("f", "p"))
except PipelineError as error:
    print([problem.node for problem in error.problems])
    print(error)
"""


def test_generating_flow_code_that_calls_functions_of_a_script_run_as_main_is_refused(tmp_path):
    """A script run as ``python generator.py`` names its functions ``__main__:name``; a worker
    runs the generated module in a process where ``__main__`` is another program, so the
    module could never import them: generating it is refused, naming every such function."""
    (tmp_path / "generator.py").write_text(GENERATOR)
    done = subprocess.run(
        [sys.executable, "generator.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    nodes, said = done.stdout.split("\n", 1)
    assert nodes == "['loud', 'triage', 'again']", done.stdout
    for node, function in (("loud", "shout"), ("triage", "is_long"), ("again", "done")):
        assert f"'{node}' calls '__main__:{function}', a function of the script" in said, said
    assert "Move shout into an importable module" in said and "from steps import shout" in said


@pytest.mark.parametrize("module", ["prefect_worker", "prefect_codegen", "prefect_runtime"])
def test_importing_the_worker_modules_does_not_import_prefect(module):
    code = f"import sys, irgraph.backends.{module}; print('prefect' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "False"


# The generated code -----------------------------------------------------------------------


def module_constants(code: str) -> dict[str, Any]:
    tree = ast.parse(code)
    return {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Name)
        and node.targets[0].id.isupper()
        and not isinstance(node.value, (ast.BinOp, ast.Call, ast.IfExp))  # made, not literal
    }


def task_names(tree: ast.Module) -> list[str]:
    names = []
    for node in tree.body:
        if isinstance(node, ast.AsyncFunctionDef):
            for deco in node.decorator_list:
                if isinstance(deco, ast.Call) and getattr(deco.func, "id", None) == "task":
                    names += [k.value.value for k in deco.keywords if k.arg == "name"]
    return names


def test_seed_code_has_one_cached_task_per_agent_and_the_config_settings():
    backend = PrefectBackend(work_pool="gpu-pool")
    config = PrefectWorkerConfig(
        flow_name="research_pipeline", work_pool="gpu-pool", task_retries=3
    )
    code = generate_flow_code(backend.compile(SEED_RESEARCH.to_ir()), config)
    tree = ast.parse(code)
    assert task_names(tree) == ["researcher", "analyst", "writer"]
    constants = module_constants(code)
    assert constants["FLOW_NAME"] == constants["DEPLOYMENT_NAME"] == "research_pipeline"
    assert constants["WORK_POOL"] == "gpu-pool"
    assert constants["TASK_RETRIES"] == 3
    assert constants["PROVIDER"] == "fake"
    assert constants["INPUTS"] == ()
    assert "persist_result=True" in code and "cache_key_fn=AGENT_CACHE_KEY" in code
    flows = [
        n for n in tree.body if isinstance(n, ast.AsyncFunctionDef) and n.name.endswith("_flow")
    ]
    assert [f.name for f in flows] == ["research_pipeline_flow"]
    assert [a.arg for a in flows[0].args.args] == ["state", "run_key"]
    assert 'if __name__ == "__main__":' in code


def test_code_mirrors_parallels_loops_and_map_overs():
    backend = PrefectBackend()
    config = PrefectWorkerConfig(flow_name="f", work_pool="p")
    parallel = generate_flow_code(backend.compile(SEED_PARALLEL.to_ir()), config)
    assert "await together(" in parallel
    loop = generate_flow_code(backend.compile(SEED_LOOP.to_ir()), config)
    assert "for iteration in range(3):" in loop
    rich = generated(rich_pipeline())
    assert "ChainMap(local, state)" in rich and "asyncio.Semaphore(2)" in rich
    assert "await until_holds(\n            'tests.support.pipelines:stop_when_done'," in rich
    assert "function='tests.support.pipelines:split_words'" in rich
    assert module_constants(rich)["INPUTS"] == ("topic",)


GOLDEN = ROOT / "tests" / "golden"
GOLDEN_FLOWS = {
    "seed_research": lambda: generated(SEED_RESEARCH, flow_name="research_pipeline"),
    "seed_parallel": lambda: generated(SEED_PARALLEL),
    "seed_loop": lambda: generated(SEED_LOOP),
    "rich": lambda: generated(rich_pipeline(), task_retries=2, result_dir="results"),
    "gated": lambda: generated(GATED, flow_name="gated"),
}


@pytest.mark.parametrize("name", sorted(GOLDEN_FLOWS))
def test_generated_code_matches_its_golden_file(name):
    """Rewrite the files with IRGRAPH_UPDATE_GOLDEN=1, then review their diff."""
    code = GOLDEN_FLOWS[name]()
    path = GOLDEN / f"prefect_flow_{name}.txt"
    if os.environ.get("IRGRAPH_UPDATE_GOLDEN"):
        path.write_text(code, encoding="utf-8")
    assert code == path.read_text(encoding="utf-8")


def test_the_same_pipeline_gives_byte_identical_code_in_every_process():
    first = generated(rich_pipeline(), task_retries=2, result_dir="results")
    assert generated(rich_pipeline(), task_retries=2, result_dir="results") == first
    script = (
        "import sys; from tests.test_prefect_worker import generated, rich_pipeline; "
        "sys.stdout.write(generated(rich_pipeline(), task_retries=2, result_dir='results'))"
    )
    for seed in ("0", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        out = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            check=True,
            cwd=ROOT,
            env=env,
        )
        assert out.stdout.decode("utf-8") == first


def test_generated_modules_have_no_undefined_or_unused_names(tmp_path):
    modules = {
        "seed_research": generated(SEED_RESEARCH),
        "seed_parallel": generated(SEED_PARALLEL),
        "seed_loop": generated(SEED_LOOP),
        "rich": generated(rich_pipeline(), result_dir="results"),
        "gated": generated(GATED),
    }
    for name, code in modules.items():
        (tmp_path / f"{name}.py").write_text(code, encoding="utf-8")
    pyflakes = ["check", "--isolated", "--select", "F,E9", "--output-format", "concise"]
    out = subprocess.run(
        [sys.executable, "-m", "ruff", *pyflakes, str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr


# Injection-proofing -----------------------------------------------------------------------

names = st.text(min_size=1, max_size=12).filter(str.strip)
literal = st.text(max_size=16).map(lambda s: s.replace("{", "{{").replace("}", "}}"))
instructions = st.builds(
    lambda a, field, b: a + field + b,
    literal,
    st.sampled_from(["", "{topic}", "{topic?}"]),
    literal,
)
models = st.none() | st.text(max_size=12)
refs = (
    st.text(max_size=12)
    .filter(lambda s: "<" not in s)
    .map(lambda s: "tests.support.pipelines:" + s)
)


@st.composite
def odd_pipelines(draw: Any) -> SequenceNode:
    n = [draw(names) for _ in range(12)]
    ask = [draw(instructions) for _ in range(6)]
    until = draw(st.none() | st.just("k0") | refs.map(FunctionRef))
    return SequenceNode(
        n[0],
        (
            AgentNode(n[1], instruction=ask[0], writes="k0", model=draw(models)),
            ParallelNode(
                n[2],
                (
                    AgentNode(n[3], instruction=ask[1], writes="k1", model=draw(models)),
                    SequenceNode(n[4], (AgentNode(n[5], instruction=ask[2], writes="k2"),)),
                ),
            ),
            TransformNode(n[6], FunctionRef(draw(refs)), reads=("k0",), writes="k3"),
            MapOverNode(
                n[7],
                (AgentNode(n[8], instruction=ask[3] + "{it}", writes="k4"),),
                over="k3",
                item="it",
                collect="k4",
                writes="k5",
            ),
            LoopNode(
                n[9],
                (AgentNode(n[10], instruction=ask[4], writes="k6", timeout=1.5),),
                max_iterations=draw(st.integers(1, 4)),
                until=until,
            ),
            GateNode(n[11], message=ask[5], writes="k7"),
        ),
    )


prefect_names = names.map(
    prefect_name
)  # Prefect's own names: refused ones are in test_prefect_names
configs = st.builds(
    PrefectWorkerConfig,
    flow_name=prefect_names,
    work_pool=prefect_names,
    task_retries=st.integers(0, 5),
    flow_retries=st.integers(0, 5),
    retry_delay_seconds=st.floats(0, 100),
    provider=st.just("fake")
    | st.text(min_size=1, max_size=12)
    .filter(lambda s: s.strip() and not s.startswith("sk-"))
    .map(lambda s: "openai:" + s),
    deployment_name=st.none() | prefect_names,
    result_dir=st.none()  # '~...' is refused (a test of its own)
    | st.text(min_size=1, max_size=12).filter(
        lambda s: "\x00" not in s and os.path.expanduser(s) == s
    ),
    cache_across_runs=st.booleans(),
)


@given(odd_pipelines(), configs)
def test_any_names_and_texts_give_valid_code_whose_literals_equal_them(ir, config):
    compiled = PrefectBackend().compile(ir)
    code = generate_flow_code(compiled, config)
    assert generate_flow_code(compiled, config) == code
    tree = ast.parse(code)
    compile(code, "generated.py", "exec")
    assert ast.get_docstring(tree).startswith("A Prefect flow generated by irgraph")

    strings = {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    G = compiled.graph
    for nid, data in G.nodes(data=True):
        assert nid in strings
        for text in (data.get("instruction"), data.get("model")):
            assert text is None or text in strings
    assert {d["function"] for _, d in G.nodes(data=True) if d["kind"] == "transform"} <= strings
    constants = module_constants(code)
    assert constants["FLOW_NAME"] == config.flow_name
    assert constants["WORK_POOL"] == config.work_pool
    assert constants["DEPLOYMENT_NAME"] == config.deployment_name
    assert constants["PROVIDER"] == config.provider
    assert constants["RESULT_DIR"] == config.result_dir
    assert constants["RETRY_DELAY_SECONDS"] == config.retry_delay_seconds

    agents = [nid for nid, data in G.nodes(data=True) if data["kind"] == "agent"]
    assert task_names(tree) == [prefect_name(nid) for nid in agents]
    calls = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("ask", "gate"):
            kw = {
                k.arg: ast.literal_eval(k.value)
                for k in node.keywords
                if not isinstance(k.value, ast.Name)  # storage=RESULT_STORAGE, a setting
            }
            calls[kw["node"]] = kw
    for nid, data in G.nodes(data=True):
        if data["kind"] == "agent":
            assert calls[nid]["instruction"] == data["instruction"]
            assert calls[nid]["name"] == data["label"]
            assert calls[nid]["model"] == data["model"]
        elif data["kind"] == "gate":
            assert calls[nid]["message"] == data["message"]
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            assert node.name.isascii() and node.name.isidentifier()


NASTY = [
    "a\nb",
    "carriage\rreturn",
    "nul\x00",
    "line\u2028sep",
    "lone \ud800 surrogate",
    '"""; import os  #',
    "'''",
    "back\\slash\\",
    "{{braces}}",
    "# comment",
    "emoji 🦉",
]


@pytest.mark.parametrize("text", NASTY)
def test_nasty_text_stays_inside_its_literals(text):
    ir = SequenceNode(
        text,
        (
            AgentNode(text, instruction=text.replace("{", "{{").replace("}", "}}"), model=text),
            TransformNode(text + "!", FunctionRef("tests.support.pipelines:" + text)),
        ),
    )
    # Names Prefect takes go into the code as they are; others are refused (test_prefect_names).
    name = text if is_prefect_name(text) else prefect_name(text)
    result_dir = text.replace("\x00", "")
    config = PrefectWorkerConfig(
        flow_name=name, work_pool=name, deployment_name=name, result_dir=result_dir
    )
    code = generate_flow_code(PrefectBackend().compile(ir), config)
    code.encode("utf-8")
    tree = ast.parse(code)
    assert ast.get_docstring(tree).startswith("A Prefect flow generated by irgraph")
    constants = module_constants(code)
    assert constants["FLOW_NAME"] == constants["WORK_POOL"] == name
    assert constants["RESULT_DIR"] == result_dir
    assert task_names(tree) == [prefect_name(text)]
    literals = {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)}
    assert text in literals  # the node id itself is still in the code, for ask(node=...)


# Running the generated module -------------------------------------------------------------


@pytest.mark.prefect
@pytest.mark.slow
def test_generated_module_run_gives_the_asyncio_backends_final_state(tmp_path):
    path = tmp_path / "rich_flow.py"
    path.write_text(generated(rich_pipeline()), encoding="utf-8")
    final = run_flow_process([str(path), "run", "--state", json.dumps(RICH_STATE)], tmp_path)
    assert final == asyncio_state(rich_pipeline(), RICH_STATE)


DRIVER = textwrap.dedent(
    """
    import asyncio, importlib.util, json, sys
    from prefect import get_client
    from prefect.client.schemas.filters import (
        FlowFilter, FlowFilterName, FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType,
    )
    from prefect.client.schemas.sorting import FlowRunSort
    from irgraph.backends.prefect_runtime import model_provider, resume_when_paused

    def load(path, name):
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    rich, gated = load(sys.argv[1], "rich_module"), load(sys.argv[2], "gated_module")
    gated_flow = getattr(gated, sys.argv[4] + "_flow")
    state = json.loads(sys.argv[3])
    calls = model_provider("fake").calls
    report = {}
    for label, key in (("first", "k1"), ("again", "k1"), ("other", "k2"), ("fresh", None)):
        before = len(calls)
        final = asyncio.run(rich.rich_flow(state=state, run_key=key))
        report[label] = {"calls": len(calls) - before, "state": final}

    async def answer(count):
        paused = FlowRunFilter(
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=["PAUSED"]))
        )
        # explicit sort and limit: this FastAPI rejects the client's nulls for them
        # only this flow's runs: the server is shared with other tests' paused runs
        ours = FlowFilter(name=FlowFilterName(any_=[gated.FLOW_NAME]))
        query = dict(flow_run_filter=paused, flow_filter=ours, sort=FlowRunSort.ID_DESC, limit=5)
        async with get_client() as client:
            for n in range(count):
                while not (runs := await client.read_flow_runs(**query)):
                    await asyncio.sleep(0.1)
                # paused is not yet ready: it waits until the flow has saved its input schema
                await resume_when_paused(str(runs[0].id), f"yes {n}", timeout=60)

    async def gated_run():
        final, _ = await asyncio.gather(gated_flow(state=state), answer(2))
        return final

    report["gated"] = {"state": asyncio.run(asyncio.wait_for(gated_run(), 60))}
    print(json.dumps(report))
    """
)


@pytest.mark.prefect
@pytest.mark.slow
def test_agents_are_cached_per_run_key_and_gates_pause_until_resumed(tmp_path):
    rich_path = tmp_path / "rich_flow.py"
    rich_path.write_text(generated(rich_pipeline(), result_dir="results"), encoding="utf-8")
    gated_path = tmp_path / "gated_flow.py"
    gated_name = f"gated_{uuid.uuid4().hex[:8]}"  # its paused runs are found by this name
    gated_path.write_text(generated(GATED, flow_name=gated_name), encoding="utf-8")
    args = [str(rich_path), str(gated_path), json.dumps(RICH_STATE), gated_name]
    report = run_flow_process(["-c", DRIVER, *args], tmp_path)
    fake = FakeProvider()
    expected = asyncio_state(rich_pipeline(), RICH_STATE, fake)
    agent_calls = len(fake.calls)
    assert report["first"]["calls"] == agent_calls
    assert report["again"]["calls"] == 0  # same run key: every answer comes from the cache
    assert report["other"]["calls"] == agent_calls
    assert report["fresh"]["calls"] == agent_calls  # default run key: the new flow run's id
    for label in ("first", "again", "other", "fresh"):
        assert report[label]["state"] == expected
    assert len(list((tmp_path / "results").iterdir())) == 3 * agent_calls

    answers = iter(["yes 0", "yes 1"])
    gated = run(
        GATED,
        backend="asyncio",
        provider=FakeProvider(),
        state=RICH_STATE,
        on_gate=lambda request: next(answers),
    ).state
    assert report["gated"]["state"] == gated
    assert gated["answer"] == "yes 1"  # the gate paused again in the second iteration


@pytest.mark.parametrize("given", ["builder", "ir"])
def test_generate_flow_code_given_an_uncompiled_pipeline_says_to_compile_it(given):
    pipeline = Agent("writer").instruct("Write about {topic}.").writes("text")
    config = PrefectWorkerConfig("notes", work_pool="local")
    with pytest.raises(IrgraphError, match=r"needs a compiled pipeline.*compile\(pipeline"):
        generate_flow_code(pipeline if given == "builder" else pipeline.to_ir(), config)


def test_a_result_dir_under_an_unexpanded_home_is_refused_when_the_config_is_built():
    """The generated module took '~/results' as a folder '~' beside itself, and failed on
    the worker saying that folder does not exist."""
    with pytest.raises(PipelineError, match=r"result_dir '~/results' starts with '~'.*expanduser"):
        PrefectWorkerConfig("notes", work_pool="local", result_dir="~/results")
    assert PrefectWorkerConfig("notes", work_pool="local", result_dir="a~b").result_dir == "a~b"
