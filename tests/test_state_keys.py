"""A given state key that is an optional read misspelled ({style?} given as 'styel') is told
as a warning: the run went on with the read empty and said nothing."""

from __future__ import annotations

import asyncio
import io
import sys
import warnings

import pytest

from irgraph import Agent, arun, run, run_many, to_graph, validate
from irgraph.backends.asyncio_backend import AsyncioBackend
from irgraph.cli import main
from irgraph.testing import FakeProvider
from tests.support.batch_dir import batch_dir, batch_in
from tests.support.modules import importable

PIPELINE = Agent("w").instruct("Write about {topic}. {style?}").writes("out")


def told(state: dict, pipeline=PIPELINE) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run(pipeline, provider=FakeProvider(), state=state)
    assert "out" in result.state
    return [str(w.message) for w in caught if issubclass(w.category, UserWarning)]


def test_a_misspelled_optional_key_is_told_naming_both_keys():
    (said,) = told({"topic": "owls", "styel": "short"})
    assert said.startswith("The initial state gives 'styel', which nothing in the pipeline ")
    assert "did you mean 'style'? The pipeline reads {style?}, which is optional" in said


@pytest.mark.parametrize(
    "state",
    [
        {"topic": "owls", "style": "short"},  # given right
        {"topic": "owls", "id": 7, "label": "x"},  # a data set's other columns
        {"topic": "owls", "style": "short", "styel": "x"},  # the read is given
    ],
)
def test_keys_that_are_not_an_unset_optional_read_misspelled_are_not_told(state):
    assert told(state) == []


def test_an_optional_read_a_step_writes_is_not_asked_for():
    pipeline = Agent("s").instruct("Pick {topic}.").writes("style") >> PIPELINE
    assert told({"topic": "owls", "styel": "x"}, pipeline) == []


def test_a_batch_tells_it_for_its_items():
    states = [{"topic": "owls", "styel": "short"}, {"topic": "bats"}]
    with pytest.warns(UserWarning, match="gives 'styel'.*did you mean 'style'"):
        items = list(run_many(PIPELINE, states, provider=FakeProvider()))
    assert all(item.ok for item in items)


def test_the_command_line_says_it_on_one_line_of_its_own(tmp_path, monkeypatch, capsys):
    module = "irgraph_state_keys_pipelines"
    source = 'from irgraph import Agent\n\npipeline = Agent("w").instruct("On {topic}. {style?}")\n'
    batch_dir(tmp_path, monkeypatch, module, source, [])
    (tmp_path / "in.jsonl").write_text('{"topic": "owls", "styel": "short"}\n')
    assert batch_in(f"{module}:pipeline", "-o", "out.jsonl")[0] == 0
    err = capsys.readouterr().err
    assert err.startswith("irgraph: warning: The initial state gives 'styel', which nothing ")
    assert "UserWarning" not in err and "validate.py" not in err


def test_the_run_command_says_it_on_one_line_too(tmp_path, monkeypatch, capsys):
    """``irgraph run`` showed it as Python does, pointing at the irgraph script's line."""
    module = "irgraph_state_keys_run_pipelines"
    source = 'from irgraph import Agent\n\npipeline = Agent("w").instruct("On {topic}. {style?}")\n'
    importable(tmp_path, monkeypatch, module, source)
    argv = ["run", f"{module}:pipeline", "--state", "topic=owls", "--state", "styel=x"]
    assert main(argv, out=io.StringIO()) == 0
    err = capsys.readouterr().err
    assert err.startswith("irgraph: warning: The initial state gives 'styel', which nothing ")
    assert "UserWarning" not in err


def _where(call) -> set[tuple[str, int]]:
    """Where the misspelt-key warnings ``call()`` gives point: (file, line) of each."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return {(w.filename, w.lineno) for w in caught if "did you mean 'style'" in str(w.message)}


def test_the_warning_points_at_the_users_call_not_at_irgraph():
    """It pointed at irgraph/validate.py, where the run checks its state."""
    state = {"topic": "owls", "styel": "short"}
    calls = [
        lambda: run(PIPELINE, provider=FakeProvider(), state=state),
        lambda: asyncio.run(arun(PIPELINE, provider=FakeProvider(), state=state)),
        lambda: AsyncioBackend(provider=FakeProvider()).compile(PIPELINE.to_ir()).run(state=state),
    ]
    for call in calls:
        assert _where(call) == {(__file__, call.__code__.co_firstlineno)}


def test_the_warning_of_a_run_on_a_helper_thread_points_at_the_users_call():
    """run_many's items, and run() inside a running event loop (Jupyter's), run on a helper
    thread whose stack holds no user line: the warning pointed at irgraph/validate.py."""
    states = [{"topic": "owls", "styel": "short"}, {"topic": "bats", "styel": "long"}]

    async def in_a_notebook() -> None:
        run(PIPELINE, provider=FakeProvider(), state=states[0])

    calls = [
        lambda: list(run_many(PIPELINE, states, provider=FakeProvider())),
        lambda: asyncio.run(in_a_notebook()),
    ]
    lines = [calls[0].__code__.co_firstlineno, in_a_notebook.__code__.co_firstlineno + 1]
    for call, line in zip(calls, lines, strict=True):
        assert _where(call) == {(__file__, line)}
    items = run_many(PIPELINE, states, provider=FakeProvider())  # the line that called it
    called_at = sys._getframe().f_lineno - 1
    assert _where(lambda: list(items)) == {(__file__, called_at)}


def test_validate_tells_a_declared_input_that_is_an_optional_read_misspelled():
    """validate(to_graph(p, inputs={'topic', 'styel'})) said nothing: only a run given that
    state warned."""
    (said,) = validate(to_graph(PIPELINE, inputs={"topic", "styel"}))
    assert said.startswith(
        "The input 'styel' is declared, but nothing in the pipeline reads it; did you mean "
        "'style'? The pipeline reads {style?}, which is optional"
    ), said
    assert validate(to_graph(PIPELINE, inputs={"topic"}), inputs={"styel"}) == [said]
    assert validate(to_graph(PIPELINE, inputs={"topic", "style", "id"})) == []


def test_the_check_command_tells_it_for_an_input_it_is_given(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "styled.py").write_text(
        "from irgraph import Agent\np = Agent('w').instruct('Write about {topic}. {style?}')\n"
    )
    out = io.StringIO()
    assert main(["check", "styled:p", "--input", "topic", "--input", "styel"], out=out) == 0
    assert "warning: The input 'styel' is declared" in out.getvalue(), out.getvalue()
