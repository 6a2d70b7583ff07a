"""Diagram.save refuses a place it cannot write a picture to, before opening it, with the
fix: a folder that is not there, a name that is only a suffix, a suffix of another format."""

from __future__ import annotations

import pytest

from irgraph import Agent
from irgraph.display import render
from irgraph.errors import IrgraphError

diagram = render(Agent("writer").instruct("Write."), "mermaid")


def test_a_folder_that_is_not_there_is_named(tmp_path):
    target = tmp_path / "pictures" / "p.mmd"
    with pytest.raises(IrgraphError) as info:
        diagram.save(target)
    assert str(info.value) == (
        f"Cannot save this mermaid diagram as {str(target)!r}: there is no directory "
        f"{str(tmp_path / 'pictures')!r}; create it first, or save it elsewhere."
    )


def test_a_name_that_is_only_a_suffix_is_refused_with_a_name_to_give(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(IrgraphError, match=r"'\.mmd' is only a suffix, .* e\.g\. 'pipeline\.mmd'"):
        diagram.save(".mmd")
    assert not (tmp_path / ".mmd").exists()


def test_an_unknown_suffix_after_the_formats_own_suggests_the_name_without_it(tmp_path):
    with pytest.raises(IrgraphError, match=r"writes no \.bak files; save it as .*p\.mmd\.$"):
        diagram.save(tmp_path / "p.mmd.bak")


def test_a_good_place_is_written(tmp_path):
    diagram.save(tmp_path / "p.mmd")
    assert (tmp_path / "p.mmd").read_text(encoding="utf-8") == diagram.data


def test_a_directory_is_refused_with_a_file_in_it_to_give(tmp_path):
    with pytest.raises(IrgraphError) as info:
        diagram.save(tmp_path)
    assert str(info.value) == (
        f"Cannot save this mermaid diagram as {str(tmp_path)!r}: it is a directory; name a "
        f"file in it, e.g. {str(tmp_path / 'pipeline.mmd')!r}."
    )


def test_a_folder_that_is_a_file_is_said_to_be_a_file(tmp_path):
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    with pytest.raises(IrgraphError, match=r"'.*notes\.txt' is a file, not a directory"):
        diagram.save(tmp_path / "notes.txt" / "p.mmd")


def test_an_empty_name_is_refused_with_a_name_to_give():
    with pytest.raises(IrgraphError, match=r"the file name is empty; .* e\.g\. 'pipeline\.mmd'"):
        diagram.save("")


def test_a_format_in_capitals_is_the_format_as_irgraph_show_takes_it():
    pipeline = Agent("writer").instruct("Write.")
    assert render(pipeline, "MERMAID").data == render(pipeline, "mermaid").data
    assert render(pipeline, "Dot").format == "dot"
    with pytest.raises(IrgraphError, match="Unknown picture format 'jpg'"):
        render(pipeline, "jpg")
    with pytest.raises(IrgraphError, match=r"'svgg'\. Did you mean 'svg'\? Expected one of"):
        render(pipeline, "svgg")


def test_a_misspelt_option_is_named_with_the_options_it_takes(tmp_path):
    """render(...).save("p.mmd", formt="mermaid") gave Python's bare TypeError."""
    with pytest.raises(IrgraphError) as info:
        diagram.save(tmp_path / "p.mmd", formt="mermaid")
    assert str(info.value) == (
        "Diagram.save() got the option 'formt', which it does not take. Its options: path."
    )
    assert not (tmp_path / "p.mmd").exists()
