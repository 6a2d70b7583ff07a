"""A provider from a spec string: ``"fake"``, ``"openai:MODEL"`` or ``"package.module:factory"``.

Kept apart from the protocol (:mod:`irgraph.providers`) so that the implementations can import
the protocol without the protocol importing them. The third form names a provider of your own
by import path, the way a generated Prefect flow module on a worker finds it: the attribute is
a provider (anything with ``complete()``) or a function that makes one from the options.
"""

from __future__ import annotations

import importlib
import os
import re
from typing import Any

from irgraph.errors import a_or_an, did_you_mean
from irgraph.providers import ModelProvider, ProviderError

__all__ = ["provider_from_spec", "is_import_spec", "SPEC_FORMS"]

#: The spec forms, as error messages list them.
SPEC_FORMS = "'fake', 'openai:MODEL' or 'package.module:factory'"
_IMPORT_SPEC = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


def is_import_spec(spec: str) -> bool:
    """Whether ``spec`` names a provider by import path (``package.module:factory``).

    >>> is_import_spec("mypkg.llm:make_provider"), is_import_spec("openai:gpt-4o")
    (True, False)
    """
    return spec.partition(":")[0] not in ("fake", "openai") and bool(_IMPORT_SPEC.fullmatch(spec))


def provider_from_spec(spec: str | None = None, **options: Any) -> ModelProvider:
    """Make a provider from a spec (default: ``$IRGRAPH_PROVIDER``, else ``"fake"``).

    >>> type(provider_from_spec("fake")).__name__
    'FakeProvider'
    >>> type(provider_from_spec("irgraph.testing:FakeProvider")).__name__
    'FakeProvider'
    """
    if spec is None:
        spec = os.environ.get("IRGRAPH_PROVIDER") or "fake"
    if not isinstance(spec, str) or not spec.strip():
        raise ProviderError(
            f"A provider spec must be a non-empty string such as 'fake' or 'openai:gpt-4o-mini' "
            f"(got {spec!r} of type {type(spec).__name__}); leave it out (None) for the default "
            "($IRGRAPH_PROVIDER, else 'fake')."
        )
    name, colon, arg = spec.partition(":")
    if name == "fake":
        if colon:
            model = f", or 'openai:{arg}' for that model" if arg.strip() else ""
            raise ProviderError(
                f"Provider spec {spec!r}: the fake provider takes no model (it makes its "
                f"replies up); write 'fake'{model}."
            )
        from irgraph.testing.fake import FakeProvider

        return FakeProvider(**options)
    if name == "openai":
        if not arg:
            raise ProviderError(
                f"Provider spec {spec!r} names no model; write it as 'openai:MODEL', "
                "e.g. 'openai:gpt-4o-mini'."
            )
        from irgraph.openai_provider import OpenAIProvider

        return OpenAIProvider(arg, **options)
    if is_import_spec(spec):
        return _imported(spec, options)
    known = name.lower()  # 'FAKE', 'OpenAI:gpt-4o': the names are lower case
    guess = ""
    if known in ("fake", "openai"):
        guess = f" Did you mean {known + (colon + arg if known == 'openai' else '')!r}?"
    raise ProviderError(f"Unknown provider spec {spec!r}.{guess} A spec is {SPEC_FORMS}.")


def _imported(spec: str, options: dict[str, Any]) -> ModelProvider:
    """The provider ``package.module:attr`` names: what calling it with ``options`` returns
    when it is a class or a function, else the attribute itself (a provider object)."""
    module_name, _, attribute = spec.partition(":")
    try:
        found: Any = importlib.import_module(module_name)
    except ImportError as error:
        raise ProviderError(
            f"Provider spec {spec!r}: the module {module_name!r} cannot be imported ({error}). "
            "Install it where this runs (on a Prefect worker: in the worker's environment) or "
            "fix the path."
        ) from None
    for part in attribute.split("."):
        if not hasattr(found, part):
            names = [n for n in dir(found) if not n.startswith("_")]
            raise ProviderError(
                f"Provider spec {spec!r}: the module {module_name!r} has no {attribute!r}."
                f"{did_you_mean(part, names)} Name a provider, or a function that returns one, "
                "as 'package.module:name'."
            )
        found = getattr(found, part)
    made = isinstance(found, type) or (callable(found) and not hasattr(found, "complete"))
    try:
        provider = found(**options) if made else found
    except Exception as error:
        given = "from these options" if options else "when called with no arguments"
        raise ProviderError(
            f"Provider spec {spec!r}: calling {attribute}({', '.join(options)}) raised "
            f"{type(error).__name__}: {str(error).rstrip('.')}. Name a provider class, a "
            f"provider object, or a function that returns a provider {given}."
        ) from error
    if not callable(getattr(provider, "complete", None)):
        kind = type(provider).__name__
        raise ProviderError(
            f"Provider spec {spec!r} gives {a_or_an(kind)} {kind}{_shown(provider)}, which has "
            "no complete() method. A provider has 'async def complete(self, request) -> str'."
        )
    return provider  # type: ignore[no-any-return]


def _shown(value: Any) -> str:
    """`` (10)`` after the kind of a short plain value, so the message says which it was."""
    text = repr(value)
    return f" ({text})" if isinstance(value, int | float | str) and len(text) <= 40 else ""
