"""The package list in setup.cfg names every package in the source tree, so a wheel (not only
an editable install, which finds subpackages through the directory) holds all the code."""

from __future__ import annotations

import configparser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _listed() -> set[str]:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    return {line.strip() for line in config["options"]["packages"].splitlines() if line.strip()}


def _on_disk() -> set[str]:
    found = set()
    for top, name in ((ROOT / "irgraph", "irgraph"), (ROOT / "backends", "irgraph.backends")):
        for init in top.rglob("__init__.py"):
            parts = init.parent.relative_to(top).parts
            found.add(".".join((name, *parts)))
    return found


def test_every_package_on_disk_is_listed_for_the_wheel() -> None:
    missing = _on_disk() - _listed()
    assert not missing, f"setup.cfg [options] packages lacks {sorted(missing)}"


def test_every_listed_package_exists() -> None:
    assert _listed() - _on_disk() == set()
