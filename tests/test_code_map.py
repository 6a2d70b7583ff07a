"""docs/code_map.md names every module of both packages, once, and nothing that is gone: the
map a contributor reads first cannot go stale."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAP = ROOT / "docs" / "code_map.md"


def modules() -> set[str]:
    return {
        path.relative_to(ROOT).as_posix()
        for folder in ("irgraph", "backends")
        for path in (ROOT / folder).rglob("*.py")
    }


def listed() -> list[str]:
    names: list[str] = []
    for line in MAP.read_text(encoding="utf-8").splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            names += re.findall(r"`([\w/]+\.py)`", first_cell)
    return names


def test_every_module_is_on_the_code_map():
    missing = sorted(modules() - set(listed()))
    assert not missing, f"Add these modules to docs/code_map.md, under their job: {missing}"


def test_the_code_map_names_no_module_that_is_gone():
    gone = sorted(set(listed()) - modules())
    assert not gone, f"docs/code_map.md names modules that no longer exist: {gone}"


def test_each_module_is_on_the_code_map_once():
    names = listed()
    twice = sorted({name for name in names if names.count(name) > 1})
    assert not twice, f"docs/code_map.md lists these modules more than once: {twice}"
