"""A function path read from untrusted data that names no module's function (helper K's
trial): refused before anything runs, without advising to allow a "module" no ``allow=`` can
name, and a path too long to read shown by its start."""

from __future__ import annotations

import json

import pytest

from irgraph import Agent, PipelineError, Transform, run
from irgraph.ir import from_json, to_json
from irgraph.testing import FakeProvider


def saved(function: str) -> str:
    pipeline = Agent("a").instruct("{topic}").writes("x") >> Transform("t", "builtins:len").reads(
        "x"
    ).writes("y")
    data = json.loads(to_json(pipeline.to_ir()))
    data["root"]["children"][1]["fn"]["function"] = function
    return json.dumps(data)


@pytest.mark.parametrize(
    "function", ["~/tools:run", "/etc/evil:run", " os:system", "os :system", ":", "os:system\n"]
)
def test_a_path_that_is_no_import_path_is_not_offered_an_allow(function):
    provider = FakeProvider()
    with pytest.raises(PipelineError) as caught:
        run(from_json(saved(function)), provider=provider, state={"topic": "owls"})
    message = str(caught.value)
    assert "no import path" in message and "'package.module:function'" in message
    assert "allow=[" + repr(function.partition(":")[0]) not in message  # refused by allow=
    assert provider.calls == []  # before anything ran


def test_a_giant_path_is_shown_by_its_start():
    giant = "a" * 50_000 + ":run"
    with pytest.raises(PipelineError) as caught:
        run(from_json(saved(giant)), provider=FakeProvider(), state={"topic": "owls"})
    assert len(str(caught.value)) < 1_000 and "no import path" in str(caught.value)


def test_an_import_path_still_names_the_module_to_allow():
    with pytest.raises(PipelineError) as caught:
        run(from_json(saved("os:system")), provider=FakeProvider(), state={"topic": "owls"})
    assert "allow=['os']" in str(caught.value)
