"""The compile layer: registry (built-in names, register_backend, entry points), warnings."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from irgraph import Agent, EngineCapabilities, compile
from irgraph.compile import BackendNotFoundError, available_backends, register_backend


def test_builtin_backends_are_registered_by_name():
    assert {"asyncio", "prefect"} <= set(available_backends())


def test_unknown_backend_lists_the_known_ones_and_suggests():
    with pytest.raises(BackendNotFoundError) as info:
        compile(Agent("a").instruct("x"), backend="prefekt")
    assert "Did you mean 'prefect'?" in str(info.value)
    assert "'asyncio'" in str(info.value)


def test_register_backend_with_a_factory(monkeypatch):
    import sys

    from irgraph.backends.asyncio_backend import AsyncioBackend

    registry = sys.modules["irgraph.compile"]  # the module: irgraph.compile is the function

    # a registry of this test's own: 'mine' must not stay registered for later tests (the
    # CLI lists the registered backends in its errors)
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))

    class Mine(AsyncioBackend):
        name = "mine"
        capabilities = EngineCapabilities(parallel=True)

    register_backend("mine", Mine)
    result = compile(Agent("a").instruct("x"), backend="mine")
    assert result.backend_name == "mine"


def test_a_third_party_backend_is_found_through_its_entry_point(tmp_path):
    (tmp_path / "thirdparty_backend.py").write_text(
        textwrap.dedent("""
        from irgraph.backends.asyncio_backend import AsyncioBackend

        class ThirdParty(AsyncioBackend):
            name = "thirdparty"
    """)
    )
    dist = tmp_path / "thirdparty_backend-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: thirdparty-backend\nVersion: 1.0\n"
    )
    (dist / "entry_points.txt").write_text(
        "[irgraph.backends]\nthirdparty = thirdparty_backend:ThirdParty\n"
    )
    code = (
        "from irgraph import Agent, compile\n"
        "from irgraph.compile import available_backends\n"
        "assert 'thirdparty' in available_backends()\n"
        "print(compile(Agent('a').instruct('x'), backend='thirdparty').backend_name)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "thirdparty"


def test_an_object_that_is_not_a_backend_is_rejected():
    with pytest.raises(BackendNotFoundError, match="not a backend"):
        compile(Agent("a").instruct("x"), backend=object())


def test_warnings_include_values_overwritten_before_read():
    pipeline = Agent("a").instruct("x").writes("k") >> Agent("b").instruct("y").writes("k")
    assert any("overwrites" in w for w in compile(pipeline).warnings)


@pytest.fixture
def own_registry(monkeypatch):
    """A registry of the test's own, so nothing it registers stays for later tests."""
    registry = sys.modules["irgraph.compile"]  # the module: irgraph.compile is the function
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))


@pytest.mark.parametrize(
    ("name", "factory", "said"),
    [
        ("", object, "must be a non-empty name"),
        ("broken", 42, "got 42 of type int, which makes no backend"),
        ("nocolon", "mypackage", "an import path is of the form 'module:Class'"),
        ("asyncio", "nope:Nothing", "'asyncio' is registered already"),
    ],
)
def test_register_backend_refuses_what_would_fail_later(own_registry, name, factory, said):
    with pytest.raises(BackendNotFoundError, match=said):
        register_backend(name, factory)
    assert compile(Agent("a").instruct("x")).backend_name == "asyncio"  # default untouched


def test_register_backend_replaces_a_name_when_asked(own_registry):
    from irgraph.backends.asyncio_backend import AsyncioBackend

    class Quieter(AsyncioBackend):
        name = "quieter"

    register_backend("asyncio", Quieter, replace=True)
    assert compile(Agent("a").instruct("x")).backend_name == "quieter"


@pytest.mark.parametrize(
    ("factory", "said"),
    [
        ("nope:Nothing", "registered as 'nope:Nothing', which cannot be imported"),
        (lambda **options: 5, "is not a backend: it has no 'name', 'capabilities', 'compile'"),
    ],
)
def test_a_registered_factory_that_makes_no_backend_is_named(own_registry, factory, said):
    register_backend("mine", factory)
    with pytest.raises(BackendNotFoundError, match=said):
        compile(Agent("a").instruct("x"), backend="mine")


class _CompilesToNothing:
    name = "nothing"
    capabilities = EngineCapabilities()

    def compile(self, ir, *, inputs=None):
        return None


def test_a_backend_compiling_to_something_that_cannot_run_is_named():
    """run() failed with 'NoneType' object has no attribute 'arun'."""
    from irgraph import run

    for call in (
        lambda: compile(Agent("a").instruct("x"), backend=_CompilesToNothing()),
        lambda: run(Agent("a").instruct("x"), backend=_CompilesToNothing()),
    ):
        with pytest.raises(BackendNotFoundError, match="'nothing' compiled the pipeline to None"):
            call()


def test_registering_the_same_factory_again_is_no_refusal(own_registry):
    """Running a notebook cell twice registered the same class twice: refused as taken."""
    from irgraph.backends.asyncio_backend import AsyncioBackend

    register_backend("again", AsyncioBackend)
    register_backend("again", AsyncioBackend)
    with pytest.raises(BackendNotFoundError, match="registered already"):
        register_backend("again", "irgraph.backends.asyncio_backend:AsyncioBackend")


def test_a_factory_that_raises_is_named_with_its_error(own_registry):
    def failing(**options):
        raise ValueError("boom in factory")

    register_backend("failing", failing)
    with pytest.raises(BackendNotFoundError, match="'failing' failed: its factory .* boom"):
        compile(Agent("a").instruct("x"), backend="failing")


def test_a_built_in_backend_is_made_without_scanning_installed_packages():
    # Entry points are looked up only for a name not registered yet: the scan reads every
    # installed package's metadata again (~10 ms of a first run() in a notebook).
    code = (
        "import importlib.metadata as metadata\n"
        "real = metadata.entry_points\n"
        "def scanned(**kwargs):\n"
        "    if kwargs.get('group') == 'irgraph.backends':\n"
        "        raise AssertionError('entry points scanned for a built-in backend')\n"
        "    return real(**kwargs)\n"
        "metadata.entry_points = scanned\n"
        "from irgraph import Agent, run\n"
        "from irgraph.testing import FakeProvider\n"
        "result = run(Agent('a').instruct('Hi.').writes('out'), provider=FakeProvider())\n"
        "print(result.backend, sorted(result.state))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "asyncio ['out']"


class _CompilesWithoutInputs:
    """A backend whose compile takes the IR alone (the guide's compile takes inputs= too)."""

    name = "no-inputs"
    capabilities = EngineCapabilities()

    def __init__(self, provider=None):
        from irgraph.backends.asyncio_backend import AsyncioBackend

        self.inner = AsyncioBackend(provider=provider)

    def compile(self, ir):
        return self.inner.compile(ir)


def test_a_backend_whose_compile_takes_no_inputs_is_told_how_to_define_it():
    from irgraph import run

    with pytest.raises(BackendNotFoundError) as info:
        run(Agent("a").instruct("x"), backend=_CompilesWithoutInputs())
    assert str(info.value) == (
        "The backend 'no-inputs' cannot compile the pipeline: _CompilesWithoutInputs.compile "
        "takes no 'inputs' keyword, which run() and the conformance suite pass (the keys the "
        "initial state will hold, or None); define it as compile(self, ir, *, inputs=None)."
    )


def test_a_type_error_inside_a_compile_that_takes_inputs_is_the_backends_own():
    from irgraph import run

    class Broken(_CompilesWithoutInputs):
        def compile(self, ir, *, inputs=None):
            raise TypeError("a bug in the backend")

    with pytest.raises(TypeError, match="a bug in the backend"):
        run(Agent("a").instruct("x"), backend=Broken())


@pytest.mark.parametrize("method", ["run", "arun", "stream"])
def test_running_what_compile_returns_points_to_its_runnable(method):
    # compile() returns the backend's name, capabilities and warnings beside the runnable;
    # compile(p).run(...) was Python's bare "'CompileResult' object has no attribute 'run'".
    compiled = compile(Agent("a").instruct("x"), backend="asyncio")
    with pytest.raises(AttributeError) as info:
        getattr(compiled, method)
    assert f"compile(...).runnable.{method}(" in str(info.value)
    assert callable(getattr(compiled.runnable, method))
    with pytest.raises(AttributeError, match="has no attribute 'rnu'$"):
        compiled.rnu  # noqa: B018 - any other name is Python's own error
