"""What mermaid draws of ``to_mermaid``'s labels when its users set ``htmlLabels: false``, as
docs/guides/exporters.md says: ``to_mermaid`` neither writes nor reads mermaid's configuration,
so it cannot know, and mermaid's SVG-text labels show a ``<wbr>`` tag, and in node labels an
entity code, as text. Drawn by the pinned mermaid (tests/mermaid_check), so the guide's words
are checked against the release the exporter is tested with."""

from __future__ import annotations

import pytest

from irgraph import Agent, Loop
from irgraph.backends.mermaid import to_mermaid

pytestmark = pytest.mark.filterwarnings("ignore:.*deprecated - use:DeprecationWarning")

KEY = "customer_feedback_summary_by_region"
LONG = "summarise_customer_feedback_from_all_regions"
QUOTED = 'say "hi" #1'
LOOP = "revise_every_single_draft_until_the_critic_is_happy"
#: mermaid 11's own setting, and the flowchart's older one.
TOP_LEVEL = "config:\n  htmlLabels: false\n"
FLOWCHART = "config:\n  flowchart:\n    htmlLabels: false\n"


def _pipeline():
    loop = Loop(LOOP).step(Agent(QUOTED).writes(KEY)).max_iterations(2)
    return loop >> Agent(LONG).instruct(f"{{{KEY}}}")


def _configured(text: str, config: str) -> str:
    """``text`` with ``config`` in its front matter, as a user's diagram would have it."""
    if text.startswith("---\n"):
        return "---\n" + config + text.removeprefix("---\n")
    return f"---\n{config}---\n{text}"


def _drawn(mermaid_render, config: str) -> list[dict[str, str]]:
    """Each label's text by kind (node, cluster, edgeLabel), drawn in the default and the
    seed style under ``config``."""
    texts = [_configured(to_mermaid(_pipeline(), style=s), config) for s in ("default", "seed")]
    report = mermaid_render(texts)
    assert report["fatal"] is None, report["fatal"]
    drawn = []
    for result in report["results"]:
        assert result["ok"], result.get("error")
        drawn.append({box["text"]: box["kind"] for box in result["boxes"] if box["text"]})
    return drawn


def test_top_level_html_labels_false_shows_tags_and_codes_in_node_labels(mermaid_render):
    default, seed = _drawn(mermaid_render, TOP_LEVEL)
    nodes = [text for text, kind in default.items() if kind == "node"]
    assert any("<wbr>" in text and text.replace("<wbr>", "").replace(" ", "") == LONG
               for text in nodes), nodes  # fmt: skip
    assert any("&quot;" in text for text in nodes), nodes
    assert default.get(KEY) == "edgeLabel"  # arrow labels and boxes stay HTML: drawn right
    assert default.get(f"{LOOP} (loop, max 2)") == "cluster"
    assert seed.get(LONG) == "node"  # the seed style has no tags: a plain name draws right
    assert any("&quot;" in text for text, kind in seed.items() if kind == "node")


def test_flowchart_html_labels_false_shows_tags_in_arrow_labels_and_box_titles(mermaid_render):
    default, seed = _drawn(mermaid_render, FLOWCHART)
    assert default.get(LONG) == "node" and default.get(QUOTED) == "node"  # nodes stay HTML
    tagged = [text for text in default if "<wbr>" in text]
    assert {default[text] for text in tagged} == {"edgeLabel", "cluster"}, default
    assert seed.get(KEY) == "edgeLabel" and not any("<wbr>" in text for text in seed)
