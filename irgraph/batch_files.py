"""A keyed batch's JSON files, written whole or not at all.

Each file of a batch store (:mod:`irgraph.batch_store`) is written under a temporary name and
renamed into place, so a crash or Ctrl-C leaves a whole file or none; one that cannot be read
as JSON counts as not there (its work is done again rather than trusted).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["json_text", "read_json", "write_atomically"]


def json_text(value: Any, **options: Any) -> str:
    """``value`` as JSON text with its characters as they are (not ``\\u`` escapes), save a
    lone surrogate (``"\\ud83d"``, half an emoji cut by a tool that counts UTF-16 units), which
    is no character, so no UTF-8 file can hold it: a value holding one is escaped whole.

    >>> json_text({"topic": "hibou \u00e9"}), json_text({"cut": chr(0xD83D)})
    ('{"topic": "hibou é"}', '{"cut": "\\\\ud83d"}')
    """
    text = json.dumps(value, ensure_ascii=False, **options)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, **options)
    return text


def write_atomically(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` (its directory made if missing), whole or not."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(json_text(data))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> Any:
    """The JSON in ``path``, or ``None`` when there is none (or it cannot be read)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
