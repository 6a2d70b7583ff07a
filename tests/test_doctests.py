"""Run the doctests of every module in irgraph and irgraph.backends.

Modules are found by package name (pkgutil), so a new module is tested without being listed
here. A module whose optional extra is not installed is skipped, saying which extra; any other
import failure fails the test.
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import pkgutil

import pytest

import irgraph
import irgraph.backends

# The top-level package of each optional dependency, and the extra that installs it.
OPTIONAL = {"prefect": "prefect", "pydot": "dot", "openai": "openai", "rich": "cli",
            "hypothesis": "test"}  # fmt: skip


def module_names() -> list[str]:
    names = {"irgraph", "irgraph.backends"}
    for package in (irgraph, irgraph.backends):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + ".", onerror=_raise):
            names.add(info.name)
    return sorted(names)


def _raise(name: str) -> None:
    raise ImportError(f"cannot walk package {name}")


def import_or_skip(name: str) -> object:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        missing = getattr(exc, "package", None) or exc.name or ""
        root = missing.split(".")[0]
        if root in OPTIONAL and importlib.util.find_spec(root) is None:
            pytest.skip(f"{name} needs the '{OPTIONAL[root]}' extra ({root} is not installed)")
        raise


MODULES = module_names()


def test_the_module_list_covers_core_backends_and_testing():
    for expected in ("irgraph.ir", "irgraph.graph", "irgraph.testing.strategies",
                     "irgraph.backends.asyncio_backend"):  # fmt: skip
        assert expected in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_doctests_pass(name):
    module = import_or_skip(name)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testmod(module, optionflags=flags, verbose=False, report=True)
    assert result.failed == 0, f"{result.failed} of {result.attempted} doctests failed in {name}"
