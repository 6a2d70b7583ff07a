"""An outside trial of the PNG font warning: a character no font could have is told as such,
not answered with fonts to install.

fontconfig is a fake ``fc-list`` that finds no font (so every non-ASCII character is missing,
on any machine), and the warning is asked of the DOT graph itself, so Graphviz's ``dot`` is
not needed: the tests pass with and without Graphviz installed.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from irgraph import Agent
from irgraph.backends import glyphs
from irgraph.backends.dot import to_dot


@pytest.fixture
def no_fonts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    fc_list = tmp_path / "fc-list"
    fc_list.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")  # lists no font
    fc_list.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    glyphs._in_one_font.cache_clear()  # forget this machine's answers
    yield
    glyphs._in_one_font.cache_clear()


def _warning(name: str) -> str:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        glyphs.warn_unfonted(to_dot(Agent(name)))
    (warning,) = [str(w.message) for w in caught]
    return warning


@pytest.mark.usefixtures("no_fonts")
def test_an_unassigned_character_is_told_as_one_no_font_has() -> None:
    """U+0378 was answered with emoji and CJK fonts to install, none of which has it."""
    told = _warning("odd\u0378name")
    assert "(U+0378, unassigned in Unicode: no font has it)" in told
    assert "apt-get install" not in told and "Rename what holds it" in told


@pytest.mark.usefixtures("no_fonts")
def test_a_private_use_character_points_to_its_own_font_in_an_svg() -> None:
    told = _warning("logo\U0010fffd")
    assert "private use: only a font made for it has it" in told
    assert "apt-get install" not in told and "draw an SVG" in told


@pytest.mark.usefixtures("no_fonts")
def test_a_character_a_font_has_still_gets_the_fonts_to_install() -> None:
    told = _warning("caf\u00e9 \u0378")  # one a font could have, one none has
    assert "fonts-noto-color-emoji" in told and "unassigned in Unicode" in told
