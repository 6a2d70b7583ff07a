"""Output schemas already checked and found fine, remembered by their content.

Checking a schema with ``jsonschema`` (and for the mistakes :mod:`irgraph.ir.schema_words`
looks for) takes milliseconds, and an agent's schema is checked when ``.output()`` is given
it and again when its IR node is made; a program that builds many agents with one schema,
or the hypothesis strategies drawing pipelines, paid that on every call. A
:class:`SchemaMemo` remembers the schemas that passed, by a digest of their canonical JSON
text (sorted keys, no spaces), so only the same content is ever taken as checked: a dict
changed after it passed has another text and is checked again. Only passes are remembered;
a refused schema is checked, and refused with its message naming the agent, every time. At
most :data:`SIZE` schemas are kept, the least recently used dropped first.

>>> memo = SchemaMemo()
>>> memo.has('{"type":"string"}'), memo.add('{"type":"string"}'), memo.has('{"type":"string"}')
(False, None, True)
"""

from __future__ import annotations

import threading
from collections import OrderedDict

__all__ = ["SchemaMemo", "SIZE"]

#: How many schemas a memo keeps: a program's distinct schemas are usually a handful.
SIZE = 512


class SchemaMemo:
    """A bounded set of canonical schema texts, kept as SHA-256 digests (a few bytes each,
    however large the schema), safe to use from several threads."""

    __slots__ = ("_lock", "_seen", "_size")

    def __init__(self, size: int = SIZE) -> None:
        self._seen: OrderedDict[bytes, None] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size

    def has(self, text: str) -> bool:
        """Whether ``text`` was added (and not dropped since); a hit makes it the newest."""
        digest = _digest(text)
        with self._lock:
            if digest not in self._seen:
                return False
            self._seen.move_to_end(digest)
            return True

    def add(self, text: str) -> None:
        """Remember ``text``, dropping the least recently used beyond the size."""
        digest = _digest(text)
        with self._lock:
            self._seen[digest] = None
            self._seen.move_to_end(digest)
            while len(self._seen) > self._size:
                self._seen.popitem(last=False)

    def __len__(self) -> int:
        return len(self._seen)


def _digest(text: str) -> bytes:
    import hashlib  # here: not every program that imports irgraph checks a schema

    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
