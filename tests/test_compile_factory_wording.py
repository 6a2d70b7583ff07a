"""A registered factory that makes no backend is named in words that read: "made by the
factory of the backend 'x'", where it read "the backend 'x''s factory made"."""

from __future__ import annotations

import importlib

import pytest

from irgraph.compile import BackendNotFoundError

compiling = importlib.import_module("irgraph.compile")  # irgraph.compile is also a function


def test_a_factory_making_no_backend_is_named_readably(monkeypatch):
    monkeypatch.setitem(compiling._REGISTRY, "notbackend", lambda **options: 42)
    with pytest.raises(BackendNotFoundError) as refused:
        compiling.get_backend("notbackend")
    said = str(refused.value)
    assert said.startswith("42, made by the factory of the backend 'notbackend', is not a backend")
    assert "''s" not in said
