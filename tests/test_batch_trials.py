"""Findings of the outside batch trial: a keyed batch resumes in another process exactly when
its pipeline is unchanged, functions without an import path included."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from irgraph import Agent, Gate, PipelineError, run_many
from irgraph.ir import function_ref
from irgraph.testing import FakeProvider

ROOT = Path(__file__).resolve().parents[1]

# One keyed batch of one item; argv[1] picks the transform, argv[2] a value it is made with.
SCRIPT = """
import functools, json, sys
from irgraph import Agent, Transform, run_many
from irgraph.testing import FakeProvider

def cut(findings, n):
    return findings[:n]

class Cut:
    def __init__(self, n):
        self.n = n
    def __call__(self, findings):
        return findings[: self.n]

class Opaque:  # a value with no stable representation
    def __init__(self, n):
        self.n = n

def make(n):
    return lambda findings: findings[:n]

kind, n = sys.argv[1], int(sys.argv[2])
transforms = {
    "partial": lambda: functools.partial(cut, n=n),
    "object": lambda: Cut(n),
    "closure": lambda: make(n),
    "default": lambda: eval(f"lambda findings, n={n}: findings[:n]"),
    "opaque": lambda: (lambda opaque: lambda findings: findings[: opaque.n])(Opaque(n)),
}
pipeline = Agent("r").instruct("Research {topic}.").writes("findings") >> Transform(
    "cut", transforms[kind]()
).reads("findings").writes("short")
try:
    items = list(run_many(pipeline, [{"topic": "owls"}], provider=FakeProvider(), batch_key="b"))
except Exception as error:
    print(json.dumps({"refused": str(error)}))
else:
    print(json.dumps([{"short": i.state["short"], "resumed": i.resumed} for i in items]))
"""


def batch(here: Path, kind: str, n: int) -> Any:
    """Run the script's batch in a process of its own (its own memory addresses)."""
    script = here / "batch_script.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "random"}
    done = subprocess.run(
        [sys.executable, str(script), kind, str(n)],
        cwd=here,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


@pytest.mark.parametrize("kind", ["partial", "object"])
def test_a_keyed_batch_with_a_partial_or_callable_object_resumes_in_a_new_process(tmp_path, kind):
    first = batch(tmp_path, kind, 5)
    assert first == [{"short": "<r: R", "resumed": False}]
    assert batch(tmp_path, kind, 5) == [{"short": "<r: R", "resumed": True}]


@pytest.mark.parametrize("kind", ["partial", "object"])
def test_a_partial_or_callable_object_with_other_arguments_is_another_pipeline(tmp_path, kind):
    batch(tmp_path, kind, 5)
    again = batch(tmp_path, kind, 12)
    assert "its node 'cut' has another function" in again["refused"]


def cut(findings: str, n: int) -> str:
    return findings[:n]


class Cut:
    def __init__(self, n: int) -> None:
        self.n = n

    def __call__(self, findings: str) -> str:
        return findings[: self.n]


def test_callables_without_an_import_path_are_named_without_a_memory_address():
    import functools
    import operator

    names = {
        "partial": function_ref(functools.partial(cut, n=5), node="cut").ref,
        "object": function_ref(Cut(5), node="cut").ref,
        "itemgetter": function_ref(operator.itemgetter("a"), node="cut").ref,
    }
    assert names == {
        "partial": f"?:functools.partial({__name__}:cut, n=5)",
        "object": f"?:{__name__}.Cut(n=5)",
        "itemgetter": "?:operator.itemgetter('a')",
    }
    assert not function_ref(names["partial"], node="cut").importable


@pytest.mark.parametrize("kind", ["closure", "default"])
def test_a_lambda_whose_captured_value_or_default_changed_is_another_pipeline(tmp_path, kind):
    assert batch(tmp_path, kind, 5) == [{"short": "<r: R", "resumed": False}]
    assert batch(tmp_path, kind, 5) == [{"short": "<r: R", "resumed": True}]
    again = batch(tmp_path, kind, 12)
    assert "its node 'cut' has another function" in again["refused"]


def test_a_captured_value_of_no_stable_representation_counts_by_its_type(tmp_path):
    # Documented: such a value's state is not compared, and no memory address is either, so
    # the batch resumes in a new process.
    assert batch(tmp_path, "opaque", 5) == [{"short": "<r: R", "resumed": False}]
    assert batch(tmp_path, "opaque", 5) == [{"short": "<r: R", "resumed": True}]


def test_captured_values_and_defaults_name_a_lambda_by_their_content():
    def make(n: Any) -> Any:
        return lambda findings: findings[:n]

    def named(fn: Any) -> str:
        return function_ref(fn, node="cut").ref

    assert named(make(5)) == named(make(5)) != named(make(12))
    assert named(make({"b": 1, "a": {2, 1}})) == named(make({"a": {1, 2}, "b": 1}))
    assert named(lambda t, n=5: t) != named(lambda t, n=6: t)
    assert named(make(object())) == named(make(object()))  # by type: no address

    def recursive(n: int) -> int:  # in its own closure
        return 1 if n <= 0 else n * recursive(n - 1)

    assert "#" in named(recursive)


# Finding 4: identical items of a keyed batch are one item -----------------------------------


def test_identical_items_with_a_gate_share_one_run_and_resume_with_its_answer(tmp_path):
    pipeline = Agent("writer").instruct("Draft {topic}.").writes("draft") >> Gate(
        "approve", "Publish {draft}?"
    ).writes("verdict")
    for attempt in (1, 2):
        asked: list[str] = []

        def on_gate(request: Any, asked: list[str] = asked) -> str:
            asked.append(request.node)
            return f"answer{len(asked)}"

        provider = FakeProvider()
        items = list(
            run_many(
                pipeline,
                [{"topic": "a"}] * 3 + [{"topic": "b"}],
                provider=provider,
                batch_key="k",
                store=tmp_path,
                on_gate=on_gate,
            )
        )
        verdicts = {item.index: item.state["verdict"] for item in items}
        assert verdicts[0] == verdicts[1] == verdicts[2] != verdicts[3]
        if attempt == 1:
            assert len(asked) == 2 and len(provider.calls) == 2
            first = verdicts
            assert not any(item.resumed for item in items)
        else:  # every copy resumes with the answer every copy got
            assert asked == [] and provider.calls == []
            assert verdicts == first and all(item.resumed for item in items)


def test_a_copy_of_an_item_that_fails_while_it_waits_gets_the_same_failure(tmp_path):
    asked: list[str] = []

    def refuse(request: Any) -> str:
        asked.append(request.node)
        raise ValueError("not today")

    pipeline = Agent("writer").instruct("Draft {topic}.").writes("draft") >> Gate("approve")
    provider = FakeProvider()
    items = list(
        run_many(
            pipeline,
            [{"topic": "a"}] * 2,
            provider=provider,
            batch_key="k",
            store=tmp_path,
            on_gate=refuse,
        )
    )
    assert [item.ok for item in items] == [False, False] and len(provider.calls) == 1
    assert len(asked) == 1  # the copy waited for the first one's run
    assert str(items[0].error) == str(items[1].error)


# Finding 8: an item that is not a state is named; BatchError comes from irgraph -------------


@pytest.mark.parametrize(
    ("item", "shown"),
    [("oops", "'oops' of type str"), (42, "42 of type int"), (["topic"], "['topic'] of type list")],
)
def test_an_item_that_is_not_a_mapping_is_named_by_its_index(item, shown):
    pipeline = Agent("w").instruct("W {topic}").writes("t")
    found = {
        i.index: i for i in run_many(pipeline, [{"topic": "a"}, item], provider=FakeProvider())
    }
    assert found[0].ok and not found[1].ok
    error = found[1].error
    assert isinstance(error, PipelineError)
    assert str(error) == (
        f"Item 1 of the batch is {shown}, not a state: every item of run_many()'s states must "
        "be a mapping of state keys to values. Give each item as a dict of its inputs: "
        "[{'topic': x} for x in topics]."
    )
    assert "state=" not in str(error)


@pytest.mark.parametrize(
    ("pipeline", "hint"),
    [
        (
            Agent("w").instruct("W {notes} {topic} {tone?}").writes("t"),
            "Give each item as a dict of its inputs (notes, topic), "
            "e.g. {'notes': ..., 'topic': ...}.",
        ),
        (
            Agent("w").instruct("W {news}").writes("t"),
            "Give each item as a dict of its inputs: [{'news': x} for x in news_list].",
        ),
        (Agent("w").instruct("W").writes("t"), "Give every item as a dict, e.g. {'topic': 'owls'}"),
    ],
)
def test_an_item_given_as_a_plain_value_is_told_the_pipelines_own_inputs(pipeline, hint):
    """run_many(pipeline, ["owls", "bats"]) said only that 'owls' is a str: the fix is told
    with the pipeline's own input names (its optional reads are no inputs it must be given)."""
    items = list(run_many(pipeline, ["owls", "bats"], provider=FakeProvider()))
    assert [i.ok for i in items] == [False, False]
    for item in items:
        assert hint in str(item.error)


def test_batch_error_is_importable_from_irgraph_and_is_what_fail_fast_raises():
    import irgraph
    from irgraph import BatchError, RunError

    assert "BatchError" in irgraph.__all__ and issubclass(BatchError, RunError)
    pipeline = Agent("w").instruct("W {topic}").writes("t")
    with pytest.raises(BatchError) as raised:
        list(run_many(pipeline, ["oops"], provider=FakeProvider(), fail_fast=True))
    assert raised.value.index == 0


@pytest.mark.parametrize("how", ["-c", "-"])
def test_run_many_in_python_c_or_a_script_on_stdin_warns_of_a_misspelt_key(tmp_path, how):
    """run_many's warning of a misspelt optional key points at the user's line, in the module
    that called it: the __main__ of ``python -c`` or of ``python -`` has no source to show,
    and Python's warn_explicit raised ImportError asking for it, ending the whole batch."""
    code = (
        "from irgraph import Agent, run_many\n"
        "p = Agent('w').instruct('Write about {topic} in a {style?} style.').writes('text')\n"
        "items = list(run_many(p, [{'topic': 'owls', 'styel': 'x'}, {'topic': 'bats'}]))\n"
        "print(sorted(item.state['topic'] for item in items))\n"
    )
    argv, given = (
        ([sys.executable, "-c", code], None) if how == "-c" else ([sys.executable, "-"], code)
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(argv, input=given, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "['bats', 'owls']\n"
    assert "UserWarning: The initial state gives 'styel'" in done.stderr
