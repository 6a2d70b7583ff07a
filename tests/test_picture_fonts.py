"""Graphviz pictures draw every label in one font, and on a machine set up as .ci/run sets it
up (Graphviz and the fonts-wqy-microhei and fonts-noto-color-emoji packages), CJK and emoji
labels in a PNG have glyphs: fontconfig falls back to a font that holds them, where without
one Graphviz draws a box for each character. (An SVG carries the text, drawn with the
viewer's fonts.) A character no installed font has is not drawn silently as a box: ``to_png``
warns, naming it, where it is and the fonts to install (asked of the real fontconfig)."""

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


# -- a character no font has: told, not drawn silently as a box ------------------------------

#: Characters no font has: an unassigned code point and one of the private use area.
NO_FONT = "\u0378\U0010fffd"


def _require_fontconfig() -> None:
    if shutil.which("fc-list") is None:
        if os.environ.get("IRGRAPH_REQUIRE_FONTS"):
            pytest.fail("fontconfig's fc-list is missing; .ci/run installs it with Graphviz")
        pytest.skip("fontconfig's fc-list is not installed")
    assert _unfonted(NO_FONT) == list(NO_FONT), "some installed font has these characters"


def test_a_png_with_a_character_no_font_has_warns_naming_it_the_node_and_the_fix():
    _require_fontconfig()
    p = Agent("plain") >> Agent(f"odd{NO_FONT[0]}name")
    with pytest.warns(UserWarning, match="No installed font has") as caught:
        assert to_png(p).startswith(b"\x89PNG")
    (warning,) = [w for w in caught if "No installed font" in str(w.message)]
    message = str(warning.message)
    assert "U+0378" in message and "node " + repr(f"odd{NO_FONT[0]}name") in message
    assert "unassigned in Unicode" in message and "Rename what holds it" in message
    assert warning.filename == __file__  # it points at the call of to_png
    with pytest.warns(UserWarning, match=r"U\+10FFFD") as caught:
        to_png(Loop(f"loop{NO_FONT[1]}").step(Agent("w")).max_iterations(2))
    assert "the box " + repr(f"loop{NO_FONT[1]} (loop, max 2)") in str(caught[0].message)


def test_an_ascii_png_and_one_whose_characters_fonts_have_do_not_warn(recwarn):
    _require_fontconfig()
    assert to_png(Agent("plain") >> Agent("ascii only")).startswith(b"\x89PNG")
    accented = "café naïve Ångström"
    if not _unfonted(accented):
        to_png(Agent(accented))
    if shutil.which("dot") and not _unfonted("".join(WORDS)):
        to_png(Agent(WORDS[0]) >> Agent(WORDS[3]))
    assert [str(w.message) for w in recwarn if "font" in str(w.message)] == []


def test_without_fontconfig_a_png_is_drawn_with_no_warning(tmp_path, monkeypatch, recwarn):
    from irgraph.backends import glyphs

    (tmp_path / "dot").symlink_to(shutil.which("dot"))  # Graphviz, but no fc-list
    glyphs._in_one_font.cache_clear()  # forget this machine's answers
    monkeypatch.setenv("PATH", str(tmp_path))
    try:
        assert to_png(Agent(f"odd{NO_FONT}")).startswith(b"\x89PNG")
    finally:
        glyphs._in_one_font.cache_clear()
    assert [str(w.message) for w in recwarn if "font" in str(w.message)] == []


def test_each_answer_is_remembered_so_fontconfig_is_asked_once(tmp_path, monkeypatch):
    _require_fontconfig()
    p = Agent(f"odd{NO_FONT}")
    with pytest.warns(UserWarning, match="No installed font"):
        to_png(p)
    (tmp_path / "dot").symlink_to(shutil.which("dot"))
    monkeypatch.setenv("PATH", str(tmp_path))  # fc-list gone: only a remembered answer warns
    with pytest.warns(UserWarning, match="No installed font"):
        to_png(p)


def test_irgraph_show_says_it_on_one_line_of_its_own(tmp_path, monkeypatch, capsys):
    import io

    from irgraph.cli import main
    from tests.support.modules import importable

    _require_fontconfig()
    module = "irgraph_unfonted_pipelines"
    importable(
        tmp_path, monkeypatch, module, f"from irgraph import Agent\np = Agent({NO_FONT!r})\n"
    )
    out = tmp_path / "p.png"
    assert main(["show", f"{module}:p", "-o", str(out)], out=io.StringIO()) == 0
    assert out.read_bytes().startswith(b"\x89PNG")
    err = capsys.readouterr().err
    assert err.startswith("irgraph: warning: No installed font has these characters "), err
    assert "U+0378" in err and "UserWarning" not in err
