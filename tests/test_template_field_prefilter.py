"""``field_reads`` parses only a text that may read a field (a "{", a key, a dot): a full stop
after ``{k1}`` is no field read. A run looks at every agent's text once per graph; when that
parsed each text, a pipeline with more texts than the template cache keeps (16 384) allocated
a new template per agent in its first run (bench/memory.py: 792 B/node at 20 000 chained
agents, 414 at 10 000). The prefilter must miss no field read."""

from __future__ import annotations

import uuid

import pytest

from irgraph import templates
from irgraph.template_fields import field_reads


def agent(instruction: str, system: str = "") -> dict[str, str]:
    return {"kind": "agent", "instruction": instruction, "system": system}


def test_a_text_whose_dots_are_outside_its_braces_is_not_parsed_for_field_reads() -> None:
    text = f"Go on from {{k1}}. Then {{k2?}}, version 1.{uuid.uuid4().hex}"  # in no cache
    assert field_reads(agent(text)) == []
    assert text not in templates._PARSED  # no parse was made to say so


@pytest.mark.parametrize(
    ("instruction", "system", "found"),
    [
        ("Fix {verdict.reason}.", "", [("instruction", "verdict.reason", False)]),
        ("Fix {verdict.reason?}", "", [("instruction", "verdict.reason", True)]),
        ("{{literal}} then {a.b.c}", "", [("instruction", "a.b.c", False)]),
        ("{{{a.b}}}", "", [("instruction", "a.b", False)]),
        ("v1.2 {a}.", "Be brief about {plan.topic}.", [("system prompt", "plan.topic", False)]),
        ("{{a.b}} is literal.", "", []),
    ],
)
def test_every_field_read_is_still_found(
    instruction: str, system: str, found: list[tuple[str, str, bool]]
) -> None:
    assert field_reads(agent(instruction, system)) == found
