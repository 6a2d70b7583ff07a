"""A map-over's item named like a key used outside its body is a warning naming both and the
fix (:mod:`irgraph.item_shadows`): inside the body the item hides that key, and the run gave
the item where the prompt meant the input, with nothing said."""

from __future__ import annotations

from pathlib import Path

import pytest

from irgraph import Agent, MapOver, PipelineError, run, to_graph, validate
from irgraph.cli import main
from irgraph.testing import FakeProvider


def _each(item: str, reads: str | None = None, writes: str = "summaries") -> MapOver:
    summarise = Agent("s").instruct(f"Summarise {{{reads or item}}}.").writes("summary")
    return MapOver("each").over("papers", item=item).step(summarise).writes(writes)


def test_an_item_named_like_an_input_is_a_warning_and_the_run_shows_why():
    pipeline = Agent("intro").instruct("Introduce {topic}.").writes("intro") >> _each("topic")
    assert validate(to_graph(pipeline, inputs={"topic", "papers"})) == [
        "MapOver 'each' names its item 'topic', which is also an input of the pipeline: inside "
        "'each', {topic} is each item of 'papers', so its body cannot read the input. Name "
        "the item something else, e.g. .over('papers', item='paper')."
    ]
    result = run(pipeline, provider=FakeProvider(), state={"topic": "owls", "papers": ["a"]})
    assert result.state["summaries"] == ["<s: Summarise a.>"]  # the item, not "owls"
    assert len(result.warnings) == 1 and "names its item 'topic'" in result.warnings[0]
    # Renamed as advised, nothing is said.
    renamed = Agent("intro").instruct("Introduce {topic}.").writes("intro") >> _each("paper")
    assert validate(to_graph(renamed, inputs={"topic", "papers"})) == []


@pytest.mark.parametrize(
    ("pipeline", "what", "lost", "free"),
    [
        (
            Agent("find").instruct("Find {q}.").writes("paper") >> _each("paper"),
            "a key agent 'find' writes",
            "what 'find' wrote",
            "item",
        ),
        (_each("papers"), "the list 'each' maps over", "the whole list", "paper"),
        (
            _each("summaries", writes="summaries"),
            "the key 'each' writes its results to",
            "the results",
            "paper",
        ),
        (
            Agent("intro").instruct("Introduce {topic}.").writes("intro") >> _each("topic"),
            "an input of the pipeline ('intro' reads it)",
            "the input",
            "paper",
        ),
    ],
    ids=["written-before", "the-list", "the-results", "read-undeclared"],
)
def test_each_key_the_item_hides_is_named_with_what_the_body_loses(pipeline, what, lost, free):
    [warning] = validate(to_graph(pipeline), allow_unbound=True)
    item = warning.split("names its item '")[1].split("'")[0]
    assert warning == (
        f"MapOver 'each' names its item '{item}', which is also {what}: inside 'each', "
        f"{{{item}}} is each item of 'papers', so its body cannot read {lost}. Name the item "
        f"something else, e.g. .over('papers', item='{free}')."
    )


def test_an_inner_item_named_like_the_outer_one_is_named_and_a_key_used_only_inside_is_not():
    inner = (
        MapOver("inner")
        .over("paper", item="paper")
        .step(Agent("s").instruct("{paper}").writes("x"))
    )
    outer = MapOver("outer").over("papers", item="paper").step(inner.writes("parts"))
    warnings = validate(to_graph(outer.writes("all"), inputs={"papers"}))
    assert warnings == [
        "MapOver 'inner' names its item 'paper', which is also the item of map-over 'outer' "
        "around it: inside 'inner', {paper} is each item of 'paper', so its body cannot read "
        "the item of 'outer'. Name the item something else, e.g. .over('paper', item='item')."
    ]
    # A body step writing a key of the same name as the item, inside the body only, is fine.
    rewritten = _each("paper").step(Agent("t").instruct("Tidy {summary}.").writes("paper"))
    assert validate(to_graph(rewritten.collect("paper"), inputs={"papers"})) == []


def test_a_read_before_the_map_over_is_not_told_to_move_the_map_over_earlier():
    pipeline = Agent("intro").instruct("Introduce {topic}.").writes("intro") >> _each("topic")
    with pytest.raises(PipelineError) as info:
        validate(to_graph(pipeline, inputs={"papers"}))
    [problem] = info.value.problems
    assert "'each' writes 'topic'" not in str(problem)  # a map-over's item is no write
    assert str(problem).endswith(
        "('topic' is also the item of map-over 'each', which only its body sees, and there it "
        "hides the input: name that item something else, e.g. .over('papers', item='paper').)"
    )


def test_irgraph_check_prints_the_warning(tmp_path: Path, capsys, monkeypatch):
    (tmp_path / "shadowed.py").write_text(
        "from irgraph import Agent, MapOver\n"
        "each = MapOver('each').over('papers', item='topic')"
        ".step(Agent('s').instruct('{topic}').writes('s')).writes('out')\n"
        "pipeline = Agent('intro').instruct('{topic}').writes('intro') >> each\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    main(["check", "shadowed.py:pipeline", "--input", "topic", "--input", "papers"])
    assert "warning: MapOver 'each' names its item 'topic'" in capsys.readouterr().out
