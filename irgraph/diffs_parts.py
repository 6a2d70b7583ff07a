"""A changed setting that holds a JSON object (an agent's output schema, its model settings)
as a diff line shows it: by the parts of it that changed, as the whole is too long to show
(``output (properties.category.enum=["bug"] -> properties.category.enum=["bug", "q"])``).
"""

from __future__ import annotations

import json
from typing import Any

from irgraph.ir.values import json_key

__all__ = ["changed_parts"]

#: The settings that hold a JSON object, shown by their changed parts when long.
_OBJECTS = frozenset({"output", "settings"})


def changed_parts(
    field: str, old_settings: dict[str, Any], new_settings: dict[str, Any], short: int
) -> tuple[str, str] | None:
    """A long setting's change as old and new text, each at most twice ``short`` long:
    :func:`_parts_text`; ``None`` for a setting that holds no object, or a change too long."""
    if field not in _OBJECTS:
        return None
    texts = _parts_text(old_settings[field], new_settings[field])
    return texts if texts is not None and max(map(len, texts)) <= 2 * short else None


def _parts_text(old: Any, new: Any) -> tuple[str, str] | None:
    """A long object setting (an output schema, model settings) by the parts that changed,
    each as ``path=value`` (``properties.category.enum=["bug"]``; ``no path`` where a side
    lacks it), or a schema set or dropped as ``free text``."""
    if old is None or new is None:  # only an agent's output may be None: a free-text reply
        return ("free text", "JSON Schema") if old is None else ("JSON Schema", "free text")
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return None
    found: list[tuple[str, str]] = []
    _changed_parts(old, new, "", found)
    return ("; ".join(a for a, _ in found), "; ".join(b for _, b in found)) if found else None


def _changed_parts(old: Any, new: Any, path: str, found: list[tuple[str, str]]) -> None:
    """Add to ``found`` each innermost part of two JSON values that differs, by its path."""
    if isinstance(old, dict) and isinstance(new, dict) and path.count(".") < 8:
        for key in [*old, *(k for k in new if k not in old)]:
            inner = f"{path}.{key}" if key.isidentifier() else f"{path}[{_json_text(key)}]"
            inner = inner.removeprefix(".")
            if key not in new or key not in old:
                there = old if key in old else new
                part = f"{inner}={_json_text(there[key])}"
                found.append((part, f"no {inner}") if key in old else (f"no {inner}", part))
            elif json_key(old[key]) != json_key(new[key]):
                _changed_parts(old[key], new[key], inner, found)
        return
    found.append((f"{path}={_json_text(old)}", f"{path}={_json_text(new)}"))


def _json_text(value: Any) -> str:
    """A part as JSON, on one line (a string quoted, so ``"1"`` and ``1`` stay apart)."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return text if text.isprintable() else repr(text)
