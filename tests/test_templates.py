"""Instruction templates: {key}, {key?}, {{ }}, and precise errors for everything else."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from irgraph import Agent, Gate, PipelineError, templates
from irgraph.ir import AgentNode, GateNode
from irgraph.templates import parse_template, render


def test_plain_fields_are_required_reads_in_order_of_first_use():
    template = parse_template("From {findings} and {notes}, then {findings} again.")
    assert template.reads == ("findings", "notes")
    assert template.optional_reads == ()


def test_question_mark_fields_are_optional_reads():
    template = parse_template("Use {findings} and {notes?}.")
    assert template.reads == ("findings",)
    assert template.optional_reads == ("notes",)


def test_a_key_read_both_ways_is_required():
    template = parse_template("{notes?} then {notes}")
    assert template.reads == ("notes",)
    assert template.optional_reads == ()


def test_doubled_braces_are_literal_text():
    template = parse_template("Answer as {{json}} about {topic}; '}}' ends it.")
    assert template.reads == ("topic",)
    assert render(template, {"topic": "owls"}) == "Answer as {json} about owls; '}' ends it."


def test_a_template_without_fields_reads_nothing():
    template = parse_template("Just text.")
    assert (template.reads, template.optional_reads) == ((), ())
    assert render(template, {}) == "Just text."


def test_render_substitutes_values_as_text():
    template = parse_template("{n} items for {who}")
    assert render(template, {"n": 3, "who": "Ada"}) == "3 items for Ada"


def test_render_leaves_unset_or_none_optional_keys_empty():
    template = parse_template("[{a?}|{b?}]")
    assert render(template, {"b": None}) == "[|]"
    assert render(template, {"a": "x", "b": 0}) == "[x|0]"


def test_render_raises_key_error_for_a_missing_required_key():
    with pytest.raises(KeyError):
        render(parse_template("{findings}"), {})


BAD_TEMPLATES = [
    ("Value {score:>10}", "{score:>10}"),
    ("Value {score!r}", "{score!r}"),
    ("Value {score!s:>3}", "{score!s:>3}"),
    ("Value {paper['title']}", "{paper['title']}"),
    ("Value {paper.title:>3}", "{paper.title:>3}"),
    ("Value {paper.0}", "{paper.0}"),
    ("Value {paper.__class__}", "{paper.__class__}"),
    ("Value {papers[0]}", "{papers[0]}"),
    ("Value {0}", "{0}"),
    ("Value {}", "an empty field"),
    ("Value {?}", "an empty field"),
    ("Value {two words}", "{two words}"),
    ("Unbalanced {findings", "Unbalanced {findings"),
    ("Unbalanced findings}", "Unbalanced findings}"),
    ("Lone { brace", "Lone { brace"),
]


@pytest.mark.parametrize(("text", "shown"), BAD_TEMPLATES)
def test_a_bad_template_names_the_agent_and_the_bad_text(text, shown):
    with pytest.raises(PipelineError) as info:
        Agent("critic").instruct(text)
    message = str(info.value)
    assert "'critic'" in message
    assert shown in message
    assert info.value.node == "critic"


@pytest.mark.parametrize(("text", "shown"), BAD_TEMPLATES)
def test_the_ir_rejects_the_same_templates(text, shown):
    with pytest.raises(PipelineError, match="'critic'"):
        AgentNode("critic", instruction=text)


def test_format_spec_errors_carry_the_key_and_point_at_transforms():
    with pytest.raises(PipelineError, match="Transform") as info:
        parse_template("{score:.2f}", node="grader")
    assert info.value.key == "score"
    assert "no format specs or conversions" in str(info.value)


def test_literal_json_braces_are_no_key_and_the_error_says_how_to_write_them():
    """``{"a": 1}`` parses as a field with a format spec; it is no key, and was called one."""
    with pytest.raises(PipelineError) as info:
        parse_template('Reply like {"a": 1}.', node="grader")
    message = str(info.value)
    assert message.startswith("The instruction of 'grader' contains {\"a\": 1}, which is not")
    assert "Write a literal brace as '{{' or '}}'." in message


def test_unbalanced_brace_errors_say_how_to_write_a_literal_brace():
    with pytest.raises(PipelineError, match=r"'\{\{'"):
        parse_template("a { b", node="n")


def test_gate_messages_are_templates_and_errors_say_message():
    assert GateNode("approve", "Ship {draft}?").reads == ("draft",)
    with pytest.raises(PipelineError, match="The message of 'approve'"):
        Gate("approve", "Ship {draft:>3}?")
    with pytest.raises(PipelineError, match="The message of 'approve'"):
        Gate("approve").message("Ship {draft")


def test_agent_reads_come_from_its_instruction():
    node = Agent("w").instruct("Write {topic} for {audience?}; {{not_a_key}}.").to_ir()
    assert node.reads == ("topic",)
    assert node.optional_reads == ("audience",)


def test_a_text_parsed_again_gives_the_same_template():
    first = parse_template("Use {x} and {y?}.", node="one")
    again = parse_template("Use {x} and {y?}.", node="two")
    assert again is first  # parsed once: the builder checks it, the IR node reuses it
    assert (again.reads, again.optional_reads) == (("x",), ("y",))


def test_the_cache_of_parsed_templates_stays_bounded():
    for index in range(templates._PARSED_MAX + 10):
        parse_template(f"Use {{k{index}}}.")
    assert 0 < len(templates._PARSED) <= templates._PARSED_MAX
    assert parse_template("Use {k3}.").reads == ("k3",)


def test_a_bad_text_names_each_node_that_uses_it():
    for node in ("one", "two"):
        with pytest.raises(PipelineError, match=f"The instruction of '{node}'"):
            parse_template("Use {x!r}.", node=node)


_KEYS = st.sampled_from(["a", "b", "c"])
_VALUES = st.one_of(
    st.none(), st.text(max_size=5), st.integers(), st.lists(st.integers(), max_size=2)
)


@given(
    parts=st.lists(
        st.tuples(st.sampled_from(["", "x ", "{{", "}} "]), _KEYS, st.booleans()), max_size=5
    ),
    state=st.dictionaries(_KEYS, _VALUES),
)
def test_filled_is_render_of_template_values_in_one_pass(parts, state):
    # the fused path every model call and gate takes must agree with the two-step rule:
    # same text, same values in the same order, the same error for a missing or None key
    text = "".join(
        f"{literal}{{{key}{'?' if optional else ''}}}" for literal, key, optional in parts
    )
    template = parse_template(text)
    try:
        values = templates.template_values(template, state)
        expected: object = (render(template, values), list(values.items()))
    except (KeyError, ValueError) as error:
        expected = (type(error), str(error))
    try:
        prompt, got = templates.filled(template, state)
        outcome: object = (prompt, list(got.items()))
    except (KeyError, ValueError) as error:
        outcome = (type(error), str(error))
    assert outcome == expected


def test_a_key_in_double_braces_is_a_warning_that_says_it_is_sent_as_text():
    from irgraph import run, to_graph, validate
    from irgraph.testing import FakeProvider

    jinja = Agent("writer").instruct("Write about {{topic}}.").writes("draft")
    (warning,) = validate(to_graph(jinja, inputs={"topic"}))
    assert warning.startswith("The instruction of 'writer' holds {{topic}}: double braces")
    assert "the text {topic} is sent to the model as it is" in warning
    assert "Write {topic} to read the key" in warning
    done = run(jinja, provider=FakeProvider(), state={"topic": "owls"})
    assert done.warnings == [warning] and done.state["draft"] == "<writer: Write about {topic}.>"
    asked = jinja >> Gate("approve", "Publish {{draft}}?")
    assert any("The message of 'approve' holds {{draft}}" in w for w in validate(to_graph(asked)))
    # literal braces around what no step writes (JSON, an example) or around a read key: fine
    example = Agent("a").instruct('Answer like {{answer}} or {{"x": 1}}, about {{{topic}}}.')
    assert validate(to_graph(example, inputs={"topic"})) == []
    # {{ topic }}, Jinja's usual spelling, sent the text '{ topic }' without a word
    spaced = Agent("writer").instruct("Write about {{ topic }} and {{draft }}.").writes("draft")
    (warning,) = validate(to_graph(spaced, inputs={"topic"}))
    assert warning.startswith("The instruction of 'writer' holds {{ topic }}, {{draft }}: ")
    assert "the text { topic } is sent to the model as it is" in warning
    assert "Write {topic}, {draft} to read the keys" in warning


def test_a_key_in_double_braces_in_a_system_prompt_is_a_warning_too():
    # A system prompt is a template like the instruction, so {{topic}} there sends the text.
    from irgraph import to_graph, validate

    agent = Agent("writer").system("You write about {{topic}}.").instruct("Write.")
    (warning,) = validate(to_graph(agent, inputs={"topic"}))
    assert warning.startswith("The system prompt of 'writer' holds {{topic}}: double braces")
    assert "the text {topic} is sent to the model as it is" in warning
    reading = Agent("writer").system("You write about {topic} in {{braces}}.").instruct("Go.")
    assert validate(to_graph(reading, inputs={"topic"})) == []


def test_a_required_key_holding_none_is_refused_after_an_optional_one_too():
    """A template whose first key is optional is filled the two-step way
    (``template_values``), which must refuse a required key holding None as the one-pass way
    does, not render it as the text 'None'."""
    template = parse_template("{notes?} Write about {topic}.")
    for fill in (templates.template_values, templates.filled):
        with pytest.raises(ValueError, match="the state holds None for 'topic'"):
            fill(template, {"topic": None, "notes": "n"})


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("{ topic }", "{topic}"),
        ("{topic }", "{topic}"),
        ("{?topic}", "{topic?}"),
        ("{topic??}", "{topic?}"),
        ("{ topic? }", "{topic?}"),
        ("{$topic}", "{topic}"),
        ("{verdict?.reason}", "{verdict.reason?}"),  # the ? of a field read goes at its end
        ("{?verdict.reason}", "{verdict.reason?}"),
        ("{verdict.reason??}", "{verdict.reason?}"),
    ],
)
def test_a_field_that_is_a_key_written_loosely_is_refused_with_the_key_meant(written, meant):
    with pytest.raises(PipelineError) as refused:
        Agent("w").instruct(f"Write about {written}.")
    assert f"contains {written}, which is not a plain key (did you mean {meant}?)" in str(
        refused.value
    )


@pytest.mark.parametrize("written", ["{topic[0]}", "{0}", "{ }", "{a b}"])
def test_a_field_that_is_no_key_gets_no_guess(written):
    with pytest.raises(PipelineError) as refused:
        Agent("w").instruct(f"Write about {written}.")
    assert "did you mean" not in str(refused.value)
