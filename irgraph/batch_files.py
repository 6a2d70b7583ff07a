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

__all__ = ["read_json", "write_atomically"]


def write_atomically(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` (its directory made if missing), whole or not."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(data, file, ensure_ascii=False)
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
