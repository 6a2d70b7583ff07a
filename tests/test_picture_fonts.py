"""Graphviz pictures draw every label in one font, and on a machine set up as .ci/run sets it
up (Graphviz and the fonts-wqy-microhei and fonts-noto-color-emoji packages), CJK and emoji
labels in a PNG have glyphs: fontconfig falls back to a font that holds them, where without
one Graphviz draws a box for each character. (An SVG carries the text, drawn with the
viewer's fonts.)"""

from __future__ import annotations

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from irgraph import Agent, FanOut, Loop
from irgraph.backends.dot import to_png, to_svg

pytestmark = [
    pytest.mark.filterwarnings("ignore:.*deprecated - use:DeprecationWarning"),
    pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz not installed"),
]

SVG = "{http://www.w3.org/2000/svg}"
#: A label of each script the fonts must cover: Chinese, Japanese kana, Hangul, emoji.
WORDS = ("研究者", "かな", "한국어", "😀🦜✅")


def test_the_title_clusters_nodes_and_edges_share_one_font():
    inner = FanOut("checks").branch(Agent("b").instruct("{x}")).branch(Agent("c"))
    loop = Loop("revise").step(Agent("w").writes("x")).step(inner).max_iterations(2)
    svg = ET.fromstring(to_svg(Agent("a") >> loop))
    fonts = {t.text: t.get("font-family") for t in svg.iter(f"{SVG}text")}
    assert {"a_then_revise (sequence)", "revise (loop, max 2)", "checks (parallel)", "x"} <= set(
        fonts
    )
    assert set(fonts.values()) == {"Helvetica,sans-Serif"}


def _unfonted(text: str) -> list[str]:
    """The characters of ``text`` no font fontconfig knows holds."""
    return [
        ch
        for ch in dict.fromkeys(text)
        if not subprocess.run(
            ["fc-list", f":charset={ord(ch):x}", "family"], capture_output=True, text=True
        ).stdout.strip()
    ]


def test_cjk_and_emoji_labels_have_a_font_to_draw_them_in_a_png():
    p = Agent(WORDS[0]) >> Agent(WORDS[1]) >> Agent(WORDS[2]) >> Agent(WORDS[3])
    assert to_png(p).startswith(b"\x89PNG")
    missing = _unfonted("".join(WORDS)) if shutil.which("fc-list") else ["fc-list"]
    if missing and not os.environ.get("IRGRAPH_REQUIRE_FONTS"):
        pytest.skip(
            f"no font holds {''.join(missing)!r}: PNG labels would show boxes; install "
            "fonts-wqy-microhei and fonts-noto-color-emoji (apt-get), as .ci/run does"
        )
    assert not missing, f"no installed font draws {missing}; .ci/run installs them"
